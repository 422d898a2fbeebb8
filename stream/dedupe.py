"""Repeats and near-repeats (pure). The state is one entry per story (content hash): the first
event that told it, and where that event was read from.

- same event id, same source position: the same record read again (a replay after a crash):
  process it again; everything downstream is idempotent.
- same event id, another position: an exact repeat of (source, id): drop it.
- another event id: the same story from another feed or post: keep it, marked as a near-repeat
  of the first.
Entries older than the horizon (in event time) no longer count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from stream.records import Event

Verdict = Literal["new", "replay", "repeat", "near_repeat"]


@dataclass(frozen=True)
class Story:
    event_id: str
    position: str  # "topic/partition/offset" of the raw record
    published_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "position": self.position,
            "published_at": self.published_at,
        }

    @classmethod
    def of(cls, event: Event) -> Story:
        position = f"{event.source_topic}/{event.kafka_partition}/{event.kafka_offset}"
        return cls(event.event_id, position, event.published_at)


def judge(seen: Story | None, event: Event, *, horizon_s: float) -> Verdict:
    if seen is None or abs(event.published_at - seen.published_at) > horizon_s:
        return "new"
    if seen.event_id == event.event_id:
        return "replay" if seen.position == Story.of(event).position else "repeat"
    return "near_repeat"

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


class StoryCache:
    """The stories a worker has seen, newest last; bounded by the horizon (event time) and a size
    cap. Kept in memory: text.enriched is keyed by content hash, so every copy of a story meets
    the same worker while the group is stable. After a restart or a rebalance a repeat may pass
    once more; downstream it changes no count (windows count each event id once, ClickHouse keeps
    one row per event id), only the near-repeat mark can be missing."""

    def __init__(self, horizon_s: float, max_entries: int = 1_000_000) -> None:
        self.horizon_s = horizon_s
        self.max_entries = max_entries
        self._stories: dict[int, Story] = {}
        self._newest = 0.0

    def __len__(self) -> int:
        return len(self._stories)

    def get(self, content_hash: int) -> Story | None:
        return self._stories.get(content_hash)

    def add(self, content_hash: int, story: Story) -> None:
        self._stories.pop(content_hash, None)
        self._stories[content_hash] = story
        self._newest = max(self._newest, story.published_at)
        self._evict()

    def _evict(self) -> None:
        oldest = self._newest - self.horizon_s
        while self._stories:
            key = next(iter(self._stories))
            story = self._stories[key]
            if story.published_at >= oldest and len(self._stories) <= self.max_entries:
                break
            del self._stories[key]

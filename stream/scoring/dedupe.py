"""Repeats and near-repeats (pure). The state is one entry per story (content hash): the first
event that told it, and where that event was read from.

- an event id seen with this story, read from the same position: the same record read again (a
  replay after a crash): process it again; everything downstream is idempotent.
- an event id seen with this story, from another position: an exact repeat of (source, id): drop.
- another event id: the same story from another feed or post: keep it, marked as a near-repeat
  of the first.
Entries older than the horizon (in event time) no longer count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stream.records import Event

Verdict = Literal["new", "replay", "repeat", "near_repeat"]


MAX_COPIES = 256  # event ids remembered per story


def position(event: Event) -> str:
    """Where a record was read: ``topic/partition/offset`` of the raw record."""
    return f"{event.source_topic}/{event.kafka_partition}/{event.kafka_offset}"


@dataclass
class Story:
    event_id: str  # the first event that told it
    published_at: float
    copies: dict[str, str]  # every event id seen telling it -> where it was read

    @classmethod
    def of(cls, event: Event) -> Story:
        return cls(event.event_id, event.published_at, {event.event_id: position(event)})

    def add_copy(self, event: Event) -> None:
        if len(self.copies) < MAX_COPIES:
            self.copies[event.event_id] = position(event)


def judge(seen: Story | None, event: Event, *, horizon_s: float) -> Verdict:
    if seen is None or abs(event.published_at - seen.published_at) > horizon_s:
        return "new"
    where = seen.copies.get(event.event_id)
    if where is not None:
        return "replay" if where == position(event) else "repeat"
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

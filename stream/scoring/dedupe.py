"""Repeats and near-repeats (pure). The state is one entry per story (content hash): the first
event that told it, and where that event was read from.

- an event id seen with this story, read from the same position: the same record read again (a
  replay after a crash): process it again; everything downstream is idempotent.
- an event id seen with this story, from another position: an exact repeat of (source, id): drop.
- another event id: the same story from another feed or post: keep it, marked as a near-repeat
  of the first.
Entries older than the horizon (in event time, clamped to wall time) no longer count.

Event ids and positions are kept as 64-bit digests (two ids collide once in 2**64), so an entry
is one bytes object: ``ENTRY_BYTES`` a story told once, 16 bytes more per further copy.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Literal

from stream.records import Event

Verdict = Literal["new", "replay", "repeat", "near_repeat"]


MAX_COPIES = 256  # event ids remembered per story
# Memory per story told once, with its dict slot (tests/unit/scoring/test_dedupe.py measures it
# with tracemalloc: an event id of 20 characters, CPython 3.11 on 64 bits).
ENTRY_BYTES = 170
_HEAD = struct.Struct("<dH")  # published_at, number of copies
_COPY = struct.Struct("<QQ")  # digest of an event id, digest of the position it was read at


def digest(text: str) -> int:
    """A 64-bit digest of an event id or a position."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def position(event: Event) -> int:
    """Where a record was read (``topic/partition/offset`` of the raw record), as a digest."""
    return digest(f"{event.source_topic}/{event.kafka_partition}/{event.kafka_offset}")


@dataclass
class Story:
    event_id: str  # the first event that told it
    published_at: float
    copies: dict[int, int]  # every event id seen telling it -> where it was read (digests)

    @classmethod
    def of(cls, event: Event) -> Story:
        return cls(event.event_id, event.published_at, {digest(event.event_id): position(event)})

    def add_copy(self, event: Event) -> None:
        if len(self.copies) < MAX_COPIES:
            self.copies[digest(event.event_id)] = position(event)

    def encode(self) -> bytes:
        copies = b"".join(_COPY.pack(k, v) for k, v in self.copies.items())
        return _HEAD.pack(self.published_at, len(self.copies)) + copies + self.event_id.encode()

    @classmethod
    def decode(cls, data: bytes) -> Story:
        published_at, count = _HEAD.unpack_from(data)
        end = _HEAD.size + count * _COPY.size
        copies = dict(_COPY.iter_unpack(data[_HEAD.size : end]))
        return cls(data[end:].decode(), published_at, copies)


def judge(seen: Story | None, event: Event, *, horizon_s: float) -> Verdict:
    if seen is None or abs(event.published_at - seen.published_at) > horizon_s:
        return "new"
    where = seen.copies.get(digest(event.event_id))
    if where is not None:
        return "replay" if where == position(event) else "repeat"
    return "near_repeat"


class StoryCache:
    """The stories a worker has seen, oldest first; bounded by the horizon (event time) and a cap
    of ``max_entries`` (about ``ENTRY_BYTES`` each). The newest time that counts is a story's
    ``published_at`` but at most ``now_s + ahead_s``: a post dated a day ahead does not push the
    others out. The cap holds the horizon up to ``max_entries / horizon_s`` new stories a second;
    beyond that the oldest go early (``evicted_early`` counts them).

    Kept in memory: text.enriched is keyed by content hash, so every copy of a story meets the
    same worker while the group is stable. After a restart or a rebalance a repeat may pass once
    more; downstream it changes no count (windows count each event id once, ClickHouse keeps one
    row per event id), only the near-repeat mark can be missing."""

    def __init__(self, horizon_s: float, max_entries: int = 1_000_000, ahead_s: float = 30.0):
        self.horizon_s = horizon_s
        self.max_entries = max_entries
        self.ahead_s = ahead_s
        self.evicted_early = 0  # stories dropped by the cap while within the horizon
        self._stories: dict[int, bytes] = {}
        self._newest = 0.0

    def __len__(self) -> int:
        return len(self._stories)

    def get(self, content_hash: int) -> Story | None:
        data = self._stories.get(content_hash)
        return None if data is None else Story.decode(data)

    def add(self, content_hash: int, story: Story, *, now_s: float) -> None:
        """Remember a new story (newest last), forgetting what fell out of the horizon or cap."""
        self._stories.pop(content_hash, None)
        self._stories[content_hash] = story.encode()
        self._newest = max(self._newest, min(story.published_at, now_s + self.ahead_s))
        self._evict()

    def update(self, content_hash: int, story: Story) -> None:
        """Keep a story's new copies; it keeps its place."""
        if content_hash in self._stories:
            self._stories[content_hash] = story.encode()

    def _evict(self) -> None:
        oldest = self._newest - self.horizon_s
        while self._stories:
            key = next(iter(self._stories))
            (published_at,) = struct.unpack_from("<d", self._stories[key])
            if published_at >= oldest and len(self._stories) <= self.max_entries:
                break
            if published_at >= oldest:
                self.evicted_early += 1
            del self._stories[key]

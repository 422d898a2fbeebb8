"""The scoring watermark (pure: every time is passed in). Every contribution carries it; the
window clock (stream/windows/clock.py) closes windows behind the slowest worker's."""

from __future__ import annotations

import uuid


class Progress:
    """How far this worker's scoring has got, in wall time and in event time.

    ``wall``: now, or the start of the oldest batch still being scored; the window timer uses
    it, so a Triton outage holds windows open instead of turning the backlog into late records.

    ``watermark``: the event time below which this worker has sent every text it read: the
    lowest of the latest event time read from each partition of ``text.enriched`` that is still
    busy (read from within ``idle_s``, or with records not taken yet) and the oldest text of each
    batch in flight; a partition with records waiting that this worker has not read at all holds
    it at 0 (nothing is known of it). Every contribution carries it, so the windows close on the
    slowest upstream partition, not the fastest: in a back-fill read at full speed the partitions
    run minutes apart in event time, and the first to be read may be far ahead of the others.
    """

    def __init__(self, idle_s: float) -> None:
        self.idle_s = idle_s
        self.source = uuid.uuid4().hex[:12]  # names this worker's watermarks
        self.busy: dict[int, float] = {}
        self.in_flight: dict[int, float] = {}  # actor -> oldest event time of its batch
        self.read: dict[int, tuple[float, float]] = {}  # partition -> (latest event time, wall)
        self.assignment: set[int] = set()  # partitions of text.enriched this worker reads
        self.start: dict[int, int | None] = {}  # partition -> offset reading began at
        self.next_offset: dict[int, int] = {}  # partition -> offset after the last one taken
        self.behind: set[int] = set()  # partitions with records not taken yet

    def wall(self, now: float) -> float:
        return min([now, *self.busy.values()])

    def assigned(self, partitions: set[int]) -> None:
        """A rebalance: reading restarts from the committed offsets of ``partitions``."""
        self.assignment = set(partitions)
        self.read = {p: v for p, v in self.read.items() if p in partitions}
        self.start.clear()
        self.next_offset.clear()
        self.behind.clear()

    def started(
        self, actor: int, taken: list[tuple[int, int]], times: list[float], now: float
    ) -> None:
        """A batch of ``taken`` (partition, offset) with event ``times`` goes to scoring."""
        self.busy[actor] = now
        if times:
            self.in_flight[actor] = min(times)
        for (partition, offset), t in zip(taken, times, strict=True):
            latest = self.read.get(partition, (t, now))[0]
            self.read[partition] = (max(latest, t), now)
            self.next_offset[partition] = max(self.next_offset.get(partition, 0), offset + 1)

    def finished(self, actor: int) -> None:
        self.busy.pop(actor, None)
        self.in_flight.pop(actor, None)

    def observe(self, partition: int, highwater: int | None) -> None:
        """Whether ``partition`` has records not taken yet: its high watermark (from the last
        fetch) past the offset after the last record taken or, before any was, past where this
        worker began reading it (``start``). Unknown offsets claim nothing. (The topic is
        written at-least-once: no transaction markers, which would leave the high watermark past
        the last record and the partition behind for good.)"""
        taken = self.next_offset.get(partition, self.start.get(partition))
        if highwater is not None and taken is not None and highwater > taken:
            self.behind.add(partition)
        else:
            self.behind.discard(partition)

    def watermark(self, now: float) -> float:
        marks = [
            t for p, (t, seen) in self.read.items() if now - seen < self.idle_s or p in self.behind
        ]
        marks += [0.0 for p in self.behind if p not in self.read]
        marks += self.in_flight.values()
        if marks:
            return min(marks)
        return max((t for t, _ in self.read.values()), default=0.0)

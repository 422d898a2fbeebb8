"""The clock that closes windows, per partition of ``sentiment.contributions`` (pure: every time
is passed in, in seconds since the epoch).

A partition's event-time clock is the lowest watermark of the scoring workers still sending to it
(each batch carries its worker's watermark: the event time below which that worker has sent every
text it read), so windows close behind the slowest worker; a worker quiet for ``idle_close_s`` no
longer holds it back. With no such watermark, the clock is the latest event time seen.

A partition that has had no batch for ``idle_close_s`` closes by wall time too (``on_tick``,
when ``wall_clock_close``), so the last windows of a stream that stops are emitted. The tick's
wall time is held back while a scoring batch is stuck (Triton down), and a restarted worker waits
``idle_close_s`` first, so a backlog is never declared late by the clock on the wall.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Sender:
    """A scoring worker's latest watermark, and the wall time of its latest batch."""

    watermark_s: float
    seen_s: float


@dataclass
class PartitionClock:
    """What one partition has told: the latest event time, the wall time of its latest batch (to
    tell a stream that stopped) and each scoring worker's watermark."""

    last_batch_s: float
    latest_event_s: float = 0.0
    senders: dict[str, Sender] = field(default_factory=dict)

    def on_batch(
        self, source: str, watermark_s: float, event_times_s: Iterable[float], now_s: float
    ) -> None:
        self.last_batch_s = now_s
        if source:  # a batch from no named worker carries no watermark
            previous_s = self.senders[source].watermark_s if source in self.senders else 0.0
            self.senders[source] = Sender(max(previous_s, watermark_s), now_s)
        self.latest_event_s = max([self.latest_event_s, *event_times_s])

    def event_time_s(self, now_s: float, idle_s: float) -> float:
        """The lowest watermark of the workers heard from within ``idle_s``; the latest event
        time seen once none is."""
        active = [s.watermark_s for s in self.senders.values() if now_s - s.seen_s < idle_s]
        return min(active) if active else self.latest_event_s


class WindowClock:
    """The clocks of every partition this worker reads, and the rule that closes a quiet one by
    wall time."""

    def __init__(self, idle_close_s: float, *, wall_clock_close: bool) -> None:
        self.idle_close_s = idle_close_s
        self.wall_clock_close = wall_clock_close
        self.started_s = 0.0  # when this worker read its first message (0: not yet)
        self.partitions: dict[int, PartitionClock] = {}

    def on_message(self, now_s: float) -> None:
        """Any message read: the first one tells when this worker started."""
        self.started_s = self.started_s or now_s

    def on_batch(
        self,
        partition: int,
        source: str,
        watermark_s: float,
        event_times_s: Iterable[float],
        now_s: float,
    ) -> None:
        """A batch of contributions from scoring worker ``source`` with ``event_times_s``."""
        clock = self.partitions.get(partition)
        if clock is None:
            clock = self.partitions[partition] = PartitionClock(last_batch_s=now_s)
        clock.on_batch(source, watermark_s, event_times_s, now_s)

    def event_time_s(self, partition: int, now_s: float) -> float:
        clock = self.partitions.get(partition)
        return clock.event_time_s(now_s, self.idle_close_s) if clock else 0.0

    def on_tick(self, partition: int, tick_wall_s: float, now_s: float) -> float:
        """A timer tick bringing wall time ``tick_wall_s``: the clock to close the partition's
        windows to."""
        clock_s = self.event_time_s(partition, now_s)
        part = self.partitions.get(partition)
        # A partition that has had no batch yet is quiet since this worker started.
        quiet_since_s = part.last_batch_s if part else self.started_s or now_s
        if self.wall_clock_close and tick_wall_s - quiet_since_s >= self.idle_close_s:
            clock_s = max(clock_s, tick_wall_s - self.idle_close_s)
        return clock_s

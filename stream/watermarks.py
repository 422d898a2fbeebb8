"""Source watermarks: how far event time has got upstream, carried stage to stage (pure).

Flink's model, on Kafka. Each stage tells the next, on every partition of the topic it writes, how
far it has got on each partition it reads: the event time below which it has sent on everything
it read from that partition, and whether that partition is idle (nothing left to read and quiet
for an idleness timeout). A ``Mark`` record carries this; marks follow the records they cover on
the same partition, so a stage that reads a mark has read what came before it.

- ingest reads the raw topics: per raw partition, the latest event time it has read and sent
  (never more than wall time plus a small tolerance, so a post dated a day ahead cannot close a
  day of windows), idle when its high watermark shows nothing more to read and it has been quiet.
- score reads ``text.enriched``: per enriched partition, the lowest mark of the raw partitions
  that are not idle, held back by the oldest text of every batch still being scored.
- windows read ``sentiment.contributions``: a window closes when the lowest mark of the enriched
  partitions that are not idle has passed its end plus the close delay.

A partition never heard from holds everything (0): a stage knows how many partitions each
upstream topic has, from the marks themselves, so a worker that has not reported yet cannot be
mistaken for one that is done. Marks only move forward (a partition that moves to another worker
after a rebalance is re-read from its committed offset: its older records are repeats).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from stream.windows.panes import PANE_S

HOLD = 0.0  # the watermark of a partition not heard from: nothing may close


@dataclass
class Upstream:
    event_time_s: float
    idle: bool


class UpstreamView:
    """What the marks read so far say about each upstream partition (``topic/partition``)."""

    def __init__(self) -> None:
        self.partitions: dict[str, Upstream] = {}
        self.totals: dict[str, int] = {}  # upstream topic -> its number of partitions

    def apply(self, partitions: dict[str, tuple[float, bool]], totals: dict[str, int]) -> None:
        for name, (event_time_s, idle) in partitions.items():
            known = self.partitions.get(name)
            latest_s = max(known.event_time_s, event_time_s) if known else event_time_s
            self.partitions[name] = Upstream(latest_s, idle)
        for topic, count in totals.items():
            self.totals[topic] = max(self.totals.get(topic, 0), count)

    def expected(self) -> set[str]:
        names = {f"{topic}/{i}" for topic, count in self.totals.items() for i in range(count)}
        return names | set(self.partitions)

    def watermark_s(self) -> float | None:
        """The lowest mark of the partitions not idle; ``None`` when every one is idle; ``HOLD``
        while one is not heard from (or nothing is)."""
        expected = self.expected()
        if not expected:
            return HOLD
        active: list[float] = []
        for name in expected:
            upstream = self.partitions.get(name)
            if upstream is None:
                return HOLD
            if not upstream.idle:
                active.append(upstream.event_time_s)
        return min(active) if active else None

    def latest_s(self) -> float:
        return max((u.event_time_s for u in self.partitions.values()), default=HOLD)


def lowest(values: Iterable[float | None]) -> float | None:
    """The lowest of marks where ``None`` (idle) holds nothing back."""
    present = [v for v in values if v is not None]
    return min(present) if present else None


class MarkPacer:
    """When a stage sends its next mark: every ``interval_s``, and at once when its watermark has
    passed a point where windows may close (a whole minute plus the close delay) that the last
    mark sent had not. Windows end on whole minutes, so in-order live data has its windows closed
    by the first mark that allows it, not up to an interval later at every stage, while marks
    between those points keep to one an interval."""

    def __init__(self, interval_s: float, close_delay_s: float) -> None:
        self.interval_s = interval_s
        self.close_delay_s = close_delay_s
        self.sent_s = float("-inf")  # wall time of the last mark sent
        self.step = 0  # the last closing point the marks sent had passed

    def _step(self, watermark_s: float) -> int:
        return int((watermark_s - self.close_delay_s) // PANE_S)

    def due(self, watermark_s: float | None, now_s: float) -> bool:
        if now_s - self.sent_s >= self.interval_s:
            return True
        return bool(watermark_s) and self._step(watermark_s or 0.0) > self.step

    def sent(self, watermark_s: float | None, now_s: float) -> None:
        self.sent_s = now_s
        if watermark_s:
            self.step = max(self.step, self._step(watermark_s))


def stage_watermark(view: dict[str, tuple[float, bool]]) -> float | None:
    """The watermark a stage's marks let through: the lowest of its partitions not idle."""
    return lowest(None if idle else t for t, idle in view.values())

"""The clock that closes windows, per partition of ``sentiment.contributions`` (pure: every time
is passed in, in seconds since the epoch).

Scoring workers send marks (stream/watermarks.py) to every partition of the contributions topic,
after the contributions they cover: per partition of ``text.enriched``, the event time below which
every text has been scored and sent on, and whether it is idle. A partition's clock is the lowest
mark of the enriched partitions that are not idle, so windows close behind the slowest source
partition with records still to read, however far ahead the others are. Until every enriched
partition has been heard from, nothing closes.

When every upstream partition is idle (nothing left to read anywhere, quiet for the idleness
timeout), the stream has stopped: with ``wall_clock_close`` the windows close by wall time minus
``idle_close_s`` (the tick's wall time, held back while a scoring batch is stuck), so the last
windows of a stream that stops are emitted; without it, up to the latest event time known. A
feed that comes back later with a backlog amends the windows it falls into (allowed lateness).
"""

from __future__ import annotations

from stream.records import Mark
from stream.watermarks import HOLD, UpstreamView


class WindowClock:
    """The clocks of every contributions partition this worker reads."""

    def __init__(self, idle_close_s: float, *, wall_clock_close: bool) -> None:
        self.idle_close_s = idle_close_s
        self.wall_clock_close = wall_clock_close
        self.views: dict[int, UpstreamView] = {}

    def on_mark(self, partition: int, mark: Mark) -> None:
        self.views.setdefault(partition, UpstreamView()).apply(mark.view(), mark.totals)

    def event_time_s(self, partition: int) -> float | None:
        """The partition's watermark; ``None`` when every upstream partition is idle."""
        view = self.views.get(partition)
        return view.watermark_s() if view else HOLD

    def on_tick(self, partition: int, tick_wall_s: float) -> float:
        """A timer tick bringing wall time ``tick_wall_s``: the clock to close the partition's
        windows to."""
        watermark_s = self.event_time_s(partition)
        if watermark_s is not None:
            return watermark_s
        latest_s = self.views[partition].latest_s()
        if self.wall_clock_close:
            return max(latest_s, tick_wall_s - self.idle_close_s)
        return latest_s

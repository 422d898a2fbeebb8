"""Per-topic sentiment windows on event time (pure: no Kafka, no clock of its own). The panes
they are summed from are stream/windows/panes.py; the clock that closes them is
stream/windows/clock.py.

- A window [start, end) closes when the clock reaches end + lateness. The clock is the largest of
  the latest event time seen and the clock the caller brings (the partition's watermark, or the
  wall time of a stream that stopped, so its last windows still close). A text whose one-minute
  window has already closed is late: it is not added to any window, and is reported so that it
  can be counted (never silently dropped).
- ``running`` gives the current state of the trailing open windows that changed since the last
  call, so dashboards see windows fill; ``close`` gives each closed window once, as final.
"""

from __future__ import annotations

from stream.records import Contribution, WindowRecord
from stream.windows.panes import DEFAULT_SPECS, PANE_S, Pane, WindowSpec, pane_start, window_record

Outcome = str  # "counted" | "repeat" | "late"


class TopicWindows:
    """All window state of one topic. ``panes`` and ``closed_until`` are what must be persisted
    (see stream/windows/agent.py); everything else is rebuilt from them."""

    def __init__(
        self,
        topic: str,
        specs: tuple[WindowSpec, ...] = DEFAULT_SPECS,
        *,
        lateness_s: float = 10.0,
        panes: dict[int, Pane] | None = None,
        closed_until: float = 0.0,
    ) -> None:
        self.topic = topic
        self.specs = specs
        self.lateness_s = lateness_s
        self.panes: dict[int, Pane] = panes or {}
        self.closed_until = closed_until
        self.max_event_time = 0.0
        self._open: set[tuple[int, int]] = set()
        self._dirty: set[int] = set()  # panes changed since the last running()
        for start in self.panes:
            self._track(start, dirty=False)

    def _track(self, start: int, *, dirty: bool) -> None:
        for spec in self.specs:
            for w in spec.starts(start):
                key = (spec.size_s, w)
                if w + spec.size_s + self.lateness_s > self.closed_until:
                    self._open.add(key)
        if dirty:
            self._dirty.add(start)

    def is_late(self, published_at: float) -> bool:
        return pane_start(published_at) + PANE_S + self.lateness_s <= self.closed_until

    def add(self, c: Contribution) -> tuple[Outcome, int]:
        """Count a contribution; returns the outcome and the pane it belongs to."""
        start = pane_start(c.published_at)
        if self.is_late(c.published_at):
            # A text counted before its window closed and read again after (a replay upstream
            # after a crash) is a repeat, not a late text.
            pane = self.panes.get(start)
            if pane is not None and pane.has(c.event_id):
                return "repeat", start
            return "late", start
        self.max_event_time = max(self.max_event_time, c.published_at)
        pane = self.panes.get(start)
        if pane is None:
            pane = self.panes[start] = Pane()
        if not pane.add(c):
            return "repeat", start
        self._track(start, dirty=True)
        return "counted", start

    def clock(self, wall: float | None) -> float:
        return max(self.max_event_time, wall or 0.0, self.closed_until)

    def running(self, now: float) -> list[WindowRecord]:
        """The current state of the open windows that end with a pane that changed since the last
        call: per window length, the trailing window (the last 15 minutes, the last hour), which is
        what a live view shows. Every window is given again, final, when it closes."""
        keys = set()
        for pane in self._dirty:
            for spec in self.specs:
                key = (spec.size_s, spec.starts(pane)[0])
                if key in self._open:
                    keys.add(key)
        self._dirty.clear()
        return [self._record(size, start, final=False, now=now) for size, start in sorted(keys)]

    def close(self, clock: float, now: float) -> tuple[list[WindowRecord], list[int]]:
        """Windows closed by ``clock`` (final, once each) and the panes no window needs any more."""
        if clock <= self.closed_until:
            return [], []
        done = sorted(k for k in self._open if k[1] + k[0] + self.lateness_s <= clock)
        records = [self._record(size, start, final=True, now=now) for size, start in done]
        self._open.difference_update(done)
        self.closed_until = clock
        longest = max(spec.size_s for spec in self.specs)
        expired = sorted(p for p in self.panes if p + longest + self.lateness_s <= clock)
        for p in expired:
            del self.panes[p]
        return records, expired

    def _record(self, size_s: int, start: int, *, final: bool, now: float) -> WindowRecord:
        panes = [self.panes[p] for p in range(start, start + size_s, PANE_S) if p in self.panes]
        return window_record(self.topic, start, size_s, panes, final=final, now=now)

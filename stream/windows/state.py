"""Per-topic sentiment windows on event time (pure: no Kafka, no clock of its own). The panes
they are summed from are stream/windows/panes.py; the clock that closes them is
stream/windows/clock.py.

- A window [start, end) closes when the clock reaches end + ``lateness_s`` (the close delay). The
  clock is the largest of the latest event time seen and the clock the caller brings (the
  partition's watermark, or the wall time of a stream that stopped, so its last windows still
  close).
- A text whose one-minute window has closed, but by less than ``allowed_lateness_s`` (its minute's
  end + lateness_s + allowed_lateness_s > the clock), is still counted, once, into its pane: the
  windows with that pane still open include it, and those already closed are given again, final,
  by the next ``close`` that moves the clock, with ``amendments`` = how many times each has been
  given again. Texts counted between two moves of the clock amend a window once.
- A text older than that is late: it is not added to any window (not even to one still open), and
  is reported so that it can be counted (never silently dropped).
- ``running`` gives the current state of the trailing open windows that changed since the last
  call, so dashboards see windows fill; ``close`` gives each closed window once as final, and once
  more for each amendment.

Persisted state is the panes and ``closed_until`` only (when to write them: ``TopicWindows``). A
pane remembers the clocks at which texts were counted into it after its minute had closed
(``Pane.late``); a window's amendments are the distinct such clocks, over its panes, at which it
had closed. So the count survives a restart, and the amendments counted since the last persisted
``closed_until`` are given (again) by the first close after it. One (window, amendments) is one
content, but for a worker that stops between giving windows and persisting the clock, whose
successor takes in more texts for the window before the clock moves: that row repeats the number
with more texts (ReplacingMergeTree keeps the newest). A window that had no text when it closed
was never given; its first row has ``amendments`` >= 1.

Metrics come from what the calls return: ``add`` outcomes "amended" (counted after its minute
closed) and "late" (beyond the allowed lateness), and the windows from ``close`` with
``amendments > 0`` (windows amended).

State per topic: a pane lives from its minute until pane + longest window + lateness_s +
allowed_lateness_s <= clock, so a topic with texts every minute holds (3600 + 10 +
allowed_lateness_s) / 60 panes: 60 with no allowed lateness, 420 with 6 hours. A pane's JSON is
about 120 bytes of sums, 19 per text (its 16-hex-digit id), up to 5 (score, event id) pairs of
evidence (about 35 bytes each) and 13 per amendment clock: about 200 bytes at 1 text a minute
(12 KB a topic with no allowed lateness, 85 KB with 6 hours) and 500 bytes at 10 texts a minute
(30 KB, 210 KB). tests/unit/windows/test_lateness.py measures it.
"""

from __future__ import annotations

from stream.records import Contribution, WindowRecord
from stream.windows.panes import DEFAULT_SPECS, PANE_S, Pane, WindowSpec, pane_start, window_record

Outcome = str  # "counted" | "amended" | "repeat" | "late"
PANE_CHANGED = frozenset({"counted", "amended"})  # the pane is persisted after these
CLOCK_USED = frozenset({"amended", "late"})  # ``closed_until`` is persisted (first) after these


class TopicWindows:
    """All window state of one topic. ``panes`` and ``closed_until`` are what must be persisted
    (see stream/windows/agent.py), everything else is rebuilt from them: a pane after an outcome
    in ``PANE_CHANGED``; ``closed_until`` after a ``close`` that gave windows or expired panes,
    and, before the panes, after an outcome in ``CLOCK_USED``: a text amended or reported late
    against a clock a restart forgot could be counted as new, or its amendment numbered again."""

    def __init__(
        self,
        topic: str,
        specs: tuple[WindowSpec, ...] = DEFAULT_SPECS,
        *,
        lateness_s: float = 10.0,
        allowed_lateness_s: float = 0.0,
        panes: dict[int, Pane] | None = None,
        closed_until: float = 0.0,
    ) -> None:
        self.topic = topic
        self.specs = specs
        self.lateness_s = lateness_s
        self.allowed_lateness_s = allowed_lateness_s
        self.panes: dict[int, Pane] = panes or {}
        self.closed_until = closed_until
        self._open: set[tuple[int, int]] = set()
        self._dirty: set[int] = set()  # panes changed since the last running()
        for start, pane in self.panes.items():
            self._restore(start, pane)
            self._track(start, dirty=False)
        # Panes amended since the clock last moved: their windows are given again at the next move.
        self._amended = {
            p for p, pane in self.panes.items() if any(t >= self.closed_until for t in pane.late)
        }

    def _restore(self, start: int, pane: Pane) -> None:
        """Amendment clocks after ``closed_until`` (the clock was persisted after the pane, and
        the worker stopped in between) count as if they came at ``closed_until``: amending if
        their minute had closed by then, else plainly counted. No window was given at them."""
        if all(clock <= self.closed_until for clock in pane.late):
            return
        late = {min(clock, self.closed_until) for clock in pane.late}
        pane.late = sorted(late) if self._closed(start + PANE_S) else []

    def _closed(self, end: float) -> bool:
        return end + self.lateness_s <= self.closed_until

    def _track(self, start: int, *, dirty: bool) -> None:
        for spec in self.specs:
            for w in spec.starts(start):
                if not self._closed(w + spec.size_s):
                    self._open.add((spec.size_s, w))
        if dirty:
            self._dirty.add(start)

    def is_late(self, published_at: float) -> bool:
        """Too late to count: its minute closed ``allowed_lateness_s`` or more ago."""
        end = pane_start(published_at) + PANE_S
        return end + self.allowed_lateness_s + self.lateness_s <= self.closed_until

    def add(self, c: Contribution) -> tuple[Outcome, int]:
        """Count a contribution; returns the outcome and the pane it belongs to."""
        start = pane_start(c.published_at)
        pane = self.panes.get(start)
        if self.is_late(c.published_at):
            # A text counted before its window closed and read again after (a replay upstream
            # after a crash) is a repeat, not a late text.
            if pane is not None and pane.has(c.event_id):
                return "repeat", start
            return "late", start
        if pane is None:
            pane = self.panes[start] = Pane()
        if not pane.add(c):
            return "repeat", start
        self._track(start, dirty=True)
        if not self._closed(start + PANE_S):
            return "counted", start
        pane.amended_at(self.closed_until)
        self._amended.add(start)
        return "amended", start

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

    def close(self, clock: float, now: float) -> tuple[list[WindowRecord], dict[int, Pane]]:
        """Windows closed by ``clock`` and the closed windows amended since the clock last moved
        (final, once each, with their amendments), and the panes no window needs any more (by
        start, oldest first; removed from ``panes``)."""
        if clock <= self.closed_until:
            return [], {}
        done = {k for k in self._open if k[1] + k[0] + self.lateness_s <= clock}
        keys = sorted(done | self._amended_windows())
        # Before the panes expire: an amended window may be the oldest one they serve.
        records = [self._record(size, start, final=True, now=now) for size, start in keys]
        self._open.difference_update(done)
        self._amended.clear()
        self.closed_until = clock
        horizon = max(spec.size_s for spec in self.specs) + self.lateness_s
        horizon += self.allowed_lateness_s
        expired = {p: self.panes.pop(p) for p in sorted(self.panes) if p + horizon <= clock}
        return records, expired

    def _amended_windows(self) -> set[tuple[int, int]]:
        """The closed windows holding a pane amended since the clock last moved."""
        keys = set()
        for p in self._amended:
            for clock in self.panes[p].late:
                if clock < self.closed_until:
                    continue
                for spec in self.specs:
                    for w in spec.starts(p):
                        if w + spec.size_s + self.lateness_s <= clock:
                            keys.add((spec.size_s, w))
        return keys

    def _record(self, size_s: int, start: int, *, final: bool, now: float) -> WindowRecord:
        panes = [self.panes[p] for p in range(start, start + size_s, PANE_S) if p in self.panes]
        closed_at = start + size_s + self.lateness_s
        amendments = len({c for p in panes for c in p.late if c >= closed_at}) if final else 0
        return window_record(
            self.topic, start, size_s, panes, final=final, now=now, amendments=amendments
        )

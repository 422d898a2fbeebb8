"""How far this worker's scoring has got (pure: every time is passed in): what it has taken from
``text.enriched`` and what is still in flight, and the ingest marks it passes on once the records
before them are sent (stream/watermarks.py)."""

from __future__ import annotations

import uuid

from stream.records import Mark
from stream.watermarks import HOLD, UpstreamView


class Progress:
    """What this worker has taken from ``text.enriched`` and what is still being scored.

    ``wall``: now, or the start of the oldest batch still being scored; the window timer uses
    it, so a Triton outage holds windows open instead of turning the backlog into late records.
    ``in_flight``: the oldest event time of each batch being scored, which holds this worker's
    marks back. ``behind``: the partitions with records not taken yet, which are never idle.
    """

    def __init__(self) -> None:
        self.source = uuid.uuid4().hex[:12]  # names this worker's marks
        self.busy: dict[int, float] = {}
        self.in_flight: dict[int, float] = {}  # actor -> oldest event time of its batch
        self.assignment: set[int] = set()  # partitions of text.enriched this worker reads
        self.start: dict[int, int | None] = {}  # partition -> offset reading began at
        self.next_offset: dict[int, int] = {}  # partition -> offset after the last one taken
        self.behind: set[int] = set()  # partitions with records not taken yet

    def wall(self, now: float) -> float:
        return min([now, *self.busy.values()])

    def assigned(self, partitions: set[int]) -> None:
        """A rebalance: reading restarts from the committed offsets of ``partitions``."""
        self.assignment = set(partitions)
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
        for partition, offset in taken:
            self.next_offset[partition] = max(self.next_offset.get(partition, 0), offset + 1)

    def passed(self, partition: int, offset: int) -> None:
        """A mark (no text) was taken at ``offset``: it counts as read, like a record."""
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


# Offsets taken above a partition's frontier that are remembered at most: a gap this far behind
# the newest taken is a hole for good (take buffers hold ``score_concurrency`` x ``score_batch``
# records, hundreds), as is a frontier that never began; past it the frontier moves to the oldest
# remembered, so memory stays bounded (about 0.6 MB a partition) and marks are held no longer
# than ``grace_s`` would hold them anyway.
MAX_AHEAD = 10_000


class EnrichedMarks:
    """The ingest marks read on each ``text.enriched`` partition, applied once the records before
    them are scored and sent on, and the marks this worker sends on (stream/watermarks.py).

    Several actors take from one stream (``score_concurrency``), so a mark can be taken while a
    record before it is still being scored by another actor, still waits in that actor's take
    buffer, or is held by its buffer's feeder while that actor scores (faust's ``take_events``
    pulls one record ahead). A mark read at offset ``o`` is applied when no record below ``o`` is
    in flight and every offset from where reading began (``begin``) up to ``o`` has been taken:
    ``text.enriched`` is written without transactions, so its offsets have no gaps. Where the
    start is not known yet, or a gap would hold marks for good, a mark is applied ``grace_s``
    after it was read instead (take buffers yield within ``score_within_s``; the lead sets
    ``grace_s`` well above that).
    """

    def __init__(self, topic: str, partitions: int, grace_s: float) -> None:
        self.topic = topic
        self.partitions = partitions
        self.grace_s = grace_s
        self.views: dict[int, UpstreamView] = {}
        self.held: dict[int, list[tuple[int, float, Mark]]] = {}  # partition -> marks not applied
        self.pending: dict[int, list[tuple[int, int]]] = {}  # actor -> (partition, offset) taken
        self.frontier: dict[int, int] = {}  # partition -> every offset below it was taken
        self.ahead: dict[int, set[int]] = {}  # partition -> offsets taken above the frontier

    def assigned(self, partitions: set[int]) -> None:
        """A rebalance: what is known of partitions kept stays (marks only move forward); reading
        restarts from the committed offsets, so where it began is learnt again."""
        self.views = {p: v for p, v in self.views.items() if p in partitions}
        self.held = {p: h for p, h in self.held.items() if p in partitions}
        self.frontier.clear()
        self.ahead.clear()

    def begin(self, partition: int, offset: int) -> None:
        """Reading ``partition`` began at ``offset`` (the consumer's position at assignment)."""
        if partition not in self.frontier:
            self.frontier[partition] = offset
            ahead = self.ahead.get(partition, set())
            ahead.difference_update([o for o in ahead if o < offset])
            self._advance(partition)

    def _taken(self, partition: int, offset: int) -> None:
        frontier = self.frontier.get(partition)
        if frontier is None or offset >= frontier:  # below it: a repeat after a re-seek
            ahead = self.ahead.setdefault(partition, set())
            ahead.add(offset)
            if len(ahead) > MAX_AHEAD:  # a hole for good (see MAX_AHEAD): step over it
                self.frontier[partition] = min(ahead)
            self._advance(partition)

    def _advance(self, partition: int) -> None:
        frontier = self.frontier.get(partition)
        if frontier is None:
            return
        ahead = self.ahead.setdefault(partition, set())
        while frontier in ahead:
            ahead.discard(frontier)
            frontier += 1
        self.frontier[partition] = frontier

    def read(self, partition: int, offset: int, mark: Mark, now_s: float) -> None:
        self.held.setdefault(partition, []).append((offset, now_s, mark))
        self._taken(partition, offset)

    def started(self, actor: int, taken: list[tuple[int, int]]) -> None:
        self.pending[actor] = taken
        for partition, offset in taken:
            self._taken(partition, offset)

    def finished(self, actor: int) -> None:
        self.pending.pop(actor, None)

    def _apply_ready(self, now_s: float) -> None:
        lowest: dict[int, int] = {}
        for taken in self.pending.values():
            for partition, offset in taken:
                lowest[partition] = min(offset, lowest.get(partition, offset))
        for partition, held in self.held.items():
            first_busy = lowest.get(partition)
            keep = []
            frontier = self.frontier.get(partition)
            for offset, read_s, mark in held:
                all_taken = frontier is not None and offset < frontier
                ready = all_taken or now_s - read_s >= self.grace_s
                if ready and (first_busy is None or offset < first_busy):
                    self.views.setdefault(partition, UpstreamView()).apply(mark.view(), mark.totals)
                else:
                    keep.append((offset, read_s, mark))
            self.held[partition] = keep

    def marks(
        self, assignment: set[int], behind: set[int], in_flight_s: float | None, now_s: float
    ) -> dict[str, tuple[float, bool]]:
        """``text.enriched/p -> (event time, idle)`` for each partition this worker reads: the
        lowest mark of its raw partitions not idle, held back by ``in_flight_s`` (the oldest text
        being scored); idle when every raw partition is, and nothing on it waits here."""
        self._apply_ready(now_s)
        busy = {p for taken in self.pending.values() for p, _ in taken}
        marks: dict[str, tuple[float, bool]] = {}
        for partition in sorted(assignment):
            view = self.views.get(partition)
            upstream_s = view.watermark_s() if view else HOLD
            waiting = partition in behind or partition in busy or bool(self.held.get(partition))
            name = f"{self.topic}/{partition}"
            # Every raw partition idle: the latest mark, idle itself unless something waits here.
            event_s = (view.latest_s() if view else HOLD) if upstream_s is None else upstream_s
            if upstream_s is None and not waiting and in_flight_s is None:
                marks[name] = (event_s, True)
                continue
            if in_flight_s is not None:
                event_s = min(event_s, in_flight_s)
            marks[name] = (event_s, False)
        return marks

    def next_ready_s(self) -> float | None:
        """When the oldest mark held back only by ``grace_s`` may be applied."""
        times = [read_s for held in self.held.values() for _, read_s, _ in held]
        return min(times) + self.grace_s if times else None

    def totals(self) -> dict[str, int]:
        return {self.topic: self.partitions}

"""One-minute panes and the windows summed from them (pure: no Kafka, no clock).

Every window is a sum of one-minute panes, so one pane per (topic, minute) is all the state a
topic needs, whatever windows are configured (tumbling 1 min, hopping 15 min / 1 min, 1 h / 5 min).
A pane remembers digests of the ids of the texts it counted, so a text delivered twice (a replay
after a crash, a repeat upstream) is counted once: the counts are exact under at-least-once
delivery. Each id is written to the changelog once (``Pane.delta``).
It also remembers the clocks at which texts were counted into it after its minute had closed
(within the allowed lateness, stream/windows/state.py): how often each window that holds it has
been amended is derived from them, so nothing per window needs persisting.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from stream.records import Contribution, WindowRecord

PANE_S = 60
EVIDENCE = 5  # ids of the most negative texts kept per pane and window


@dataclass(frozen=True, order=True)
class WindowSpec:
    size_s: int
    step_s: int

    def starts(self, pane_start: int) -> range:
        """Starts of this spec's windows that contain the pane starting at ``pane_start``."""
        last = pane_start - pane_start % self.step_s
        first = last - ((self.size_s - PANE_S) // self.step_s) * self.step_s
        return range(first, last + 1, self.step_s)


DEFAULT_SPECS = (WindowSpec(60, 60), WindowSpec(900, 60), WindowSpec(3600, 300))


def parse_specs(text: str) -> tuple[WindowSpec, ...]:
    """``"60/60,900/60,3600/300"`` (size/step in seconds) -> specs; both multiples of a minute."""
    specs = []
    for part in text.split(","):
        size, _, step = part.strip().partition("/")
        try:
            spec = WindowSpec(int(size), int(step or size))
        except ValueError:
            raise ValueError(
                f"window {part!r}: expected SIZE/STEP in seconds, e.g. 900/60"
            ) from None
        if spec.size_s % PANE_S or spec.step_s % PANE_S or not 0 < spec.step_s <= spec.size_s:
            raise ValueError(
                f"window {part!r}: size and step must be whole minutes, with step <= size"
            )
        specs.append(spec)
    if WindowSpec(60, 60) not in specs:
        specs.insert(0, WindowSpec(60, 60))  # the tumbling minute is always kept
    return tuple(sorted(set(specs)))


def pane_start(ts: float) -> int:
    return int(ts // PANE_S) * PANE_S


def id_digest(event_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "big")


@dataclass
class Pane:
    """A pane's sums, the digests of the ids it counted, its evidence and amendment clocks.

    Persisted as deltas (``delta``, ``from_deltas``): each write carries the sums so far and only
    what is new since the last write (ids, evidence, amendment clocks), so the changelog costs a
    constant per text, not the whole id set again at every write (which grew with the square of
    the pane's size). A delta is one table entry: it is written whole or not at all.
    """

    n_negative: int = 0
    n_neutral: int = 0
    n_positive: int = 0
    score_sum: float = 0.0
    reach_sum: float = 0.0
    reach_score_sum: float = 0.0
    negatives: list[tuple[float, str]] = field(default_factory=list)  # lowest scores, event ids
    late: list[float] = field(default_factory=list)  # clocks of counts after the minute closed
    writes: int = 0  # deltas written so far: the next one's sequence number
    legacy: bool = field(default=False, repr=False, compare=False)  # also written whole, once
    seen: set[int] = field(default_factory=set, repr=False)  # digests of the ids counted
    _new: list[int] = field(default_factory=list, repr=False, compare=False)
    _new_negatives: list[tuple[float, str]] = field(default_factory=list, repr=False, compare=False)
    _new_late: list[float] = field(default_factory=list, repr=False, compare=False)

    def has(self, event_id: str) -> bool:
        return id_digest(event_id) in self.seen

    @property
    def n(self) -> int:
        return self.n_negative + self.n_neutral + self.n_positive

    def add(self, c: Contribution) -> bool:
        """Count a contribution; False when this text was already counted here."""
        digest = id_digest(c.event_id)
        if digest in self.seen:
            return False
        self.seen.add(digest)
        self._new.append(digest)
        if c.label == "negative":
            self.n_negative += 1
        elif c.label == "positive":
            self.n_positive += 1
        else:
            self.n_neutral += 1
        self.score_sum += c.score
        self.reach_sum += c.reach
        self.reach_score_sum += c.reach * c.score
        if c.label == "negative":
            pair = (c.score, c.event_id)
            kept = sorted([*self.negatives, pair])[:EVIDENCE]
            if pair in kept:
                self._new_negatives.append(pair)
            self.negatives = kept
        return True

    def amended_at(self, clock: float) -> None:
        """Texts were counted here at ``clock`` (the clock windows were closed up to), after this
        pane's minute had closed; one entry per clock, however many texts."""
        if clock not in self.late:
            self.late.append(clock)
            self._new_late.append(clock)

    def delta(self) -> list[Any]:
        """What to write now (compact: a list, not a dict with names): the sums so far, then the
        id digests, evidence and amendment clocks added since the last write. Counts as written."""
        sums: list[float] = [self.n_negative, self.n_neutral, self.n_positive]
        sums += [self.score_sum, self.reach_sum, self.reach_score_sum]
        ids = [f"{d:016x}" for d in self._new]
        negatives = [list(pair) for pair in self._new_negatives]
        data = [*sums, ids, negatives]
        if self._new_late:
            data.append(self._new_late)
        self._new, self._new_negatives, self._new_late = [], [], []
        self.writes += 1
        return data

    @classmethod
    def from_deltas(cls, deltas: list[tuple[int, list[Any]]]) -> Pane:
        """The pane written as ``(sequence, delta)`` pairs, in any order; missing ones (a worker
        that stopped between writing two deltas of one batch is replayed) hold nothing lost:
        each delta is whole, and the replayed batch counts again what no delta holds."""
        pane = cls()
        for seq, data in sorted(deltas, key=lambda item: item[0]):
            (pane.n_negative, pane.n_neutral, pane.n_positive) = (int(x) for x in data[:3])
            (pane.score_sum, pane.reach_sum, pane.reach_score_sum) = (float(x) for x in data[3:6])
            pane.seen.update(int(d, 16) for d in data[6])
            pane.negatives.extend((float(score), str(event_id)) for score, event_id in data[7])
            pane.late.extend(float(clock) for clock in (data[8] if len(data) > 8 else []))
            pane.writes = max(pane.writes, seq + 1)
        pane.negatives = sorted(set(pane.negatives))[:EVIDENCE]
        pane.late = sorted(set(pane.late))
        return pane

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pane:
        """A pane written whole (before deltas: the table entries of an older release)."""
        pane = cls()
        pane.n_negative, pane.n_neutral = int(data["n_negative"]), int(data["n_neutral"])
        pane.n_positive = int(data["n_positive"])
        pane.score_sum, pane.reach_sum = float(data["score_sum"]), float(data["reach_sum"])
        pane.reach_score_sum = float(data["reach_score_sum"])
        pane.seen = {int(d, 16) for d in data.get("ids", [])}
        pane.negatives = [(float(s), str(e)) for s, e in data.get("negatives", [])]
        pane.late = [float(clock) for clock in data.get("late", [])]
        pane.legacy = True
        return pane


def window_record(
    topic: str,
    start: int,
    size_s: int,
    panes: list[Pane],
    *,
    final: bool,
    now: float,
    amendments: int = 0,
) -> WindowRecord:
    n_neg = sum(p.n_negative for p in panes)
    n_neu = sum(p.n_neutral for p in panes)
    n_pos = sum(p.n_positive for p in panes)
    n = n_neg + n_neu + n_pos
    score_sum = sum(p.score_sum for p in panes)
    reach_sum = sum(p.reach_sum for p in panes)
    mean = score_sum / n if n else 0.0
    weighted = sum(p.reach_score_sum for p in panes) / reach_sum if reach_sum > 0 else mean
    return WindowRecord(
        topic=topic,
        window_start=float(start),
        window_seconds=size_s,
        n=n,
        n_negative=n_neg,
        n_neutral=n_neu,
        n_positive=n_pos,
        score_sum=score_sum,
        score_mean=mean,
        reach_sum=reach_sum,
        reach_weighted_score=weighted,
        negative_share=n_neg / n if n else 0.0,
        final=final,
        emitted_at=now,
        most_negative=[i for _, i in sorted(x for p in panes for x in p.negatives)[:EVIDENCE]],
        amendments=amendments,
    )

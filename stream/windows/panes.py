"""One-minute panes and the windows summed from them (pure: no Kafka, no clock).

Every window is a sum of one-minute panes, so one pane per (topic, minute) is all the state a
topic needs, whatever windows are configured (tumbling 1 min, hopping 15 min / 1 min, 1 h / 5 min).
A pane remembers the ids of the texts it counted, so a text delivered twice (a replay after a
crash, a repeat upstream) is counted once: the counts are exact under at-least-once delivery.
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


def id_digest(event_id: str) -> str:
    return hashlib.blake2b(event_id.encode(), digest_size=8).hexdigest()


@dataclass
class Pane:
    n_negative: int = 0
    n_neutral: int = 0
    n_positive: int = 0
    score_sum: float = 0.0
    reach_sum: float = 0.0
    reach_score_sum: float = 0.0
    ids: list[str] = field(default_factory=list)
    negatives: list[tuple[float, str]] = field(default_factory=list)  # lowest scores, event ids
    late: list[float] = field(default_factory=list)  # clocks of counts after the minute closed
    _seen: set[str] = field(default_factory=set, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._seen = set(self.ids)

    def has(self, event_id: str) -> bool:
        return id_digest(event_id) in self._seen

    @property
    def n(self) -> int:
        return self.n_negative + self.n_neutral + self.n_positive

    def add(self, c: Contribution) -> bool:
        """Count a contribution; False when this text was already counted here."""
        digest = id_digest(c.event_id)
        if digest in self._seen:
            return False
        self._seen.add(digest)
        self.ids.append(digest)
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
            self.negatives = sorted([*self.negatives, (c.score, c.event_id)])[:EVIDENCE]
        return True

    def amended_at(self, clock: float) -> None:
        """Texts were counted here at ``clock`` (the clock windows were closed up to), after this
        pane's minute had closed; one entry per clock, however many texts."""
        if clock not in self.late:
            self.late.append(clock)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "n_negative": self.n_negative,
            "n_neutral": self.n_neutral,
            "n_positive": self.n_positive,
            "score_sum": self.score_sum,
            "reach_sum": self.reach_sum,
            "reach_score_sum": self.reach_score_sum,
            "ids": self.ids,
            "negatives": [list(pair) for pair in self.negatives],
        }
        # Only when there is one: a pane never amended is stored as before allowed lateness.
        return data | {"late": self.late} if self.late else data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Pane:
        negatives = [(float(score), str(event_id)) for score, event_id in data.get("negatives", [])]
        late = [float(clock) for clock in data.get("late", [])]
        return cls(**{**data, "negatives": negatives, "late": late})


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

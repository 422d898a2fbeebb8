"""Alert rules over a topic's closed windows (pure: no Kafka, no clock of its own).

Each rule compares the newest window of a topic with a baseline learnt from that topic's own
earlier windows (an exponentially weighted mean and deviation), so a ticker that is always
discussed negatively does not alert all day, and a quiet one alerts on a burst that would be
noise for a busy one.

- ``negative_surge``: the negative share (or the fall of the mean score) well above baseline.
- ``volume_spike``: the number of texts well above baseline (deviation at least Poisson's).
- ``sentiment_reversal``: the mean score crosses from clearly positive to clearly negative, or back.

A condition that holds over several windows alerts once, then again only when its severity rises
(escalation); when it ends, a resolution is reported. After an alert, a (topic, rule) stays quiet
for ``cooldown_s`` unless it escalates. Windows under ``min_count`` texts are not judged (a share
of 3 texts says little) and do not move the sentiment baselines; while a condition holds, the
baseline is frozen so that it does not learn the anomaly as normal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Rule = Literal["negative_surge", "volume_spike", "sentiment_reversal"]
RULES: tuple[Rule, ...] = ("negative_surge", "volume_spike", "sentiment_reversal")
SEVERITIES = ("warning", "critical")
Kind = Literal["alert", "escalation", "resolution"]
# The figure of a window each rule reads besides its count: what a history of windows keeps
# (stream/alerts/history.py) to judge them again.
FIGURE: dict[Rule, Literal["negative_share", "score_mean"] | None] = {
    "negative_surge": "negative_share",
    "volume_spike": None,
    "sentiment_reversal": "score_mean",
}


class Figures(Protocol):
    """What the rules read of a window: a WindowRecord, or what a history kept of one."""

    @property
    def n(self) -> int: ...
    @property
    def negative_share(self) -> float: ...
    @property
    def score_mean(self) -> float: ...


@dataclass(frozen=True)
class RuleSettings:
    min_count: int = 10  # texts a window needs to be judged
    alpha: float = 0.2  # weight of the newest window in the baseline
    warmup: int = 6  # windows before a baseline is trusted
    warning_z: float = 3.0
    critical_z: float = 5.0
    min_change: float = 0.15  # and at least this much change in share (surge)
    min_sd: float = 0.05  # floor of the deviation of shares and scores
    reversal_level: float = 0.25  # |mean score| on both sides of a reversal
    resolve_z: float = 1.5  # a condition has ended below this
    cooldown_s: float = 3600.0


@dataclass
class Baseline:
    """Exponentially weighted mean and variance (West's update)."""

    mean: float = 0.0
    var: float = 0.0
    n: int = 0

    def update(self, x: float, alpha: float) -> None:
        if self.n == 0:
            self.mean, self.var = x, 0.0
        else:
            diff = x - self.mean
            incr = alpha * diff
            self.mean += incr
            self.var = (1 - alpha) * (self.var + diff * incr)
        self.n += 1

    def sd(self, floor: float) -> float:
        return max(math.sqrt(self.var), floor)


@dataclass
class RuleState:
    """What one (topic, rule) remembers between windows."""

    baseline: Baseline = field(default_factory=Baseline)
    active: str | None = None  # severity of the condition in progress
    last_alert_at: float = -math.inf
    last_window: float = -math.inf  # start of the last window judged (a replayed one is skipped)

    def to_dict(self) -> dict[str, Any]:
        b = self.baseline
        return {
            "baseline": [b.mean, b.var, b.n],
            "active": self.active,
            "last_alert_at": None if math.isinf(self.last_alert_at) else self.last_alert_at,
            "last_window": None if math.isinf(self.last_window) else self.last_window,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleState:
        mean, var, n = data["baseline"]
        last_alert, last_window = data.get("last_alert_at"), data.get("last_window")
        return cls(
            Baseline(mean, var, n),
            data.get("active"),
            -math.inf if last_alert is None else last_alert,
            -math.inf if last_window is None else last_window,
        )


@dataclass(frozen=True)
class Decision:
    rule: Rule
    kind: Kind
    severity: str  # for a resolution: the severity that ended
    value: float
    baseline: float
    threshold: float
    z: float


def _severity(z: float, s: RuleSettings) -> str | None:
    if z >= s.critical_z:
        return "critical"
    if z >= s.warning_z:
        return "warning"
    return None


def reads(rule: Rule, w: Figures, s: RuleSettings) -> bool:
    """Whether a rule reads a window at all: one under ``min_count`` texts neither moves a
    sentiment baseline nor is judged, so it changes nothing for those rules."""
    return rule == "volume_spike" or w.n >= s.min_count


def _measure(
    rule: Rule, w: Figures, state: RuleState, s: RuleSettings
) -> tuple[float, float, float] | None:
    """(value, z, threshold value) of a window for a rule; None when the window is not judged."""
    b = state.baseline
    if rule == "volume_spike":
        sd = max(b.sd(0.0), math.sqrt(max(b.mean, 1.0)))  # at least Poisson noise
        z = (w.n - b.mean) / sd
        return float(w.n), z, b.mean + s.warning_z * sd
    if not reads(rule, w, s):
        return None
    if rule == "negative_surge":
        sd = b.sd(s.min_sd)
        z = (w.negative_share - b.mean) / sd
        if w.negative_share - b.mean < s.min_change:
            z = min(z, s.warning_z - 1e-9)  # a tiny change on a flat baseline is not a surge
        return w.negative_share, z, b.mean + max(s.warning_z * sd, s.min_change)
    # sentiment_reversal: the score moved across zero, from one clear side to the other
    crossed = (b.mean >= s.reversal_level and w.score_mean <= -s.reversal_level) or (
        b.mean <= -s.reversal_level and w.score_mean >= s.reversal_level
    )
    sd = b.sd(s.min_sd)
    z = abs(w.score_mean - b.mean) / sd if crossed else 0.0
    return w.score_mean, z, -b.mean


def _learn(rule: Rule, w: Figures, state: RuleState, s: RuleSettings) -> None:
    if rule == "volume_spike":
        state.baseline.update(float(w.n), s.alpha)
    elif reads(rule, w, s):
        x = w.negative_share if rule == "negative_surge" else w.score_mean
        state.baseline.update(x, s.alpha)


def evaluate(
    rule: Rule, state: RuleState, w: Figures, s: RuleSettings, *, now: float
) -> Decision | None:
    """Judge a closed window, update the state, and say what to report (if anything). ``now`` is
    the time cooldowns count in: the agent passes event time (the window's end), so a window
    judged again is judged alike."""
    if state.baseline.n < s.warmup:
        _learn(rule, w, state, s)
        return None
    measured = _measure(rule, w, state, s)
    if measured is None:
        return None
    value, z, threshold = measured
    base = state.baseline.mean
    severity = _severity(z, s)
    decision: Decision | None = None
    if state.active is not None:
        if severity is not None and SEVERITIES.index(severity) > SEVERITIES.index(state.active):
            decision = Decision(rule, "escalation", severity, value, base, threshold, z)
            state.active, state.last_alert_at = severity, now
        elif z < s.resolve_z:
            decision = Decision(rule, "resolution", state.active, value, base, threshold, z)
            state.active = None
    elif severity is not None and now - state.last_alert_at >= s.cooldown_s:
        decision = Decision(rule, "alert", severity, value, base, threshold, z)
        state.active, state.last_alert_at = severity, now
    if state.active is None and (decision is None or decision.kind == "resolution"):
        _learn(rule, w, state, s)  # frozen while a condition holds
    return decision

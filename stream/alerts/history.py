"""What one (topic, rule) remembers of the windows it judged, so that a window amended after it
closed is judged as if its texts had come in time (pure: no Kafka, no clock of its own).

The window stage emits a closed window once more, final, each time texts within the allowed
lateness arrive after it closed (``WindowRecord.amendments`` 1, 2, ...). For the windows of the
last ``horizon_s`` (the allowed lateness), a history keeps what its rule reads of each (the count
and one figure, rules.FIGURE) and the rule's state before the oldest. An amendment that changes
what the rule reads rewinds to the state before its window and judges that window and every later
one again, in order: baselines, conditions and cooldowns (which count in event time) end as if
the data had come in order.

What ``judge`` reports, as findings:

- a decision once: (window, kind) makes the alert id, one reported is remembered for the horizon,
  and a window judged again that gives it again reports nothing (not even at another severity);
- decisions on the window that arrived, or on earlier ones, at once; those that judging again
  makes on later windows when a window at least as late arrives (as a rule, the next to close):
  the amendments one late text causes come in window order, so those later windows may be amended
  next, and what they would say now rests on figures about to change;
- nothing for a decision that an amendment withdraws (an alert reported on a first version that
  the amended figures no longer call for): it stays reported. A later change may add retractions.

A window delivered again with the amendments already judged (a replay after a crash) changes
nothing, nor does an amendment that leaves the rule's figures as they were (its count is kept),
nor one of a window older than the horizon. Windows a rule does not read (rules.reads) are not
kept, so a quiet topic keeps little for the sentiment rules.

Stored as a head a topic and a row a window kept (stream/alerts/state_keys.py): judging a
window writes under 1 KB for the three rules. Written whole (``to_dict``, an older release's
form, still read), a history at the default settings (15-minute windows hopping every minute, a
6-hour horizon: 361 windows kept) of a busy topic is about 5 KB for negative_surge, 11 KB for
sentiment_reversal and 3.5 KB for volume_spike (tests/unit/alerts/test_history.py).
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stream.alerts.rules import (
    FIGURE,
    Baseline,
    Decision,
    Rule,
    RuleSettings,
    RuleState,
    evaluate,
    reads,
)
from stream.records import WindowRecord

HORIZON_S = 6 * 3600.0  # how far back amendments are judged again: the allowed lateness


@dataclass(frozen=True)
class Entry:
    """What a history keeps of one window judged: its version, and what its rule reads (the
    figure the rule does not read is 0)."""

    window_start: float
    window_seconds: int
    amendments: int
    n: int
    negative_share: float = 0.0
    score_mean: float = 0.0

    @property
    def window_end(self) -> float:
        return self.window_start + self.window_seconds


def entry(rule: Rule, w: WindowRecord) -> Entry:
    figure = FIGURE[rule]
    return Entry(
        w.window_start,
        w.window_seconds,
        w.amendments,
        w.n,
        w.negative_share if figure == "negative_share" else 0.0,
        w.score_mean if figure == "score_mean" else 0.0,
    )


Decided = tuple[Entry, Decision]


@dataclass(frozen=True)
class Finding:
    """A decision to report, on the window it is about: the one that arrived, or one judged
    again. ``amended`` is set when judging again raised it: that window's amendments, and how
    long after its end (by the arriving record's ``emitted_at``) it is reported."""

    decision: Decision
    window: Entry
    amended: dict[str, float] | None = None


@dataclass(frozen=True)
class History:
    """One (topic, rule): its state after every window judged, its state before the oldest window
    kept (``base.last_window``: the newest window folded into it), the windows kept since (by
    start), the (window start, kind) reported within the horizon, and the decisions on windows
    later than the last to arrive that wait to be reported."""

    state: RuleState = field(default_factory=RuleState)
    base: RuleState = field(default_factory=RuleState)
    entries: tuple[Entry, ...] = ()
    sent: frozenset[tuple[float, str]] = frozenset()
    waiting: tuple[tuple[Entry, Decision], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The whole history in one entry, as an older release stored it: the state as
        RuleState.to_dict gives it, and the history beside it in columns (starts as differences,
        figures only when read)."""
        es = self.entries
        starts = [_compact(b.window_start - a.window_start) for a, b in itertools.pairwise(es)]
        kept: dict[str, Any] = {
            "base": self.base.to_dict(),
            "seconds": es[0].window_seconds if es else 0,
            "starts": [_compact(es[0].window_start), *starts] if es else [],
            "n": [e.n for e in es],
        }
        if any(e.negative_share for e in es):
            kept["share"] = [_per_text(e.negative_share, e.n) for e in es]
        if any(e.score_mean for e in es):
            kept["score"] = [_per_text(e.score_mean, e.n) for e in es]
        if any(e.amendments for e in es):
            kept["amendments"] = [[i, e.amendments] for i, e in enumerate(es) if e.amendments]
        kept["sent"] = sorted([start, kind] for start, kind in self.sent)
        kept["waiting"] = [
            [e.window_start, d.rule, d.kind, d.severity, d.value, d.baseline, d.threshold, d.z]
            for e, d in self.waiting
        ]
        return {**self.state.to_dict(), "history": kept}

    def head(self) -> dict[str, Any]:
        """What the history keeps apart from its windows (each stored under a key of its own:
        stream/alerts/state_keys.py): the state, the state before the oldest window (each as
        ``_state_row``), what was reported and what waits (by window start)."""
        return {
            "state": _state_row(self.state),
            "base": _state_row(self.base),
            "seconds": self.entries[0].window_seconds if self.entries else 0,
            "sent": sorted([_compact(start), kind] for start, kind in self.sent),
            "waiting": [
                [e.window_start, d.rule, d.kind, d.severity, d.value, d.baseline, d.threshold, d.z]
                for e, d in self.waiting
            ],
        }

    @classmethod
    def from_head(cls, head: dict[str, Any], rows: dict[float, list[Any]]) -> History:
        """The history of a ``head`` and its windows' ``rows`` (``row``) by start. Rows outside
        the history's span (after its last window, or folded into its base) are left out: they
        are what a crash left between the writes of one window."""
        state, base = _from_state_row(head["state"]), _from_state_row(head["base"])
        entries = tuple(
            from_row(start, head["seconds"], rows[start])
            for start in sorted(rows)
            if base.last_window < start <= state.last_window
        )
        return cls._with(state, base, entries, head)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """The history as ``to_dict`` wrote it (one entry for all: an older release's form)."""
        state = RuleState.from_dict(data)
        kept = data.get("history")
        if kept is None:  # written before histories: amendments of what it judged are too late
            return cls(state, _copy(state))
        starts, at = [], 0.0
        for diff in kept["starts"]:
            at += diff
            starts.append(at)
        count = len(starts)
        shares, scores = kept.get("share", [0.0] * count), kept.get("score", [0.0] * count)
        amendments = dict(kept.get("amendments", []))
        seconds = kept["seconds"]
        entries = tuple(
            Entry(start, seconds, amendments.get(i, 0), n, _figure(share, n), _figure(score, n))
            for i, (start, n, share, score) in enumerate(
                zip(starts, kept["n"], shares, scores, strict=True)
            )
        )
        return cls._with(state, RuleState.from_dict(kept["base"]), entries, kept)

    @classmethod
    def _with(
        cls, state: RuleState, base: RuleState, entries: tuple[Entry, ...], kept: dict[str, Any]
    ) -> History:
        by_start = {e.window_start: e for e in entries}
        waiting = tuple(
            (by_start[start], Decision(rule, kind, severity, value, baseline, threshold, z))
            for start, rule, kind, severity, value, baseline, threshold, z in kept["waiting"]
            if start in by_start
        )
        sent = frozenset((float(start), kind) for start, kind in kept["sent"])
        return cls(state, base, entries, sent, waiting)


def _state_row(s: RuleState) -> list[Any]:
    """A rule state as a row: the baseline's mean, variance and count, the condition in progress,
    the last alert and the last window (None for never): a third of ``RuleState.to_dict``."""
    b = s.baseline
    last_alert = None if math.isinf(s.last_alert_at) else _compact(s.last_alert_at)
    last_window = None if math.isinf(s.last_window) else _compact(s.last_window)
    return [b.mean, b.var, b.n, s.active, last_alert, last_window]


def _from_state_row(data: list[Any]) -> RuleState:
    mean, var, n, active, last_alert, last_window = data
    return RuleState(
        Baseline(mean, var, n),
        active,
        -math.inf if last_alert is None else float(last_alert),
        -math.inf if last_window is None else float(last_window),
    )


def row(e: Entry) -> list[Any]:
    """One window kept, as stored: its count, the figures (0 where the rule reads none; a share
    as its count of texts) and its amendments."""
    return [e.n, _per_text(e.negative_share, e.n), _per_text(e.score_mean, e.n), e.amendments]


def from_row(start: float, seconds: int, data: list[Any]) -> Entry:
    n, share, score, amendments = data
    return Entry(start, seconds, amendments, n, _figure(share, n), _figure(score, n))


def judge(
    history: History,
    w: WindowRecord,
    rule: Rule,
    s: RuleSettings,
    *,
    horizon_s: float = HORIZON_S,
) -> tuple[History, list[Finding]]:
    """Judge a final window (a first version or an amendment) for one (topic, rule): the new
    history (``history`` itself when the window changes nothing) and what to report."""
    new = entry(rule, w)
    first = w.window_start > history.state.last_window
    if first:
        h, decided = _first(history, new, rule, s)
    else:
        if _past_horizon(history, w.window_start, horizon_s):
            return history, []
        i = bisect.bisect_left(history.entries, w.window_start, key=lambda e: e.window_start)
        old = history.entries[i] if i < len(history.entries) else None
        if old is not None and old.window_start != w.window_start:
            old = None
        if old is None and not reads(rule, new, s):
            return history, []  # not read before (or not kept: not read), nor now
        if old is not None and new.amendments <= old.amendments:
            return history, []  # judged before: a replay
        if old is not None and dataclasses.replace(new, amendments=old.amendments) == old:
            h, decided = _replace(history, i, new, found=True), []  # nothing the rule reads
        else:
            h, decided = _again(history, i, new, found=old is not None, rule=rule, s=s)
    return _report(_forget(h, rule, s, horizon_s), decided, w.window_start, w.emitted_at, first)


def rejudge(
    history: History, e: Entry, rule: Rule, s: RuleSettings, *, horizon_s: float = HORIZON_S
) -> History:
    """The history ``judge`` made of window ``e`` when it came as a first version (later than
    every window judged), without the findings: how a topic is rebuilt from its last stored head
    and the rows written after it (stream/alerts/state_keys.py). What was found then is in
    ``sent`` now, as it was after the window was judged."""
    h, decided = _first(history, e, rule, s)
    return _report(_forget(h, rule, s, horizon_s), decided, e.window_start, 0.0, True)[0]


def judge_all(
    histories: Mapping[Rule, History],
    w: WindowRecord,
    rules: Iterable[Rule],
    s: RuleSettings,
    *,
    horizon_s: float = HORIZON_S,
) -> tuple[dict[Rule, History], list[tuple[Rule, Finding]]]:
    """``judge`` for each rule of one topic: its histories after the window (the rules not given
    kept as they are) and what to report, rule by rule. A history the window changes nothing
    for is the one given (``is``), so a caller writes only what changed."""
    after, found = dict(histories), []
    for rule in rules:
        h = histories.get(rule) or History()
        judged, findings = judge(h, w, rule, s, horizon_s=horizon_s)
        if judged is not h:
            after[rule] = judged
            found += [(rule, f) for f in findings]
    return after, found


def _first(h: History, e: Entry, rule: Rule, s: RuleSettings) -> tuple[History, list[Decided]]:
    state = _copy(h.state)
    d = evaluate(rule, state, e, s, now=e.window_end)
    state.last_window = e.window_start
    entries = (*h.entries, e) if reads(rule, e, s) else h.entries
    return dataclasses.replace(h, state=state, entries=entries), [] if d is None else [(e, d)]


def _again(
    h: History, i: int, e: Entry, *, found: bool, rule: Rule, s: RuleSettings
) -> tuple[History, list[Decided]]:
    """Rewind to the state before window ``e`` and judge it and every later window again."""
    h = _replace(h, i, e, found=found)
    state = _fold(h.base, h.entries[:i], rule, s)
    decided = []
    for later in h.entries[i:]:
        d = evaluate(rule, state, later, s, now=later.window_end)
        if d is not None:
            decided.append((later, d))
    state.last_window = h.state.last_window
    waiting = tuple((x, d) for x, d in h.waiting if x.window_start < e.window_start)
    return dataclasses.replace(h, state=state, waiting=waiting), decided


def _replace(h: History, i: int, e: Entry, *, found: bool) -> History:
    entries = (*h.entries[:i], e, *h.entries[i + found :])
    waiting = tuple((e if x.window_start == e.window_start else x, d) for x, d in h.waiting)
    return dataclasses.replace(h, entries=entries, waiting=waiting)


def _report(
    h: History, decided: list[Decided], arrived: float, emitted_at: float, first: bool
) -> tuple[History, list[Finding]]:
    """Report what was decided on windows up to the one that arrived (its start, and when it
    was emitted); the rest waits."""
    fresh = [(x, d) for x, d in decided if (x.window_start, d.kind) not in h.sent]
    due = [(x, d) for x, d in (*h.waiting, *fresh) if x.window_start <= arrived]
    waiting = tuple((x, d) for x, d in (*h.waiting, *fresh) if x.window_start > arrived)
    findings = []
    for x, d in due:
        on_time = first and x.window_start == arrived and x.amendments == 0
        late = {"amendments": x.amendments, "late_by_s": emitted_at - x.window_end}
        findings.append(Finding(d, x, None if on_time else late))
    sent = h.sent | {(x.window_start, d.kind) for x, d in due}
    return dataclasses.replace(h, sent=sent, waiting=waiting), findings


def _forget(h: History, rule: Rule, s: RuleSettings, horizon_s: float) -> History:
    """Fold the windows that fell out of the horizon into the base state."""
    cutoff = h.state.last_window - horizon_s
    k = bisect.bisect_left(h.entries, cutoff, key=lambda e: e.window_start)
    if k == 0 and all(start >= cutoff for start, _ in h.sent):
        return h
    base = _fold(h.base, h.entries[:k], rule, s)
    if k:
        base.last_window = max(h.base.last_window, h.entries[k - 1].window_start)
    sent = frozenset(x for x in h.sent if x[0] >= cutoff)
    return dataclasses.replace(h, base=base, entries=h.entries[k:], sent=sent)


def expired(
    last_windows: Iterable[tuple[str, float]], *, newest_start_s: float, expiry_s: float
) -> list[str]:
    """The keys whose last window judged (``RuleState.last_window``) started more than
    ``expiry_s`` before ``newest_start_s`` (the newest window judged where they live): topics
    quiet that long. Their baselines would be stale; dropped, such a topic warms up anew."""
    cutoff = newest_start_s - expiry_s
    return [key for key, last_window in last_windows if last_window < cutoff]


def _past_horizon(h: History, start: float, horizon_s: float) -> bool:
    return start <= h.base.last_window or start < h.state.last_window - horizon_s


def _fold(state: RuleState, entries: tuple[Entry, ...], rule: Rule, s: RuleSettings) -> RuleState:
    state = _copy(state)
    for e in entries:
        evaluate(rule, state, e, s, now=e.window_end)
    return state


def _copy(state: RuleState) -> RuleState:
    return dataclasses.replace(state, baseline=dataclasses.replace(state.baseline))


def _per_text(x: float, n: int) -> int | float:
    """A figure that is a whole number over the count (a share of texts) as that number: "3",
    not "0.10344827586206896". The JSON type tells them apart (a float is written with a dot)."""
    k = round(x * n)
    return k if n and k / n == x else x


def _figure(x: float, n: int) -> float:
    return x / n if isinstance(x, int) else float(x)


def _compact(x: float) -> int | float:
    return int(x) if x.is_integer() else x  # "60", not "60.0", times 361

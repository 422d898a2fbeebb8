"""The key layout of the ``alert-state`` table (pure).

- ``TOPIC``: the heads of the topic's histories, one per rule (``History.head``: the rule's
  state, the state before the oldest window kept, what was reported and what waits). About
  0.25 KB a rule.
- ``TOPIC\\x1fSTART``: one window that a rule keeps: its count, both figures, its amendments and
  the rules that keep it (``RULES`` positions as bits), some 30 B. Written when the window is
  judged, again only when an amendment changes it, deleted when no rule keeps it.

The head changes with every window judged (baselines move), but most of that change follows from
the window itself: judging a first version (``history.rejudge``) of the row it writes, from the
histories of the head, gives the histories again. So a window writes its row alone when that
holds, checked on each (the histories judged again from the stored ones must equal those judged
in memory, decisions and all), and the head at most every ``HEAD_EVERY`` windows and whenever the
check fails (an amendment, a topic's first window, a rule added, a crash's leftovers). ``load``
judges the rows after a head again, in order, so a restart or a rebalance rebuilds the same
histories; rows no rule keeps any more are deleted with the next head, since the rows between the
head's base and its last window are what it is rebuilt from. A window so costs its row, the
row's later delete and a share of a head: a tenth of writing the head each time.

The alerts agent writes the head first, then the rows, then the deletes: a crash between them
leaves a head whose newest row may be missing (the window, judged again on replay, is put back,
as an amendment would be) or rows no longer kept (deleted at the next head). An older release
kept a key a (topic, rule), ``TOPIC\\x1fRULE``, its history whole (``History.to_dict``): read as
before, replaced at the topic's next write.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stream.alerts.history import HORIZON_S, Entry, History, from_row, rejudge, row
from stream.alerts.rules import FIGURE, RULES, Rule, RuleSettings

SEP = "\x1f"
# Windows judged again from a head at most: what a load replays per topic, and how stale a head
# gets (a head is some 0.4 KB, a row 30 B: every 30 windows, a head costs a row's worth a window).
HEAD_EVERY = 30


@dataclass(frozen=True)
class Stored:
    """A topic's histories by rule and what the table holds of them: the head as written (None:
    not in this form), the starts of the rows written, an older release's keys to delete, and
    how many windows were judged since the head (whose rows a load judges again)."""

    histories: Mapping[Rule, History] = field(default_factory=dict)
    head: dict[str, Any] | None = None
    rows: frozenset[float] = frozenset()
    legacy: frozenset[str] = frozenset()
    since: int = 0

    @property
    def last_window(self) -> float:
        """The start of the last window judged (``-inf``: none)."""
        return max((h.state.last_window for h in self.histories.values()), default=-float("inf"))


def row_key(topic: str, start: float) -> str:
    return f"{topic}{SEP}{int(start) if start.is_integer() else start}"


def load(
    items: Iterable[tuple[str, Any]],
    settings: Callable[[str], RuleSettings] = lambda topic: RuleSettings(),
    *,
    horizon_s: float = HORIZON_S,
) -> dict[str, Stored]:
    """The topics' histories from table entries (``None``: a deleted entry), by topic, the rows
    after a head judged again under the topic's ``settings``. Rows with no head (a crash while a
    quiet topic was dropped) make a topic with nothing judged, which expires at its partition's
    next look."""
    heads: dict[str, dict[str, Any]] = {}
    rows: dict[str, dict[float, list[Any]]] = {}
    legacy: dict[str, dict[str, tuple[str, dict[str, Any]]]] = {}
    for key, value in items:
        if value is None:
            continue
        topic, sep, rest = key.partition(SEP)
        if not sep:
            heads[topic] = value
        elif rest in RULES:
            legacy.setdefault(topic, {})[rest] = (key, value)
        else:
            rows.setdefault(topic, {})[float(rest)] = value
    stored = {}
    for topic in heads.keys() | rows.keys() | legacy.keys():
        written, head = rows.get(topic, {}), heads.get(topic)
        histories: dict[Rule, History] = {}
        for name, (_, data) in legacy.get(topic, {}).items():
            histories[_rule(name)] = History.from_dict(data)
        since = 0
        for name, rule_head in (head or {}).items():
            rule = _rule(name)
            h = History.from_head(rule_head, _rule_rows(written, rule))
            later = [start for start in sorted(written) if start > h.state.last_window]
            for start in later:
                e = _entry(start, rule_head["seconds"], written[start], rule)
                h = rejudge(h, e, rule, settings(topic), horizon_s=horizon_s)
            histories[rule], since = h, max(since, len(later))
        old = frozenset(key for key, _ in legacy.get(topic, {}).values())
        stored[topic] = Stored(histories, None if old else head, frozenset(written), old, since)
    return stored


def writes(
    topic: str,
    stored: Stored,
    after: Mapping[Rule, History],
    s: RuleSettings,
    *,
    horizon_s: float = HORIZON_S,
    head_every: int = HEAD_EVERY,
) -> tuple[Stored, list[tuple[str, Any]], list[str]]:
    """What to write for ``after``, the topic's histories that follow ``stored`` (judged under
    ``s``): what the table holds then, the entries to set in order (the head first, if due,
    then the rows that are new or changed), and the keys to delete (with a head: rows no rule
    keeps, an older release's keys)."""
    changed, kept = _rows_changed(stored, after)
    rows = [(row_key(topic, start), _row(after, start)) for start in sorted(changed)]
    due = stored.since + 1 >= head_every
    if not due and _follows_from_rows(stored, after, changed, rows, s, horizon_s):
        held = Stored(dict(after), stored.head, stored.rows | changed, since=stored.since + 1)
        return held, rows, []
    head: dict[str, Any] = {rule: h.head() for rule, h in after.items()}
    puts: list[tuple[str, Any]] = [] if head == stored.head else [(topic, head)]
    deletes = [row_key(topic, start) for start in sorted(stored.rows - kept)]
    deletes += sorted(stored.legacy)
    return Stored(dict(after), head, frozenset(kept)), [*puts, *rows], deletes


def _rows_changed(stored: Stored, after: Mapping[Rule, History]) -> tuple[set[float], set[float]]:
    """The starts of the windows whose rows are new or changed, and of all windows kept."""
    changed: set[float] = set()
    kept: set[float] = set()
    for rule, h in after.items():
        before = stored.histories.get(rule)
        same = {id(e) for e in before.entries} if before is not None else set()
        for e in h.entries:
            kept.add(e.window_start)
            if id(e) not in same or e.window_start not in stored.rows:
                changed.add(e.window_start)
    return changed, kept


def _follows_from_rows(
    stored: Stored,
    after: Mapping[Rule, History],
    changed: set[float],
    rows: list[tuple[str, Any]],
    s: RuleSettings,
    horizon_s: float,
) -> bool:
    """Whether ``load`` rebuilds ``after`` from the head as stored and the rows with ``rows``
    added: one new window, later than all judged, that judged again from the stored histories
    gives ``after`` exactly (so the head need not be written)."""
    if stored.head is None or stored.legacy:
        return False
    if len(changed) != 1 or after.keys() != stored.histories.keys():
        return False
    (start,), (_, data) = changed, rows[0]
    if start <= stored.last_window:
        return False
    for rule, h in stored.histories.items():
        e = _entry(start, stored.head[rule]["seconds"], data, rule)
        if rejudge(h, e, rule, s, horizon_s=horizon_s) != after[rule]:
            return False
    return True


def every_key(topic: str, stored: Stored) -> list[str]:
    """The entries of a topic, its head last (so that a crash while they are deleted leaves rows
    that ``load`` finds without a head)."""
    rows = [row_key(topic, start) for start in sorted(stored.rows)]
    return [*rows, *sorted(stored.legacy), topic]


def _row(histories: Mapping[Rule, History], start: float) -> list[Any]:
    """The row of the window at ``start``: the rule form (``history.row``) with both figures,
    and the bits of the rules that keep it."""
    n = amendments = mask = seconds = 0
    share = score = 0.0
    for rule, h in histories.items():
        e = _at(h.entries, start)
        if e is None:
            continue
        n, amendments, seconds, mask = (
            e.n,
            e.amendments,
            e.window_seconds,
            mask | 1 << RULES.index(rule),
        )
        share = e.negative_share if FIGURE[rule] == "negative_share" else share
        score = e.score_mean if FIGURE[rule] == "score_mean" else score
    return [*row(Entry(start, seconds, amendments, n, share, score)), mask]


def _entry(start: float, seconds: int, data: list[Any], rule: Rule) -> Entry:
    """A row as the entry one rule judged (the figure it does not read is 0)."""
    n, share, score, amendments, _ = data
    figure = FIGURE[rule]
    return from_row(
        start,
        seconds,
        [
            n,
            share if figure == "negative_share" else 0,
            score if figure == "score_mean" else 0,
            amendments,
        ],
    )


def _rule_rows(rows: Mapping[float, list[Any]], rule: Rule) -> dict[float, list[Any]]:
    """The rows one rule keeps, in its own form (the figure it does not read is 0)."""
    bit, figure = 1 << RULES.index(rule), FIGURE[rule]
    out = {}
    for start, (n, share, score, amendments, mask) in rows.items():
        if mask & bit:
            out[start] = [
                n,
                share if figure == "negative_share" else 0,
                score if figure == "score_mean" else 0,
                amendments,
            ]
    return out


def _rule(name: str) -> Rule:
    return RULES[RULES.index(name)]  # type: ignore[arg-type]  # a name ``load`` found in RULES


def _at(entries: tuple[Entry, ...], start: float) -> Entry | None:
    i = bisect.bisect_left(entries, start, key=lambda e: e.window_start)
    return entries[i] if i < len(entries) and entries[i].window_start == start else None

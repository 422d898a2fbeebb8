"""The key layout of the ``alert-state`` table (pure).

- ``TOPIC``: the heads of the topic's histories, one per rule (``History.head``: the rule's
  state, the state before the oldest window kept, what was reported and what waits). About
  0.25 KB a rule.
- ``TOPIC\\x1fSTART``: one window that a rule keeps: its count, both figures, its amendments and
  the rules that keep it (``RULES`` positions as bits), some 30 B. Written when the window is
  judged, again only when an amendment changes it, deleted when no rule keeps it.

Judging a window so writes the head and one row and deletes the row that left the horizon: three
small changelog records a topic, where a history written whole took one of up to 20 KB a rule
(six hours of windows). The changelog grows with the windows judged, not with them times the
horizon, and with topics, not topics times rules. The alerts agent writes the head first, then
the rows, then the deletes: a crash between them leaves a head whose newest row may be missing
(the window, judged again on replay, is put back, as an amendment would be) or rows no longer kept
(deleted at the next write). An older release kept a key a (topic, rule), ``TOPIC\\x1fRULE``, its
history whole (``History.to_dict``): read as before, replaced at the topic's next write.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stream.alerts.history import Entry, History, row
from stream.alerts.rules import FIGURE, RULES, Rule

SEP = "\x1f"


@dataclass(frozen=True)
class Stored:
    """A topic's histories by rule and what the table holds of them: the head as written (None:
    not in this form), the starts of the rows written, and an older release's keys to delete."""

    histories: Mapping[Rule, History] = field(default_factory=dict)
    head: dict[str, Any] | None = None
    rows: frozenset[float] = frozenset()
    legacy: frozenset[str] = frozenset()

    @property
    def last_window(self) -> float:
        """The start of the last window judged (``-inf``: none)."""
        return max((h.state.last_window for h in self.histories.values()), default=-float("inf"))


def row_key(topic: str, start: float) -> str:
    return f"{topic}{SEP}{int(start) if start.is_integer() else start}"


def load(items: Iterable[tuple[str, Any]]) -> dict[str, Stored]:
    """The topics' histories from table entries (``None``: a deleted entry), by topic. Rows with
    no head (a crash while a quiet topic was dropped) make a topic with nothing judged, which
    expires at its partition's next look."""
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
        for name, rule_head in (head or {}).items():
            rule = _rule(name)
            histories[rule] = History.from_head(rule_head, _rule_rows(written, rule))
        old = frozenset(key for key, _ in legacy.get(topic, {}).values())
        stored[topic] = Stored(histories, None if old else head, frozenset(written), old)
    return stored


def writes(
    topic: str, stored: Stored, after: Mapping[Rule, History]
) -> tuple[Stored, list[tuple[str, Any]], list[str]]:
    """What to write for ``after``, the topic's histories that follow ``stored``: what the table
    holds then, the entries to set in order (the head first, then the rows that are new or
    changed), and the keys to delete (rows no rule keeps, an older release's keys)."""
    head: dict[str, Any] = {rule: h.head() for rule, h in after.items()}
    puts: list[tuple[str, Any]] = [] if head == stored.head else [(topic, head)]
    changed: set[float] = set()
    kept: set[float] = set()
    for rule, h in after.items():
        before = stored.histories.get(rule)
        same = {id(e) for e in before.entries} if before is not None else set()
        for e in h.entries:
            kept.add(e.window_start)
            if id(e) not in same or e.window_start not in stored.rows:
                changed.add(e.window_start)
    for start in sorted(changed):
        puts.append((row_key(topic, start), _row(after, start)))
    deletes = [row_key(topic, start) for start in sorted(stored.rows - kept)]
    deletes += sorted(stored.legacy)
    return Stored(dict(after), head, frozenset(kept)), puts, deletes


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

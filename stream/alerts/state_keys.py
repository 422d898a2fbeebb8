"""The key layout of the ``alert-state`` table (pure).

- ``TOPIC\\x1fRULE``: the head of a (topic, rule) history (``History.head``): the rule's state,
  the state before the oldest window kept, what was reported and what waits. About 0.25 KB.
- ``TOPIC\\x1fRULE\\x1fSTART``: one window the history keeps (``history.row``), written when it is
  judged, again only when an amendment changes it, deleted when it leaves the horizon.

Judging a window so writes its head and one row (and deletes the row that left), 0.3-0.45 KB,
where a history written whole is up to 20 KB for a busy topic (six hours of windows): the
changelog grows with the windows judged, not with them times the horizon. The alerts agent writes
the head first, then the rows, then the deletes: a crash between them leaves a head whose newest
row may be missing (the window, judged again on replay, is put back, as an amendment would be) or
rows it no longer keeps (deleted at the next write). A head of an older release holds its windows
in it (``History.to_dict``): it is read as before and split into rows at its next write.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from stream.alerts.history import History, row

SEP = "\x1f"


@dataclass(frozen=True)
class Stored:
    """A history and what the table holds of it: its head as written (None: not in this form),
    and the starts of the rows written."""

    history: History
    head: dict[str, Any] | None = None
    rows: frozenset[float] = frozenset()


def head_key(topic: str, rule: str) -> str:
    return f"{topic}{SEP}{rule}"


def row_key(head: str, start: float) -> str:
    return f"{head}{SEP}{int(start) if start.is_integer() else start}"


def topic_of(key: str) -> str:
    return key.partition(SEP)[0]


def load(items: Iterable[tuple[str, Any]]) -> dict[str, Stored]:
    """The histories of table entries (``None``: a deleted entry), by head key. Rows with no head
    (a crash while a quiet topic was dropped) make an empty history that expires at once."""
    heads: dict[str, dict[str, Any]] = {}
    rows: dict[str, dict[float, list[Any]]] = {}
    for key, value in items:
        if value is None:
            continue
        head, sep, start = key.rpartition(SEP)
        if sep and SEP in head:
            rows.setdefault(head, {})[float(start)] = value
        else:
            heads[key] = value
    stored = {}
    for key in heads.keys() | rows.keys():
        written = rows.get(key, {})
        data = heads.get(key)
        if data is None:
            stored[key] = Stored(History(), None, frozenset(written))
        elif "state" in data:
            stored[key] = Stored(History.from_head(data, written), data, frozenset(written))
        else:  # an older release's whole history, or its state alone
            stored[key] = Stored(History.from_dict(data), None, frozenset(written))
    return stored


def writes(
    key: str, stored: Stored, after: History
) -> tuple[Stored, list[tuple[str, Any]], list[str]]:
    """What to write for ``after``, the history that follows ``stored``: what the table holds
    then, the entries to set in order (the head first, then the rows that are new or changed),
    and the keys to delete (rows of windows it no longer keeps)."""
    before = {e.window_start: e for e in stored.history.entries}
    head = after.head()
    puts: list[tuple[str, Any]] = [] if head == stored.head else [(key, head)]
    for e in after.entries:
        if e.window_start not in stored.rows or before.get(e.window_start) != e:
            puts.append((row_key(key, e.window_start), row(e)))
    kept = frozenset(e.window_start for e in after.entries)
    deletes = [row_key(key, start) for start in sorted(stored.rows - kept)]
    return Stored(after, head, kept), puts, deletes


def every_key(key: str, stored: Stored) -> list[str]:
    """The entries of a history, its head last (so that a crash while they are deleted leaves
    rows that ``load`` finds without a head)."""
    return [*(row_key(key, start) for start in sorted(stored.rows)), key]

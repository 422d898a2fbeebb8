"""The key layout of the ``window-panes`` table (pure).

- ``TOPIC\\x1fSTART\\x1fSEQ``: one delta of the one-minute pane at START (``Pane.delta``): the
  sums so far and what was added since the previous delta. A pane is the union of its deltas.
- ``~closed\\x1fPARTITION``: the clock up to which the windows of every topic on that partition
  of ``sentiment.contributions`` were closed. One entry a partition, not a topic: every topic on a
  partition is closed by the same clock, and a close that moves it writes one entry, not one per
  topic.

The window agent writes them (when: ``TopicWindows`` in stream/windows/state.py); ``load_states``
reads them back after a restart or a rebalance. Allowed lateness needs no key of its own: a pane's
deltas carry the clocks at which it was amended, from which each window's amendments are counted
again. The entries of an older release (a pane written whole as ``TOPIC\\x1fSTART``, a clock per
topic as ``TOPIC\\x1f~closed``) are read too, and deleted with the pane they belong to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from stream.windows.panes import EVIDENCE, Pane
from stream.windows.state import TopicWindows

SEP = "\x1f"
CLOSED = "~closed"

Build = Callable[[str, dict[int, Pane], float], TopicWindows]  # topic, panes, closed_until


def pane_key(topic: str, pane_start: int, seq: int) -> str:
    return f"{topic}{SEP}{pane_start}{SEP}{seq}"


def pane_keys(topic: str, pane_start: int, pane: Pane) -> Iterator[str]:
    """Every entry the pane has: its deltas, and the whole pane of an older release."""
    if pane.legacy:
        yield f"{topic}{SEP}{pane_start}"
    for seq in range(pane.writes):
        yield pane_key(topic, pane_start, seq)


def closed_key(partition: int) -> str:
    return f"{CLOSED}{SEP}{partition}"


def load_states(
    items: Iterable[tuple[str, Any]], build: Build, partition_of: Callable[[str], int]
) -> tuple[dict[str, TopicWindows], dict[int, float]]:
    """Rebuild the topics' window states, and the clock of each partition, from table entries
    (``None``: a deleted entry)."""
    deltas: dict[str, dict[int, list[tuple[int, list[Any]]]]] = {}
    whole: dict[str, dict[int, Pane]] = {}
    closed: dict[str, float] = {}  # topic -> its own clock (an older release)
    partition_clock: dict[int, float] = {}
    for key, value in items:
        if value is None:
            continue
        first, _, rest = key.partition(SEP)
        if first == CLOSED:
            partition_clock[int(rest)] = float(value)
            continue
        topic = first
        part, _, seq = rest.partition(SEP)
        if part == CLOSED:
            closed[topic] = float(value)
        elif seq:
            deltas.setdefault(topic, {}).setdefault(int(part), []).append((int(seq), value))
        else:
            whole.setdefault(topic, {})[int(part)] = Pane.from_dict(value)
    states = {}
    for topic in set(deltas) | set(whole) | set(closed):
        panes = dict(whole.get(topic, {}))
        for start, written in deltas.get(topic, {}).items():
            pane = Pane.from_deltas(written)
            older = panes.get(start)
            if older is not None:  # written whole by an older release, then in deltas
                pane.seen |= older.seen
                pane.negatives = sorted({*pane.negatives, *older.negatives})[:EVIDENCE]
                pane.late = sorted({*pane.late, *older.late})
                pane.legacy = True
            panes[start] = pane
        clock = max(closed.get(topic, 0.0), partition_clock.get(partition_of(topic), 0.0))
        states[topic] = build(topic, panes, clock)
    return states, partition_clock

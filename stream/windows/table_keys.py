"""The key layout of the ``window-panes`` table (pure). Per topic: one entry per one-minute pane
(``TOPIC\\x1fSTART``, the pane's dict) and the clock up to which its windows were closed
(``TOPIC\\x1f~closed``, a float). The window agent writes them (when: ``TopicWindows`` in
stream/windows/state.py); ``load_states`` reads them back after a restart or a rebalance. Allowed
lateness needs no key of its own: a pane's dict carries the clocks at which it was amended
(``late``, only once it has been), from which each window's amendments are counted again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from stream.windows.panes import Pane
from stream.windows.state import TopicWindows

SEP = "\x1f"
CLOSED = "~closed"

Build = Callable[[str, dict[int, Pane], float], TopicWindows]  # topic, panes, closed_until


def pane_key(topic: str, pane_start: int) -> str:
    return f"{topic}{SEP}{pane_start}"


def closed_key(topic: str) -> str:
    return f"{topic}{SEP}{CLOSED}"


def load_states(items: Iterable[tuple[str, Any]], build: Build) -> dict[str, TopicWindows]:
    """Rebuild the topics' window states from table entries."""
    panes: dict[str, dict[int, Pane]] = {}
    closed: dict[str, float] = {}
    for key, value in items:
        topic, _, part = key.rpartition(SEP)
        if part == CLOSED:
            closed[topic] = float(value)
        elif value is not None:
            panes.setdefault(topic, {})[int(part)] = Pane.from_dict(value)
    return {
        topic: build(topic, panes.get(topic, {}), closed.get(topic, 0.0))
        for topic in set(panes) | set(closed)
    }

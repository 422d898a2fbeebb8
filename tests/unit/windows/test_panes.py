from __future__ import annotations

import pytest

from stream.windows.panes import Pane, WindowSpec, parse_specs
from tests.unit.windows.texts import T0, c


def test_parse_specs_keeps_the_tumbling_minute_and_sorts() -> None:
    assert parse_specs("900/60, 3600/300") == (
        WindowSpec(60, 60),
        WindowSpec(900, 60),
        WindowSpec(3600, 300),
    )


@pytest.mark.parametrize("bad", ["90/60", "900/0", "60/120", "x"])
def test_parse_specs_rejects_what_is_not_whole_minutes_with_step_at_most_size(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_specs(bad)


def test_window_starts_of_a_pane() -> None:
    assert list(WindowSpec(60, 60).starts(T0 + 120)) == [T0 + 120]
    starts = list(WindowSpec(900, 60).starts(T0 + 600))
    assert len(starts) == 15 and starts[0] == T0 + 600 - 840 and starts[-1] == T0 + 600
    starts = list(WindowSpec(3600, 300).starts(T0 + 610))
    assert len(starts) == 12 and all(s <= T0 + 610 < s + 3600 for s in starts)


def test_pane_round_trip() -> None:
    pane = Pane()
    pane.add(c(1, T0, "positive", 0.5, 10))
    pane.add(c(2, T0, "negative", -0.5, 1))
    first = pane.delta()
    pane.add(c(3, T0, "negative", -0.9, 1))
    again = Pane.from_deltas([(1, pane.delta()), (0, first)])
    assert again == pane and not again.add(c(1, T0)) and again.negatives == pane.negatives

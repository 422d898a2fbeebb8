from __future__ import annotations

import pytest

from stream.records import Mark
from stream.windows.clock import WindowClock
from stream.windows.state import TopicWindows
from tests.unit.windows.texts import T0, c

IDLE_S = 15.0
WALL = T0 + 3600.0
ENRICHED = {"text.enriched": 2}


def mark(**partitions: tuple[float, bool]) -> Mark:
    named = {
        f"text.enriched/{k.removeprefix('p')}": [t, idle] for k, (t, idle) in partitions.items()
    }
    return Mark(stage="score", sender="s", partitions=named, totals=ENRICHED)


def clock(*, wall_clock_close: bool = True) -> WindowClock:
    return WindowClock(IDLE_S, wall_clock_close=wall_clock_close)


def test_the_clock_is_the_lowest_mark_of_the_enriched_partitions_not_idle() -> None:
    wc = clock()
    wc.on_mark(0, mark(p0=(T0 + 900, False), p1=(T0 + 180, False)))
    assert wc.on_tick(0, WALL) == T0 + 180
    wc.on_mark(0, mark(p1=(T0 + 300, True)))  # idle: holds nothing back
    assert wc.on_tick(0, WALL) == T0 + 900


def test_nothing_closes_until_every_enriched_partition_is_heard_from() -> None:
    wc = clock()
    assert wc.on_tick(0, WALL) == 0.0  # no mark at all
    wc.on_mark(0, mark(p0=(T0 + 900, False)))  # partition 1 not heard from yet
    assert wc.on_tick(0, WALL) == 0.0
    assert wc.on_tick(1, WALL) == 0.0  # marks count per contributions partition


def test_marks_only_move_forward() -> None:
    wc = clock()
    wc.on_mark(0, mark(p0=(T0 + 300, False), p1=(T0 + 300, False)))
    wc.on_mark(0, mark(p0=(T0 + 100, False)))  # another worker after a rebalance, behind
    assert wc.on_tick(0, WALL) == T0 + 300


@pytest.mark.parametrize(
    ("wall_clock_close", "expected"),
    [(True, WALL - IDLE_S), (False, T0 + 900)],
)
def test_when_every_partition_is_idle_the_stream_has_stopped(
    wall_clock_close: bool, expected: float
) -> None:
    wc = clock(wall_clock_close=wall_clock_close)
    wc.on_mark(0, mark(p0=(T0 + 900, True), p1=(T0 + 600, True)))
    assert wc.on_tick(0, WALL) == expected


def test_windows_close_behind_the_slowest_partition_and_lose_no_text() -> None:
    wc = clock()
    tw = TopicWindows("AAPL", lateness_s=10.0)
    wc.on_mark(0, mark(p0=(T0 + 900, False), p1=(T0 + 180, False)))
    assert tw.add(c("fast", T0 + 905))[0] == "counted"
    closed, _ = tw.close(max(wc.on_tick(0, WALL), tw.closed_until), WALL)
    assert {(int(w.window_start), w.window_seconds) for w in closed} <= {(T0 + 60, 60)}
    assert tw.add(c("slow", T0 + 170))[0] == "counted"  # behind the fast text: not late

from __future__ import annotations

import pytest

from stream.windows.clock import WindowClock
from stream.windows.state import TopicWindows
from tests.unit.windows.texts import T0, c

IDLE_S = 15.0
NOW = 1_900_000_000.0  # wall time, well after the event times


def clock(*, wall_clock_close: bool = True) -> WindowClock:
    return WindowClock(IDLE_S, wall_clock_close=wall_clock_close)


def test_a_partitions_clock_is_the_lowest_watermark_of_the_workers_sending() -> None:
    wc = clock()
    wc.on_batch(0, "fast", T0 + 900, [T0 + 905], NOW)
    wc.on_batch(0, "slow", T0 + 180, [T0 + 185], NOW + 1)
    wc.on_batch(1, "fast", T0 + 1200, [T0 + 1205], NOW + 1)
    assert wc.event_time_s(0, NOW + 2) == T0 + 180
    assert wc.event_time_s(1, NOW + 2) == T0 + 1200  # partitions are apart
    assert wc.event_time_s(2, NOW + 2) == 0.0  # nothing heard: nothing closes


def test_a_workers_watermark_never_goes_back() -> None:
    wc = clock()
    wc.on_batch(0, "w", T0 + 300, [], NOW)
    wc.on_batch(0, "w", T0 + 100, [], NOW + 1)  # an older stamp, sent later
    assert wc.event_time_s(0, NOW + 2) == T0 + 300


@pytest.mark.parametrize(
    ("quiet_s", "expected"),
    [
        (0.0, T0 + 180),
        (IDLE_S - 0.1, T0 + 180),  # still sending: it holds
        (IDLE_S, T0 + 900),  # quiet for idle_close_s: the clock moves on without it
    ],
)
def test_a_worker_quiet_for_idle_close_s_stops_holding_the_clock(
    quiet_s: float, expected: float
) -> None:
    wc = clock()
    wc.on_batch(0, "slow", T0 + 180, [T0 + 185], NOW)
    wc.on_batch(0, "fast", T0 + 900, [T0 + 905], NOW + quiet_s)
    assert wc.event_time_s(0, NOW + quiet_s) == expected


@pytest.mark.parametrize(
    ("source", "heard_s", "expected"),
    [
        ("", 0.0, T0 + 95),  # no sender names itself: no watermark
        ("w", IDLE_S, T0 + 95),  # every sender quiet
        ("w", 0.0, T0 + 30),
    ],
)
def test_the_latest_event_time_when_no_sender_holds_a_watermark(
    source: str, heard_s: float, expected: float
) -> None:
    wc = clock()
    wc.on_batch(0, source, T0 + 30, [T0 + 95, T0 + 40], NOW)
    wc.on_batch(0, source, T0 + 30, [T0 + 60], NOW)
    assert wc.event_time_s(0, NOW + heard_s) == expected


@pytest.mark.parametrize(
    ("wall_clock_close", "quiet_s", "expected"),
    [
        (True, IDLE_S - 1, T0 + 100),  # not quiet long enough: event time only
        (True, IDLE_S, NOW),  # closes by wall time, less idle_close_s
        (True, IDLE_S + 60, NOW + 60),
        (False, IDLE_S + 60, T0 + 110),  # a back-fill: event time only, however quiet
    ],
)
def test_a_quiet_partition_closes_by_wall_time_only_after_idle_close_s(
    wall_clock_close: bool, quiet_s: float, expected: float
) -> None:
    wc = clock(wall_clock_close=wall_clock_close)
    wc.on_message(NOW - 100)
    wc.on_batch(0, "w", T0 + 100, [T0 + 110], NOW)
    tick_wall_s = NOW + quiet_s
    assert wc.on_tick(0, tick_wall_s, tick_wall_s) == expected


def test_a_tick_held_back_by_a_stuck_batch_does_not_close_by_wall_time() -> None:
    wc = clock()
    wc.on_message(NOW)
    wc.on_batch(0, "w", T0 + 100, [T0 + 110], NOW)
    # The scoring worker's wall clock stays at the start of its stuck batch (NOW + 1).
    assert wc.on_tick(0, NOW + 1, now_s=NOW + 600) == T0 + 110  # the sender went quiet


@pytest.mark.parametrize(
    ("since_start_s", "expected"),
    [(0.0, 0.0), (IDLE_S - 1, 0.0), (IDLE_S, NOW), (IDLE_S + 5, NOW + 5)],
)
def test_a_restarted_worker_waits_idle_close_s_before_closing_by_wall_time(
    since_start_s: float, expected: float
) -> None:
    wc = clock()
    wc.on_message(NOW)  # the first message since the (re)start: no batch yet
    wc.on_message(NOW + 3)  # later ones do not move the start
    tick_wall_s = NOW + since_start_s
    assert wc.on_tick(0, tick_wall_s, tick_wall_s) == expected


def test_windows_close_behind_the_slowest_workers_watermark() -> None:
    """Two scoring workers send to one partition: ``fast`` has read to minute 5 (its texts are of
    topic Y), ``slow`` is at minute 0 (topic X). X's minute stays open until ``slow`` has passed
    it, so the texts ``slow`` reads meanwhile are counted, not late."""
    wc = clock(wall_clock_close=False)
    x, y = TopicWindows("X", lateness_s=10), TopicWindows("Y", lateness_s=10)

    def tick(now_s: float) -> list[tuple[str, int, int]]:
        """What the window agent does on a tick: close each topic to the partition's clock."""
        close_to_s = wc.on_tick(0, now_s, now_s)
        closed = [r for tw in (x, y) for r in tw.close(tw.clock(close_to_s), now_s)[0]]
        return [(r.topic, int(r.window_start), r.n) for r in closed if r.window_seconds == 60]

    def batch(tw: TopicWindows, source: str, watermark_s: float, times: list[float]) -> list[str]:
        wc.on_batch(0, source, watermark_s, times, NOW)
        return [tw.add(c(int(t), t))[0] for t in times]

    assert batch(y, "fast", T0 + 300, [T0 + 300, T0 + 310]) == ["counted", "counted"]
    assert batch(x, "slow", T0 + 20, [T0 + 20]) == ["counted"]
    assert tick(NOW + 1) == []  # the clock is slow's watermark, minute 0 of X stays open
    assert batch(x, "slow", T0 + 50, [T0 + 50]) == ["counted"]  # read before its window closed
    assert batch(x, "slow", T0 + 400, [T0 + 80]) == ["counted"]  # slow has passed fast
    assert tick(NOW + 2) == [("X", T0, 2), ("X", T0 + 60, 1)]  # closed to fast's T0 + 300
    assert batch(x, "slow", T0 + 410, [T0 + 45]) == ["late"]

from __future__ import annotations

import random
from collections import Counter

import pytest

from stream.records import Contribution
from stream.windows.agent import CLOSED, SEP, load_states
from stream.windows.state import (
    DEFAULT_SPECS,
    Pane,
    TopicWindows,
    WindowSpec,
    pane_start,
    parse_specs,
)

T0 = 1_800_000_000  # a whole hour


def c(
    i: int, ts: float, label: str = "neutral", score: float = 0.0, reach: float = 0.0
) -> Contribution:
    return Contribution(f"src:{i}", ts, label, score, reach)


def test_parse_specs() -> None:
    assert parse_specs("900/60, 3600/300") == (
        WindowSpec(60, 60),
        WindowSpec(900, 60),
        WindowSpec(3600, 300),
    )
    for bad in ("90/60", "900/0", "60/120", "x"):
        with pytest.raises(ValueError):
            parse_specs(bad)


def test_window_starts_of_a_pane() -> None:
    assert list(WindowSpec(60, 60).starts(T0 + 120)) == [T0 + 120]
    starts = list(WindowSpec(900, 60).starts(T0 + 600))
    assert len(starts) == 15 and starts[0] == T0 + 600 - 840 and starts[-1] == T0 + 600
    starts = list(WindowSpec(3600, 300).starts(T0 + 610))
    assert len(starts) == 12 and all(s <= T0 + 610 < s + 3600 for s in starts)


def test_counts_and_scores_of_a_window() -> None:
    tw = TopicWindows("AAPL", lateness_s=10)
    assert tw.add(c(1, T0 + 1, "negative", -0.8, 100))[0] == "counted"
    assert tw.add(c(2, T0 + 30, "positive", 0.6, 300))[0] == "counted"
    assert tw.add(c(3, T0 + 59, "neutral", 0.1))[0] == "counted"
    closed, _ = tw.close(T0 + 70, now=0)
    minute = [w for w in closed if w.window_seconds == 60]
    assert len(minute) == 1
    w = minute[0]
    assert (w.n, w.n_negative, w.n_neutral, w.n_positive) == (3, 1, 1, 1)
    assert w.score_mean == pytest.approx((-0.8 + 0.6 + 0.1) / 3)
    assert w.reach_weighted_score == pytest.approx((-0.8 * 100 + 0.6 * 300) / 400)
    assert w.negative_share == pytest.approx(1 / 3) and w.final


def test_hopping_windows_equal_a_brute_force_count() -> None:
    rng = random.Random(3)
    times = [T0 + rng.uniform(0, 7200) for _ in range(500)]
    tw = TopicWindows("X", DEFAULT_SPECS, lateness_s=0)
    for i, ts in enumerate(sorted(times)):
        tw.add(c(i, ts))
    closed, _ = tw.close(T0 + 20_000, now=0)
    got = {(w.window_seconds, int(w.window_start)): w.n for w in closed}
    expected: Counter[tuple[int, int]] = Counter()
    for ts in times:
        for spec in DEFAULT_SPECS:
            start = int(ts // spec.step_s) * spec.step_s
            while start + spec.size_s > ts:
                expected[(spec.size_s, start)] += 1
                start -= spec.step_s
    assert got == dict(expected)


def test_a_text_counts_once_per_window_however_often_it_comes() -> None:
    tw = TopicWindows("X", lateness_s=10)
    assert tw.add(c(1, T0 + 5))[0] == "counted"
    assert tw.add(c(1, T0 + 5))[0] == "repeat"
    closed, _ = tw.close(T0 + 100, now=0)
    assert {w.n for w in closed if w.window_seconds == 60} == {1}


def test_windows_close_once_and_late_texts_are_reported_not_counted() -> None:
    tw = TopicWindows("X", lateness_s=10)
    tw.add(c(1, T0 + 5))
    assert tw.close(T0 + 69, now=0)[0] == []  # end + lateness not reached
    first, _ = tw.close(T0 + 70, now=0)
    # the minute and the quarter hour that ends with it
    assert [(w.window_seconds, w.window_start) for w in first] == [(60, T0), (900, T0 - 840)]
    assert tw.close(T0 + 71, now=0)[0] == []  # never twice
    assert tw.add(c(2, T0 + 30)) == ("late", T0)
    assert tw.add(c(1, T0 + 5)) == ("repeat", T0)  # counted before the close, read again
    tw.add(c(3, T0 + 65))  # the next minute is still open
    assert tw.close(T0 + 130, now=0)[0][0].n == 1


def test_running_states_show_the_trailing_windows_that_changed() -> None:
    tw = TopicWindows("X", parse_specs("60/60,300/60"), lateness_s=10)
    tw.add(c(1, T0 + 5))
    tw.add(c(2, T0 + 65))
    running = tw.running(now=1)
    # per length, the window that ends with each changed minute
    assert {(w.window_seconds, w.window_start, w.n, w.final) for w in running} == {
        (60, T0, 1, False),
        (60, T0 + 60, 1, False),
        (300, T0 - 240, 1, False),
        (300, T0 - 180, 2, False),
    }
    assert tw.running(now=2) == []  # nothing changed since
    tw.close(T0 + 70, now=3)
    tw.add(c(3, T0 + 66))
    assert {(w.window_seconds, w.window_start) for w in tw.running(now=4)} == {
        (60, T0 + 60),
        (300, T0 - 180),
    }


def test_panes_expire_when_no_window_needs_them() -> None:
    tw = TopicWindows("X", parse_specs("60/60,300/60"), lateness_s=10)
    tw.add(c(1, T0 + 5))
    _, expired = tw.close(T0 + 309, now=0)
    assert expired == [] and T0 in tw.panes
    _, expired = tw.close(T0 + 310, now=0)
    assert expired == [T0] and not tw.panes


def test_state_rebuilt_from_persisted_panes_gives_the_same_windows() -> None:
    specs = parse_specs("60/60,900/60")
    live = TopicWindows("X", specs, lateness_s=10)
    for i in range(50):
        live.add(c(i, T0 + i * 7.0, "negative" if i % 3 else "positive", -0.5 if i % 3 else 0.5))
    first, _ = live.close(T0 + 200, now=0)
    # What the window agent persists: the panes and the clock windows were closed up to.
    items = [(f"X{SEP}{p}", pane.to_dict()) for p, pane in live.panes.items()]
    items.append((f"X{SEP}{CLOSED}", live.closed_until))

    def build(topic: str, panes: dict[int, Pane], closed: float) -> TopicWindows:
        return TopicWindows(topic, specs, lateness_s=10, panes=panes, closed_until=closed)

    restored = load_states(items, build)["X"]
    assert restored.add(c(49, T0 + 49 * 7.0, "negative"))[1] == pane_start(T0 + 343)
    assert restored.add(c(49, T0 + 49 * 7.0, "negative"))[0] == "repeat"
    rest_live, _ = live.close(T0 + 5000, now=0)
    rest_restored, _ = restored.close(T0 + 5000, now=0)
    key = lambda w: (w.window_seconds, w.window_start, w.n, w.n_negative, round(w.score_sum, 6))  # noqa: E731
    assert sorted(map(key, rest_live)) == sorted(map(key, rest_restored))
    assert not {(w.window_seconds, w.window_start) for w in first} & {
        (w.window_seconds, w.window_start) for w in rest_restored
    }


def test_pane_round_trip() -> None:
    pane = Pane()
    pane.add(c(1, T0, "positive", 0.5, 10))
    again = Pane.from_dict(pane.to_dict())
    assert again == pane and not again.add(c(1, T0))


def test_windows_carry_the_most_negative_texts() -> None:
    tw = TopicWindows("X", parse_specs("60/60,120/60"), lateness_s=0)
    for i, score in enumerate([-0.9, 0.5, -0.2, -0.95, -0.3, -0.4, -0.5, -0.6]):
        tw.add(c(i, T0 + i, "negative" if score < 0 else "positive", score))
    tw.add(c(20, T0 + 70, "negative", -0.99))
    closed, _ = tw.close(T0 + 200, now=0)
    minute = next(w for w in closed if (w.window_seconds, w.window_start) == (60, T0))
    assert minute.most_negative == ["src:3", "src:0", "src:7", "src:6", "src:5"]
    two = next(w for w in closed if (w.window_seconds, w.window_start) == (120, T0))
    assert two.most_negative[:2] == ["src:20", "src:3"] and len(two.most_negative) == 5


def test_the_scoring_watermark_waits_for_the_slowest_partition_and_batch() -> None:
    from stream.scoring.agent import Progress

    p = Progress(idle_s=10)
    # A back-fill: partition 0 is read up to minute 15 while partition 1 is still at minute 3.
    p.started(1, [(0, 10), (0, 11), (1, 5)], [T0 + 900, T0 + 840, T0 + 180], now=100.0)
    assert p.watermark(100.0) == T0 + 180  # the batch in flight and partition 1 hold it
    p.finished(1)
    assert p.watermark(100.5) == T0 + 180  # partition 1 is behind
    p.started(2, [(1, 6)], [T0 + 600], now=101.0)
    assert p.watermark(101.0) == T0 + 600
    p.finished(2)
    assert p.watermark(101.0) == T0 + 600
    # Partition 1 goes quiet (its part of the stream ended): it holds nothing back any more.
    assert p.watermark(112.0) == T0 + 900
    assert p.wall(112.0) == 112.0
    p.started(3, [(0, 12)], [T0 + 950], now=113.0)
    assert p.wall(200.0) == 113.0  # a stuck batch holds the wall clock


def test_a_partition_with_records_not_taken_yet_holds_the_watermark() -> None:
    from stream.scoring.agent import Progress

    p = Progress(idle_s=10)
    p.assigned({0, 1})
    p.start.update({0: 0, 1: 0})
    # Both partitions were read long ago, then the stream went quiet.
    p.started(1, [(0, 9), (1, 4)], [T0 + 60, T0 + 30], now=100.0)
    p.finished(1)
    p.observe(0, highwater=10)
    p.observe(1, highwater=5)
    assert p.watermark(200.0) == T0 + 60  # nothing busy: the latest time read
    # A back-fill lands on both; partition 0 is read first and runs minutes ahead.
    p.observe(1, highwater=400)
    p.started(2, [(0, 10)], [T0 + 900], now=201.0)
    p.finished(2)
    p.observe(0, highwater=400)
    assert p.watermark(201.5) == T0 + 30  # partition 1 has records waiting: it holds
    p.started(3, [(1, 5)], [T0 + 300], now=202.0)
    p.finished(3)
    assert p.watermark(202.0) == T0 + 300
    # Everything taken: partition 1 holds only while busy, as before.
    p.observe(0, highwater=11)
    p.observe(1, highwater=6)
    assert p.watermark(202.5) == T0 + 300
    assert p.watermark(213.0) == T0 + 900


def test_a_partition_not_read_since_assignment_holds_the_watermark_at_zero() -> None:
    from stream.scoring.agent import Progress

    p = Progress(idle_s=10)
    p.assigned({0, 1, 2})
    p.start.update({0: None, 1: 20, 2: 7})  # where reading began: the committed offsets
    p.observe(1, highwater=50)  # records 20 to 49 waiting
    p.observe(2, highwater=7)  # nothing waiting
    p.observe(0, highwater=None)  # not fetched yet: claims nothing
    p.started(1, [(0, 0)], [T0 + 900], now=100.0)
    p.finished(1)
    assert p.watermark(100.0) == 0.0  # partition 1 might hold anything
    p.started(2, [(1, 20)], [T0 + 120], now=101.0)
    p.finished(2)
    assert p.watermark(101.0) == T0 + 120  # read: it holds at what it has read
    p.observe(1, highwater=50)
    assert p.watermark(150.0) == T0 + 120  # quiet but not done: still holds
    # A rebalance takes partition 1 away: another worker answers for it now.
    p.assigned({0, 2})
    assert p.watermark(150.0) == T0 + 900

from __future__ import annotations

import random
from collections import Counter

import pytest

from stream.windows.panes import DEFAULT_SPECS, parse_specs
from stream.windows.state import TopicWindows
from tests.unit.windows.texts import T0, c


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
    assert not expired and T0 in tw.panes
    _, expired = tw.close(T0 + 310, now=0)
    assert list(expired) == [T0] and not tw.panes


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

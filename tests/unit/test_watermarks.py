from __future__ import annotations

import pytest

from stream.watermarks import HOLD, MarkPacer, UpstreamView, stage_watermark

TOTALS = {"news.raw": 2}


def view(**partitions: tuple[float, bool]) -> UpstreamView:
    v = UpstreamView()
    v.apply({f"news.raw/{k[1:]}": p for k, p in partitions.items()}, TOTALS)
    return v


@pytest.mark.parametrize(
    ("partitions", "expected"),
    [
        ({"p0": (100.0, False), "p1": (50.0, False)}, 50.0),  # the slowest holds
        ({"p0": (100.0, False), "p1": (50.0, True)}, 100.0),  # idle: holds nothing
        ({"p0": (100.0, True), "p1": (50.0, True)}, None),  # all idle: the stream stopped
        ({"p0": (100.0, False)}, HOLD),  # p1 not heard from
        ({}, HOLD),
    ],
)
def test_watermark_of_the_partitions_not_idle(
    partitions: dict[str, tuple[float, bool]], expected: float | None
) -> None:
    assert view(**partitions).watermark_s() == expected


def test_a_mark_never_goes_back_and_the_latest_idle_flag_wins() -> None:
    v = view(p0=(100.0, True), p1=(80.0, False))
    v.apply({"news.raw/0": (60.0, False)}, TOTALS)
    assert v.partitions["news.raw/0"].event_time_s == 100.0
    assert v.watermark_s() == 80.0


def test_nothing_known_holds() -> None:
    assert UpstreamView().watermark_s() == HOLD


def test_marks_go_every_interval_and_at_once_when_a_window_may_close() -> None:
    pacer = MarkPacer(interval_s=0.5, close_delay_s=10.0)
    t0 = 1_800_000_000.0  # a whole minute
    assert pacer.due(t0 + 5, now_s=100.0)  # nothing sent yet
    pacer.sent(t0 + 5, now_s=100.0)
    assert not pacer.due(t0 + 9.9, now_s=100.1)  # the minute before t0 may not close yet
    assert pacer.due(t0 + 10.0, now_s=100.1)  # it may now: no waiting for the interval
    pacer.sent(t0 + 10.0, now_s=100.1)
    assert not pacer.due(t0 + 30.0, now_s=100.2)
    assert not pacer.due(None, now_s=100.2)  # idle or held: only the interval
    assert pacer.due(None, now_s=100.6)


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ({}, None),
        ({"a/0": (5.0, True)}, None),
        ({"a/0": (5.0, False), "a/1": (3.0, False), "a/2": (1.0, True)}, 3.0),
    ],
)
def test_a_stage_lets_through_its_lowest_partition_not_idle(
    view: dict[str, tuple[float, bool]], expected: float | None
) -> None:
    assert stage_watermark(view) == expected

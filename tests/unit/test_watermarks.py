from __future__ import annotations

import pytest

from stream.watermarks import HOLD, UpstreamView

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

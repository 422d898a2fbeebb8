from __future__ import annotations

import pytest

from stream.ingest.progress import SourceProgress

IDLE_S = 15.0
NOW = 1_800_000_000.0


def progress() -> SourceProgress:
    p = SourceProgress(IDLE_S, max_ahead_s=30.0)
    p.assigned({"news.raw/0"}, NOW)
    return p


def test_the_mark_is_the_latest_event_time_read() -> None:
    p = progress()
    p.read("news.raw/0", 0, NOW - 600, NOW)
    p.read("news.raw/0", 1, NOW - 700, NOW)  # out of order: the latest stays
    p.observe("news.raw/0", highwater=2, position=2)
    assert p.marks(NOW) == {"news.raw/0": (NOW - 600, False)}


def test_a_post_dated_ahead_moves_the_clock_to_wall_time_plus_the_tolerance_at_most() -> None:
    p = progress()
    p.read("news.raw/0", 0, NOW + 86_400, NOW)
    assert p.marks(NOW)["news.raw/0"][0] == NOW + 30.0


@pytest.mark.parametrize(
    ("highwater", "quiet_s", "idle"),
    [
        (1, IDLE_S, True),  # nothing to read, quiet long enough
        (1, IDLE_S - 1, False),  # not quiet long enough
        (5, 3600.0, False),  # a backlog always holds, however quiet
        (None, 3600.0, False),  # unknown: holds
    ],
)
def test_idle_only_with_nothing_to_read_and_quiet(
    highwater: int | None, quiet_s: float, idle: bool
) -> None:
    p = progress()
    p.read("news.raw/0", 0, NOW - 60, NOW)
    p.observe("news.raw/0", highwater, position=1)
    assert p.marks(NOW + quiet_s)["news.raw/0"][1] is idle


def test_a_partition_never_read_is_idle_after_the_timeout_when_empty() -> None:
    p = progress()
    p.observe("news.raw/0", highwater=0, position=0)
    assert p.marks(NOW)["news.raw/0"] == (0.0, False)
    assert p.marks(NOW + IDLE_S)["news.raw/0"] == (0.0, True)


def test_a_rebalance_keeps_what_is_known_of_partitions_kept() -> None:
    p = progress()
    p.read("news.raw/0", 0, NOW - 60, NOW)
    p.assigned({"news.raw/0", "news.raw/1"}, NOW + 1)
    assert p.partitions["news.raw/0"].event_time_s == NOW - 60
    assert set(p.marks(NOW + 1)) == {"news.raw/0", "news.raw/1"}

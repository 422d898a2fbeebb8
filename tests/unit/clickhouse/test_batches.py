"""The sink consumer's batches: due when full or when the oldest value waited, offsets to commit
per partition, tombstones committed but not written."""

from __future__ import annotations

from stream.clickhouse.batches import Batches

TABLES = {"t.scored": "events", "t.windows": "sentiment_windows"}


def batches(size: int = 3, within_s: float = 1.0) -> Batches:
    return Batches(dict(TABLES), size, within_s)


def test_a_batch_is_due_when_full_and_commits_past_its_last_offset() -> None:
    b = batches()
    b.add("t.scored", 0, [(10, b"a"), (11, b"b")], now_s=0.0)
    assert b.due(0.0) == []
    b.add("t.scored", 1, [(5, b"c")], now_s=0.1)
    assert b.due(0.1) == ["events"]
    batch = b.take("events")
    assert batch.values == [b"a", b"b", b"c"]
    assert batch.offsets == {("t.scored", 0): 12, ("t.scored", 1): 6}
    assert b.due(5.0) == [] and b.take("events").values == []


def test_the_wait_starts_with_the_oldest_value_not_the_last_insert() -> None:
    b = batches(size=100, within_s=1.0)
    assert b.wait_s(50.0) == 1.0  # nothing held: wait a whole interval
    b.add("t.windows", 2, [(0, b"w")], now_s=100.0)
    b.add("t.windows", 2, [(1, b"x")], now_s=100.6)
    assert abs(b.wait_s(100.6) - 0.4) < 1e-9
    assert b.due(100.99) == []
    assert b.due(101.0) == ["sentiment_windows"]
    assert b.wait_s(101.5) == 0.0


def test_tables_are_batched_apart() -> None:
    b = batches(size=2)
    b.add("t.scored", 0, [(0, b"e1")], now_s=0.0)
    b.add("t.windows", 0, [(0, b"w1"), (1, b"w2")], now_s=0.0)
    assert b.due(0.0) == ["sentiment_windows"]
    assert b.room() == 1  # the fullest batch may take one more before it is due
    assert b.take("sentiment_windows").offsets == {("t.windows", 0): 2}
    assert b.take("events").values == [b"e1"]


def test_tombstones_move_offsets_and_fall_due_without_rows() -> None:
    b = batches(size=10, within_s=1.0)
    b.add("t.scored", 3, [(7, None), (8, b"")], now_s=0.0)
    assert b.due(0.5) == [] and b.due(1.0) == ["events"]
    batch = b.take("events")
    assert batch.values == [] and batch.offsets == {("t.scored", 3): 9}


def test_an_empty_fetch_adds_nothing() -> None:
    b = batches()
    b.add("t.scored", 0, [], now_s=0.0)
    assert b.due(100.0) == [] and b.take_all() == []


def test_everything_held_is_taken_before_a_rebalance() -> None:
    b = batches(size=10)
    b.add("t.scored", 0, [(0, b"a")], now_s=0.0)
    b.add("t.windows", 1, [(4, b"w")], now_s=0.0)
    taken = dict(b.take_all())
    assert set(taken) == {"events", "sentiment_windows"}
    assert taken["sentiment_windows"].offsets == {("t.windows", 1): 5}
    assert b.open == {}

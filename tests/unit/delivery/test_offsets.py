"""Offsets of alerts: committed only past records every subscriber settled."""

from __future__ import annotations

from stream.delivery.offsets import OffsetTracker


def test_offsets_commit_only_past_settled_records() -> None:
    t = OffsetTracker()
    t.add(0, 10, 2)  # two subscribers
    t.add(0, 11, 0)  # nobody wanted it
    t.add(0, 12, 1)
    t.add(1, 5, 0)
    assert t.committable() == {0: 10, 1: 6}
    t.done(0, 12)  # a later record settled first: 10 still holds the commit
    assert t.committable() == {0: 10, 1: 6}
    t.done(0, 10)
    assert t.committable() == {0: 10, 1: 6}
    t.done(0, 10)
    assert t.committable() == {0: 13, 1: 6}


def test_partitions_taken_by_a_rebalance_are_forgotten() -> None:
    t = OffsetTracker()
    t.add(0, 13, 1)
    t.add(1, 5, 0)
    t.forget({0})
    t.done(0, 13)  # settled after the partition went to another worker: ignored
    assert t.committable() == {1: 6}

"""How records are grouped into one record batch per target partition (stream/kafka/produce.py)."""

from __future__ import annotations

import pytest

from stream.kafka.produce import by_partition, key_partition
from stream.kafka.topics import partition_for


@pytest.mark.parametrize("key", ["AAPL", "theme:ai", "wire:1", "1234567890123", "网易"])
@pytest.mark.parametrize("partitions", [1, 4, 12])
def test_a_key_gets_the_partition_of_a_keyed_send(key: str, partitions: int) -> None:
    assert key_partition(key.encode(), partitions) == partition_for(key, partitions)


def test_records_are_grouped_by_partition_in_their_order() -> None:
    keys = [f"k{i}".encode() for i in range(40)]
    groups = by_partition([(k, b"v" + k, None) for k in keys], 4)
    assert sorted(k for group in groups.values() for k, _ in group) == sorted(keys)
    for partition, group in groups.items():
        assert [k for k, _ in group] == [k for k in keys if key_partition(k, 4) == partition]
        assert all(v == b"v" + k for k, v in group)


def test_a_given_partition_wins_over_the_key() -> None:
    key = b"AAPL"
    other, mark = (key_partition(key, 4) + 1) % 4, (key_partition(key, 4) + 2) % 4
    assert by_partition([(key, b"x", other), (None, b"mark", mark)], 4) == {
        other: [(key, b"x")],
        mark: [(None, b"mark")],
    }


def test_a_record_with_neither_key_nor_partition_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a partition"):
        by_partition([(None, b"x", None)], 4)

"""The worker's tables on disk share one memory budget, whatever they write."""

from __future__ import annotations

import os
from pathlib import Path

import faust
import pytest

from stream.errors import ConfigError
from stream.kafka import table_store
from stream.kafka.app import json_table


def _open(path: Path, budget: table_store.MemoryBudget) -> object:
    options = table_store._BudgetedOptions(**table_store.table_options(budget) or {})
    return options.open(path)


def test_databases_written_far_past_the_budget_stay_within_it_and_lose_nothing(
    tmp_path: Path,
) -> None:
    budget = table_store.MemoryBudget.of(8 * 2**20)
    dbs = [_open(tmp_path / f"p{i}", budget) for i in range(4)]
    value = os.urandom(2_000)
    peak = 0
    for n in range(8_000):  # 4 databases x 8,000 x 2 kB: 64 MB written, 8 times the budget
        for i, db in enumerate(dbs):
            db[f"{i}:{n}".encode()] = value  # type: ignore[index]
        if n % 500 == 0:
            peak = max(peak, budget.usage())
    for i, db in enumerate(dbs):
        assert all(db[f"{i}:{n}".encode()] == value for n in range(0, 8_000, 97))  # type: ignore[index]
        peak = max(peak, budget.usage())
    # RocksDB's LRU cache may go over its capacity briefly while a block is pinned.
    assert 0 < peak <= budget.total_bytes * 1.1
    for db in dbs:
        db.close()  # type: ignore[attr-defined]
    reopened = _open(tmp_path / "p3", budget)
    assert reopened[b"3:7999"] == value  # type: ignore[index]
    reopened.close()  # type: ignore[attr-defined]


def test_a_budget_too_small_for_two_write_buffers_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="table_memory_mb"):
        table_store.MemoryBudget.of(2**20)


def test_tables_of_an_app_use_the_budgeted_store_and_refuse_to_open_without_a_budget(
    tmp_path: Path,
) -> None:
    app = faust.App("t-store", store=f"{table_store.SCHEME}://", datadir=str(tmp_path))
    budget = table_store.MemoryBudget.of(8 * 2**20)
    with_budget = json_table(app, "with", 2, budget)
    without = json_table(app, "without", 2)
    assert isinstance(with_budget.data, table_store.Store)
    db = with_budget.data._db_for_partition(0)  # type: ignore[attr-defined]
    db[b"k"] = b"v"
    assert db[b"k"] == b"v"
    with pytest.raises(ConfigError, match="memory budget"):
        without.data._db_for_partition(0)  # type: ignore[attr-defined]

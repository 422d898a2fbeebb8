"""faust's RocksDB table store within one memory budget per worker.

faust opens a RocksDB database per table partition (standbys included), each with a block cache
and write buffers of its own: the worker's memory then grows with the partitions it holds and
with the bytes it writes, slowly (at our write rates a memtable fills for days before its first
flush) and without a bound anyone chose. Here every database of one worker shares one LRU block
cache, and their memtables are charged to that same cache by one write-buffer manager, RocksDB's
way of capping a process's table memory with a single number (``pipeline.table_memory_mb``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import rocksdict
from faust.stores import STORES
from faust.stores import rocksdb as faust_rocksdb

from stream.errors import ConfigError

SCHEME = "rocksdb-budget"

# Of the budget, at most this share holds memtables (the rest caches blocks); a memtable is
# flushed to an SST file when the share is used up, so writes never wait.
MEMTABLE_SHARE = 0.5
# One memtable per database stays small: with a shared budget a full one is flushed early anyway,
# and a small one keeps the memory a quiet partition holds small.
WRITE_BUFFER_BYTES = 1 * 2**20


@dataclass(frozen=True)
class MemoryBudget:
    """The block cache and write-buffer manager that every table database of a worker shares."""

    total_bytes: int
    cache: rocksdict.Cache
    write_buffers: rocksdict.WriteBufferManager

    @classmethod
    def of(cls, total_bytes: int) -> MemoryBudget:
        if total_bytes < 4 * WRITE_BUFFER_BYTES:
            raise ConfigError(
                f"table memory budget of {total_bytes} bytes is too small: "
                f"set pipeline.table_memory_mb to at least {4 * WRITE_BUFFER_BYTES >> 20}"
            )
        cache = rocksdict.Cache(total_bytes)
        manager = rocksdict.WriteBufferManager.new_write_buffer_manager_with_cache(
            int(total_bytes * MEMTABLE_SHARE), False, cache
        )
        return cls(total_bytes, cache, manager)

    def usage(self) -> int:
        """Bytes in the shared cache now: cached blocks and the memtables charged to it."""
        return int(self.cache.get_usage())


def table_options(budget: MemoryBudget | None) -> dict[str, Any] | None:
    """faust's ``options=`` for a table: the budget for the store below; ``None`` in memory."""
    return None if budget is None else {"budget": budget}


class _BudgetedOptions(faust_rocksdb.RocksDBOptions):
    def as_options(self) -> rocksdict.Options:
        budget = self.extra_options.get("budget")
        if not isinstance(budget, MemoryBudget):
            raise ConfigError(
                f"a {SCHEME}:// table needs its worker's memory budget: "
                "create it with stream.kafka.app.json_table"
            )
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        options.set_max_open_files(self.max_open_files or -1)
        options.set_write_buffer_size(WRITE_BUFFER_BYTES)
        options.set_max_write_buffer_number(2)
        options.set_write_buffer_manager(budget.write_buffers)
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(self.bloom_filter_size, block_based=True)
        table.set_block_cache(budget.cache)
        # Index and filter blocks count against the budget too, not beside it.
        table.set_cache_index_and_filter_blocks(True)
        table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
        options.set_block_based_table_factory(table)
        return options


class Store(faust_rocksdb.Store):
    """faust's RocksDB store (rocksdict) whose databases share their worker's budget."""

    def __init__(self, url: Any, app: Any, table: Any, **kwargs: Any) -> None:
        super().__init__(url, app, table, driver="rocksdict", **kwargs)
        self.rocksdb_options = _BudgetedOptions(**(self.options or {}), use_rocksdict=True)


# faust finds stores by URL scheme; ``rocksdb-budget://`` is this one.
STORES.aliases.setdefault(SCHEME, f"{__name__}:Store")

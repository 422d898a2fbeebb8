"""ClickHouse sink: records from Kafka to tables, batched, off the event loop, retried.

The tables' columns and rows are declared in stream/clickhouse/tables.py.

Idempotent by construction: every table is a ReplacingMergeTree keyed by the record's identity
(event id, window, Kafka position) with a ``version`` column, so a batch written again after a
crash or a retry of an insert whose answer was lost replaces rows instead of adding them.
The agent acknowledges its Kafka records only after the insert returned (see stream/worker.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from clickhouse_driver.errors import Error as DriverError

from stream import metrics
from stream.backoff import Backoff
from stream.clickhouse.client import connect
from stream.clickhouse.tables import Table
from stream.config import ClickHouseSettings
from stream.logs import get_logger

log = get_logger(__name__)


class ClickHouseSink:
    """Writes one table. ``write`` retries until the insert succeeds (back-pressure: the caller
    waits, and its Kafka offsets stay uncommitted until then)."""

    def __init__(self, settings: ClickHouseSettings, table: Table, backoff: Backoff | None = None):
        self.settings = settings
        self.table = table
        self.backoff = backoff or Backoff()
        self._client = connect(settings)
        self._sql = table.insert_sql()
        self._next_version = 0

    def columns(self, values: Sequence[bytes]) -> list[list[Any]]:
        """The table's columns for these Kafka values (``Table.column_values``), each row a
        version above every row before it: a batch read from a backlog (after an outage) holds
        several states of one window, and the last read must be the one ``FINAL`` keeps. Rows
        sharing one version were kept in no set order (windows stored with an early count, or
        not final)."""
        first = max(time.time_ns(), self._next_version)
        self._next_version = first + len(values)
        return self.table.column_values([self.table.decode(v) for v in values], first)

    def _insert(self, columns: list[list[Any]]) -> None:
        self._client.execute(self._sql, columns, types_check=False, columnar=True)

    async def write(self, columns: list[list[Any]]) -> None:
        rows = len(columns[0]) if columns else 0
        attempt = 0
        while True:
            attempt += 1
            try:
                await asyncio.to_thread(self._insert, columns)
            except (DriverError, OSError, EOFError) as exc:
                self._client.disconnect()
                delay = self.backoff.delay(attempt)
                metrics.SINK_RETRIES.labels(self.table.name).inc()
                log.warning(
                    "sink_retry", table=self.table.name, rows=rows, attempt=attempt,
                    delay_s=round(delay, 2), error=" ".join(str(exc).split())[:400],
                )  # fmt: skip
                await asyncio.sleep(delay)
            else:
                metrics.SINK_ROWS.labels(self.table.name).inc(rows)
                return

    def close(self) -> None:
        self._client.disconnect()

"""Checks shared by the schema tests on a current ClickHouse (chdb, tests/schema) and on 18.16
(tests/integration/test_clickhouse.py): both engines must agree with the declared tables."""

from __future__ import annotations

from stream.clickhouse import migrations
from stream.clickhouse.tables import TABLES


def assert_declared_tables_match(execute: migrations.Execute) -> None:
    """Names and types of every declared table, in order, as DESCRIBE TABLE reports them."""
    described = {
        name: [(str(row[0]), str(row[1])) for row in execute(f"DESCRIBE TABLE {name}")]
        for name in TABLES
    }
    assert described == {name: table.schema() for name, table in TABLES.items()}

"""Checks shared by the schema tests on a current ClickHouse (chdb, tests/schema) and on 18.16
(tests/integration/test_clickhouse.py): both engines must agree with the declared tables."""

from __future__ import annotations

import time

from stream.clickhouse import migrations
from stream.clickhouse.tables import TABLES
from stream.errors import MigrationError


def assert_declared_tables_match(execute: migrations.Execute) -> None:
    """Names and types of every declared table, in order, as DESCRIBE TABLE reports them."""
    described = {
        name: [(str(row[0]), str(row[1])) for row in execute(f"DESCRIBE TABLE {name}")]
        for name in TABLES
    }
    assert described == {name: table.schema() for name, table in TABLES.items()}


def unscored_label_migration(files: list[migrations.Migration]) -> migrations.Migration:
    return next(m for m in files if m.name == "add_events_label_unscored_value")


def roll_back_unscored_label(
    execute: migrations.Execute, files: list[migrations.Migration]
) -> None:
    """Undo the 'unscored' label as an operator would: its way back refuses until its UPDATE,
    which runs in the background, has finished; run it again."""
    target = unscored_label_migration(files).version - 1
    for _ in range(40):
        try:
            migrations.rollback(execute, files, target=target)
            return
        except MigrationError:
            time.sleep(0.25)
    migrations.rollback(execute, files, target=target)  # fails with the reason

"""The migrations also run on a current ClickHouse (chdb, in-process), not only on 18.16."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from stream.clickhouse import migrations
from tests.schema.checks import assert_declared_tables_match

chdb_session = pytest.importorskip("chdb.session")


@pytest.fixture
def execute(tmp_path: Path) -> Any:
    session = chdb_session.Session(str(tmp_path / "chdb"))
    session.query("CREATE DATABASE IF NOT EXISTS finpulse")
    session.query("USE finpulse")

    def run(sql: str) -> Sequence[Sequence[Any]]:
        return list(csv.reader(io.StringIO(session.query(sql, "CSV").data())))

    yield run
    session.close()


def test_migrations_apply_twice_roll_back_and_reapply(execute: Any) -> None:
    files = migrations.load_migrations()
    assert len(migrations.migrate(execute, files)) == len(files)
    assert migrations.migrate(execute, files) == []
    tables = {
        row[0] for row in execute("SELECT name FROM system.tables WHERE database = 'finpulse'")
    }
    assert {"events", "sentiment_windows", "deadletter", "schema_migrations"} <= tables

    assert len(migrations.rollback(execute, files, target=0)) == len(files)
    tables = {
        row[0] for row in execute("SELECT name FROM system.tables WHERE database = 'finpulse'")
    }
    assert tables == {"schema_migrations"}
    assert len(migrations.migrate(execute, files)) == len(files)


def test_every_cookbook_query_runs(execute: Any) -> None:
    from stream.clickhouse.cookbook import load_cookbook

    migrations.migrate(execute, migrations.load_migrations())
    queries = load_cookbook()
    assert len(queries) >= 10
    for name, sql in queries.items():
        try:
            execute(sql)
        except Exception as exc:  # report which query, not only the engine's message
            raise AssertionError(f"cookbook query {name} fails on ClickHouse 26: {exc}") from exc


def test_declared_tables_match_the_migrated_schema(execute: Any) -> None:
    migrations.migrate(execute, migrations.load_migrations())
    assert_declared_tables_match(execute)

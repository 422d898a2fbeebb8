"""The migrations also run on a current ClickHouse (chdb, in-process), not only on 18.16."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from stream.clickhouse import migrations
from tests.schema.checks import (
    assert_declared_tables_match,
    roll_back_unscored_label,
    unscored_label_migration,
)

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


def test_unscored_rows_are_their_own_label_and_neutral_again_after_rollback(execute: Any) -> None:
    files = migrations.load_migrations()
    migrations.migrate(execute, files)
    execute(
        "INSERT INTO events (event_id, source, published_at, topics, scored, label) VALUES "
        "('x:1', 'x', now(), ['AAPL'], 0, 'unscored'), ('x:2', 'x', now(), ['AAPL'], 1, 'neutral')"
    )
    assert execute("SELECT label, count() FROM events GROUP BY label ORDER BY label") == [
        ["unscored", "1"],
        ["neutral", "1"],
    ]
    assert execute("SELECT uniqExactIfMerge(neutral) FROM topic_hourly") == [["1"]]

    # The way back relabels them 'neutral', as the code before the migration wrote them.
    roll_back_unscored_label(execute, files)
    assert execute("SELECT event_id, label FROM events ORDER BY event_id") == [
        ["x:1", "neutral"],
        ["x:2", "neutral"],
    ]
    assert migrations.migrate(execute, files)[0] == unscored_label_migration(files)


def test_retention_ttl_clauses_apply_to_every_table(execute: Any) -> None:
    from stream.clickhouse.retention import DEFAULT_DAYS, TIME_COLUMNS, ttl_statements

    migrations.migrate(execute, migrations.load_migrations())
    for sql in ttl_statements(DEFAULT_DAYS):
        execute(sql)
    ttls = dict(execute("SELECT name, engine_full FROM system.tables WHERE database = 'finpulse'"))
    for table, days in DEFAULT_DAYS.items():
        assert f"TTL {TIME_COLUMNS[table]} + toIntervalDay({days})" in ttls[table], table


def test_access_roles_and_grants_parse_and_name_existing_tables(execute: Any) -> None:
    # chdb has no writeable access storage (CREATE ROLE is refused there), so the statements are
    # parsed by the current engine (EXPLAIN AST fails on a syntax error) and their tables checked.
    from stream.clickhouse.access import grant_statements

    migrations.migrate(execute, migrations.load_migrations())
    tables = {
        row[0] for row in execute("SELECT name FROM system.tables WHERE database = 'finpulse'")
    }
    for sql in grant_statements("finpulse"):
        execute(f"EXPLAIN AST {sql}")
        if sql.startswith("GRANT"):
            assert sql.split()[3].removeprefix("finpulse.") in tables, sql


def test_cluster_migrations_parse_on_a_current_engine(execute: Any) -> None:
    # ON CLUSTER needs ZooKeeper and remote servers, which chdb has not: the statements are
    # parsed (they run on the 18.16 cluster in tests/integration/test_cluster.py).
    from stream.clickhouse.cluster import on_cluster
    from stream.clickhouse.sql_text import split_statements

    files = migrations.load_migrations()
    scripts = (
        [migrations.VERSION_TABLE_DDL] + [m.up_sql for m in files] + [m.down_sql for m in files]
    )
    statements = [s for text in scripts for each in split_statements(text)
                  for s in on_cluster(each, cluster="finpulse", database="finpulse")]  # fmt: skip
    assert len(statements) > 60
    for sql in statements:
        execute(f"EXPLAIN AST {sql}")

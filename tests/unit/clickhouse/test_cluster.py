from __future__ import annotations

import re

import pytest

from stream.clickhouse import cluster, migrations
from stream.clickhouse.sql_text import split_statements
from stream.errors import MigrationError


def on_cluster(statement: str) -> list[str]:
    return cluster.on_cluster(statement, cluster="c", database="db")


def every_statement() -> list[str]:
    files = migrations.load_migrations()
    scripts = [m.up_sql for m in files] + [m.down_sql for m in files]
    return [migrations.VERSION_TABLE_DDL] + [s for text in scripts for s in split_statements(text)]


def created_tables() -> dict[str, str]:
    found = {}
    for statement in every_statement():
        match = re.search(r"CREATE TABLE IF NOT EXISTS (\w+)", statement)
        if match and match[1] not in cluster.EVERYWHERE:
            found[match[1]] = statement
    return found


def test_every_table_is_sharded_by_columns_of_its_order_by() -> None:
    tables = created_tables()
    assert set(tables) == set(cluster.SHARDING_KEYS)
    for name, statement in tables.items():
        order = set(cluster.order_by(statement).split(", "))
        assert set(cluster.SHARDING_KEYS[name].split(", ")) <= order, name


def test_a_table_becomes_replicated_shards_under_a_distributed_table_of_its_name() -> None:
    local, distributed = on_cluster(created_tables()["events"])
    assert local.startswith("CREATE TABLE IF NOT EXISTS db.events_local ON CLUSTER c\n(")
    assert (
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/events_local', "
        "'{replica}', version)" in local
    )
    assert local.endswith("ORDER BY (source, event_id)")
    assert distributed == (
        "CREATE TABLE IF NOT EXISTS db.events ON CLUSTER c AS db.events_local "
        "ENGINE = Distributed(c, db, events_local, cityHash64(source, event_id))"
    )


def test_the_migrations_history_is_one_replicated_table_on_every_server() -> None:
    [statement] = on_cluster(migrations.VERSION_TABLE_DDL)
    assert "db.schema_migrations ON CLUSTER c" in statement
    assert "ReplicatedMergeTree('/clickhouse/tables/all/db/schema_migrations', '{replica}')" in (
        statement
    )


def test_a_view_rolls_up_the_local_rows_into_the_local_table() -> None:
    view = next(s for s in every_statement() if "MATERIALIZED VIEW" in s)
    [statement] = on_cluster(view)
    assert " TO db.topic_hourly_local AS" in statement
    assert "FROM db.events_local" in statement and "FROM events" not in statement


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (
            "ALTER TABLE events ADD COLUMN n UInt8 COMMENT 'a ''quoted'' word' AFTER lang",
            [
                "ALTER TABLE db.events_local ON CLUSTER c ADD COLUMN n UInt8 AFTER lang",
                "DROP TABLE IF EXISTS db.events ON CLUSTER c",
                "CREATE TABLE IF NOT EXISTS db.events ON CLUSTER c AS db.events_local "
                "ENGINE = Distributed(c, db, events_local, cityHash64(source, event_id))",
            ],
        ),
        (
            "ALTER TABLE events UPDATE label = 0 WHERE label = -128",
            ["ALTER TABLE db.events_local ON CLUSTER c UPDATE label = 0 WHERE label = -128"],
        ),
        (
            "ALTER TABLE late_events DELETE WHERE event_id IN %(ids)s",
            ["ALTER TABLE db.late_events_local ON CLUSTER c DELETE WHERE event_id IN %(ids)s"],
        ),
        (
            "ALTER TABLE events DROP PARTITION 202401",
            ["ALTER TABLE db.events_local ON CLUSTER c DROP PARTITION 202401"],
        ),
        ("ALTER TABLE events COMMENT COLUMN label 'x'", []),
        (
            "DROP TABLE IF EXISTS topic_hourly_mv",
            [
                "DROP TABLE IF EXISTS db.topic_hourly_mv ON CLUSTER c",
                "DROP TABLE IF EXISTS db.topic_hourly_mv_local ON CLUSTER c",
            ],
        ),
        ("SELECT throwIf(count() > 0) FROM events", ["SELECT throwIf(count() > 0) FROM events"]),
    ],
)
def test_changes_reach_the_shards(statement: str, expected: list[str]) -> None:
    assert on_cluster(statement) == expected


def test_no_column_comment_reaches_a_replicated_table() -> None:
    done = [s for statement in every_statement() for s in on_cluster(statement)]
    assert not [s for s in done if "COMMENT" in s and not s.startswith("SELECT")]


def test_a_table_without_a_sharding_key_is_refused() -> None:
    with pytest.raises(MigrationError, match="SHARDING_KEYS"):
        on_cluster("CREATE TABLE IF NOT EXISTS t (a UInt8) ENGINE = MergeTree ORDER BY a")


@pytest.mark.parametrize(
    ("table", "name", "expected"),
    [
        ("events", "c", "events_local"),
        ("events", "", "events"),
        ("schema_migrations", "c", "schema_migrations"),
    ],
)
def test_a_tables_rows_live_in_its_local_table_on_a_cluster(
    table: str, name: str, expected: str
) -> None:
    assert cluster.local_name(table, cluster=name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("c", "cluster(c, system, parts)"), ("", "system.parts")],
)
def test_system_tables_are_read_on_every_shard_of_a_cluster(name: str, expected: str) -> None:
    assert cluster.system_table("parts", cluster=name) == expected

"""ClickHouse through clickhouse-driver: migrations, inserts, idempotent re-delivery, rollback."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Iterator

import pytest
from clickhouse_driver import Client

from stream.clickhouse import client as clickhouse
from stream.clickhouse import migrations
from stream.clickhouse.tables import EVENTS, TABLES
from stream.config import Settings
from stream.records import Event
from tests.integration.cookbook_sample import EMPTY_QUERIES, cookbook_sample
from tests.schema.checks import (
    assert_declared_tables_match,
    roll_back_unscored_label,
    unscored_label_migration,
)


@pytest.fixture
def database(settings: Settings, unique: str) -> Iterator[tuple[str, Client]]:
    clickhouse.ensure_database(settings.clickhouse, unique)
    client = clickhouse.connect(settings.clickhouse, database=unique)
    try:
        yield unique, client
    finally:
        client.execute(f"DROP DATABASE IF EXISTS {unique}")
        client.disconnect()


def _event(event_id: str, score: float, version: int) -> dict[str, object]:
    published = dt.datetime(2026, 11, 2, 14, 30, tzinfo=dt.UTC)
    return {
        "event_id": event_id,
        "source": "wire",
        "source_topic": "news.raw",
        "published_at": published,
        "ingested_at": published,
        "lang": "en",
        "title": "",
        "text": f"text of {event_id}",
        "url": "",
        "author": "",
        "reach": 100.0,
        "tickers": ["AAPL"],
        "topics": ["AAPL", "theme:earnings"],
        "content_hash": 42,
        "duplicate_of": "",
        "scored": 1,
        "label": "positive" if score > 0 else "negative",
        "p_negative": max(-score, 0.0),
        "p_neutral": 0.0,
        "p_positive": max(score, 0.0),
        "score": score,
        "model_version": "sentiment/1",
        "kafka_partition": 0,
        "kafka_offset": version,
        "version": version,
    }


def test_migrate_is_idempotent_and_records_versions(database: tuple[str, Client]) -> None:
    _, client = database
    execute = clickhouse.executor(client)
    files = migrations.load_migrations()
    assert [m.version for m in migrations.migrate(execute, files)] == [m.version for m in files]
    assert migrations.migrate(execute, files) == []
    applied = migrations.applied_migrations(execute)
    assert sorted(applied) == [m.version for m in files]
    tables = {name for (name,) in client.execute("SHOW TABLES")}
    assert {"events", "sentiment_windows", "deadletter", "schema_migrations"} <= tables


def test_redelivered_events_count_once(database: tuple[str, Client]) -> None:
    _, client = database
    migrations.migrate(clickhouse.executor(client), migrations.load_migrations())
    rows = [_event("wire:1", 0.8, 1), _event("wire:2", -0.6, 2)]
    columns = ", ".join(rows[0])
    client.execute(f"INSERT INTO events ({columns}) VALUES", rows)
    # A worker crashed after writing and re-delivers both, the second one re-scored.
    client.execute(f"INSERT INTO events ({columns}) VALUES", [rows[0], _event("wire:2", -0.4, 3)])

    assert client.execute("SELECT count() FROM events") == [(4,)]
    result = client.execute(
        "SELECT event_id, label, round(toFloat64(score), 2), topics "
        "FROM events FINAL ORDER BY event_id"
    )
    assert result == [
        ("wire:1", "positive", 0.8, ["AAPL", "theme:earnings"]),
        ("wire:2", "negative", -0.4, ["AAPL", "theme:earnings"]),
    ]


def test_rollback_then_migrate_again(database: tuple[str, Client]) -> None:
    _, client = database
    execute = clickhouse.executor(client)
    files = migrations.load_migrations()
    migrations.migrate(execute, files)
    undone = migrations.rollback(execute, files, target=1)
    assert [m.version for m in undone] == sorted(
        (m.version for m in files if m.version > 1), reverse=True
    )
    tables = {name for (name,) in client.execute("SHOW TABLES")}
    assert "events" in tables and "deadletter" not in tables
    assert [m.version for m in migrations.migrate(execute, files)] == [
        m.version for m in files if m.version > 1
    ]


def test_changed_migration_is_refused(database: tuple[str, Client]) -> None:
    _, client = database
    execute = clickhouse.executor(client)
    files = migrations.load_migrations()
    migrations.migrate(execute, files, target=1)
    edited = [
        migrations.Migration(1, files[0].name, files[0].up_sql + "\n-- edited", files[0].down_sql),
        *files[1:],
    ]
    with pytest.raises(migrations.MigrationError, match="changed after it was applied"):
        migrations.migrate(execute, edited)


def test_every_cookbook_query_runs_and_finds_the_sample_rows(
    database: tuple[str, Client],
) -> None:
    from stream.clickhouse.cookbook import load_cookbook

    _, client = database
    migrations.migrate(clickhouse.executor(client), migrations.load_migrations())
    rows = cookbook_sample(time.time())
    for table, values in rows.items():
        spec = TABLES[table]
        client.execute(spec.insert_sql(), [spec.row(spec.decode(v), 1) for v in values])
    empty = []
    for query, sql in load_cookbook().items():
        if not client.execute(sql):
            empty.append(query)
    assert empty == EMPTY_QUERIES, empty


def test_declared_tables_match_the_migrated_schema(database: tuple[str, Client]) -> None:
    _, client = database
    execute = clickhouse.executor(client)
    migrations.migrate(execute, migrations.load_migrations())
    assert_declared_tables_match(execute)


def test_unscored_events_are_not_counted_neutral(database: tuple[str, Client]) -> None:
    _, client = database
    execute = clickhouse.executor(client)
    files = migrations.load_migrations()
    migrations.migrate(execute, files)
    now = time.time()
    events = [
        Event("x:en", "x", "social.raw", 0, 1, now, now, "en", True, "", "flat quarter", "", "",
              0.0, [], ["AAPL"], 1, scored=True, label="neutral", probs=[0.1, 0.8, 0.1]),
        Event("x:de", "x", "social.raw", 0, 2, now, now, "de", True, "", "Gewinn", "", "", 0.0,
              [], ["AAPL"], 2),  # as the scoring stage leaves a language no model covers
    ]  # fmt: skip
    client.execute(EVENTS.insert_sql(), [EVENTS.row(e, 1) for e in events])
    assert client.execute("SELECT event_id, scored, label FROM events FINAL ORDER BY event_id") == [
        ("x:de", 0, "unscored"),
        ("x:en", 1, "neutral"),
    ]
    assert client.execute("SELECT uniqExactIfMerge(neutral) FROM topic_hourly") == [(1,)]

    # The way back relabels them 'neutral', as the code before the migration wrote them.
    roll_back_unscored_label(execute, files)
    assert client.execute("SELECT event_id, label FROM events FINAL ORDER BY event_id") == [
        ("x:de", "neutral"),
        ("x:en", "neutral"),
    ]
    assert migrations.migrate(execute, files)[0] == unscored_label_migration(files)


def test_settled_deliveries_are_read_with_when_they_settled(
    settings: Settings, database: tuple[str, Client]
) -> None:
    from stream.delivery.runner import settled_deliveries
    from stream.records import Delivery

    name, client = database
    migrations.migrate(clickhouse.executor(client), migrations.load_migrations())
    now = float(int(time.time()))
    rows = [
        Delivery("d1", "a1", "s1", "webhook", "https://x.test/", 1, "retry", 503, "", 1.0, now - 60,
                 now),
        Delivery("d1", "a1", "s1", "webhook", "https://x.test/", 2, "delivered", 204, "", 1.0,
                 now - 30, 0.0),
        Delivery("d2", "a2", "s1", "webhook", "https://x.test/", 1, "retry", 503, "", 1.0, now,
                 now),
        Delivery("d3", "a3", "s1", "kafka", "desk", 1, "dead_letter", 0, "x", 1.0, now - 8 * 86_400,
                 0.0),  # beyond the lookback
    ]  # fmt: skip
    spec = TABLES["deliveries"]
    client.execute(spec.insert_sql(), [spec.row(spec.decode(r.to_json()), 1) for r in rows])
    ours = settings.model_copy(
        update={"clickhouse": settings.clickhouse.model_copy(update={"database": name})}
    )
    assert settled_deliveries(ours) == {"d1": now - 30}


def test_the_last_state_of_a_window_read_wins_also_within_one_insert(
    settings: Settings, database: tuple[str, Client]
) -> None:
    """A backlog read after an outage brings a window's running state, its first final count
    and its amendment in one batch: FINAL must keep the last of them, in every batch after."""
    from stream.clickhouse.sink import ClickHouseSink
    from stream.windows.panes import Pane, window_record

    name, client = database
    migrations.migrate(clickhouse.executor(client), migrations.load_migrations())
    ours = settings.clickhouse.model_copy(update={"database": name})
    sink = ClickHouseSink(ours, TABLES["sentiment_windows"])

    def state(n: int, *, final: bool, amendments: int = 0) -> bytes:
        pane = Pane(n_neutral=n)
        record = window_record(
            "ZQA", 1_796_287_920, 60, [pane], final=final, now=time.time(), amendments=amendments
        )
        return record.to_json()

    def stored() -> tuple[int, int, int]:
        [row] = client.execute(
            "SELECT final, n, amendments FROM sentiment_windows FINAL WHERE topic = 'ZQA'"
        )
        return row

    try:
        batches = [
            [state(3, final=False), state(5, final=True), state(13, final=True, amendments=1)],
            [state(14, final=True, amendments=2), state(15, final=True, amendments=3)],
        ]
        versions = []
        for batch in batches:
            columns = sink.columns(batch)
            versions += columns[-1]
            asyncio.run(sink.write(columns))
            last = json.loads(batch[-1])
            assert stored() == (1, last["n"], last["amendments"])
        assert versions == sorted(set(versions))  # a version a row, rising in reading order
    finally:
        sink.close()

"""`finpulse db retention` on ClickHouse 18.16: monthly partitions past their age are dropped."""

from __future__ import annotations

import datetime as dt

import pytest
from clickhouse_driver import Client
from typer.testing import CliRunner

from stream.cli.main import app
from stream.clickhouse import client as clickhouse
from stream.clickhouse import migrations
from tests.integration.test_clickhouse import _event, database  # noqa: F401  (fixture)


def test_old_partitions_go_and_recent_ones_stay(
    database: tuple[str, Client],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, client = database
    migrations.migrate(clickhouse.executor(client), migrations.load_migrations())
    now = dt.datetime.now(dt.UTC)
    old = now - dt.timedelta(days=400)
    rows = [
        _event("old", 0.5, 1) | {"published_at": old},
        _event("new", 0.5, 2) | {"published_at": now},
    ]
    client.execute(f"INSERT INTO events ({', '.join(rows[0])}) VALUES", rows)
    monkeypatch.setenv("FINPULSE_CLICKHOUSE_TTL_UNSUPPORTED", "true")
    monkeypatch.setenv("FINPULSE_CLICKHOUSE_RETENTION_DAYS", '{"events": 90}')
    dry = CliRunner().invoke(app, ["db", "retention", "--dry-run", "--database", name])
    assert dry.exit_code == 0 and "would run: ALTER TABLE events DROP PARTITION" in dry.output
    assert client.execute("SELECT count() FROM events") == [(2,)]
    result = CliRunner().invoke(app, ["db", "retention", "--database", name])
    assert result.exit_code == 0, result.output
    assert client.execute("SELECT event_id FROM events") == [("new",)]

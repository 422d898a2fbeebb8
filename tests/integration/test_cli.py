"""The finpulse CLI against the real servers."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from stream.cli.main import app
from stream.clickhouse import client as clickhouse
from stream.config import Settings

runner = CliRunner()


def test_check_reports_every_server(settings: Settings) -> None:
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    for service in ("kafka", "clickhouse", "triton"):
        assert service in result.output
    assert "canary/1" in result.output


def test_check_fails_for_a_server_that_is_down(settings: Settings) -> None:
    result = runner.invoke(app, ["check", "kafka", "--bootstrap", "127.0.0.1:1", "--timeout", "2"])
    assert result.exit_code == 1
    assert "down" in result.output


def test_db_migrate_status_rollback(
    settings: Settings, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINPULSE_CLICKHOUSE_DATABASE", unique)
    try:
        first = runner.invoke(app, ["db", "migrate"])
        assert first.exit_code == 0, first.output
        assert "applied 0001_create_events_table" in first.output
        again = runner.invoke(app, ["db", "migrate"])
        assert "(0 applied now)" in again.output
        status = runner.invoke(app, ["db", "status"])
        assert status.exit_code == 0 and "pending" not in status.output
        back = runner.invoke(app, ["db", "rollback", "--to", "1"])
        assert back.exit_code == 0 and "rolled back 0002" in back.output
        status = runner.invoke(app, ["db", "status"])
        assert "pending" in status.output
    finally:
        client = clickhouse.connect(settings.clickhouse, database="default")
        client.execute(f"DROP DATABASE IF EXISTS {unique}")
        client.disconnect()

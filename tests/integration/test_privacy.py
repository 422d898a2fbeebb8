"""`finpulse privacy erase`: an erased author's texts are gone from every table that held them."""

from __future__ import annotations

import datetime as dt
import json

from clickhouse_driver import Client
from typer.testing import CliRunner

from stream.cli.main import app
from stream.clickhouse import client as clickhouse
from stream.clickhouse import migrations
from tests.integration.test_clickhouse import _event, database  # noqa: F401  (fixture)

WHEN = dt.datetime(2026, 11, 2, 14, 30, tzinfo=dt.UTC)


def _fill(client: Client) -> None:
    migrations.migrate(clickhouse.executor(client), migrations.load_migrations())
    events = [
        _event("x:1", 0.5, 1) | {"author": "alice", "source": "x"},
        _event("x:2", -0.5, 2) | {"author": "alice", "source": "x"},
        _event("x:3", 0.1, 3) | {"author": "bob", "source": "x"},
    ]
    client.execute(f"INSERT INTO events ({', '.join(events[0])}) VALUES", events)
    times = dict.fromkeys(("published_at", "window_start", "arrived_at", "watermark"), WHEN)
    late = [{"topic": "AAPL", "event_id": e, **times, "version": 1} for e in ("x:1", "x:3")]
    client.execute(f"INSERT INTO late_events ({', '.join(late[0])}) VALUES", late)
    dead = [{"source_topic": "social.raw", "kafka_partition": 0, "kafka_offset": i,
             "received_at": WHEN, "reason_code": "missing_field", "reason": "no text",
             "raw": json.dumps({"id": f"d{i}", "author": who}), "raw_size": 30, "version": 1}
            for i, who in enumerate(["alice", "bob"])]  # fmt: skip
    client.execute(f"INSERT INTO deadletter ({', '.join(dead[0])}) VALUES", dead)


def test_an_erased_authors_texts_are_gone_from_every_table(
    database: tuple[str, Client],  # noqa: F811
) -> None:
    name, client = database
    _fill(client)
    result = CliRunner().invoke(app, ["privacy", "erase", "--author", "alice", "--database", name])
    assert result.exit_code == 0, result.output
    assert "events" in result.output and "late_events" in result.output
    assert client.execute("SELECT author FROM events ORDER BY event_id") == [("bob",)]
    assert client.execute("SELECT event_id FROM late_events") == [("x:3",)]
    raws = [json.loads(raw)["author"] for (raw,) in client.execute("SELECT raw FROM deadletter")]
    assert raws == ["bob"]
    again = CliRunner().invoke(app, ["privacy", "erase", "--author", "alice", "--database", name])
    assert again.exit_code == 0 and "alice" in again.output


def test_erase_needs_exactly_one_of_author_or_source() -> None:
    result = CliRunner().invoke(app, ["privacy", "erase"])
    assert result.exit_code != 0 and "--author" in result.output

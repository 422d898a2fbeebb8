"""The migrations ON CLUSTER, the sinks through Distributed tables, replication, erasure and
retention on the stack's ClickHouse 18.16 cluster of 2 shards x 2 replicas (`./ops/stack up
cluster`): exact counts read back from every server."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stream import health
from stream.cli.main import app
from stream.clickhouse import client as clickhouse
from stream.clickhouse import migrations
from stream.clickhouse.cookbook import load_cookbook
from stream.clickhouse.sink import ClickHouseSink
from stream.clickhouse.tables import TABLES
from stream.config import ClickHouseSettings, Settings
from tests.integration.cookbook_sample import EMPTY_QUERIES, cookbook_sample
from tests.integration.helpers import FINPULSE, Served, run
from tests.integration.test_clickhouse import _event
from tests.integration.test_pipeline import (
    build_stream,
    check_results,
    open_pipeline,
    produce_with_a_kill,
)
from tests.schema.checks import assert_declared_tables_match

pytestmark = [pytest.mark.integration, pytest.mark.cluster]


def _on(node: ClickHouseSettings, sql: str) -> list[Any]:
    client = clickhouse.connect(node)
    try:
        return client.execute(sql)  # type: ignore[no-any-return]
    finally:
        client.disconnect()


def _shard(node: ClickHouseSettings) -> str:
    [(shard,)] = _on(node, "SELECT substitution FROM system.macros WHERE macro = 'shard'")
    return str(shard)


def _synced(nodes: list[ClickHouseSettings], *tables: str) -> list[ClickHouseSettings]:
    """The nodes, once each replica has fetched and applied what its shard's log holds."""
    for node in nodes:
        for table in tables:
            _on(node, f"SYSTEM SYNC REPLICA {table}")
    return nodes


def _cli(nodes: list[ClickHouseSettings], monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    """`finpulse ARGS` against the cluster through node 1."""
    monkeypatch.setenv("FINPULSE_CLICKHOUSE_PORT", str(nodes[0].port))
    monkeypatch.setenv("FINPULSE_CLICKHOUSE_CLUSTER", "finpulse")
    result = CliRunner().invoke(app, [*args, "--database", nodes[0].database])
    assert result.exit_code == 0, result.output
    return result.output


def _insert(node: ClickHouseSettings, table: str, rows: list[dict[str, Any]]) -> None:
    # Through the Distributed table; the cluster setting makes the insert synchronous.
    client = clickhouse.connect(node)
    try:
        client.execute(f"INSERT INTO {table} ({', '.join(rows[0])}) VALUES", rows)
    finally:
        client.disconnect()


@pytest.fixture(scope="module")
def nodes(settings: Settings) -> Iterator[list[ClickHouseSettings]]:
    """Each server's settings, for a database of this module's own, migrated through node 1."""
    hosts = os.environ.get("FINPULSE_STACK_CLUSTER_HOSTS", "").split(",")
    if hosts == [""]:
        pytest.fail('no cluster: ./ops/stack up cluster && eval "$(./ops/stack env)"', False)
    database = f"cluster_{int(time.time())}"
    nodes = [
        settings.clickhouse.model_copy(
            update={"host": host.split(":")[0], "port": int(host.split(":")[1]),
                    "cluster": "finpulse", "database": database, "alt_hosts": ()}
        )
        for host in hosts
    ]  # fmt: skip
    down = [h for h in (health.check_clickhouse(n, 3) for n in nodes) if not h.ok]
    if down:
        pytest.fail(
            f"cluster node {down[0].address}: {down[0].detail}: ./ops/stack up cluster", False
        )
    env = os.environ | {
        "FINPULSE_CLICKHOUSE_PORT": str(nodes[0].port),
        "FINPULSE_CLICKHOUSE_CLUSTER": "finpulse",
        "FINPULSE_CLICKHOUSE_DATABASE": database,
    }
    run([*FINPULSE, "db", "migrate"], env)
    yield nodes
    _on(nodes[0].model_copy(update={"database": "default"}),
        f"DROP DATABASE IF EXISTS {database} ON CLUSTER finpulse")  # fmt: skip


def test_every_server_has_the_declared_tables_over_its_shard(
    nodes: list[ClickHouseSettings],
) -> None:
    for node in nodes:
        client = clickhouse.connect(node)
        try:
            assert_declared_tables_match(clickhouse.executor(client))
            applied = migrations.applied_migrations(clickhouse.executor(client))
            engines = dict(client.execute("SELECT name, engine FROM system.tables "
                                          "WHERE database = currentDatabase()"))  # fmt: skip
        finally:
            client.disconnect()
        assert sorted(applied) == [m.version for m in migrations.load_migrations()]
        for name in TABLES:
            assert engines[name] == "Distributed"
            assert engines[f"{name}_local"].startswith("Replicated")


async def test_sinks_write_through_distributed_tables_and_count_each_record_once(
    nodes: list[ClickHouseSettings],
) -> None:
    sample = cookbook_sample(time.time())
    for table, values in sample.items():
        sink = ClickHouseSink(nodes[0], TABLES[table])
        try:
            await sink.write(sink.columns(values))
            await sink.write(sink.columns(values))  # re-delivered after a crash
        finally:
            sink.close()

    for node in nodes:  # either server answers for the whole cluster
        for table, values in sample.items():
            assert _on(node, f"SELECT count() FROM {table} FINAL") == [(len(values),)], table
        assert _on(node, "SELECT uniqExactMerge(texts) FROM topic_hourly") == [(6,)]
    # The events are spread over both shards; FINAL above counted each once, so every version
    # of an event went to the same shard.
    # The Distributed table writes each shard's rows to one of its replicas, either of them.
    firsts = _synced(nodes, "events_local")[:2]  # the first replica of each shard
    assert sorted(_shard(node) for node in firsts) == ["1", "2"]
    per_shard = [_on(node, "SELECT uniqExact(event_id) FROM events_local") for node in firsts]
    assert all(count > 0 for [(count,)] in per_shard)
    assert sum(count for [(count,)] in per_shard) == len(sample["events"])

    empty = [name for name, sql in load_cookbook().items() if not _on(nodes[1], sql)]
    assert empty == EMPTY_QUERIES, empty


def test_each_replica_of_a_shard_holds_the_rows_written_through_the_distributed_table(
    nodes: list[ClickHouseSettings],
) -> None:
    rows = [_event(f"replica:{i}", 0.5, 1) for i in range(40)]
    _insert(nodes[0], "events", rows)
    counts: dict[str, set[int]] = {}
    for node in _synced(nodes, "events_local"):
        [(count,)] = _on(node, "SELECT count() FROM events_local WHERE event_id LIKE 'replica:%'")
        counts.setdefault(_shard(node), set()).add(count)
    # Two replicas per shard, each with the same rows; the shards together hold every row once.
    assert len(counts) == 2 and all(len(c) == 1 for c in counts.values()), counts
    assert sum(c for [c] in map(list, counts.values())) == len(rows)
    assert all(c > 0 for [c] in map(list, counts.values()))


def test_an_erased_authors_texts_are_gone_from_every_table_on_every_replica(
    nodes: list[ClickHouseSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    authors = ["erin", "frank"] * 20
    events = [_event(f"erase:{i}", 0.1, 1) | {"author": who} for i, who in enumerate(authors)]
    when = events[0]["published_at"]
    times = dict.fromkeys(("published_at", "window_start", "arrived_at", "watermark"), when)
    late = [{"topic": "AAPL", "event_id": e["event_id"], **times, "version": 1} for e in events]
    dead = [{"source_topic": "erase.raw", "kafka_partition": 0, "kafka_offset": i,
             "received_at": when, "reason_code": "missing_field", "reason": "no text",
             "raw": json.dumps({"id": f"d{i}", "author": who}), "raw_size": 30, "version": 1}
            for i, who in enumerate(authors)]  # fmt: skip
    for table, rows in (("events", events), ("late_events", late), ("deadletter", dead)):
        _insert(nodes[0], table, rows)
    erin = tuple(e["event_id"] for e in events if e["author"] == "erin")
    held = {
        "events": "author = 'erin'",
        "late_events": f"event_id IN {erin}",
        "deadletter": "source_topic = 'erase.raw' AND raw LIKE '%erin%'",
    }
    _synced(nodes, *(f"{table}_local" for table in held))
    for table, where in held.items():  # erin's rows lie on both shards
        counts = [_on(n, f"SELECT count() FROM {table}_local WHERE {where}") for n in nodes[:2]]
        assert all(count > 0 for [(count,)] in counts), (table, counts)

    output = _cli(nodes, monkeypatch, "privacy", "erase", "--author", "erin")
    for table in held:  # the rows removed, summed over the shards
        assert re.search(rf"(^|\W){table}\W+{len(erin)}\W", output, re.MULTILINE), output

    for node in _synced(nodes, *(f"{table}_local" for table in held)):
        for table, where in held.items():
            assert _on(node, f"SELECT count() FROM {table}_local WHERE {where}") == [(0,)]
        frank = "SELECT count() FROM events WHERE author = 'frank'"
        assert _on(node, frank) == [(len(erin),)]


def test_retention_drops_the_old_partitions_on_every_replica(
    nodes: list[ClickHouseSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    rows = [_event(f"old:{i}", 0.5, 1) | {"published_at": old} for i in range(20)]
    _insert(nodes[0], "events", rows)
    where = "event_id LIKE 'old:%'"
    _synced(nodes, "events_local")
    counts = [_on(n, f"SELECT count() FROM events_local WHERE {where}") for n in nodes[:2]]
    assert all(count > 0 for [(count,)] in counts), counts
    [(recent,)] = _on(nodes[0], f"SELECT count() FROM events WHERE NOT {where}")
    monkeypatch.setenv("FINPULSE_CLICKHOUSE_TTL_UNSUPPORTED", "true")
    monkeypatch.setenv("FINPULSE_CLICKHOUSE_RETENTION_DAYS", '{"events": 90}')

    dry = _cli(nodes, monkeypatch, "db", "retention", "--dry-run")
    assert f"would drop {len(rows)} row(s)" in dry and "events_local ON CLUSTER" in dry
    output = _cli(nodes, monkeypatch, "db", "retention")
    assert f"dropped {len(rows)} row(s)" in output

    for node in _synced(nodes, "events_local"):
        assert _on(node, f"SELECT count() FROM events_local WHERE {where}") == [(0,)]
        assert _on(node, f"SELECT count() FROM events WHERE NOT {where}") == [(recent,)]


def test_the_pipeline_counts_exactly_through_the_cluster_with_a_worker_killed_midway(
    nodes: list[ClickHouseSettings], settings: Settings, served_model: Served, unique: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    """The end-to-end pipeline test with the sinks writing through the Distributed tables: a
    worker SIGKILLed mid-stream and replaced; every window, event and dead letter exact
    (computed from the records), each event on one shard only, and both replicas agreeing."""
    cluster = settings.model_copy(
        update={"clickhouse": nodes[0].model_copy(update={"database": unique})}
    )
    extra = {"FINPULSE_CLICKHOUSE_PORT": str(nodes[0].port),
             "FINPULSE_CLICKHOUSE_CLUSTER": "finpulse"}  # fmt: skip
    with open_pipeline(cluster, served_model, unique, tmp_path, **extra) as p:
        items = build_stream(p.topics, time.time(), duration_s=40, seed=11)
        positions = produce_with_a_kill(p, items, len(items) // 2)
        check_results(p, items, positions)

        [(events,)] = p.query("SELECT count() FROM events FINAL")
        replicas = [n.model_copy(update={"database": unique}) for n in nodes]
        per_node = {}
        for node in _synced(replicas, "events_local"):
            [(ids,)] = _on(node, "SELECT uniqExact(source, event_id) FROM events_local")
            per_node.setdefault(_shard(node), set()).add(ids)
        # Each replica of a shard holds the same events; the shards split them with no overlap.
        assert all(len(c) == 1 for c in per_node.values()), per_node
        assert sorted(per_node) == ["1", "2"] and all(min(c) > 0 for c in per_node.values())
        assert sum(min(c) for c in per_node.values()) == events

"""The migrations ON CLUSTER and the sinks through Distributed tables, on the stack's 2-shard
ClickHouse 18.16 cluster (`./ops/stack up cluster`): exact counts read back from either server."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from stream import health
from stream.clickhouse import client as clickhouse
from stream.clickhouse import migrations
from stream.clickhouse.cookbook import load_cookbook
from stream.clickhouse.sink import ClickHouseSink
from stream.clickhouse.tables import TABLES
from stream.config import ClickHouseSettings, Settings
from tests.integration.cookbook_sample import EMPTY_QUERIES, cookbook_sample
from tests.integration.helpers import FINPULSE, run
from tests.schema.checks import assert_declared_tables_match

pytestmark = [pytest.mark.integration, pytest.mark.cluster]


def _on(node: ClickHouseSettings, sql: str) -> list[Any]:
    client = clickhouse.connect(node)
    try:
        return client.execute(sql)  # type: ignore[no-any-return]
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
            await sink.write(sink.rows(values))
            await sink.write(sink.rows(values))  # re-delivered after a crash
        finally:
            sink.close()

    for node in nodes:  # either server answers for the whole cluster
        for table, values in sample.items():
            assert _on(node, f"SELECT count() FROM {table} FINAL") == [(len(values),)], table
        assert _on(node, "SELECT uniqExactMerge(texts) FROM topic_hourly") == [(6,)]
    # The events are spread over both shards; FINAL above counted each once, so every version
    # of an event went to the same shard.
    per_shard = [_on(node, "SELECT uniqExact(event_id) FROM events_local") for node in nodes]
    assert all(count > 0 for [(count,)] in per_shard)
    assert sum(count for [(count,)] in per_shard) == len(sample["events"])

    empty = [name for name, sql in load_cookbook().items() if not _on(nodes[1], sql)]
    assert empty == EMPTY_QUERIES, empty

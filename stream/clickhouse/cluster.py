"""The migrations for a sharded, replicated ClickHouse cluster (pure).

With ``clickhouse.cluster`` set, each statement of the single-server migrations becomes its
cluster form, run once ``ON CLUSTER``:

- a table becomes ``name_local``, a ``Replicated*MergeTree`` on every server (one ZooKeeper path
  per shard, the server's ``{replica}`` macro), with a ``Distributed`` table under the original
  name on top: the sinks, the store and the cookbook say ``events`` as before. Its sharding key
  (``SHARDING_KEYS``) hashes the table's ORDER BY, the record's identity, so every version of a
  record lands on one shard and ReplacingMergeTree's FINAL still counts it once;
- a materialized view reads and writes the local tables of its server (``events_local`` ->
  ``topic_hourly_local``), so each shard rolls up its own rows and reads merge the states;
- an ALTER changes the local tables, and the Distributed one is made again on top (it holds no
  rows: the inserts are synchronous), since 18.16 refuses an ALTER ON CLUSTER of a table that is
  not replicated on a cluster whose shards are; a change of rows only (UPDATE, DELETE, DROP
  PARTITION: privacy erasure, retention) changes the local tables only, since a Distributed table
  takes no mutation;
- columns go without comments: ClickHouse 18.16 refuses a Replicated table whose columns have
  any ("Table structure in ZooKeeper is too different"), so on a cluster DESCRIBE shows none;
- ``schema_migrations`` is replicated to every server (one path), so any of them tells the
  history. Names are qualified with the database: an ON CLUSTER statement runs on each server
  in that server's default database otherwise.
"""

from __future__ import annotations

import re

from stream.errors import MigrationError

LOCAL = "_local"
_LEADING_COMMENTS = re.compile(r"\A(?:\s*--[^\n]*\n)*\s*")
_CREATE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)\b")
_ENGINE = re.compile(r"ENGINE = (\w*MergeTree)(?:\(([^)]*)\))?")
_ORDER_BY = re.compile(r"ORDER BY (.+?)\s*;?\s*\Z", re.DOTALL)
_VIEW = re.compile(r"CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+) TO (\w+) AS\b")
_FROM = re.compile(r"\bFROM (\w+)\b")
_ALTER = re.compile(r"ALTER TABLE (\w+)\b\s*(.*)", re.DOTALL)
_ROWS_ONLY = re.compile(r"(UPDATE|DELETE|DROP PARTITION)\b")
_STRING = r"'(?:[^'\\]|\\.|'')*'"
_COMMENT_COLUMN = re.compile(rf",?\s*COMMENT COLUMN \w+ {_STRING}")
_COMMENT = re.compile(rf"\s+COMMENT {_STRING}")
_DROP = re.compile(r"DROP TABLE IF EXISTS (\w+)\s*\Z")
# Tables every server holds whole (no shards): the migrations' own history.
EVERYWHERE = ("schema_migrations",)
# What each table's rows are sharded by: columns of its ORDER BY (a test holds them to the
# migrations), so every version of a row lands on one shard. deliveries go by subscription, as
# subscriptions do, so that a JOIN of the two on subscription_id finds both on each shard.
SHARDING_KEYS = {
    "events": "source, event_id",
    "sentiment_windows": "topic, window_seconds, window_start",
    "deadletter": "source_topic, kafka_partition, kafka_offset",
    "late_events": "topic, window_start, event_id",
    "topic_hourly": "topic, hour",
    "source_hourly": "source, lang, hour",
    "alerts": "topic, window_start, alert_id",
    "subscriptions": "subscription_id",
    "deliveries": "subscription_id",
}


def on_cluster(statement: str, *, cluster: str, database: str) -> list[str]:
    """The statements that do on the cluster what ``statement`` does on one server."""
    body = _COMMENT.sub("", _COMMENT_COLUMN.sub("", _LEADING_COMMENTS.sub("", statement, count=1)))
    on = f"ON CLUSTER {cluster}"
    if match := _CREATE.match(body):
        return _create_table(body, match, on, cluster, database)
    if match := _VIEW.match(body):
        view, target = match[1], match[2]
        select = _FROM.sub(lambda m: f"FROM {database}.{m[1]}{LOCAL}", body[match.end() :])
        return [
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.{view} {on} "
            f"TO {database}.{target}{LOCAL} AS{select}"
        ]
    if match := _ALTER.match(body):
        table, change = match[1], match[2].strip()
        if not change:
            return []  # it only changed a comment
        local = f"ALTER TABLE {database}.{table}{LOCAL} {on} {change}"
        if _ROWS_ONLY.match(change):
            return [local]
        return [
            local,
            f"DROP TABLE IF EXISTS {database}.{table} {on}",
            _distributed(table, on, cluster, database),
        ]
    if match := _DROP.match(body):
        # The Distributed table (or the view) first, then the shards under it.
        name = match[1]
        return [
            f"DROP TABLE IF EXISTS {database}.{name} {on}",
            f"DROP TABLE IF EXISTS {database}.{name}{LOCAL} {on}",
        ]
    return [statement]  # reads and checks (SELECT throwIf ...) run as they are


def _create_table(
    body: str, head: re.Match[str], on: str, cluster: str, database: str
) -> list[str]:
    name = head[1]
    engine = _ENGINE.search(body)
    if engine is None:
        raise MigrationError(f"table {name}: expected ENGINE = ...MergeTree")
    everywhere = name in EVERYWHERE
    local = name if everywhere else f"{name}{LOCAL}"
    shard = "all" if everywhere else "{shard}"
    path = f"'/clickhouse/tables/{shard}/{database}/{local}', '{{replica}}'"
    args = f"{path}, {engine[2]}" if engine[2] else path
    replicated = f"ENGINE = Replicated{engine[1]}({args})"
    create = (
        f"CREATE TABLE IF NOT EXISTS {database}.{local} {on}"
        + body[head.end() : engine.start()]
        + replicated
        + body[engine.end() :]
    ).rstrip("; \n")
    if everywhere:
        return [create]
    return [create, _distributed(name, on, cluster, database)]


def _distributed(name: str, on: str, cluster: str, database: str) -> str:
    if name not in SHARDING_KEYS:
        raise MigrationError(f"table {name}: add its sharding key to cluster.SHARDING_KEYS")
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.{name} {on} AS {database}.{name}{LOCAL} "
        f"ENGINE = Distributed({cluster}, {database}, {name}{LOCAL}, "
        f"cityHash64({SHARDING_KEYS[name]}))"
    )


def local_name(table: str, *, cluster: str) -> str:
    """The name of ``table``'s rows on each server: ``table_local`` on a cluster."""
    return f"{table}{LOCAL}" if cluster and table not in EVERYWHERE else table


def system_table(name: str, *, cluster: str) -> str:
    """A system table (``parts``, ``mutations``) read on one replica of every shard, or on this
    server alone: each shard lists only its own parts and mutations."""
    return f"cluster({cluster}, system, {name})" if cluster else f"system.{name}"


def order_by(statement: str) -> str:
    """The ORDER BY of a CREATE TABLE, without its parentheses (what the keys must equal)."""
    match = _ORDER_BY.search(statement)
    key = match[1].strip() if match else ""
    return key[1:-1] if key.startswith("(") and key.endswith(")") else key

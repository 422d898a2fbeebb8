"""Erasure on request: one author's or one source's texts, from every table that holds them.

``events`` has the author and source; ``late_events`` keys late texts by event id; ``deadletter``
keeps rejected raw posts, whose JSON may name them. Each is a ClickHouse mutation
(``ALTER TABLE ... DELETE WHERE``, available on 18.16), run after counting what it removes and
waited for, so the report says what is gone. On a cluster (``cluster`` given) the counts read
the Distributed tables, summed over the shards, and each mutation runs on the ``_local`` tables
``ON CLUSTER`` (a Distributed table takes none), waited for on one replica of every shard; the
other replicas follow by replication. Aggregates (windows, rollups, alerts) hold counts
and event ids, no text, and stay. Kafka topics keep the texts until their retention expires.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from stream.clickhouse import cluster as layout
from stream.errors import ServiceError

Field = Literal["author", "source"]
Execute = Callable[..., Sequence[Sequence[Any]]]

_ID_CHUNK = 5_000  # event ids per late_events mutation: keeps each statement small


@dataclass(frozen=True)
class Erased:
    table: str
    rows: int


def erase(
    execute: Execute,
    field: Field,
    value: str,
    *,
    database: str,
    cluster: str = "",
    wait_s: float = 120.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Erased]:
    """Delete ``field = value``'s texts in ``database``; returns the rows removed per table (0
    included)."""

    def delete(table: str, where: str, params: dict[str, Any]) -> None:
        sql = f"ALTER TABLE {table} DELETE WHERE {where}"
        statements = (
            layout.on_cluster(sql, cluster=cluster, database=database) if cluster else [sql]
        )
        for statement in statements:
            execute(statement, params)

    params = {"value": value}
    ids = [
        row[0]
        for row in execute(
            f"SELECT DISTINCT event_id FROM events WHERE {field} = %(value)s", params
        )
    ]
    # visitParamExtractString wants "key":value with no space; json.dumps writes "key": value.
    compact = r"""replaceRegexpAll(raw, '"\\s*:\\s*', '":')"""
    raw = f"visitParamExtractString({compact}, '{field}') = %(value)s"
    done: list[Erased] = []
    late = 0
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = {"ids": tuple(ids[start : start + _ID_CHUNK])}
        ((count,),) = execute("SELECT count() FROM late_events WHERE event_id IN %(ids)s", chunk)
        if count:
            delete("late_events", "event_id IN %(ids)s", chunk)
        late += count
    done.append(Erased("late_events", late))
    for table, where in (("events", f"{field} = %(value)s"), ("deadletter", raw)):
        ((count,),) = execute(f"SELECT count() FROM {table} WHERE {where}", params)
        if count:
            delete(table, where, params)
        done.append(Erased(table, count))
    tables = [layout.local_name(e.table, cluster=cluster) for e in done if e.rows]
    mutations = layout.system_table("mutations", cluster=cluster)
    _wait_for_mutations(execute, mutations, database, tables, wait_s, clock, sleep)
    return done


def _wait_for_mutations(
    execute: Execute,
    mutations: str,
    database: str,
    tables: list[str],
    wait_s: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    """Mutations run in the background: wait until the servers report them done."""
    if not tables:
        return
    deadline = clock() + wait_s
    sql = (
        f"SELECT table, count() FROM {mutations} WHERE database = %(database)s "
        "AND table IN %(tables)s AND is_done = 0 GROUP BY table"
    )
    while True:
        pending = execute(sql, {"database": database, "tables": tuple(tables)})
        if not pending:
            return
        if clock() > deadline:
            names = ", ".join(str(row[0]) for row in pending)
            raise ServiceError(
                f"ClickHouse has not finished erasing from {names} within {wait_s:g} s: it goes "
                "on in the background; check system.mutations, or run the erase again",
                service="clickhouse",
                address="",
            )
        sleep(0.2)

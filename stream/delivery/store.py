"""The durable home of subscriptions: ClickHouse's ``subscriptions`` table (migration 0014).

A change is a new row with a higher version, and reads take the newest row per id (FINAL), so the
store needs no locks: two writers racing on one subscription end with the later change.
Synchronous (clickhouse-driver): async callers run it in a thread.
"""

from __future__ import annotations

import json
import time
from typing import Any

from stream.clickhouse.access import subscriptions_target
from stream.clickhouse.client import connect, mapped
from stream.clickhouse.tables import SUBSCRIPTIONS
from stream.config import ClickHouseSettings
from stream.delivery import subscriptions
from stream.errors import FinpulseError, SubscriptionNotFound
from stream.records import Subscription

COLUMNS = ", ".join(c.name for c in SUBSCRIPTIONS.columns)


def _from_row(row: tuple[Any, ...]) -> Subscription:
    (
        sid,
        name,
        topics,
        rules,
        severity,
        kinds,
        channel,
        target,
        secret,
        status,
        made,
        changed,
        legacy,
        report,
    ) = row
    return Subscription(
        sid, name, list(topics), list(rules), severity, list(kinds), channel, target, secret,
        status, made.timestamp(), changed.timestamp(), bool(legacy), json.loads(report or "{}"),
    )  # fmt: skip


class SubscriptionStore:
    def __init__(self, settings: ClickHouseSettings) -> None:
        self.settings = settings
        self._client = connect(settings)
        self._target = ""  # the table INSERTs name, found on the first one

    def _insert_target(self) -> str:
        # Reads go through `subscriptions` always; after `finpulse db access` with
        # clickhouse.sql_access_unsupported that is a Merge table, and inserts name its source.
        if not self._target:
            rows = self._execute(
                "SELECT engine FROM system.tables WHERE database = currentDatabase() "
                "AND name = 'subscriptions'"
            )
            self._target = subscriptions_target(self.settings.database, rows[0][0] if rows else "")
        return self._target

    def _execute(self, sql: str, params: Any = None) -> Any:
        try:
            with mapped(self.settings):
                return self._client.execute(sql, params)
        except FinpulseError:
            self._client.disconnect()  # the next call starts on a fresh connection
            raise

    def put(self, sub: Subscription) -> Subscription:
        row = SUBSCRIPTIONS.row(sub, time.time_ns())
        self._execute(f"INSERT INTO {self._insert_target()} ({COLUMNS}, version) VALUES", [row])
        return sub

    def all(self, *, include_deleted: bool = False) -> list[Subscription]:
        where = "" if include_deleted else "WHERE status != 'deleted'"
        rows = self._execute(
            f"SELECT {COLUMNS} FROM subscriptions FINAL {where} "
            "ORDER BY created_at, subscription_id"
        )
        return [_from_row(r) for r in rows]

    def get(self, subscription_id: str) -> Subscription:
        rows = self._execute(
            f"SELECT {COLUMNS} FROM subscriptions FINAL "
            "WHERE subscription_id = %(id)s AND status != 'deleted'",
            {"id": subscription_id},
        )
        if not rows:
            raise SubscriptionNotFound(subscription_id=subscription_id)
        return _from_row(rows[0])

    def add(self, data: dict[str, Any]) -> Subscription:
        return self.put(subscriptions.create(data, now=time.time()))

    def change(self, subscription_id: str, data: dict[str, Any]) -> Subscription:
        return self.put(subscriptions.change(self.get(subscription_id), data, now=time.time()))

    def delete(self, subscription_id: str) -> Subscription:
        return self.put(subscriptions.deleted(self.get(subscription_id), now=time.time()))

    def close(self) -> None:
        self._client.disconnect()

"""The analyst and worker users of the local ClickHouse 18.16 (ops/conf/clickhouse/users.xml) on
the stack's own database, after `finpulse db access` with clickhouse.sql_access_unsupported."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from clickhouse_driver import Client
from clickhouse_driver.errors import ServerException
from pydantic import SecretStr

from stream.clickhouse import client as clickhouse
from stream.clickhouse import migrations
from stream.clickhouse.cookbook import load_cookbook
from stream.config import ClickHouseSettings, Settings
from stream.delivery.store import SubscriptionStore
from tests.integration.helpers import FINPULSE, run

DATABASE = "finpulse"  # the one users.xml allows (with finpulse_secrets for the worker)
ACCESS_DENIED, READONLY, DDL_PROHIBITED = 291, 164, 392
OPERATORS_ONLY = "delivery_health_per_subscription"  # reads deliveries and subscriptions


def _as(settings: Settings, user: str) -> ClickHouseSettings:
    password = os.environ.get(f"FINPULSE_STACK_CH_{user.upper()}_PASSWORD", "")
    if not password:
        pytest.fail('no stack password: eval "$(./ops/stack env)"', pytrace=False)
    return settings.clickhouse.model_copy(
        update={"user": user, "password": SecretStr(password), "database": DATABASE}
    )


@pytest.fixture(scope="module")
def migrated(settings: Settings) -> Settings:
    if not settings.clickhouse.sql_access_unsupported:
        pytest.skip("the users of users.xml: ClickHouse 18.16 with sql_access_unsupported")
    clickhouse.ensure_database(settings.clickhouse, DATABASE)
    admin = clickhouse.connect(settings.clickhouse, database=DATABASE)
    try:
        migrations.migrate(clickhouse.executor(admin), migrations.load_migrations())
    finally:
        admin.disconnect()
    env = os.environ | {"FINPULSE_CLICKHOUSE_DATABASE": DATABASE}
    run([*FINPULSE, "db", "access"], env)
    again = run([*FINPULSE, "db", "access"], env)
    assert "0 access statement(s)" in again.stdout
    return settings


@pytest.fixture
def analyst(migrated: Settings) -> Iterator[Client]:
    client = clickhouse.connect(_as(migrated, "analyst"))
    yield client
    client.disconnect()


def _refused(client: Client, sql: str, code: int) -> None:
    with pytest.raises(ServerException) as raised:
        client.execute(sql)
    assert raised.value.code == code


def test_analyst_reads_the_cookbook_tables_and_never_the_secrets(analyst: Client) -> None:
    analyst.execute("SELECT count() FROM sentiment_windows FINAL")
    for name, sql in load_cookbook().items():
        if name != OPERATORS_ONLY:
            analyst.execute(sql)
    _refused(analyst, "SELECT secret FROM subscriptions FINAL", ACCESS_DENIED)
    _refused(analyst, "SELECT secret FROM finpulse_secrets.subscriptions", ACCESS_DENIED)
    _refused(analyst, load_cookbook()[OPERATORS_ONLY], ACCESS_DENIED)


def test_analyst_writes_nothing(analyst: Client) -> None:
    _refused(analyst, "INSERT INTO late_events (topic) SELECT 'x'", READONLY)
    _refused(analyst, "ALTER TABLE events DELETE WHERE 1", READONLY)


def test_worker_inserts_reads_subscriptions_and_changes_no_schema(migrated: Settings) -> None:
    worker = _as(migrated, "worker")
    now = datetime.now(UTC).replace(microsecond=0)
    client = clickhouse.connect(worker)
    try:
        client.execute(
            "INSERT INTO late_events (topic, event_id, published_at, window_start, arrived_at, "
            "watermark, version) VALUES",
            [("access-test", "e1", now, now, now, now, 1)],
        )
        _refused(client, "CREATE TABLE scratch (a UInt8) ENGINE = Memory", DDL_PROHIBITED)
    finally:
        client.disconnect()
    store = SubscriptionStore(worker)
    try:
        added = store.add({"channel": "webhook", "target": "https://example.invalid/hook"})
        assert store.get(added.subscription_id).secret == added.secret
    finally:
        store.delete(added.subscription_id)
        store.close()


def test_operators_read_deliveries_with_their_subscriptions(migrated: Settings) -> None:
    admin = clickhouse.connect(migrated.clickhouse, database=DATABASE)
    try:
        admin.execute(load_cookbook()[OPERATORS_ONLY])
        [(engine,)] = admin.execute(
            "SELECT engine FROM system.tables WHERE database = 'finpulse' AND name = "
            "'subscriptions'"
        )
    finally:
        admin.disconnect()
    assert engine == "Merge"


def test_migrations_after_the_move_alter_the_moved_subscriptions(migrated: Settings) -> None:
    """A migration that alters subscriptions (0019 adds the report schedule), undone and done
    again after `db access` moved them: the real table changes, and the worker stores it."""
    env = os.environ | {"FINPULSE_CLICKHOUSE_DATABASE": DATABASE}
    run([*FINPULSE, "db", "rollback", "--to", "18"], env)
    admin = clickhouse.connect(migrated.clickhouse, database=DATABASE)
    columns = "SELECT name FROM system.columns WHERE database = %(db)s AND table = 'subscriptions'"
    try:
        for db in (DATABASE, "finpulse_secrets"):
            assert "report" not in {c for (c,) in admin.execute(columns, {"db": db})}
        run([*FINPULSE, "db", "migrate"], env)
        for db in (DATABASE, "finpulse_secrets"):
            assert "report" in {c for (c,) in admin.execute(columns, {"db": db})}
    finally:
        admin.disconnect()
    store = SubscriptionStore(_as(migrated, "worker"))
    try:
        added = store.add({"channel": "webhook", "target": "https://example.invalid/hook",
                           "report": {"every": "daily", "at": "07:00"}})  # fmt: skip
        assert store.get(added.subscription_id).report == added.report != {}
    finally:
        store.delete(added.subscription_id)
        store.close()

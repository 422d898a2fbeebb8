"""ClickHouse connections (clickhouse-driver, native protocol).

clickhouse-driver is synchronous: callers on the event loop run it in a thread (see the sink).
Compatibility note for ClickHouse 18.16, the local stand-in: never send a literal
``INSERT ... VALUES (...)`` through the driver (18.16 hangs for 300 s); pass rows as data:
``client.execute("INSERT INTO t (a, b) VALUES", rows)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as DriverError

from stream.config import ClickHouseSettings
from stream.errors import ServiceUnavailable


def connect(settings: ClickHouseSettings, *, database: str | None = None) -> Client:
    """A client for the configured server; ``database`` overrides the configured one."""
    return Client(
        host=settings.host,
        port=settings.port,
        user=settings.user,
        password=settings.password.get_secret_value(),
        database=database if database is not None else settings.database,
        connect_timeout=settings.connect_timeout_s,
        settings={"use_client_time_zone": False},
    )


def ensure_database(settings: ClickHouseSettings, database: str | None = None) -> None:
    """Create the database when missing (connecting to it first would fail)."""
    name = database if database is not None else settings.database
    client = connect(settings, database="default")
    try:
        client.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(name)}")
    except (DriverError, OSError, EOFError) as exc:
        raise unavailable(settings, exc) from exc
    finally:
        client.disconnect()


def executor(client: Client) -> Any:
    """Adapt a client to the ``execute(sql) -> rows`` callable that migrations take."""

    def execute(sql: str) -> Sequence[Sequence[Any]]:
        return client.execute(sql)  # type: ignore[no-any-return]

    return execute


def unavailable(settings: ClickHouseSettings, exc: BaseException) -> ServiceUnavailable:
    address = f"{settings.host}:{settings.port}"
    return ServiceUnavailable(
        f"ClickHouse at {address} (native protocol) did not answer: {exc}. Start it with "
        "`./ops/stack up`, or set FINPULSE_CLICKHOUSE_HOST / FINPULSE_CLICKHOUSE_PORT",
        service="clickhouse",
        address=address,
    )


def quote_identifier(name: str) -> str:
    """Backquote an identifier (database, table) for SQL text."""
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"

"""ClickHouse connections (clickhouse-driver, native protocol).

clickhouse-driver is synchronous: callers on the event loop run it in a thread (see the sink).
Compatibility note for ClickHouse 18.16, the local stand-in: never send a literal
``INSERT ... VALUES (...)`` through the driver (18.16 hangs for 300 s); pass rows as data:
``client.execute("INSERT INTO t (a, b) VALUES", rows)``.

Driver errors become finpulse errors here: ``DRIVER_ERRORS`` is everything a call may raise, and
``with mapped(settings):`` raises it as ServiceUnavailable (no answer) or ServiceError (an error
answered), with the fix in the message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as DriverError
from clickhouse_driver.errors import ErrorCodes, ServerException

from stream.config import ClickHouseSettings
from stream.errors import ServiceError, ServiceUnavailable

# Everything clickhouse-driver raises for a failed call: its own errors (a refused query too) and,
# for a dropped or refused connection, the socket's.
DRIVER_ERRORS: tuple[type[Exception], ...] = (DriverError, OSError, EOFError)

# What to do about the server errors that have a known fix.
_FIXES = {
    ErrorCodes.UNKNOWN_TABLE: "run `finpulse db migrate`",
    ErrorCodes.UNKNOWN_DATABASE: "run `finpulse db migrate`",
    ErrorCodes.UNKNOWN_USER: "check FINPULSE_CLICKHOUSE_USER",
    ErrorCodes.WRONG_PASSWORD: "check FINPULSE_CLICKHOUSE_PASSWORD",
    516: "check FINPULSE_CLICKHOUSE_USER and _PASSWORD",  # AUTHENTICATION_FAILED, newer servers
}


def connect(settings: ClickHouseSettings, *, database: str | None = None) -> Client:
    """A client for the configured server; ``database`` overrides the configured one. The one
    place a ClickHouse client is built, so TLS and fail-over hosts reach every caller."""
    return Client(**client_options(settings, database=database))


def client_options(settings: ClickHouseSettings, *, database: str | None = None) -> dict[str, Any]:
    """clickhouse-driver's keyword arguments for the settings. With ``alt_hosts`` the driver
    connects to the first server that answers, in order, and again on each reconnect."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "user": settings.user,
        "password": settings.password.get_secret_value(),
        "database": database if database is not None else settings.database,
        "connect_timeout": settings.connect_timeout_s,
        "settings": {"use_client_time_zone": False},
    }
    if settings.cluster:
        # An INSERT into a Distributed table returns once its shards have the rows, not when
        # they are queued on the server it reached: the worker commits offsets only then.
        # A JOIN or IN of two Distributed tables (the cookbook's delivery health) joins each
        # shard's own rows: the tables that are joined are sharded by the key they join on.
        options["settings"] |= {"insert_distributed_sync": 1, "distributed_product_mode": "local"}
    if settings.alt_hosts:
        options["alt_hosts"] = ",".join(settings.alt_hosts)
    if settings.secure:
        options |= {"secure": True, "verify": settings.verify}
        files = {"ca_certs": settings.ca_certs, "certfile": settings.certfile,
                 "keyfile": settings.keyfile}  # fmt: skip
        options |= {name: str(path) for name, path in files.items() if path is not None}
    return options


def ensure_database(settings: ClickHouseSettings, database: str | None = None) -> None:
    """Create the database when missing (connecting to it first would fail); on every server
    of ``clickhouse.cluster`` when one is set."""
    name = database if database is not None else settings.database
    on = f" ON CLUSTER {quote_identifier(settings.cluster)}" if settings.cluster else ""
    client = connect(settings, database="default")
    try:
        with mapped(settings):
            client.execute(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(name)}{on}")
    finally:
        client.disconnect()


@contextlib.contextmanager
def mapped(settings: ClickHouseSettings) -> Iterator[None]:
    """Raise the driver errors of the block as finpulse errors: ServiceError when the server
    answered with one, ServiceUnavailable when it did not answer."""
    try:
        yield
    except ServerException as exc:
        raise refused(settings, exc) from exc
    except DRIVER_ERRORS as exc:
        raise unavailable(settings, exc) from exc


def executor(client: Client) -> Any:
    """Adapt a client to the ``execute(sql, params=None) -> rows`` callable that migrations,
    retention and erasure take."""

    def execute(sql: str, params: Any = None) -> Sequence[Sequence[Any]]:
        return client.execute(sql, params)  # type: ignore[no-any-return]

    return execute


def server_address(settings: ClickHouseSettings) -> str:
    """host:port, and the fail-over servers after it."""
    return ",".join((f"{settings.host}:{settings.port}", *settings.alt_hosts))


def unavailable(settings: ClickHouseSettings, exc: BaseException) -> ServiceUnavailable:
    address = server_address(settings)
    return ServiceUnavailable(
        f"ClickHouse at {address} (native protocol) did not answer: {exc}. Start it with "
        "`./ops/stack up`, or set FINPULSE_CLICKHOUSE_HOST / FINPULSE_CLICKHOUSE_PORT",
        service="clickhouse",
        address=address,
    )


def refused(settings: ClickHouseSettings, exc: ServerException) -> ServiceError:
    address = server_address(settings)
    # The server appends its stack trace to the message: of no use to whoever reads ours.
    message = str(exc.message).split(". Stack trace:", 1)[0].strip()
    fix = _FIXES.get(exc.code or 0, "see the ClickHouse server log")
    return ServiceError(
        f"ClickHouse at {address} answered with error {exc.code}: {message}; {fix}",
        service="clickhouse",
        address=address,
        code=exc.code,
    )


def quote_identifier(name: str) -> str:
    """Backquote an identifier (database, table) for SQL text."""
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"

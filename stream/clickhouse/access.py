"""Who may read and write which table (pure): the analyst and worker roles, and the SQL for them.

On a current ClickHouse (20.5+) ``finpulse db access`` creates one role per kind of user,
``{database}_analyst`` and ``{database}_worker``, and grants each table by table; people and
services get a user with that role (README.md). The analyst reads the pipeline's results and
never ``subscriptions`` (webhook secrets) nor ``deliveries`` (webhook URLs, which often carry a
token); the worker inserts where it writes and reads the subscriptions it delivers to.

ClickHouse before 20.5 (the local 18.16) has no SQL access control, only users in users.xml with
a profile (readonly) and a list of databases: access is per database. With the compatibility
measure ``clickhouse.sql_access_unsupported`` on, ``subscriptions`` moves to a database of its
own, ``{database}_secrets``, and ``{database}.subscriptions`` becomes a Merge table over it. The
table keeps its name for every query (FINAL works through Merge, so the cookbook and the store's
reads are unchanged), and a user not allowed the secrets database, the analyst, is refused it.
Only an INSERT must name the real table (a Merge table takes none): ``subscriptions_target``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from stream.errors import MigrationError

# What the cookbook's analyst questions read (schemas/clickhouse/cookbook.sql), no more.
ANALYST_READS = (
    "events",
    "sentiment_windows",
    "deadletter",
    "late_events",
    "alerts",
    "topic_hourly",
    "source_hourly",
)
# The worker's sinks write these; topic_hourly and source_hourly through the materialized
# views on events (granted too: a view without SQL SECURITY DEFINER inserts as the invoker).
WORKER_INSERTS = (
    "events",
    "sentiment_windows",
    "deadletter",
    "late_events",
    "alerts",
    "deliveries",
    "topic_hourly",
    "source_hourly",
)
# The delivery agent reads the subscriptions (it needs their secrets to sign) and the settled
# deliveries (not to send them again).
WORKER_READS = ("subscriptions", "deliveries")
SECRET_TABLE = "subscriptions"


def roles(database: str) -> dict[str, str]:
    """The role of each kind of user: roles are server-wide, so named after the database."""
    return {"analyst": f"{database}_analyst", "worker": f"{database}_worker"}


def grant_statements(database: str) -> list[str]:
    """Roles and grants for a current ClickHouse (SQL access control, 20.5+); idempotent."""
    role = roles(database)
    statements = [f"CREATE ROLE IF NOT EXISTS {name}" for name in role.values()]
    statements += [f"GRANT SELECT ON {database}.{t} TO {role['analyst']}" for t in ANALYST_READS]
    statements += [f"GRANT INSERT ON {database}.{t} TO {role['worker']}" for t in WORKER_INSERTS]
    statements += [f"GRANT SELECT ON {database}.{t} TO {role['worker']}" for t in WORKER_READS]
    return statements


def secrets_database(database: str) -> str:
    return f"{database}_secrets"


def secrets_statements(database: str, engines: Mapping[str, str]) -> list[str]:
    """Move the subscriptions to their own database, leaving a Merge table of the same name
    (ClickHouse before 20.5). ``engines`` maps ``database.table`` to its engine for the two
    places the table can be; an empty list means done already."""
    secrets = secrets_database(database)
    here, there = f"{database}.{SECRET_TABLE}", f"{secrets}.{SECRET_TABLE}"
    statements = [f"CREATE DATABASE IF NOT EXISTS {secrets}"]
    if engines.get(here) == "Merge" and there in engines:
        return []
    if here in engines and engines[here] != "Merge":
        if there in engines:
            # A rollback and re-migration made a new table beside the moved one: which rows
            # are current is for a person to decide.
            raise MigrationError(
                f"{here} and {there} are both tables: keep one (DROP TABLE the other) and run "
                "`finpulse db access` again"
            )
        statements.append(f"RENAME TABLE {here} TO {there}")
    elif there not in engines:
        raise MigrationError(f"{here} does not exist: run `finpulse db migrate` first")
    return statements + _merge_table(database)


_ALTER_SECRETS = re.compile(
    rf"^(\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?){SECRET_TABLE}\b", re.IGNORECASE | re.MULTILINE
)


def secrets_layout(statement: str, *, database: str) -> list[str]:
    """What a migration's statement runs once the subscriptions moved (``secrets_statements``):
    an ALTER of ``subscriptions`` alters the moved table, then the Merge table is made again with
    its new columns (it holds no rows); anything else runs as written. A migrations.Layout."""
    secrets = secrets_database(database)
    moved, count = _ALTER_SECRETS.subn(rf"\g<1>{secrets}.{SECRET_TABLE}", statement, count=1)
    if not count:
        return [statement]
    return [moved, *_merge_table(database)]


def _merge_table(database: str) -> list[str]:
    secrets, here = secrets_database(database), f"{database}.{SECRET_TABLE}"
    return [
        f"DROP TABLE IF EXISTS {here}",
        f"CREATE TABLE {here} AS {secrets}.{SECRET_TABLE} "
        f"ENGINE = Merge({secrets}, '^{SECRET_TABLE}$')",
    ]


def subscriptions_target(database: str, engine: str) -> str:
    """The table an INSERT of subscriptions names, given the engine of ``subscriptions``."""
    if engine == "Merge":
        return f"{secrets_database(database)}.{SECRET_TABLE}"
    return SECRET_TABLE

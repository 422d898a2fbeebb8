"""``finpulse db``: the ClickHouse schema (migrations)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.table import Table

from stream.cli.app import console, read_settings

app = typer.Typer(
    help="ClickHouse schema: apply, inspect and roll back migrations.", no_args_is_help=True
)

DatabaseOption = Annotated[
    str | None, typer.Option(help="Database (default: clickhouse.database).")
]
DryRunOption = Annotated[bool, typer.Option(help="Show what would be done; change nothing.")]


@dataclasses.dataclass(frozen=True)
class _MigrationSession:
    database: str
    execute: Any
    files: list[Any]
    layout: Any  # migrations.Layout: the statements to run for each of the files'


@contextlib.contextmanager
def _migration_session(ctx: typer.Context, database: str | None) -> Iterator[_MigrationSession]:
    """Connect to the database (created if missing) and load the migration files; driver errors
    inside the block are raised as finpulse errors."""
    import functools

    from stream.clickhouse import access, cluster, migrations
    from stream.clickhouse import client as clickhouse

    settings = read_settings(ctx).clickhouse
    name = database or settings.database
    layout = migrations.single_server
    if settings.cluster:
        layout = functools.partial(cluster.on_cluster, cluster=settings.cluster, database=name)
    clickhouse.ensure_database(settings, name)
    client = clickhouse.connect(settings, database=name)
    try:
        with clickhouse.mapped(settings):
            moved = settings.sql_access_unsupported and not settings.cluster
            if moved and _secrets_moved(client, name):  # later migrations alter the moved table
                layout = functools.partial(access.secrets_layout, database=name)
            yield _MigrationSession(
                name, clickhouse.executor(client), migrations.load_migrations(), layout
            )
    finally:
        client.disconnect()


def _secrets_moved(client: Any, database: str) -> bool:
    """Whether ``finpulse db access`` moved the subscriptions (a Merge table stands in for them)."""
    rows = client.execute(
        "SELECT engine FROM system.tables WHERE database = %(db)s AND name = 'subscriptions'",
        {"db": database},
    )
    return bool(rows) and rows[0][0] == "Merge"


@app.command("migrate")
def db_migrate(
    ctx: typer.Context,
    to: Annotated[int | None, typer.Option(help="Stop at this version (default: latest).")] = None,
    database: DatabaseOption = None,
) -> None:
    """Apply pending migrations (idempotent: applied ones are skipped)."""
    from stream.clickhouse import migrations

    with _migration_session(ctx, database) as db:
        done = migrations.migrate(db.execute, db.files, target=to, layout=db.layout)
        latest = max(migrations.applied_migrations(db.execute, db.layout), default=0)
    for m in done:
        console.print(f"applied {m.label}")
    console.print(f"database {db.database}: at version {latest:04d} ({len(done)} applied now)")


@app.command("rollback")
def db_rollback(
    ctx: typer.Context,
    to: Annotated[int, typer.Option(help="Undo migrations above this version (0: all).")],
    database: DatabaseOption = None,
) -> None:
    """Undo migrations newest first, down to version --to."""
    from stream.clickhouse import migrations

    with _migration_session(ctx, database) as db:
        done = migrations.rollback(db.execute, db.files, target=to, layout=db.layout)
    for m in done:
        console.print(f"rolled back {m.label}")
    console.print(f"database {db.database}: at version {to:04d}")


@app.command("status")
def db_status(ctx: typer.Context, database: DatabaseOption = None) -> None:
    """List migrations and whether each is applied."""
    from stream.clickhouse import migrations

    with _migration_session(ctx, database) as db:
        applied = migrations.applied_migrations(db.execute, db.layout)
        migrations.check_history(db.files, applied)
    table = Table("version", "name", "state", title=f"database {db.database}")
    for m in db.files:
        table.add_row(f"{m.version:04d}", m.name, "applied" if m.version in applied else "pending")
    console.print(table)


def _apply(db: _MigrationSession, statements: list[str], *, dry_run: bool) -> None:
    for sql in statements:
        if not dry_run:
            db.execute(sql)
        console.print(("would run: " if dry_run else "") + sql)


@app.command("retention")
def db_retention(
    ctx: typer.Context,
    dry_run: DryRunOption = False,
    database: DatabaseOption = None,
) -> None:
    """Apply clickhouse.retention_days: TTL clauses on a current server; with
    clickhouse.ttl_unsupported (ClickHouse 18.16), drop the monthly partitions past their age. On
    a cluster each runs on the shards' local tables, ON CLUSTER."""
    from datetime import UTC, datetime

    from stream.clickhouse import cluster, retention

    settings = read_settings(ctx).clickhouse
    dropped = 0
    with _migration_session(ctx, database) as db:
        if not settings.ttl_unsupported:
            statements = retention.ttl_statements(settings.retention_days)
        else:
            now = datetime.now(UTC)
            statements = []
            parts = cluster.system_table("parts", cluster=settings.cluster)
            for table, days in sorted(settings.retention_days.items()):
                rows = dict(
                    db.execute(
                        f"SELECT toInt64(partition), sum(rows) FROM {parts} WHERE active AND "
                        "database = %(database)s AND table = %(table)s GROUP BY partition",
                        {
                            "database": db.database,
                            "table": cluster.local_name(table, cluster=settings.cluster),
                        },
                    )
                )
                for drop in retention.expired_partitions(table, list(rows), days, now):
                    statements.append(f"ALTER TABLE {drop.table} DROP PARTITION {drop.partition}")
                    dropped += rows[drop.partition]
        done = [s for statement in statements for s in db.layout(statement)]
        _apply(db, done, dry_run=dry_run)
    # On a cluster the rows are summed over the shards (one replica each).
    verb = "would drop" if dry_run else "dropped"
    console.print(
        f"database {db.database}: {len(done)} retention statement(s); {verb} {dropped} row(s)"
    )


@app.command("access")
def db_access(
    ctx: typer.Context,
    dry_run: DryRunOption = False,
    database: DatabaseOption = None,
) -> None:
    """Create the analyst and worker roles and their grants; with
    clickhouse.sql_access_unsupported (ClickHouse 18.16), move the subscriptions to a database
    of their own instead (users come from users.xml there)."""
    from stream.clickhouse import access

    settings = read_settings(ctx).clickhouse
    with _migration_session(ctx, database) as db:
        if not settings.sql_access_unsupported:
            done = access.grant_statements(db.database)
        else:
            secrets = access.secrets_database(db.database)
            rows = db.execute(
                "SELECT concat(database, '.', name), engine FROM system.tables WHERE name = "
                f"'{access.SECRET_TABLE}' AND database IN ('{db.database}', '{secrets}')"
            )
            done = access.secrets_statements(db.database, {str(n): str(e) for n, e in rows})
        _apply(db, done, dry_run=dry_run)
    console.print(f"database {db.database}: {len(done)} access statement(s)")

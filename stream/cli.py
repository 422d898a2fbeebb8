"""The ``finpulse`` command line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from stream import __version__
from stream.config import Settings, load_settings
from stream.errors import FinpulseError

app = typer.Typer(
    help="finpulse: real-time financial sentiment from news and social text.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(
    help="ClickHouse schema: apply, inspect and roll back migrations.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")

console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="TOML config file (else FINPULSE_CONFIG).",
        exists=True,
        dir_okay=False,
    ),
]


def _version(value: bool) -> None:
    if value:
        console.print(f"finpulse {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    config: ConfigOption = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    ctx.obj = config


def _settings(ctx: typer.Context) -> Settings:
    try:
        return load_settings(ctx.obj)
    except FinpulseError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _fail(exc: FinpulseError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(1)


@app.command()
def check(
    ctx: typer.Context,
    services: Annotated[
        list[str] | None, typer.Argument(help="kafka, clickhouse, triton (default: all).")
    ] = None,
    bootstrap: Annotated[
        str | None, typer.Option(help="Override the Kafka bootstrap servers.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each server.")] = 5.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Exit status only.")] = False,
) -> None:
    """Check that the configured servers answer. Exit status 1 if any does not."""
    from stream import health

    settings = _settings(ctx)
    if bootstrap:
        settings.kafka.bootstrap = bootstrap
    wanted = services or ["kafka", "clickhouse", "triton"]
    unknown = set(wanted) - {"kafka", "clickhouse", "triton"}
    if unknown:
        err_console.print(f"[red]error:[/red] unknown service(s) {sorted(unknown)}")
        raise typer.Exit(2)
    results = []
    for name in wanted:
        if name == "kafka":
            results.append(asyncio.run(health.check_kafka(settings.kafka, timeout)))
        elif name == "clickhouse":
            results.append(health.check_clickhouse(settings.clickhouse, timeout))
        else:
            results.append(health.check_triton(settings.triton, timeout))
    if not quiet:
        table = Table("service", "address", "status", "detail")
        for r in results:
            table.add_row(
                r.service, r.address, "[green]ok[/green]" if r.ok else "[red]down[/red]", r.detail
            )
        console.print(table)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective settings as JSON (secrets masked)."""
    settings = _settings(ctx)
    console.print_json(json.dumps(settings.model_dump(mode="json")))


DatabaseOption = Annotated[
    str | None, typer.Option(help="Database (default: clickhouse.database).")
]


def _migration_target(ctx: typer.Context, database: str | None):  # type: ignore[no-untyped-def]
    from stream import clickhouse, migrations

    settings = _settings(ctx).clickhouse
    name = database or settings.database
    try:
        clickhouse.ensure_database(settings, name)
        client = clickhouse.connect(settings, database=name)
        return name, client, clickhouse.executor(client), migrations.load_migrations()
    except FinpulseError as exc:
        raise _fail(exc) from None


@db_app.command("migrate")
def db_migrate(
    ctx: typer.Context,
    to: Annotated[int | None, typer.Option(help="Stop at this version (default: latest).")] = None,
    database: DatabaseOption = None,
) -> None:
    """Apply pending migrations (idempotent: applied ones are skipped)."""
    from stream import migrations

    name, client, execute, files = _migration_target(ctx, database)
    try:
        done = migrations.migrate(execute, files, target=to)
        latest = max(migrations.applied_migrations(execute), default=0)
    except FinpulseError as exc:
        raise _fail(exc) from None
    finally:
        client.disconnect()
    for m in done:
        console.print(f"applied {m.label}")
    console.print(f"database {name}: at version {latest:04d} ({len(done)} applied now)")


@db_app.command("rollback")
def db_rollback(
    ctx: typer.Context,
    to: Annotated[int, typer.Option(help="Undo migrations above this version (0: all).")],
    database: DatabaseOption = None,
) -> None:
    """Undo migrations newest first, down to version --to."""
    from stream import migrations

    name, client, execute, files = _migration_target(ctx, database)
    try:
        done = migrations.rollback(execute, files, target=to)
    except FinpulseError as exc:
        raise _fail(exc) from None
    finally:
        client.disconnect()
    for m in done:
        console.print(f"rolled back {m.label}")
    console.print(f"database {name}: at version {to:04d}")


@db_app.command("status")
def db_status(ctx: typer.Context, database: DatabaseOption = None) -> None:
    """List migrations and whether each is applied."""
    from stream import migrations

    name, client, execute, files = _migration_target(ctx, database)
    try:
        applied = migrations.applied_migrations(execute)
        migrations.check_history(files, applied)
    except FinpulseError as exc:
        raise _fail(exc) from None
    finally:
        client.disconnect()
    table = Table("version", "name", "state", title=f"database {name}")
    for m in files:
        table.add_row(f"{m.version:04d}", m.name, "applied" if m.version in applied else "pending")
    console.print(table)


if __name__ == "__main__":
    app()

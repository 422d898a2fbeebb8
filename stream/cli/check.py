"""``finpulse check``: do the configured servers answer?"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.table import Table

from stream.cli.app import console, read_settings
from stream.errors import UsageError

SERVICES = ("kafka", "clickhouse", "triton")


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

    settings = read_settings(ctx)
    if bootstrap:
        settings.kafka.bootstrap = bootstrap
    wanted = services or list(SERVICES)
    unknown = set(wanted) - set(SERVICES)
    if unknown:
        raise UsageError(f"unknown service(s) {sorted(unknown)}")
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

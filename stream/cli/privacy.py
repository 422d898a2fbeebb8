"""``finpulse privacy``: erase one author's or one source's texts on request."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from stream.cli.app import console, read_settings
from stream.cli.db import DatabaseOption
from stream.errors import UsageError

app = typer.Typer(help="Privacy requests: erase stored texts.", no_args_is_help=True)


@app.command("erase")
def privacy_erase(
    ctx: typer.Context,
    author: Annotated[str | None, typer.Option(help="Erase this author's texts.")] = None,
    source: Annotated[str | None, typer.Option(help="Erase this source's texts.")] = None,
    database: DatabaseOption = None,
) -> None:
    """Delete an author's (or a source's) texts from every table that holds them, and report
    the rows removed per table."""
    from stream.clickhouse import client as clickhouse
    from stream.clickhouse.privacy import Field, erase

    if (author is None) == (source is None) or not (author or source):
        raise UsageError("give exactly one of --author NAME or --source NAME")
    field: Field = "author" if author is not None else "source"
    value = author if author is not None else str(source)
    settings = read_settings(ctx).clickhouse
    name = database or settings.database
    client = clickhouse.connect(settings, database=name)

    try:
        with clickhouse.mapped(settings):
            erased = erase(
                clickhouse.executor(client), field, value, database=name, cluster=settings.cluster
            )
    finally:
        client.disconnect()
    # On a cluster the rows are summed over the shards (one replica each).
    table = Table("table", "rows removed", title=f"erased {field} {value!r}")
    for e in erased:
        table.add_row(e.table, str(e.rows))
    console.print(table)

"""``finpulse config``: the effective configuration."""

from __future__ import annotations

import json

import typer

from stream.cli.app import console, read_settings

app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)


@app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective settings as JSON (secrets masked)."""
    settings = read_settings(ctx)
    console.print_json(json.dumps(settings.model_dump(mode="json")))

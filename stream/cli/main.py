"""The ``finpulse`` command line: the command tree. Each group lives in its own module; the root
command, the shared options and the one error handler in stream/cli/app.py."""

from __future__ import annotations

from stream.cli import (
    api,
    backtest,
    check,
    config,
    db,
    model,
    pipeline,
    privacy,
    report,
    subscriptions,
)

# Imported "as" itself: the entry point, stream.cli.main:app (pyproject.toml, __main__.py, tests).
from stream.cli.app import app as app

# Commands first, then groups: the order `finpulse --help` lists them in.
app.command()(check.check)
app.command()(pipeline.worker)
app.command()(pipeline.replay)
app.command()(pipeline.watch)
app.command()(backtest.backtest)
app.command()(api.api)
app.command()(report.report)
app.add_typer(db.app, name="db")
app.add_typer(privacy.app, name="privacy")
app.add_typer(config.app, name="config")
app.add_typer(model.app, name="model")
app.add_typer(subscriptions.app, name="subscriptions")

if __name__ == "__main__":
    app()

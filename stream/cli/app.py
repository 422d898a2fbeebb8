"""The root ``finpulse`` command, the options its commands share, and the CLI's one error handler.

A command that fails raises; it never prints its own error. Every exception that escapes a command
ends it here with one line on stderr:

- a FinpulseError: its message (what failed, what to do), exit status 2 when the caller must
  change something (configuration, options, input: EXIT_STATUS), else 1;
- anything else: its type and message, where its traceback is to be had, exit status 1.

With FINPULSE_DEBUG=1 the exception propagates instead, traceback and all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup
from typer.exceptions import TyperException

from stream import __version__
from stream.config import Settings, load_settings
from stream.errors import (
    ConfigError,
    FinpulseError,
    InvalidSubscription,
    SubscriptionNotFound,
    UsageError,
    by_class,
)

DEBUG_VARIABLE = "FINPULSE_DEBUG"

# The exit status of each error of the tree (its most specific class here wins); others exit 1.
EXIT_STATUS: dict[type[BaseException], int] = {
    ConfigError: 2,
    UsageError: 2,
    InvalidSubscription: 2,
    SubscriptionNotFound: 2,
}

console = Console()
err_console = Console(stderr=True)


def one_line(exc: BaseException) -> str:
    """The message on one line (driver messages carry newlines and server stack traces)."""
    return " ".join(str(exc).split())


def report(exc: Exception) -> int:
    """Print the one line for an exception that ended a command; return the exit status."""
    if isinstance(exc, FinpulseError):
        line, status = one_line(exc), by_class(EXIT_STATUS, exc, 1)
    else:
        line, status = (
            f"unexpected {type(exc).__name__}: {one_line(exc)} "
            f"(run again with {DEBUG_VARIABLE}=1 for the traceback)",
            1,
        )
    # soft_wrap: one line however narrow the terminal; escape: messages may hold [brackets].
    err_console.print(f"[red]error:[/red] {escape(line)}", soft_wrap=True, highlight=False)
    return status


class Group(TyperGroup):
    """The root command: every command runs inside its invoke, so this is the one handler."""

    def invoke(self, ctx: Any) -> Any:  # Any: the Context of the click that typer vendors
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise  # typer's own: an exit status chosen, Ctrl-C, a usage error with its help
        except Exception as exc:
            if os.environ.get(DEBUG_VARIABLE, "") not in ("", "0"):
                raise
            raise typer.Exit(report(exc)) from None


app = typer.Typer(
    cls=Group,
    help="finpulse: real-time financial sentiment from news and social text.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

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
    from stream import logs

    logs.configure()
    ctx.obj = config


def read_settings(ctx: typer.Context) -> Settings:
    """The settings from the file given with --config (else FINPULSE_CONFIG) and the environment."""
    return load_settings(ctx.obj)

"""The CLI's one error handler: one line on stderr and an exit status for what ends a command."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from stream.cli import app as cli
from stream.cli.main import app
from stream.errors import (
    ConfigError,
    FinpulseError,
    InvalidSubscription,
    MigrationError,
    ScoringError,
    ServiceError,
    ServiceUnavailable,
    SubscriptionNotFound,
    UsageError,
)

runner = CliRunner()


def failing_app(error: BaseException) -> typer.Typer:
    """A root command like finpulse's with one subcommand that raises ``error``."""
    demo = typer.Typer(cls=cli.Group)

    @demo.callback()
    def root() -> None:
        pass

    @demo.command()
    def fail() -> None:
        raise error

    return demo


@pytest.fixture(autouse=True)
def no_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cli.DEBUG_VARIABLE, raising=False)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ConfigError("config file x is not valid TOML"), 2),
        (UsageError("give exactly one of --webhook URL or --kafka-topic T"), 2),
        (InvalidSubscription("rules: unknown ['bogus']"), 2),
        (SubscriptionNotFound(subscription_id="sub_x"), 2),
        (ServiceUnavailable("ClickHouse did not answer", service="clickhouse", address="h:1"), 1),
        (ServiceError("ClickHouse answered", service="clickhouse", address="h:1", code=60), 1),
        (MigrationError("migration 0003 changed after it was applied", version=3), 1),
        (ScoringError("Triton at h:1 did not answer", retryable=True), 1),
        (FinpulseError("anything else of ours"), 1),
    ],
)
def test_a_finpulse_error_ends_the_command_with_its_message_on_one_line(
    error: FinpulseError, status: int
) -> None:
    result = runner.invoke(failing_app(error), ["fail"])
    assert result.exit_code == status
    assert result.stdout == ""
    assert result.stderr == f"error: {error}\n"


def test_a_message_over_several_lines_is_printed_on_one() -> None:
    error = MigrationError("migration 0003 failed: boom\nstatement:\nCREATE TABLE t\n  (a Int8)")
    result = runner.invoke(failing_app(error), ["fail"])
    assert (
        result.stderr == "error: migration 0003 failed: boom statement: CREATE TABLE t (a Int8)\n"
    )


def test_brackets_in_a_message_are_printed_as_they_are() -> None:
    error = ConfigError("config file f.toml: [alerts.overrides] must be a table; [bold]x[/bold]")
    assert runner.invoke(failing_app(error), ["fail"]).stderr == f"error: {error}\n"


def test_a_long_message_is_not_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.err_console, "width", 40)
    error = ServiceUnavailable("word " * 40, service="kafka", address="h:1")
    assert runner.invoke(failing_app(error), ["fail"]).stderr.count("\n") == 1


def test_an_unexpected_error_is_one_line_that_says_how_to_see_the_traceback() -> None:
    result = runner.invoke(failing_app(KeyError("topic")), ["fail"])
    assert result.exit_code == 1
    assert result.stderr == (
        "error: unexpected KeyError: 'topic' (run again with FINPULSE_DEBUG=1 for the traceback)\n"
    )
    assert "Traceback" not in result.output


@pytest.mark.parametrize("error", [KeyError("topic"), ConfigError("bad")])
def test_debug_lets_the_error_through_with_its_traceback(
    error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cli.DEBUG_VARIABLE, "1")
    result = runner.invoke(failing_app(error), ["fail"])
    assert result.exception is error
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("error", "status"),
    [(typer.Exit(3), 3), (typer.Exit(0), 0), (typer.BadParameter("one of cls, mean"), 2)],
)
def test_typer_exits_and_usage_errors_are_typer_s_own(error: Exception, status: int) -> None:
    result = runner.invoke(failing_app(error), ["fail"])
    assert result.exit_code == status
    assert "unexpected" not in result.output


def test_the_report_is_the_exit_status_of_the_most_specific_class() -> None:
    class Narrower(SubscriptionNotFound):
        pass

    assert cli.report(Narrower(subscription_id="sub_x")) == 2
    assert cli.report(ServiceUnavailable("down", service="kafka", address="h:1")) == 1


def test_the_finpulse_commands_run_under_the_handler(tmp_path: Path) -> None:
    bad = tmp_path / "finpulse.toml"
    bad.write_text("[clickhouse\n")
    result = runner.invoke(app, ["--config", str(bad), "config", "show"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: config file {bad} is not valid TOML")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["subscriptions", "add"], "error: give exactly one of --webhook URL or --kafka-topic T\n"),
        (["check", "nope"], "error: unknown service(s) ['nope']\n"),
    ],
)
def test_options_that_cannot_work_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.stderr == message

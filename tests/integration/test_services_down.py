"""What a user sees when a server is down: the CLI prints one line that names it and exits
non-zero, the HTTP API answers 503 with a JSON error; no traceback anywhere.

ClickHouse is "down" by pointing FINPULSE_CLICKHOUSE_PORT at a closed port; only the test of a
database without its tables needs the stack's ClickHouse. They run the real `finpulse` processes
(`python -m stream.cli`).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stream.config import Settings
from tests.integration.helpers import FINPULSE, ROOT
from tests.integration.test_subscriptions_api import running_api

CLOSED_PORT = "1"  # nothing listens on port 1: connections are refused at once
TOKEN = "test-token-" + "x" * 20


@pytest.fixture
def clickhouse_down() -> dict[str, str]:
    env = {**os.environ, "FINPULSE_CLICKHOUSE_PORT": CLOSED_PORT, "FINPULSE_API_TOKENS": TOKEN}
    env.pop("FINPULSE_DEBUG", None)
    return env


def finpulse(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FINPULSE, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def assert_one_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ["db", "migrate"],
        ["db", "status"],
        ["db", "rollback", "--to", "0"],
        ["subscriptions", "list"],
        ["subscriptions", "list", "--json"],
        ["subscriptions", "add", "--kafka-topic", "desk.alerts", "-t", "MSFT"],
        ["subscriptions", "add", "--webhook", "https://desk.example/hook"],
        ["subscriptions", "show", "sub_0123456789abcdef"],
        ["subscriptions", "pause", "sub_0123456789abcdef"],
        ["subscriptions", "resume", "sub_0123456789abcdef"],
        ["subscriptions", "delete", "sub_0123456789abcdef"],
        ["watch", "--duration", "0.01"],
    ],
    ids=" ".join,
)
def test_a_command_that_needs_clickhouse_says_so_in_one_line(
    clickhouse_down: dict[str, str], args: list[str]
) -> None:
    result = finpulse(args, clickhouse_down)
    assert result.returncode == 1
    assert_one_line(result, "ClickHouse", f":{CLOSED_PORT}", "./ops/stack up")


@pytest.mark.parametrize(
    "args", [["subscriptions", "list"], ["watch", "--duration", "0.01"]], ids=" ".join
)
def test_a_database_without_its_tables_says_to_migrate_in_one_line(
    settings: Settings, unique: str, args: list[str]
) -> None:
    env = {**os.environ, "FINPULSE_CLICKHOUSE_DATABASE": unique}
    env.pop("FINPULSE_DEBUG", None)
    result = finpulse(args, env)
    assert result.returncode == 1
    assert_one_line(result, "ClickHouse", unique, "run `finpulse db migrate`")


def test_check_reports_clickhouse_down_in_its_table(clickhouse_down: dict[str, str]) -> None:
    result = finpulse(["check", "clickhouse", "--timeout", "2"], clickhouse_down)
    assert result.returncode == 1 and "down" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.fixture
def api_without_clickhouse(clickhouse_down: dict[str, str]) -> Iterator[httpx.Client]:
    with running_api(clickhouse_down) as client:
        yield client


def test_the_api_answers_503_with_a_json_error_when_clickhouse_is_down(
    api_without_clickhouse: httpx.Client,
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    listed = api_without_clickhouse.get("/v1/subscriptions", headers=auth)
    assert listed.status_code == 503
    assert listed.headers["Content-Type"].startswith("application/json")
    assert "ClickHouse" in listed.json()["error"] and "did not answer" in listed.json()["error"]
    added = api_without_clickhouse.post(
        "/v1/subscriptions", headers=auth, json={"channel": "kafka", "target": "desk.alerts"}
    )
    assert added.status_code == 503
    shown = api_without_clickhouse.get("/v1/subscriptions/sub_0123456789abcdef", headers=auth)
    assert shown.status_code == 503


def _training_run(folder: Path, validation_csv: bytes) -> Path:
    """The files `model export` reads first, with a validation slice of the given content."""
    (folder / "model").mkdir(parents=True)
    (folder / "model" / "config.json").write_text("{}")
    (folder / "validation_phrasebank.csv").write_bytes(validation_csv)
    return folder


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"text,label\nshares fell,maybe\n", ["validation_phrasebank.csv:2", "text,label"]),
        (b"sentence;sentiment\nshares fell;negative\n", ["validation_phrasebank.csv:2"]),
        (b"\xff\xfe\x00\x00", ["validation_phrasebank.csv", "not a UTF-8 CSV"]),
    ],
)
def test_model_export_with_a_bad_validation_csv_says_which_file_in_one_line(
    tmp_path: Path, content: bytes, words: list[str]
) -> None:
    artifacts = _training_run(tmp_path / "run", content)
    env = {k: v for k, v in os.environ.items() if k != "FINPULSE_DEBUG"}
    result = finpulse(
        ["model", "export", "--artifacts", str(artifacts), "--model-repo",
         str(tmp_path / "repo"), "--no-load", "--device", "cpu"], env,
    )  # fmt: skip
    assert result.returncode == 2
    assert_one_line(result, *words)
    assert not (tmp_path / "repo").exists()  # nothing written


def test_a_bad_config_file_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "finpulse.toml"
    config.write_text("[alerts\nnot toml\n")
    env = {k: v for k, v in os.environ.items() if k != "FINPULSE_DEBUG"}
    result = finpulse(["--config", str(config), "config", "show"], env)
    assert result.returncode == 2
    assert_one_line(result, str(config), "not valid TOML")

"""Subscriptions through the HTTP API (a `finpulse api` process) and the CLI, on the real
ClickHouse: both see the same store, tokens are required, bad input gets a clear 4xx."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from stream.cli.main import app
from stream.clickhouse import client as clickhouse
from stream.config import Settings
from tests.integration.helpers import FINPULSE, ROOT, run

TOKEN = "test-token-" + "x" * 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_api(env: dict[str, str]) -> Iterator[httpx.Client]:
    """A `finpulse api` process with ``env``, and a client for it once /healthz answers."""
    port = free_port()
    proc = subprocess.Popen([*FINPULSE, "api", "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.2)
        yield client
    finally:
        proc.terminate()
        proc.wait(10)
        client.close()


@pytest.fixture
def api(settings: Settings, unique: str) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    env = {**os.environ, "FINPULSE_CLICKHOUSE_DATABASE": unique,
           "FINPULSE_API_TOKENS": f"other-token,{TOKEN}"}  # fmt: skip
    run([*FINPULSE, "db", "migrate"], env)
    try:
        with running_api(env) as client:
            yield client, env
    finally:
        ch = clickhouse.connect(settings.clickhouse, database="default")
        ch.execute(f"DROP DATABASE IF EXISTS {clickhouse.quote_identifier(unique)}")
        ch.disconnect()


def test_api_and_cli_manage_the_same_subscriptions(
    api: tuple[httpx.Client, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, env = api
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/v1/subscriptions").status_code == 401
    wrong = client.get("/v1/subscriptions", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")

    made = client.post("/v1/subscriptions", headers=auth, json={
        "channel": "webhook", "target": "https://desk.example/hook", "topics": ["theme:*", "AAPL"],
        "rules": ["negative_surge"], "min_severity": "critical", "name": "rates desk"})  # fmt: skip
    assert made.status_code == 201, made.text
    sub = made.json()
    sid = sub["subscription_id"]
    assert sub["secret"].startswith("whsec_") and sub["topics"] == ["AAPL", "theme:*"]

    shown = client.get(f"/v1/subscriptions/{sid}", headers=auth).json()
    assert shown["secret"] == "********" and shown["name"] == "rates desk"
    bad = client.post("/v1/subscriptions", headers=auth,
                      json={"channel": "webhook", "target": "ftp://x"})  # fmt: skip
    assert bad.status_code == 422 and "http(s) URL" in bad.json()["error"]
    assert client.post("/v1/subscriptions", headers=auth, content=b"{oops").status_code == 400
    assert client.get("/v1/subscriptions/sub_missing", headers=auth).status_code == 404
    patched = client.patch(f"/v1/subscriptions/{sid}", headers=auth, json={"rules": []})
    assert patched.status_code == 200 and patched.json()["rules"] == []

    # The CLI reads and changes the same store.
    monkeypatch.setenv("FINPULSE_CLICKHOUSE_DATABASE", env["FINPULSE_CLICKHOUSE_DATABASE"])
    runner = CliRunner()
    listed = runner.invoke(app, ["subscriptions", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert sid in listed.output and sub["secret"] not in listed.output
    added = runner.invoke(app, ["subscriptions", "add", "--kafka-topic", "desk.alerts", "--json",
                                "-t", "MSFT", "--rule", "volume_spike"])  # fmt: skip
    assert added.exit_code == 0, added.output
    assert runner.invoke(app, ["subscriptions", "pause", sid]).exit_code == 0
    assert client.get(f"/v1/subscriptions/{sid}", headers=auth).json()["status"] == "paused"
    resumed = client.post(f"/v1/subscriptions/{sid}/resume", headers=auth)
    assert resumed.json()["status"] == "active"
    refused = runner.invoke(app, ["subscriptions", "add", "--webhook", "https://x.example",
                                  "--rule", "bogus"])  # fmt: skip
    assert refused.exit_code == 2 and "unknown ['bogus']" in refused.output
    assert runner.invoke(app, ["subscriptions", "show", "sub_nope"]).exit_code == 2

    assert client.delete(f"/v1/subscriptions/{sid}", headers=auth).status_code == 204
    assert client.get(f"/v1/subscriptions/{sid}", headers=auth).status_code == 404
    left = client.get("/v1/subscriptions", headers=auth).json()["subscriptions"]
    assert [(s["channel"], s["target"], s["topics"]) for s in left] == [
        ("kafka", "desk.alerts", ["MSFT"])
    ]


def test_the_api_refuses_to_start_without_a_token(settings: Settings) -> None:
    env = {**os.environ, "FINPULSE_API_TOKENS": ""}
    result = subprocess.run([*FINPULSE, "api", "--port", str(free_port())], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2 and "no API token" in result.stderr

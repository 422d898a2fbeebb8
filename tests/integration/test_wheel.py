"""The wheel: built from the source tree and installed into a new virtual environment away from
the checkout, its `finpulse db migrate` migrates a fresh database and its `finpulse worker`
stores a post (scoring off: no model needed).

The new environment borrows the dependencies installed beside the tests through a ``.pth`` line
naming their site-packages. Such a line only appends that folder to ``sys.path``; the ``.pth``
files inside it, among them the hook of finpulse's editable install, are processed for site
folders only, never for folders a ``.pth`` line names. So ``stream`` can come from the wheel
alone, which the first test checks (``stream.__file__``, the editable finder not loaded, the
checkout not on ``sys.path``). Every command runs from an empty folder, without PYTHONPATH.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from stream.config import Settings
from tests.integration.helpers import ROOT, query

# What the wheel is built from: the project file, the package and the folder its data links
# point into (stream/ingest/schemas, stream/clickhouse/sql).
SOURCES = ("pyproject.toml", "README.md", "stream", "schemas")
MIGRATIONS = ROOT / "schemas" / "clickhouse" / "migrations"
_CREATED = re.compile(r"CREATE (?:TABLE|MATERIALIZED VIEW) IF NOT EXISTS (\w+)", re.IGNORECASE)


@dataclass(frozen=True)
class Installed:
    venv: Path
    cwd: Path  # empty: nothing of the checkout is importable from here
    env: dict[str, str]

    def finpulse(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.venv / "bin" / "finpulse"), *args, **env)

    def run(self, *cmd: str, **env: str) -> subprocess.CompletedProcess[str]:
        return run(list(cmd), self.cwd, {**self.env, **env})


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr}"
    return result


def _clean_env() -> dict[str, str]:
    """The test environment (the stack's settings) without what would put the checkout or
    another environment on the path."""
    drop = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items() if k not in drop}


def _build_wheel(tmp: Path, env: dict[str, str]) -> Path:
    # A copy of the sources, so the build leaves nothing in the checkout (setuptools writes
    # build/ and *.egg-info beside the sources, and a stale build/ would leak into the wheel).
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(path, src / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    dist = tmp / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", str(dist), str(src)], tmp, env)  # fmt: skip
    [wheel] = dist.glob("finpulse-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("wheel")
    env = _clean_env()
    wheel = _build_wheel(tmp, env)
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp, env)
    python = str(venv / "bin" / "python")
    # Installed before the dependencies are linked in: pip must see no other finpulse.
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index",
         "--quiet", str(wheel)], tmp, env)  # fmt: skip
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = run([python, "-c", where], tmp, env).stdout.strip()
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(purelib) / "finpulse-test-dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    cwd = tmp / "cwd"
    cwd.mkdir()
    return Installed(venv, cwd, env)


def test_the_wheel_is_imported_from_the_new_environment_alone(installed: Installed) -> None:
    probe = (
        "import importlib.metadata, importlib.resources, json, sys, stream\n"
        "print(json.dumps({'stream': stream.__file__, 'path': sys.path,\n"
        "  'modules': [m for m in sys.modules if 'editable' in m],\n"
        "  'dist': str(importlib.metadata.distribution('finpulse').locate_file('')),\n"
        "  'topics': (importlib.resources.files('stream.ingest') / 'data/topics.toml').is_file()"
        "}))"
    )
    seen = json.loads(installed.run(str(installed.venv / "bin" / "python"), "-c", probe).stdout)
    assert Path(seen["stream"]).is_relative_to(installed.venv), seen["stream"]
    assert Path(seen["dist"]).is_relative_to(installed.venv)
    assert seen["modules"] == []  # the editable install's finder was never run
    # No folder on the path holds the source tree's package (the dependencies' site-packages may
    # well lie inside the checkout, as .venv does).
    source = (ROOT / "stream").resolve()
    assert not [p for p in seen["path"] if p and (Path(p) / "stream").resolve() == source]
    assert seen["topics"]


def test_the_installed_cli_migrates_a_fresh_database(
    installed: Installed, database: str, settings: Settings
) -> None:
    ups = sorted(MIGRATIONS.glob("*.up.sql"))
    out = installed.finpulse("db", "migrate", FINPULSE_CLICKHOUSE_DATABASE=database).stdout
    assert f"({len(ups)} applied now)" in out, out
    created = {name for path in ups for name in _CREATED.findall(path.read_text())}
    tables = query(settings, database, "SELECT name FROM system.tables WHERE database = "
                   f"'{database}'")  # fmt: skip
    assert {name for (name,) in tables} >= created | {"schema_migrations", "events"}
    [(applied,)] = query(
        settings,
        database,
        "SELECT countIf(applied = 1) FROM (SELECT version, argMax(applied, seq) AS applied "
        "FROM schema_migrations GROUP BY version)",
    )
    assert applied == len(ups)


def test_the_installed_worker_stores_a_post(
    installed: Installed, database: str, settings: Settings, tmp_path: Path
) -> None:
    installed.finpulse("db", "migrate", FINPULSE_CLICKHOUSE_DATABASE=database)
    env = {
        **installed.env,
        "FINPULSE_CLICKHOUSE_DATABASE": database,
        "FINPULSE_PIPELINE_APP_ID": database,
        "FINPULSE_PIPELINE_TOPIC_PREFIX": f"{database}.",
        "FINPULSE_PIPELINE_NEWS_TOPIC": f"{database}.news.raw",
        "FINPULSE_PIPELINE_SOCIAL_TOPIC": f"{database}.social.raw",
        "FINPULSE_PIPELINE_DEADLETTER_TOPIC": f"{database}.deadletter",
        "FINPULSE_PIPELINE_DATADIR": str(tmp_path / "worker"),
        "FINPULSE_PIPELINE_SCORE_TEXTS": "false",
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen([str(installed.venv / "bin" / "finpulse"), "worker"],
                                  cwd=installed.cwd, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)  # fmt: skip
    post = {
        "id": "wheel-1",
        "source": "wheeltest",
        "published_at": datetime.now(UTC).isoformat(),
        "text": "$ZQW Shares jumped after the company raised its full-year guidance.",
        "lang": "en",
    }
    try:
        asyncio.run(_send(settings.kafka.bootstrap, f"{database}.news.raw", post))
        rows: list[Any] = []
        deadline = time.monotonic() + 90
        while not rows and time.monotonic() < deadline:
            assert worker.poll() is None, f"worker exited\n{log_path.read_text()[-3000:]}"
            time.sleep(1)
            rows = query(settings, database, "SELECT event_id, topics, scored FROM events FINAL")
        # The theme comes from the dictionary the wheel carries (stream/ingest/data/topics.toml).
        expected = [("wheeltest:wheel-1", ["ZQW", "theme:guidance"], 0)]
        assert rows == expected, log_path.read_text()[-3000:]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)


async def _send(bootstrap: str, topic: str, record: dict[str, Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, json.dumps(record).encode(), key=b"wheel-1")
    finally:
        await producer.stop()

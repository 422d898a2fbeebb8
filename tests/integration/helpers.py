"""Shared helpers of the integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stream.clickhouse import client as clickhouse
from stream.config import Settings

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("FINPULSE_DATA", ROOT.parent / "shared" / "data"))
FINPULSE = [sys.executable, "-m", "stream.cli"]


@dataclass(frozen=True)
class Served:
    env: dict[str, str]
    grpc: str
    http: str
    artifacts: Path
    version_dir: Path


def run(
    cmd: list[str], env: dict[str, str], timeout: int = 900
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def query(settings: Settings, database: str, sql: str) -> list[Any]:
    """Rows of one query in a test's own database."""
    client = clickhouse.connect(settings.clickhouse, database=database)
    try:
        return client.execute(sql)  # type: ignore[no-any-return]
    finally:
        client.disconnect()

"""The pure modules of the scoring and window stages stay pure: no I/O library reachable from
them, and no clock of their own (time is passed in), so unit tests drive them without Kafka or
sleeping."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys

import pytest

PURE = [
    "stream.scoring.dedupe",
    "stream.scoring.plan",
    "stream.scoring.progress",
    "stream.windows.clock",
    "stream.windows.panes",
    "stream.windows.state",
    "stream.windows.table_keys",
]
IO = {"faust", "aiokafka", "clickhouse_driver", "httpx", "tritonclient", "aiohttp"}
CLOCKS = {"time", "datetime"}


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_reaches_no_io_library(module: str) -> None:
    code = f"import sys, {module}; print(' '.join(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert not {name.partition(".")[0] for name in loaded} & IO


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_reads_no_clock(module: str) -> None:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    with open(spec.origin, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}  # fmt: skip
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name.partition(".")[0] for name in imported} & CLOCKS

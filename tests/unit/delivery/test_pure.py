"""The pure modules of delivery stay pure: no I/O library, even indirectly, and no clock."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

PURE = [
    "stream.delivery.jobs",
    "stream.delivery.offsets",
    "stream.delivery.policy",
    "stream.delivery.signing",
    "stream.delivery.subscriptions",
]
IO = ("httpx", "aiokafka", "faust", "clickhouse_driver", "tritonclient", "aiohttp")
CLOCK_MODULES = {"time"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "time_ns", "monotonic", "perf_counter"}


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_imports_no_io_library(module: str) -> None:
    code = (
        f"import json, sys; import {module}; "
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({IO!r}))))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}  # this test's own stream
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert json.loads(out.stdout) == []


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_does_not_read_the_clock(module: str) -> None:
    spec = find_spec(module)
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}  # fmt: skip
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    called = {n.func.attr for n in ast.walk(tree)
              if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}  # fmt: skip
    assert not imported & CLOCK_MODULES and not called & CLOCK_CALLS

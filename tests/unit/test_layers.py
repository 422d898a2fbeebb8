"""The pure/I-O split, kept by a test: pure modules import no I/O library, no I/O module of ours,
and read no clock (time is passed in, so tests drive it without sleeping)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "stream"

# Pure logic, by module: windows and their clock, baselines and alert rules, topics, validation,
# delivery policy, the score plan, table declarations. Everything else may do I/O.
PURE = (
    "errors",
    "records",
    "backoff",
    "watermarks",
    "ingest.progress",
    "ingest.validation",
    "ingest.normalize",
    "ingest.pii",
    "ingest.language",
    "ingest.topic_extraction",
    "ingest.enrich",
    "scoring.dedupe",
    "scoring.plan",
    "scoring.progress",
    "windows.clock",
    "windows.panes",
    "windows.state",
    "windows.table_keys",
    "alerts.rules",
    "alerts.history",
    "alerts.state_keys",
    "delivery.subscriptions",
    "delivery.signing",
    "delivery.policy",
    "delivery.jobs",
    "delivery.offsets",
    "delivery.settled",
    "delivery.schedule",
    "clickhouse.sql_text",
    "clickhouse.cookbook",
    "clickhouse.tables",
    "clickhouse.access",
    "clickhouse.cluster",
    "web.views",
    "clickhouse.retention",
    "clickhouse.batches",
    "sentiment.labels",
    "sentiment.metrics",
    "sentiment.calibration",
)
IO_LIBRARIES = {
    "aiohttp", "aiokafka", "clickhouse_driver", "confluent_kafka", "faust", "grpc", "httpx",
    "requests", "socket", "tritonclient", "urllib3",
}  # fmt: skip
CLOCKS = {
    ("time", "time"), ("time", "monotonic"), ("time", "time_ns"), ("time", "perf_counter"),
    ("time", "sleep"), ("datetime", "now"), ("datetime", "utcnow"), ("date", "today"),
}  # fmt: skip


def _path(module: str) -> Path:
    return PACKAGE.joinpath(*module.split(".")).with_suffix(".py")


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_every_pure_module_exists() -> None:
    assert [m for m in PURE if not _path(m).is_file()] == []


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_no_io(module: str) -> None:
    tree = ast.parse(_path(module).read_text(encoding="utf-8"))
    imported = _imports(tree)
    libraries = sorted(n for n in imported if n.split(".")[0] in IO_LIBRARIES)
    assert libraries == [], f"stream.{module} is pure but imports {libraries}"
    ours = {n.removeprefix("stream.") for n in imported if n.startswith("stream.")}
    # `from stream.x import name` lists both stream.x and stream.x.name: keep the modules.
    impure = sorted(n for n in ours if _path(n).is_file() and n not in PURE and n != "__init__")
    assert impure == [], f"stream.{module} is pure but imports I/O modules {impure}"


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_read_no_clock(module: str) -> None:
    tree = ast.parse(_path(module).read_text(encoding="utf-8"))
    calls = sorted(
        f"{node.func.value.id}.{node.func.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and (node.func.value.id, node.func.attr) in CLOCKS
    )
    calls += sorted(
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if (node.module, alias.name) in CLOCKS
    )
    assert calls == [], f"stream.{module} is pure but reads the clock: {calls} (pass time in)"


def test_tests_mirror_the_package() -> None:
    """A unit test folder for a package folder of the same name, and nowhere else."""
    unit = Path(__file__).resolve().parent
    folders = {p.name for p in unit.iterdir() if p.is_dir() and not p.name.startswith("__")}
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders - packages == set()

"""The SQL cookbook (schemas/clickhouse/cookbook.sql): named example queries, for docs and tests."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

from stream.clickhouse.sql_text import split_statements

COOKBOOK = Path(str(files("stream.clickhouse").joinpath("sql", "cookbook.sql")))
_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def load_cookbook(path: Path = COOKBOOK) -> dict[str, str]:
    """``{name: sql}`` for every ``-- name:`` block, in file order."""
    queries: dict[str, str] = {}
    for statement in split_statements(path.read_text(encoding="utf-8")):
        match = _NAME.search(statement)
        if match is None:
            raise ValueError(f"{path}: a query without a '-- name:' line: {statement[:80]!r}")
        queries[match.group(1)] = statement
    return queries

"""Split SQL scripts into statements (pure). ClickHouse's native protocol runs one at a time."""

from __future__ import annotations


def split_statements(script: str) -> list[str]:
    """Split on top-level ``;``, ignoring those inside quotes, identifiers and comments.

    Pieces holding only comments and whitespace are dropped; comments inside a statement stay.
    """
    statements: list[str] = []
    start = 0
    has_code = False
    i, n = 0, len(script)
    while i < n:
        ch = script[i]
        if ch in "'\"`":
            i = _skip_quoted(script, i)
            has_code = True
            continue
        if script.startswith("--", i):
            end = script.find("\n", i)
            i = n if end == -1 else end
            continue
        if script.startswith("/*", i):
            end = script.find("*/", i + 2)
            i = n if end == -1 else end + 2
            continue
        if ch == ";":
            if has_code:
                statements.append(script[start:i].strip())
            start, has_code = i + 1, False
        elif not ch.isspace():
            has_code = True
        i += 1
    if has_code:
        statements.append(script[start:].strip())
    return statements


def _skip_quoted(script: str, i: int) -> int:
    """Index just past the quoted literal or identifier that starts at ``i``."""
    quote = script[i]
    i += 1
    while i < len(script):
        if script[i] == "\\":
            i += 2
            continue
        if script[i] == quote:
            return i + 1
        i += 1
    raise ValueError(f"unterminated {quote} quote in SQL script")

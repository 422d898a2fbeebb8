"""The exception tree: one root, defined in one module, looked up by class."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import stream
from stream import errors
from stream.errors import ConfigError, FinpulseError, InvalidRecord, by_class

PACKAGE = Path(stream.__file__).parent


def _exception_bases(tree: ast.Module) -> list[tuple[str, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                if name.endswith(("Error", "Exception", "Invalid", "NotFound", "Unavailable")):
                    found.append((node.name, name))
    return found


def test_exception_classes_are_defined_only_in_stream_errors() -> None:
    elsewhere = {
        str(path.relative_to(PACKAGE)): _exception_bases(ast.parse(path.read_text()))
        for path in PACKAGE.rglob("*.py")
        if path.name != "errors.py" or path.parent != PACKAGE
    }
    assert {path: found for path, found in elsewhere.items() if found} == {}


def test_every_exception_of_the_tree_is_a_finpulse_error_and_drawn_in_the_docstring() -> None:
    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert len(classes) >= 10
    for cls in classes:
        assert issubclass(cls, FinpulseError)
        assert cls.__name__ in (errors.__doc__ or ""), cls


def test_a_rejected_record_keeps_the_code_and_reason_the_ingest_agent_reads() -> None:
    from stream.ingest.validation import Invalid, parse_post

    with pytest.raises(Invalid) as raised:
        parse_post(b"", now=0.0)
    assert isinstance(raised.value, InvalidRecord)
    assert (raised.value.code, raised.value.reason) == ("empty", "the record has no value")


class Narrow(ConfigError):
    pass


@pytest.mark.parametrize(
    ("table", "error", "expected"),
    [
        ({ConfigError: 2}, Narrow("x"), 2),
        ({ConfigError: 2, Narrow: 3}, Narrow("x"), 3),
        ({Narrow: 3, ConfigError: 2}, ConfigError("x"), 2),
        ({FinpulseError: 5}, InvalidRecord("empty", "no value"), 5),
        ({ConfigError: 2}, KeyError("x"), 1),
    ],
)
def test_by_class_takes_the_most_specific_class_in_the_table(
    table: dict[type[BaseException], int], error: Exception, expected: int
) -> None:
    assert by_class(table, error, 1) == expected

import pytest

from stream.clickhouse.sql_text import split_statements


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("SELECT 1", ["SELECT 1"]),
        ("SELECT 1;\nSELECT 2;\n", ["SELECT 1", "SELECT 2"]),
        ("SELECT ';' AS a; SELECT 2", ["SELECT ';' AS a", "SELECT 2"]),
        ("SELECT 'it\\'s; here'", ["SELECT 'it\\'s; here'"]),
        ("SELECT 1 AS `a;b`;", ["SELECT 1 AS `a;b`"]),
        ("-- a comment; still a comment\nSELECT 1;", ["-- a comment; still a comment\nSELECT 1"]),
        ("SELECT 1; -- trailing; comment\n", ["SELECT 1"]),
        ("/* block; comment */ SELECT 1; /* only a comment */", ["/* block; comment */ SELECT 1"]),
        ("  ;\n;  ", []),
        ("", []),
    ],
)
def test_split_statements(script: str, expected: list[str]) -> None:
    assert split_statements(script) == expected


def test_unterminated_quote_is_an_error() -> None:
    with pytest.raises(ValueError, match="unterminated"):
        split_statements("SELECT 'oops")

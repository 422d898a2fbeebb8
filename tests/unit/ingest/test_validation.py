from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import pytest

from stream.ingest.validation import SCHEMA_PATH, Invalid, Limits, excerpt, parse_post

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC).timestamp()
GOOD = {
    "id": "n-1",
    "source": "newswire",
    "published_at": "2026-11-23T11:59:30Z",
    "text": "Profit rose 40 %",
}


def raw(**changes: object) -> bytes:
    record = {**GOOD, **changes}
    return json.dumps({k: v for k, v in record.items() if v is not ...}).encode()


def test_a_valid_post_is_parsed_with_its_optional_fields() -> None:
    post = parse_post(
        raw(
            published_at="2026-11-23T13:59:30+02:00",
            title="Results",
            tickers=["aapl"],
            reach=1200,
            lang="en",
            url=None,
        ),
        now=NOW,
    )
    assert post.id == "n-1" and post.source == "newswire"
    assert post.published_at == datetime(2026, 11, 23, 11, 59, 30, tzinfo=UTC).timestamp()
    assert post.tickers == ["AAPL"] and post.reach == 1200.0 and post.url == ""


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (b"", "empty"),
        (b"{not json", "not_json"),
        (b'{"id": "caf\xe9"}', "not_utf8"),
        (b"[1, 2]", "not_object"),
        (raw(text=...), "missing_field"),
        (raw(id=7), "wrong_type"),
        (raw(reach="a lot"), "wrong_type"),
        (raw(published_at="yesterday"), "bad_timestamp"),
        (raw(published_at="2026-11-23T11:59:30"), "bad_timestamp"),  # no zone
        (raw(published_at="2026-13-45T11:59:30Z"), "bad_timestamp"),
        (raw(published_at="1970-01-01T00:00:00Z"), "bad_timestamp"),
        (raw(published_at="2191-01-01T00:00:00Z"), "bad_timestamp"),
        (raw(text="x" * 40_000), "text_too_large"),
        (raw(text="  "), "empty_text"),
        (raw(source="has space"), "invalid_field"),
        (raw(lang="english"), "invalid_field"),
        (raw(tickers=["A" * 20]), "invalid_field"),
        (raw(reach=-1), "invalid_field"),
    ],
)
def test_invalid_records_get_a_code_and_a_reason(value: bytes, code: str) -> None:
    with pytest.raises(Invalid) as error:
        parse_post(value, now=NOW)
    assert error.value.code == code
    assert error.value.reason


def test_size_limit_is_configurable() -> None:
    parse_post(raw(text="x" * 40_000), now=NOW, limits=Limits(max_text_bytes=50_000))
    with pytest.raises(Invalid):
        parse_post(raw(text="é" * 20), now=NOW, limits=Limits(max_text_bytes=30))


def test_the_documented_schema_agrees_on_structure() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.validators.validator_for(schema).check_schema(schema)
    jsonschema.validate(GOOD, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in GOOD.items() if k != "source"}, schema)


def test_excerpt_is_safe_for_binary_and_large_values() -> None:
    assert excerpt(b"caf\xe9") == "caf\\xe9"
    long = excerpt(b"a" * 10_000, limit=100)
    assert long.startswith("a" * 100) and long.endswith("(10000 bytes)")

"""Validation of raw posts against the input contract (pure).

``parse_post`` returns a :class:`~stream.records.Post` or raises :class:`Invalid` with a
machine-readable code and a reason a person can act on. The structural rules come from
schemas/records/raw_post.schema.json itself (no second copy to drift); the rules JSON Schema
cannot say (time bounds, size in bytes) are checked here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import orjson

from stream.errors import InvalidRecord
from stream.records import Post

# stream/ingest/schemas is a link to schemas/records, so the wheel carries the one copy.
SCHEMA_PATH = Path(str(files("stream.ingest").joinpath("schemas", "raw_post.schema.json")))
MAX_RECORD_BYTES = 1 << 20
EARLIEST = datetime(1990, 1, 1).timestamp()


# The name parse_post's callers catch (the ingest agent, the tests): validation.Invalid.
Invalid = InvalidRecord


@dataclass(frozen=True)
class Limits:
    max_text_bytes: int = 32_768
    max_future_s: float = 86_400.0
    earliest: float = EARLIEST


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema).check_schema(schema)
    return schema


@cache
def _fast_check() -> Any:
    # Compiled to Python (about 20 times faster than jsonschema on valid records, the usual case).
    return fastjsonschema.compile(_schema())


@cache
def _explainer() -> jsonschema.protocols.Validator:
    # For records that fail: jsonschema says which field and why, with a stable error order.
    schema = _schema()
    return jsonschema.validators.validator_for(schema)(schema)  # type: ignore[no-any-return]


def parse_post(raw: bytes | None, *, now: float, limits: Limits = Limits()) -> Post:
    if raw is None or not raw:
        raise Invalid("empty", "the record has no value")
    if len(raw) > MAX_RECORD_BYTES:
        raise Invalid("too_large", f"the record is {len(raw)} bytes; at most {MAX_RECORD_BYTES}")
    try:
        data = orjson.loads(raw)  # the usual case: UTF-8 JSON that orjson reads
    except orjson.JSONDecodeError:
        data = _decode(raw)  # the rest as before: json's answer, or its words for the reason
    if not isinstance(data, dict):
        raise Invalid("not_object", f"the value must be a JSON object, got {type(data).__name__}")
    try:
        _fast_check()(data)
    except fastjsonschema.JsonSchemaValueException:
        errors = sorted(_explainer().iter_errors(data), key=lambda e: list(e.path))
        if not errors:  # the two validators disagree: a bug, never a silent pass
            raise Invalid("invalid_field", "the record does not match the schema") from None
        raise _schema_error(errors[0]) from None
    published = _parse_time(data["published_at"])
    if published < limits.earliest:
        raise Invalid("bad_timestamp", f"published_at {data['published_at']} is before 1990")
    if published > now + limits.max_future_s:
        raise Invalid(
            "bad_timestamp",
            f"published_at {data['published_at']} is more than {limits.max_future_s:.0f} s "
            "in the future",
        )
    text: str = data["text"]
    title: str = data.get("title") or ""
    if not text.strip() and not title.strip():
        raise Invalid("empty_text", "text (and title) are empty")
    size = len(text.encode("utf-8"))
    if size > limits.max_text_bytes:
        raise Invalid("text_too_large", f"text is {size} bytes; at most {limits.max_text_bytes}")
    return Post(
        id=data["id"],
        source=data["source"],
        published_at=published,
        text=text,
        title=title,
        url=data.get("url") or "",
        lang=data.get("lang") or "",
        author=data.get("author") or "",
        tickers=[t.upper() for t in data.get("tickers") or []],
        reach=float(data.get("reach") or 0.0),
    )


def _decode(raw: bytes) -> Any:
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(
            "not_utf8", f"the value is not UTF-8 ({exc.reason} at byte {exc.start})"
        ) from None
    try:
        return json.loads(decoded)
    except json.JSONDecodeError as exc:
        raise Invalid(
            "not_json", f"the value is not JSON: {exc.msg} at {exc.lineno}:{exc.colno}"
        ) from None


def _parse_time(value: str) -> float:
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise Invalid(
            "bad_timestamp", f"published_at {value!r} is not a valid RFC 3339 time"
        ) from None
    if parsed.tzinfo is None:  # the schema's pattern requires a zone; keep the check explicit
        raise Invalid("bad_timestamp", f"published_at {value!r} has no time zone")
    return parsed.timestamp()


def _schema_error(error: Any) -> Invalid:
    path = ".".join(str(p) for p in error.path) or "(record)"
    if error.validator == "required":
        return Invalid("missing_field", f"{path}: {error.message}")
    if error.validator == "type":
        return Invalid("wrong_type", f"{path}: {error.message}")
    if path == "published_at":
        return Invalid(
            "bad_timestamp", f"published_at {error.instance!r} is not RFC 3339 with a zone"
        )
    return Invalid("invalid_field", f"{path}: {error.message}")


def excerpt(raw: bytes | None, limit: int = 4096) -> str:
    """A safe, printable excerpt of a raw value for the dead-letter table."""
    if not raw:
        return ""
    text = raw[:limit].decode("utf-8", errors="backslashreplace")
    return text if len(raw) <= limit else text + f"... ({len(raw)} bytes)"

"""The records' JSON codec (stream/records.py): orjson where it writes what json writes, json
where it would not, and the same values back either way."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from stream.records import MARK_PREFIX, Event, Mark, dumps, loads

VALUES: list[Any] = [
    {"text": "Apple beats", "n": 3, "score": 0.25, "tickers": ["AAPL"], "ok": True},
    {"text": "网易财报 café ñ \u2028", "probs": [0.1, 0.2, 0.7]},
    {"text": "a null hypothesis", "x": None},
    {"small": -(2**63), "large": 2**64 - 1},
    {"tiny": 5e-324, "huge": 1e300, "whole": 1e16},
    {1: "int key"},
    {"reach": float("nan")},
    {"reach": float("inf"), "low": float("-inf")},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_dumps_reads_back_as_json_would(value: Any) -> None:
    expected = json.loads(json.dumps(value, ensure_ascii=False))
    got = loads(dumps(value))
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_nan_and_infinities_are_kept() -> None:
    back = loads(dumps({"a": float("nan"), "b": float("inf")}))
    assert math.isnan(back["a"]) and back["b"] == float("inf")


@pytest.mark.parametrize(
    "data",
    [b'{"a": 1, "b": [2.5, "x"]}', '{"a": NaN}', b'{"a": -Infinity}', "[1e16, 5e-324]"],
)
def test_loads_reads_what_json_reads(data: bytes | str) -> None:
    assert json.dumps(loads(data)) == json.dumps(json.loads(data))


def test_loads_raises_jsons_error_on_bad_json() -> None:
    with pytest.raises(json.JSONDecodeError):
        loads(b"{not json")


def test_an_event_survives_its_json() -> None:
    event = Event("wire:1", "wire", "news.raw", 0, 5, 1.5, 2.5, "en", False, "T", "text", "",
                  "", 0.0, ["AAPL"], ["AAPL"], 2**62 + 1)  # fmt: skip
    assert Event.from_json(event.to_json()) == event


@pytest.mark.parametrize(
    "value", [Mark(stage="ingest").to_json(), json.dumps(vars(Mark(stage="score"))).encode()]
)
def test_a_mark_is_told_by_its_first_bytes_compact_or_spaced(value: bytes) -> None:
    assert value.startswith(MARK_PREFIX)

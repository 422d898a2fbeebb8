"""Rows and INSERTs built from the table declarations (pure); tests/schema and
tests/integration/test_clickhouse.py compare the declarations with migrated databases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from stream.clickhouse.tables import (
    ALERTS,
    DEADLETTER,
    DELIVERIES,
    EVENTS,
    LATE_EVENTS,
    SENTIMENT_WINDOWS,
    SUBSCRIPTIONS,
    TABLES,
    Table,
)
from stream.records import (
    Alert,
    Delivery,
    Event,
    LateRecord,
    Rejection,
    Subscription,
    WindowRecord,
)

PUBLISHED = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)
T = PUBLISHED.timestamp()


def event(**changes: Any) -> Event:
    fields: dict[str, Any] = {
        "event_id": "wire:1", "source": "wire", "source_topic": "news.raw",
        "kafka_partition": 2, "kafka_offset": 41, "published_at": T, "ingested_at": T + 3,
        "lang": "en", "lang_detected": True, "title": "Apple beats", "text": "Revenue rose.",
        "url": "https://wire.test/1", "author": "desk", "reach": 1000.0, "tickers": ["AAPL"],
        "topics": ["AAPL", "theme:earnings"], "content_hash": 99, "redactions": 1,
        "duplicate_of": "", "scored": True, "label": "positive", "probs": [0.05, 0.15, 0.8],
        "score": 0.75, "model": "sentiment/3",
    }  # fmt: skip
    return Event(**(fields | changes))


def written(table: Table, record: Any, version: int = 7) -> dict[str, Any]:
    names = [name for name, _ in table.schema()]
    row = table.row(record, version)
    assert len(row) == len(names)
    return dict(zip(names, row, strict=True))


def test_event_row_holds_each_field_under_its_column() -> None:
    assert written(EVENTS, event()) == {
        "event_id": "wire:1", "source": "wire", "source_topic": "news.raw",
        "published_at": PUBLISHED, "ingested_at": datetime(2026, 11, 2, 14, 30, 3, tzinfo=UTC),
        "lang": "en", "lang_detected": 1, "title": "Apple beats", "text": "Revenue rose.",
        "url": "https://wire.test/1", "author": "desk", "reach": 1000.0, "tickers": ["AAPL"],
        "topics": ["AAPL", "theme:earnings"], "content_hash": 99, "duplicate_of": "",
        "scored": 1, "label": "positive", "p_negative": 0.05, "p_neutral": 0.15,
        "p_positive": 0.8, "score": 0.75, "model_version": "sentiment/3", "redactions": 1,
        "kafka_partition": 2, "kafka_offset": 41, "version": 7,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("scored", "label", "stored"),
    [
        (True, "negative", "negative"),
        (True, "neutral", "neutral"),
        (False, "neutral", "unscored"),  # what the scoring stage leaves on an unscored event
    ],
)
def test_unscored_event_row_has_no_sentiment_label(scored: bool, label: str, stored: str) -> None:
    row = written(EVENTS, event(scored=scored, label=label))
    assert (row["scored"], row["label"]) == (int(scored), stored)


def test_window_row_holds_each_field_under_its_column() -> None:
    window = WindowRecord("AAPL", T, 900, 10, 6, 3, 1, -4.5, -0.45, 500.0, -0.5, 0.6, True, T + 960,
                          ["wire:3", "wire:1"], 2)  # fmt: skip
    assert written(SENTIMENT_WINDOWS, window, version=9) == {
        "topic": "AAPL", "window_start": PUBLISHED, "window_seconds": 900, "n": 10,
        "n_negative": 6, "n_neutral": 3, "n_positive": 1, "score_sum": -4.5, "score_mean": -0.45,
        "reach_sum": 500.0, "reach_weighted_score": -0.5, "negative_share": 0.6, "final": 1,
        "amendments": 2, "most_negative": ["wire:3", "wire:1"],
        "emitted_at": datetime(2026, 11, 2, 14, 46, tzinfo=UTC), "version": 9,
    }  # fmt: skip


def test_late_row_writes_the_pane_as_window_start() -> None:
    late = LateRecord("AAPL", "wire:1", T, T - 30, T + 600, T + 540)
    assert written(LATE_EVENTS, late)["window_start"] == datetime(
        2026, 11, 2, 14, 29, 30, tzinfo=UTC
    )


def test_alert_evidence_is_json_with_sorted_keys() -> None:
    alert = Alert("a1", "AAPL", "negative_surge", "alert", "warning", T, 900, 0.6, 0.1, 0.3, 4.2,
                  T, {"z": 4.2, "most_negative": ["wire:1"]})  # fmt: skip
    assert written(ALERTS, alert)["evidence"] == '{"most_negative": ["wire:1"], "z": 4.2}'


def test_insert_lists_the_columns_then_the_version() -> None:
    assert LATE_EVENTS.insert_sql() == (
        "INSERT INTO late_events "
        "(topic, event_id, published_at, window_start, arrived_at, watermark, version) VALUES"
    )


SAMPLES: list[tuple[Table, Any]] = [
    (EVENTS, event()),
    (SENTIMENT_WINDOWS, WindowRecord("AAPL", T, 60, 1, 0, 1, 0, 0.0, 0.0, 0.0, 0.0, 0.0, False, T)),
    (DEADLETTER, Rejection("news.raw", 0, 5, T, "not_json", "not JSON", "{x", 2)),
    (LATE_EVENTS, LateRecord("AAPL", "wire:1", T, T, T, T)),
    (ALERTS, Alert("a1", "AAPL", "volume_spike", "alert", "warning", T, 60, 9, 2, 6, 3, T, {})),
    (
        SUBSCRIPTIONS,
        Subscription(
            "sub_1", "ops", [], [], "warning", ["alert"], "kafka", "out", "", "active", T, T
        ),
    ),
    (DELIVERIES, Delivery("d1", "a1", "sub_1", "kafka", "out", 1, "delivered", 0, "", 1.5, T, 0)),
]


def test_every_table_has_a_sample() -> None:
    assert sorted(t.name for t, _ in SAMPLES) == sorted(TABLES)


@pytest.mark.parametrize(("table", "record"), SAMPLES, ids=[t.name for t, _ in SAMPLES])
def test_every_table_builds_its_row_from_the_record_on_kafka(table: Table, record: Any) -> None:
    assert table.row(table.decode(record.to_json()), 1) == table.row(record, 1)
    assert len(table.row(record, 1)) == len(table.schema()) == table.insert_sql().count(",") + 1


def test_event_lag_reads_the_publication_time() -> None:
    assert EVENTS.row(event(), 1)[EVENTS.position("published_at")] == PUBLISHED


@pytest.mark.parametrize(("table", "record"), SAMPLES, ids=[t.name for t, _ in SAMPLES])
def test_every_table_gives_its_rows_as_columns_for_a_columnar_insert(
    table: Table, record: Any
) -> None:
    rows = [table.row(record, 7), table.row(record, 8)]
    assert table.column_values([record, record], 7) == [list(c) for c in zip(*rows, strict=True)]

"""The ClickHouse tables finpulse writes, each column declared once (pure).

A column is its name, its type as ``DESCRIBE TABLE`` shows it once every migration has run, and
how its value is read from the record. The INSERT column list and the row both come from the same
declaration, so they cannot fall out of step, and a test compares the declared names and types,
in order, with a database migrated from scratch, so the declaration cannot drift from the DDL.

Every table is a ``ReplacingMergeTree(version)`` and ends with ``version UInt64``, which the
writer gives (the write time in ns), not the record: one version per row, rising in the order the
rows were read, so that of two states of one key in one insert (a window and its amendment, read
together from a backlog) ``FINAL`` keeps the later one, not either.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from operator import attrgetter
from typing import Any

from stream.records import Alert, Delivery, Event, LateRecord, Rejection, Subscription, WindowRecord

VERSION = ("version", "UInt64")
UTC_TIME = "DateTime('UTC')"
# Migration 0016 added 'unscored': a text no model scored must not count as neutral.
LABEL = "Enum8('unscored' = -128, 'negative' = -1, 'neutral' = 0, 'positive' = 1)"
UNSCORED = "unscored"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # as DESCRIBE TABLE reports it after the migrations
    read: Callable[[Any], Any]  # the record -> the value clickhouse-driver inserts


@dataclass(frozen=True)
class Table:
    name: str
    decode: Callable[[bytes], Any]  # a Kafka value -> the record
    columns: tuple[Column, ...]  # in table order, without the version

    def schema(self) -> list[tuple[str, str]]:
        """(name, type) of every column, version included, in the order DESCRIBE lists them."""
        return [(c.name, c.type) for c in self.columns] + [VERSION]

    def insert_sql(self) -> str:
        names = ", ".join([c.name for c in self.columns] + [VERSION[0]])
        return f"INSERT INTO {self.name} ({names}) VALUES"

    def row(self, record: Any, version: int) -> tuple[Any, ...]:
        return (*[read(record) for read in self._reads], version)

    def column_values(self, records: Sequence[Any], first_version: int) -> list[list[Any]]:
        """The rows of ``records`` as columns, version last (``first_version``, then one more for
        each row after it): what clickhouse-driver inserts with ``columnar=True`` (the native
        protocol's own layout, so the driver skips transposing)."""
        versions = list(range(first_version, first_version + len(records)))
        return [[read(r) for r in records] for read in self._reads] + [versions]

    @cached_property
    def _reads(self) -> tuple[Callable[[Any], Any], ...]:
        # Looked up once: the sinks build a row per record.
        return tuple(c.read for c in self.columns)

    def position(self, name: str) -> int:
        """Where a column's value sits in a row."""
        return [c.name for c in self.columns].index(name)


def column(name: str, type: str, attr: str = "") -> Column:
    """A record field written as it is (``attr`` when the field's name differs)."""
    return Column(name, type, attrgetter(attr or name))


def utc(name: str, attr: str = "") -> Column:
    """A time in Unix seconds, written as DateTime('UTC')."""
    get = attrgetter(attr or name)
    return Column(name, UTC_TIME, lambda record: datetime.fromtimestamp(get(record), UTC))


def flag(name: str) -> Column:
    """A bool, written as UInt8."""
    get = attrgetter(name)
    return Column(name, "UInt8", lambda record: int(get(record)))


def _label(e: Event) -> str:
    return e.label if e.scored else UNSCORED


EVENTS = Table(
    "events",
    Event.from_json,
    (
        column("event_id", "String"),
        column("source", "LowCardinality(String)"),
        column("source_topic", "LowCardinality(String)"),
        utc("published_at"),
        utc("ingested_at"),
        column("lang", "LowCardinality(String)"),
        flag("lang_detected"),
        column("title", "String"),
        column("text", "String"),
        column("url", "String"),
        column("author", "String"),
        column("reach", "Float64"),
        column("tickers", "Array(String)"),
        column("topics", "Array(String)"),
        column("content_hash", "UInt64"),
        column("duplicate_of", "String"),
        flag("scored"),
        Column("label", LABEL, _label),
        Column("p_negative", "Float32", lambda e: e.probs[0]),
        Column("p_neutral", "Float32", lambda e: e.probs[1]),
        Column("p_positive", "Float32", lambda e: e.probs[2]),
        column("score", "Float32"),
        column("model_version", "String", "model"),
        column("redactions", "UInt16"),
        column("kafka_partition", "UInt32"),
        column("kafka_offset", "UInt64"),
    ),
)

SENTIMENT_WINDOWS = Table(
    "sentiment_windows",
    WindowRecord.from_json,
    (
        column("topic", "String"),
        utc("window_start"),
        column("window_seconds", "UInt32"),
        column("n", "UInt32"),
        column("n_negative", "UInt32"),
        column("n_neutral", "UInt32"),
        column("n_positive", "UInt32"),
        column("score_sum", "Float64"),
        column("score_mean", "Float64"),
        column("reach_sum", "Float64"),
        column("reach_weighted_score", "Float64"),
        column("negative_share", "Float64"),
        flag("final"),
        column("amendments", "UInt32"),
        column("most_negative", "Array(String)"),
        utc("emitted_at"),
    ),
)

DEADLETTER = Table(
    "deadletter",
    Rejection.from_json,
    (
        column("source_topic", "LowCardinality(String)"),
        column("kafka_partition", "UInt32"),
        column("kafka_offset", "UInt64"),
        utc("received_at"),
        column("reason_code", "LowCardinality(String)"),
        column("reason", "String"),
        column("raw", "String"),
        column("raw_size", "UInt32"),
    ),
)

LATE_EVENTS = Table(
    "late_events",
    LateRecord.from_json,
    (
        column("topic", "String"),
        column("event_id", "String"),
        utc("published_at"),
        utc("window_start", "pane_start"),
        utc("arrived_at"),
        utc("watermark"),
    ),
)

ALERTS = Table(
    "alerts",
    Alert.from_json,
    (
        column("alert_id", "String"),
        column("topic", "String"),
        column("rule", "LowCardinality(String)"),
        column("kind", "LowCardinality(String)"),
        column("severity", "LowCardinality(String)"),
        utc("window_start"),
        column("window_seconds", "UInt32"),
        column("value", "Float64"),
        column("baseline", "Float64"),
        column("threshold", "Float64"),
        column("z", "Float64"),
        utc("created_at"),
        Column("evidence", "String", lambda a: json.dumps(a.evidence, sort_keys=True)),
    ),
)

SUBSCRIPTIONS = Table(
    "subscriptions",
    Subscription.from_json,
    (
        column("subscription_id", "String"),
        column("name", "String"),
        column("topics", "Array(String)"),
        column("rules", "Array(String)"),
        column("min_severity", "LowCardinality(String)"),
        column("kinds", "Array(String)"),
        column("channel", "LowCardinality(String)"),
        column("target", "String"),
        column("secret", "String"),
        column("status", "LowCardinality(String)"),
        utc("created_at"),
        utc("updated_at"),
        flag("legacy_headers"),
        Column(
            "report", "String", lambda s: json.dumps(s.report, sort_keys=True) if s.report else ""
        ),
    ),
)

DELIVERIES = Table(
    "deliveries",
    Delivery.from_json,
    (
        column("delivery_id", "String"),
        column("alert_id", "String"),
        column("subscription_id", "String"),
        column("channel", "LowCardinality(String)"),
        column("target", "String"),
        column("attempt", "UInt16"),
        column("outcome", "LowCardinality(String)"),
        column("status_code", "UInt16"),
        column("error", "String"),
        column("duration_ms", "Float64"),
        utc("attempted_at"),
        utc("next_attempt_at"),
    ),
)

# subscriptions is written by stream/delivery/store.py, the others by the sinks.
TABLES = {
    t.name: t
    for t in (EVENTS, SENTIMENT_WINDOWS, DEADLETTER, LATE_EVENTS, ALERTS, SUBSCRIPTIONS, DELIVERIES)
}

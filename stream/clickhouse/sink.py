"""ClickHouse sink: records from Kafka to tables, batched, off the event loop, retried.

Idempotent by construction: every table is a ReplacingMergeTree keyed by the record's identity
(event id, window, Kafka position) with a ``version`` column, so a batch written again after a
crash or a retry of an insert whose answer was lost replaces rows instead of adding them.
The agent acknowledges its Kafka records only after the insert returned (see stream/worker.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from clickhouse_driver.errors import Error as DriverError

from stream import metrics
from stream.backoff import Backoff
from stream.clickhouse.client import connect
from stream.config import ClickHouseSettings
from stream.logs import get_logger
from stream.records import Alert, Delivery, Event, LateRecord, Rejection, WindowRecord

log = get_logger(__name__)


def _time(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def event_row(e: Event, version: int) -> tuple[Any, ...]:
    p_neg, p_neu, p_pos = e.probs
    return (
        e.event_id, e.source, e.source_topic, _time(e.published_at), _time(e.ingested_at),
        e.lang, int(e.lang_detected), e.title, e.text, e.url, e.author, e.reach, e.tickers,
        e.topics, e.content_hash, e.duplicate_of, int(e.scored), e.label, p_neg, p_neu, p_pos,
        e.score, e.model, e.redactions, e.kafka_partition, e.kafka_offset, version,
    )  # fmt: skip


EVENT_COLUMNS = (
    "event_id, source, source_topic, published_at, ingested_at, lang, lang_detected, title, "
    "text, url, author, reach, tickers, topics, content_hash, duplicate_of, scored, label, "
    "p_negative, p_neutral, p_positive, score, model_version, redactions, kafka_partition, "
    "kafka_offset, version"
)


def window_row(w: WindowRecord, version: int) -> tuple[Any, ...]:
    return (
        w.topic, _time(w.window_start), w.window_seconds, w.n, w.n_negative, w.n_neutral,
        w.n_positive, w.score_sum, w.score_mean, w.reach_sum, w.reach_weighted_score,
        w.negative_share, int(w.final), w.most_negative, _time(w.emitted_at), version,
    )  # fmt: skip


WINDOW_COLUMNS = (
    "topic, window_start, window_seconds, n, n_negative, n_neutral, n_positive, score_sum, "
    "score_mean, reach_sum, reach_weighted_score, negative_share, final, most_negative, "
    "emitted_at, version"
)


def deadletter_row(r: Rejection, version: int) -> tuple[Any, ...]:
    return (
        r.source_topic, r.kafka_partition, r.kafka_offset, _time(r.received_at), r.reason_code,
        r.reason, r.raw, r.raw_size, version,
    )  # fmt: skip


DEADLETTER_COLUMNS = (
    "source_topic, kafka_partition, kafka_offset, received_at, reason_code, reason, raw, "
    "raw_size, version"
)


def late_row(r: LateRecord, version: int) -> tuple[Any, ...]:
    return (
        r.topic, r.event_id, _time(r.published_at), _time(r.pane_start), _time(r.arrived_at),
        _time(r.watermark), version,
    )  # fmt: skip


LATE_COLUMNS = "topic, event_id, published_at, window_start, arrived_at, watermark, version"


def alert_row(a: Alert, version: int) -> tuple[Any, ...]:
    return (
        a.alert_id, a.topic, a.rule, a.kind, a.severity, _time(a.window_start), a.window_seconds,
        a.value, a.baseline, a.threshold, a.z, _time(a.created_at),
        json.dumps(a.evidence, sort_keys=True), version,
    )  # fmt: skip


ALERT_COLUMNS = (
    "alert_id, topic, rule, kind, severity, window_start, window_seconds, value, baseline, "
    "threshold, z, created_at, evidence, version"
)


def delivery_row(d: Delivery, version: int) -> tuple[Any, ...]:
    return (
        d.delivery_id, d.alert_id, d.subscription_id, d.channel, d.target, d.attempt, d.outcome,
        d.status_code, d.error, d.duration_ms, _time(d.attempted_at), _time(d.next_attempt_at),
        version,
    )  # fmt: skip


DELIVERY_COLUMNS = (
    "delivery_id, alert_id, subscription_id, channel, target, attempt, outcome, status_code, "
    "error, duration_ms, attempted_at, next_attempt_at, version"
)


@dataclass(frozen=True)
class Table:
    name: str
    columns: str
    decode: Callable[[bytes], Any]
    row: Callable[[Any, int], tuple[Any, ...]]


TABLES = {
    "events": Table("events", EVENT_COLUMNS, Event.from_json, event_row),
    "sentiment_windows": Table(
        "sentiment_windows", WINDOW_COLUMNS, WindowRecord.from_json, window_row
    ),
    "deadletter": Table("deadletter", DEADLETTER_COLUMNS, Rejection.from_json, deadletter_row),
    "late_events": Table("late_events", LATE_COLUMNS, LateRecord.from_json, late_row),
    "alerts": Table("alerts", ALERT_COLUMNS, Alert.from_json, alert_row),
    "deliveries": Table("deliveries", DELIVERY_COLUMNS, Delivery.from_json, delivery_row),
}


class ClickHouseSink:
    """Writes one table. ``write`` retries until the insert succeeds (back-pressure: the caller
    waits, and its Kafka offsets stay uncommitted until then)."""

    def __init__(self, settings: ClickHouseSettings, table: Table, backoff: Backoff | None = None):
        self.settings = settings
        self.table = table
        self.backoff = backoff or Backoff()
        self._client = connect(settings)
        self._sql = f"INSERT INTO {table.name} ({table.columns}) VALUES"

    def rows(self, values: Sequence[bytes]) -> list[tuple[Any, ...]]:
        version = time.time_ns()
        return [self.table.row(self.table.decode(v), version) for v in values]

    def _insert(self, rows: list[tuple[Any, ...]]) -> None:
        self._client.execute(self._sql, rows, types_check=False)

    async def write(self, rows: list[tuple[Any, ...]]) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                await asyncio.to_thread(self._insert, rows)
            except (DriverError, OSError, EOFError) as exc:
                self._client.disconnect()
                delay = self.backoff.delay(attempt)
                metrics.SINK_RETRIES.labels(self.table.name).inc()
                log.warning(
                    "sink_retry", table=self.table.name, rows=len(rows), attempt=attempt,
                    delay_s=round(delay, 2), error=" ".join(str(exc).split())[:400],
                )  # fmt: skip
                await asyncio.sleep(delay)
            else:
                metrics.SINK_ROWS.labels(self.table.name).inc(len(rows))
                return

    def close(self) -> None:
        self._client.disconnect()

"""Sink consumers: one per ClickHouse table, each a plain aiokafka consumer in its own group.

A sink keeps no state and needs none of faust's stream machinery, which costs several times more
CPU per record than the consumer itself (ops/bench/pipeline): so each sink reads its topic with
aiokafka, collects a batch (``sink_batch`` rows or ``sink_within_s``), inserts it off the event
loop, and commits the offsets only after the insert returned. A crash between the two re-reads
the batch; the tables' idempotent keys make that harmless. The consumers run as a task of the
worker's faust app, so they start and stop with it and scale out with it.
"""

from __future__ import annotations

import asyncio
import time

import faust
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import CommitFailedError, KafkaError

from stream import metrics
from stream.clickhouse.sink import ClickHouseSink
from stream.clickhouse.tables import TABLES
from stream.config import ClickHouseSettings, KafkaSettings, PipelineSettings
from stream.kafka import compat as kafka_compat
from stream.kafka.security import client_options
from stream.kafka.topics import Topics
from stream.logs import get_logger

log = get_logger(__name__)


def register(
    app: faust.App,
    topics: Topics,
    settings: PipelineSettings,
    kafka: KafkaSettings,
    clickhouse: ClickHouseSettings,
) -> None:
    sources = {
        "events": topics.scored,
        "sentiment_windows": topics.windows,
        "deadletter": topics.deadletter,
        "late_events": topics.late,
        "alerts": topics.alerts,
        "deliveries": topics.deliveries,
    }

    @app.task  # type: ignore[untyped-decorator]
    async def sinks() -> None:
        await asyncio.gather(
            *(
                run_sink(table, topic.get_topic_name(), settings, kafka, clickhouse)
                for table, topic in sources.items()
            )
        )


async def run_sink(
    table_name: str,
    topic: str,
    settings: PipelineSettings,
    kafka: KafkaSettings,
    clickhouse: ClickHouseSettings,
) -> None:
    table = TABLES[table_name]
    consumer = AIOKafkaConsumer(
        topic,
        **client_options(kafka, client=f"sink-{table_name}"),
        group_id=f"{settings.app_id}-sink-{table_name}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.sink_batch,
        session_timeout_ms=int(kafka.session_timeout_s * 1000),
        heartbeat_interval_ms=int(kafka.heartbeat_interval_s * 1000),
        **kafka_compat.consumer_options(kafka.fetch_max_wait_ms),
    )
    writer = ClickHouseSink(clickhouse, table)
    published_at = table.position("published_at") if table_name == "events" else None
    await consumer.start()
    log.info("sink_started", table=table_name, topic=topic)
    try:
        while True:
            values: list[bytes] = []
            deadline = time.monotonic() + settings.sink_within_s
            while len(values) < settings.sink_batch:
                left = deadline - time.monotonic()
                if left <= 0 and values:
                    break
                batches = await consumer.getmany(
                    timeout_ms=int(max(left, 0.05) * 1000),
                    max_records=settings.sink_batch - len(values),
                )
                values.extend(m.value for messages in batches.values() for m in messages if m.value)
            started = time.perf_counter()
            columns = writer.columns(values)
            await writer.write(columns)
            try:
                await consumer.commit()
            except (CommitFailedError, KafkaError) as exc:
                # A rebalance took the partitions: the new owner writes these rows again, which
                # the idempotent keys absorb.
                log.warning("sink_commit_failed", table=table_name, error=str(exc))
            if published_at is not None:
                now = time.time()
                for published in columns[published_at]:
                    metrics.LAG_SECONDS.observe(now - published.timestamp())
            metrics.BATCH_SECONDS.labels(f"sink_{table_name}").observe(
                time.perf_counter() - started
            )
    finally:
        await consumer.stop()
        writer.close()

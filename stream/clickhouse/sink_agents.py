"""The sink consumer: one plain aiokafka consumer, in its own group, for every ClickHouse table.

A sink keeps no state and needs none of faust's stream machinery, which costs several times more
CPU per record than the consumer itself (ops/bench/pipeline): so the sink reads the topics of all
tables with one aiokafka consumer (one fetch request, one group member and one heartbeat for all
of them: six consumers polling cost the worker and the broker more, idle, than the rows did),
keeps a batch per table (``stream/clickhouse/batches.py``: ``sink_batch`` rows, or the oldest row
waited ``sink_within_s``), inserts a due batch off the event loop, and commits that batch's
offsets only after the insert returned. A crash between the two re-reads the batch; the tables'
idempotent keys make that harmless. Before partitions are given up in a rebalance, every batch is
inserted and committed. The consumer runs as a task of the worker's faust app, so it starts and
stops with it and scales out with it.

Upgrades: releases before this one had a group per table (``{app_id}-sink-{table}``); a partition
that the new group (``{app_id}-sinks``) has no commit for starts where the old group left it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import faust
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CommitFailedError, KafkaError

from stream import metrics
from stream.clickhouse.batches import Batch, Batches
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
        await run_sinks(
            {table: topic.get_topic_name() for table, topic in sources.items()},
            settings, kafka, clickhouse,
        )  # fmt: skip


def group_id(app_id: str) -> str:
    return f"{app_id}-sinks"


def legacy_group_id(app_id: str, table: str) -> str:
    """The group of one table's sink in releases before the shared sink consumer."""
    return f"{app_id}-sink-{table}"


class _Writers:
    """A ClickHouse writer per table, and the insert-then-commit of a batch."""

    def __init__(self, tables: Mapping[str, str], clickhouse: ClickHouseSettings):
        self.writers = {table: ClickHouseSink(clickhouse, TABLES[table]) for table in tables}
        # The events' publication times give the lag metric: their column, found once.
        self.published_at = TABLES["events"].position("published_at")
        self.lock = asyncio.Lock()  # the loop and a rebalance must not write the same batch

    async def flush(self, consumer: AIOKafkaConsumer, table: str, batch: Batch) -> None:
        started = time.perf_counter()
        writer = self.writers[table]
        columns = writer.columns(batch.values)
        if batch.values:
            await writer.write(columns)
        try:
            await consumer.commit(
                {TopicPartition(t, p): offset for (t, p), offset in batch.offsets.items()}
            )
        except (CommitFailedError, KafkaError) as exc:
            # A rebalance took the partitions: the new owner writes these rows again, which
            # the idempotent keys absorb.
            log.warning("sink_commit_failed", table=table, error=str(exc))
        if table == "events":
            now = time.time()
            for published in columns[self.published_at]:
                metrics.LAG_SECONDS.observe(now - published.timestamp())
        metrics.BATCH_SECONDS.labels(f"sink_{table}").observe(time.perf_counter() - started)

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: AIOKafkaConsumer, batches: Batches, writers: _Writers,
                 kafka: KafkaSettings, app_id: str):  # fmt: skip
        self.consumer = consumer
        self.batches = batches
        self.writers = writers
        self.kafka = kafka
        self.app_id = app_id
        self.legacy: dict[str, dict[TopicPartition, int]] = {}  # table -> its old group's commits

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self.writers.lock:
            for table, batch in self.batches.take_all():
                await self.writers.flush(self.consumer, table, batch)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        tps = sorted(assigned)
        committed = await asyncio.gather(*(self.consumer.committed(tp) for tp in tps))
        for tp, done in zip(tps, committed, strict=True):
            if done is not None:
                continue
            offset = (await self._legacy(self.batches.tables[tp.topic])).get(tp)
            if offset is not None and offset >= 0:
                self.consumer.seek(tp, offset)
                log.info("sink_offset_from_legacy_group", topic=tp.topic,
                         partition=tp.partition, offset=offset)  # fmt: skip

    async def _legacy(self, table: str) -> dict[TopicPartition, int]:
        if table not in self.legacy:
            admin = AIOKafkaAdminClient(**client_options(self.kafka, client="sink"))
            await admin.start()
            try:
                found = await admin.list_consumer_group_offsets(legacy_group_id(self.app_id, table))
            except KafkaError as exc:  # no such group, or a broker without the API: from the start
                log.info("sink_no_legacy_offsets", table=table, error=str(exc)[:200])
                found = {}
            finally:
                await admin.close()
            self.legacy[table] = {tp: meta.offset for tp, meta in found.items()}
        return self.legacy[table]


async def run_sinks(
    tables: Mapping[str, str],
    settings: PipelineSettings,
    kafka: KafkaSettings,
    clickhouse: ClickHouseSettings,
) -> None:
    """Write each topic of ``tables`` (table name -> topic) to its table until cancelled."""
    batches = Batches({topic: table for table, topic in tables.items()},
                      settings.sink_batch, settings.sink_within_s)  # fmt: skip
    consumer = AIOKafkaConsumer(
        **client_options(kafka, client="sink"),
        group_id=group_id(settings.app_id),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=settings.sink_batch,
        session_timeout_ms=int(kafka.session_timeout_s * 1000),
        heartbeat_interval_ms=int(kafka.heartbeat_interval_s * 1000),
        **kafka_compat.consumer_options(kafka.fetch_max_wait_ms),
    )
    writers = _Writers(tables, clickhouse)
    consumer.subscribe(
        list(tables.values()),
        listener=_Rebalance(consumer, batches, writers, kafka, settings.app_id),
    )
    await consumer.start()
    log.info("sink_started", tables=sorted(tables), topics=sorted(tables.values()))
    try:
        while True:
            wait_s = batches.wait_s(time.monotonic())
            fetched = await consumer.getmany(
                timeout_ms=int(max(wait_s, 0.05) * 1000), max_records=batches.room()
            )
            now = time.monotonic()
            for tp, messages in fetched.items():
                batches.add(tp.topic, tp.partition, ((m.offset, m.value) for m in messages), now)
            async with writers.lock:
                for table in batches.due(now):
                    await writers.flush(consumer, table, batches.take(table))
    finally:
        await consumer.stop()
        writers.close()

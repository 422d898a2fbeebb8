"""Sink agents: one per ClickHouse table, each reading its Kafka topic in batches (by size and
time, ``stream.take_events``) and acknowledging them only after the insert returned."""

from __future__ import annotations

import time

import faust

from stream import metrics
from stream.config import ClickHouseSettings, PipelineSettings
from stream.pipeline_topics import Topics
from stream.sink import TABLES, ClickHouseSink


def register(
    app: faust.App, topics: Topics, settings: PipelineSettings, clickhouse: ClickHouseSettings
) -> None:
    sources = {
        "events": topics.scored,
        "sentiment_windows": topics.windows,
        "deadletter": topics.deadletter,
        "late_events": topics.late,
    }
    for table_name, topic in sources.items():
        _sink(app, topic, table_name, settings, clickhouse)


def _sink(
    app: faust.App,
    topic: faust.TopicT,
    table_name: str,
    settings: PipelineSettings,
    clickhouse: ClickHouseSettings,
) -> None:
    table = TABLES[table_name]

    async def sink(stream: faust.StreamT[bytes]) -> None:
        writer = ClickHouseSink(clickhouse, table)
        try:
            async for values in stream.take(settings.sink_batch, settings.sink_within_s):
                started = time.perf_counter()
                rows = writer.rows(values)
                await writer.write(rows)
                if table_name == "events":
                    now = time.time()
                    for row in rows:
                        metrics.LAG_SECONDS.observe(now - row[3].timestamp())
                metrics.BATCH_SECONDS.labels(f"sink_{table_name}").observe(
                    time.perf_counter() - started
                )
        finally:
            writer.close()

    app.agent(topic, name=f"sink-{table_name}")(sink)

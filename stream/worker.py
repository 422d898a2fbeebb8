"""The worker: one faust app with every agent of the pipeline. Start it with ``finpulse worker``;
several workers in one group share the partitions and give the same results as one."""

from __future__ import annotations

import asyncio
from pathlib import Path

import faust

from stream import allocator, metrics
from stream.alerts import agent as alert_agent
from stream.clickhouse import sink_agents as sink_consumers
from stream.config import Settings
from stream.delivery import runner as delivery_agent
from stream.ingest import agent as ingest_agent
from stream.kafka import table_store
from stream.kafka.app import create_app
from stream.kafka.topics import Topics, declare
from stream.scoring import agent as score_agent
from stream.windows import agent as window_agent


def build(settings: Settings, *, datadir: Path | None = None) -> tuple[faust.App, Topics]:
    p = settings.pipeline
    on_disk = p.table_store == "rocksdb"
    budget = table_store.MemoryBudget.of(p.table_memory_mb * 2**20) if on_disk else None
    if budget is not None:
        metrics.TABLE_MEMORY.set_function(budget.usage)
    app = create_app(
        p.app_id,
        settings.kafka,
        datadir=str(datadir or p.datadir),
        store=f"{table_store.SCHEME if on_disk else 'memory'}://",
        table_standby_replicas=p.standby_replicas,
        topic_partitions=p.partitions,
        topic_replication_factor=1,
        web_enabled=False,
        # At-least-once with idempotent sinks; commit often so a restart re-reads little.
        broker_commit_every=1_000,
        broker_commit_interval=1.0,
    )
    topics = declare(
        app, p, settings.alerts.topic, settings.delivery.topic, settings.delivery.deadletter_topic
    )
    ingest_agent.register(app, topics, p)
    progress = score_agent.register(app, topics, p, settings.triton)
    window_agent.register(app, topics, p, progress.wall, budget=budget)
    if settings.alerts.enabled:
        alert_agent.register(
            app, topics.windows, topics.alerts, p, settings.alerts,
            horizon_s=p.allowed_lateness_s,  # amendments come this long after a window closed
            budget=budget,
        )  # fmt: skip
    if settings.delivery.enabled:

        @app.task  # type: ignore[untyped-decorator]
        async def deliveries() -> None:
            await delivery_agent.run(
                settings,
                topics.alerts.get_topic_name(),
                topics.deliveries.get_topic_name(),
                topics.alerts_deadletter.get_topic_name(),
            )

    if p.malloc_trim_s > 0:

        @app.timer(p.malloc_trim_s)  # type: ignore[untyped-decorator]
        async def trim_heap() -> None:
            await asyncio.to_thread(allocator.trim)  # it walks every arena: off the loop

    sink_consumers.register(app, topics, p, settings.kafka, settings.clickhouse)
    return app, topics

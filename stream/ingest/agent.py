"""Ingest: raw posts -> validated, normalised, enriched events (or the dead-letter topic).

Nothing here stops on bad input: each rejected record goes to ``deadletter`` with its position
and reason, and the stream goes on.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import faust
from faust.types import TP

from stream import metrics
from stream.config import PipelineSettings
from stream.ingest.enrich import EnrichOptions, enrich
from stream.ingest.pii import Redaction
from stream.ingest.progress import SourceProgress
from stream.ingest.topic_extraction import DEFAULT_DICTIONARY, TopicExtractor, load_dictionary
from stream.ingest.validation import Invalid, Limits, excerpt, parse_post
from stream.kafka.produce import Outgoing, send_batches
from stream.kafka.topics import Topics
from stream.logs import get_logger
from stream.records import Mark, Rejection
from stream.watermarks import MarkPacer, stage_watermark

log = get_logger(__name__)


def register(app: faust.App, topics: Topics, settings: PipelineSettings) -> None:
    limits = Limits(max_text_bytes=settings.max_text_bytes, max_future_s=settings.max_future_s)
    extractor = TopicExtractor(load_dictionary(settings.topics_file or DEFAULT_DICTIONARY))
    options = EnrichOptions(
        redaction=Redaction(
            emails=settings.redact_emails,
            phones=settings.redact_phones,
            ids=settings.redact_ids,
            cards=settings.redact_cards,
        ),
        redact_all_sources=settings.redact_sources == "all",
        default_language=settings.default_language,
    )
    redact_social = settings.redact_sources in ("social", "all")
    progress = SourceProgress(settings.idle_close_s, settings.max_clock_ahead_s)
    sender = uuid.uuid4().hex[:12]
    pacer = MarkPacer(settings.mark_interval_s, settings.lateness_s)
    raw_topics = {settings.news_topic, settings.social_topic}
    enriched_topic = topics.enriched.get_topic_name()
    deadletter_topic = topics.deadletter.get_topic_name()

    @app.agent(topics.raw, name="ingest")
    async def ingest(stream: Any) -> None:  # faust.Stream: StreamT lacks take_events
        async for events in stream.take_events(settings.score_batch * 4, settings.score_within_s):
            started = time.perf_counter()
            valid: list[Outgoing] = []
            rejected: list[Outgoing] = []
            read: list[tuple[str, int, float, float]] = []  # partition, offset, event time, now
            for event in events:
                message = event.message
                now = time.time()
                name = f"{message.topic}/{message.partition}"
                try:
                    post = parse_post(event.value, now=now, limits=limits)
                except Invalid as exc:
                    rejection = Rejection(
                        source_topic=message.topic,
                        kafka_partition=message.partition,
                        kafka_offset=message.offset,
                        received_at=now,
                        reason_code=exc.code,
                        reason=exc.reason,
                        raw=excerpt(event.value),
                        raw_size=len(event.value or b""),
                    )
                    key = f"{message.topic}/{message.partition}/{message.offset}".encode()
                    rejected.append((key, rejection.to_json(), None))
                    metrics.DEADLETTER.labels(exc.code).inc()
                    read.append((name, message.offset, 0.0, now))
                    log.info(
                        "deadletter", topic=message.topic, partition=message.partition,
                        offset=message.offset, reason_code=exc.code, reason=exc.reason[:200],
                    )  # fmt: skip
                    continue
                enriched = enrich(
                    post,
                    source_topic=message.topic,
                    partition=message.partition,
                    offset=message.offset,
                    now=now,
                    social=redact_social and message.topic == settings.social_topic,
                    extractor=extractor,
                    options=options,
                )
                valid.append((str(enriched.content_hash).encode(), enriched.to_json(), None))
                read.append((name, message.offset, post.published_at, now))
            # One record batch per partition; progress after, so that a mark (sent by the task
            # below at any await) covers only records queued before it.
            await send_batches(app, enriched_topic, valid)
            await send_batches(app, deadletter_topic, rejected)
            for name, offset, event_s, now in read:
                progress.read(name, offset, event_s, now)
            for outcome, sent in (("valid", valid), ("invalid", rejected)):
                if sent:
                    metrics.RECORDS.labels("ingest", outcome).inc(len(sent))
            now_s = time.time()
            if pacer.due(stage_watermark(progress.marks(now_s)), now_s):
                await send_marks()
            metrics.BATCH_SECONDS.labels("ingest").observe(time.perf_counter() - started)

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def assigned(app: Any, assigned: set[TP], **kwargs: Any) -> None:
        names = {f"{tp.topic}/{tp.partition}" for tp in assigned if tp.topic in raw_topics}
        progress.assigned(names, time.time())

    @app.task  # type: ignore[untyped-decorator]
    async def marks() -> None:
        # Every mark_interval_s (and after a batch that lets windows close, see MarkPacer), to
        # every partition of text.enriched, after the records it covers (the same producer, so
        # the same order on each partition).
        while True:
            await asyncio.sleep(max(0.0, pacer.sent_s + pacer.interval_s - time.time()))
            if pacer.due(None, time.time()):
                await send_marks()

    async def send_marks() -> None:
        consumer = app.consumer
        for name in list(progress.partitions):
            topic, _, number = name.rpartition("/")
            tp = TP(topic, int(number))
            highwater: int | None = None
            position: int | None = None
            try:
                highwater = consumer.highwater(tp)
                position = await consumer.position(tp)
            except Exception:  # mid-rebalance: the next round sees the new assignment
                pass
            progress.observe(name, highwater, position)
        for topic in raw_topics:
            count = consumer.topic_partitions(topic)
            if count:
                progress.totals[topic] = count
        now = time.time()
        view = progress.marks(now)
        for name, (event_s, idle) in view.items():
            metrics.SOURCE_LAG.labels(name).set(now - event_s if event_s else 0.0)
            metrics.SOURCE_IDLE.labels(name).set(int(idle))
        pacer.sent(stage_watermark(view), now)
        value = Mark(
            stage="ingest",
            sender=sender,
            partitions={name: [t, idle] for name, (t, idle) in view.items()},
            totals=dict(progress.totals),
        ).to_json()
        for partition in range(topics.partitions):
            await topics.enriched.send(partition=partition, value=value)

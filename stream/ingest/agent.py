"""Ingest: raw posts -> validated, normalised, enriched events (or the dead-letter topic).

Nothing here stops on bad input: each rejected record goes to ``deadletter`` with its position
and reason, and the stream goes on.
"""

from __future__ import annotations

import time
from typing import Any

import faust

from stream import metrics
from stream.config import PipelineSettings
from stream.ingest.enrich import EnrichOptions, enrich
from stream.ingest.pii import Redaction
from stream.ingest.topic_extraction import DEFAULT_DICTIONARY, TopicExtractor, load_dictionary
from stream.ingest.validation import Invalid, Limits, excerpt, parse_post
from stream.kafka.topics import Topics
from stream.logs import get_logger
from stream.records import Rejection

log = get_logger(__name__)


def register(app: faust.App, topics: Topics, settings: PipelineSettings) -> None:
    limits = Limits(max_text_bytes=settings.max_text_bytes, max_future_s=settings.max_future_s)
    extractor = TopicExtractor(load_dictionary(settings.topics_file or DEFAULT_DICTIONARY))
    options = EnrichOptions(
        redaction=Redaction(emails=settings.redact_emails, phones=settings.redact_phones),
        redact_all_sources=settings.redact_sources == "all",
        default_language=settings.default_language,
    )
    redact_social = settings.redact_sources in ("social", "all")

    @app.agent(topics.raw, name="ingest")
    async def ingest(stream: Any) -> None:  # faust.Stream: StreamT lacks take_events
        async for events in stream.take_events(settings.score_batch * 4, settings.score_within_s):
            started = time.perf_counter()
            for event in events:
                message = event.message
                now = time.time()
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
                    await topics.deadletter.send(
                        key=f"{message.topic}/{message.partition}/{message.offset}".encode(),
                        value=rejection.to_json(),
                    )
                    metrics.DEADLETTER.labels(exc.code).inc()
                    metrics.RECORDS.labels("ingest", "invalid").inc()
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
                await topics.enriched.send(
                    key=str(enriched.content_hash).encode(), value=enriched.to_json()
                )
                metrics.RECORDS.labels("ingest", "valid").inc()
            metrics.BATCH_SECONDS.labels("ingest").observe(time.perf_counter() - started)

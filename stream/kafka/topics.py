"""The Kafka topics of the pipeline, declared on a faust app, and how keys map to partitions."""

from __future__ import annotations

from dataclasses import dataclass

import faust
from aiokafka.partitioner import murmur2

from stream.config import PipelineSettings

ENRICHED = "text.enriched"  # valid, enriched texts, keyed by content hash (repeats meet here)
SCORED = "text.scored"  # one per kept text, scored or marked unscored, keyed by event id
CONTRIBUTIONS = "sentiment.contributions"  # per-topic batches (keyed by topic) and timer ticks
WINDOWS = "sentiment.windows"  # window states, keyed by topic
LATE = "sentiment.late"  # texts that came after their window closed
ALERTS = "alerts"  # rule findings on closed windows (name configurable: alerts.topic)
DELIVERIES = "deliveries"  # every attempt to deliver an alert (delivery.topic)
ALERTS_DEADLETTER = "alerts.deadletter"  # alerts whose last delivery attempt failed


@dataclass(frozen=True)
class Topics:
    raw: faust.TopicT
    deadletter: faust.TopicT
    enriched: faust.TopicT
    scored: faust.TopicT
    contributions: faust.TopicT
    windows: faust.TopicT
    late: faust.TopicT
    alerts: faust.TopicT
    deliveries: faust.TopicT
    alerts_deadletter: faust.TopicT
    partitions: int


def declare(
    app: faust.App,
    settings: PipelineSettings,
    alerts_topic: str = ALERTS,
    deliveries_topic: str = DELIVERIES,
    alerts_deadletter_topic: str = ALERTS_DEADLETTER,
) -> Topics:
    """All topics carry bytes: the records encode themselves (stream/records.py). They are created
    with ``settings.partitions`` partitions when missing."""

    def topic(*names: str) -> faust.TopicT:
        return app.topic(
            *names,
            partitions=settings.partitions,
            key_serializer="raw",
            value_serializer="raw",
            internal=True,
        )

    return Topics(
        raw=topic(settings.news_topic, settings.social_topic),
        deadletter=topic(settings.deadletter_topic),
        enriched=topic(settings.topic_prefix + ENRICHED),
        scored=topic(settings.topic_prefix + SCORED),
        contributions=topic(settings.topic_prefix + CONTRIBUTIONS),
        windows=topic(settings.topic_prefix + WINDOWS),
        late=topic(settings.topic_prefix + LATE),
        alerts=topic(settings.topic_prefix + alerts_topic),
        deliveries=topic(settings.topic_prefix + deliveries_topic),
        alerts_deadletter=topic(settings.topic_prefix + alerts_deadletter_topic),
        partitions=settings.partitions,
    )


def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2) gives a key: the same in Java, librdkafka
    (consistent_random) and aiokafka, so a topic's records and its state meet on one worker."""
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % partitions

"""Event time under real producers: records produced keyless by librdkafka (confluent-kafka, its
sticky partitioner puts runs of consecutive records on one partition), back-fills read at full
speed. The window counts are computed here from the records, not from anything the pipeline wrote.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, datetime

from confluent_kafka import Producer

from tests.integration.kafka_admin import create_topic
from tests.integration.test_pipeline import (
    SENTENCES,
    Item,
    Pipeline,
    expected_windows,
    pipeline,  # noqa: F401  (the fixture)
    wait_for_windows,
)

TICKERS = ("ZQA", "ZQB", "ZQC")


def librdkafka_produce(bootstrap: str, items: list[Item]) -> None:
    """Keyless, with librdkafka's own (sticky) partitioner and batching."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all"})
    for item in items:
        while True:
            try:
                producer.produce(item.topic, item.value)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    assert producer.flush(60) == 0


def backfill(topic: str, start: float, duration_s: float, n: int, seed: int) -> list[Item]:
    """``n`` posts spread over ``duration_s`` from ``start``, in time order, as a feed sends
    its history."""
    rng = random.Random(seed)
    items = []
    for i in range(n):
        ts = start + i * duration_s / n + rng.uniform(0, 0.5)
        record = {
            "id": f"{seed}-{i}",
            "source": "newswire",
            "lang": "en",
            "published_at": datetime.fromtimestamp(ts, UTC).isoformat(),
            "text": f"${rng.choice(TICKERS)} {rng.choice(SENTENCES)} ({i})",
        }
        items.append(Item(0.0, topic, None, json.dumps(record).encode(), "valid"))
    return items


def check_exact(p: Pipeline, items: list[Item]) -> None:
    expected = expected_windows(items, 60, 60)
    got = wait_for_windows(p, expected, 60, timeout_s=300)
    got = {k: v for k, v in got.items() if k[0] in TICKERS}
    assert got == expected, f"{sorted(set(got.items()) ^ set(expected.items()))}\n{p.log_tail()}"
    [(late,)] = p.query("SELECT count() FROM late_events FINAL")
    assert late == 0, f"{late} texts recorded late"


def test_a_backfill_of_ten_minutes_produced_keyless_gives_exact_windows(
    pipeline: Pipeline,  # noqa: F811  (the fixture, imported)
) -> None:
    p = pipeline
    bootstrap = p.settings.kafka.bootstrap
    for topic in p.topics:
        asyncio.run(create_topic(bootstrap, topic, 4))
    start = (time.time() // 60 - 11) * 60
    items = backfill(p.topics[0], start, 600, 600, seed=11)
    librdkafka_produce(bootstrap, items)  # all of it before the worker starts: read at once
    p.start_worker("w1")
    check_exact(p, items)

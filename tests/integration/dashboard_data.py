"""Windows, texts, alerts and deliveries written straight into a test database through the
project's own table declarations (stream/clickhouse/tables.py), as the sinks write them."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from stream.clickhouse.tables import ALERTS, DELIVERIES, EVENTS, SENTIMENT_WINDOWS, Table
from stream.records import Alert, Delivery, Event, WindowRecord

TOPICS = ("ZQA", "ZQB", "theme:earnings")
LENGTHS = ((60, 60), (900, 60), (3600, 300))  # (seconds, hop)
TEXTS = (
    ("The company filed for bankruptcy after sales collapsed.", "negative", -0.9),
    ("Shares jumped after the company raised its full-year guidance.", "positive", 0.8),
    ("The annual general meeting will be held on Thursday.", "neutral", 0.0),
    ("公司股价大幅下跌、投资者担忧业绩下滑。", "negative", -0.7),
)


def insert(client: Any, table: Table, records: Sequence[Any]) -> None:
    version = time.time_ns()
    client.execute(table.insert_sql(), [table.row(r, version) for r in records])


def window(topic: str, start: float, seconds: int, n: int, negative: int) -> WindowRecord:
    positive = (n - negative) // 2
    score_sum = positive * 0.8 - negative * 0.9
    return WindowRecord(
        topic=topic, window_start=start, window_seconds=seconds, n=n, n_negative=negative,
        n_neutral=n - negative - positive, n_positive=positive, score_sum=score_sum,
        score_mean=score_sum / n, reach_sum=0.0, reach_weighted_score=0.0,
        negative_share=negative / n, final=True, emitted_at=start + seconds + 10,
    )  # fmt: skip


def windows(end: float, minutes: int = 120) -> list[WindowRecord]:
    """Every topic's windows over the ``minutes`` before ``end`` (a minute boundary)."""
    out = []
    for k, topic in enumerate(TOPICS):
        for seconds, hop in LENGTHS:
            start = end - minutes * 60
            while start + seconds <= end:
                per_minute = 6 + k
                n = per_minute * seconds // 60
                wave = 0.25 + 0.1 * math.sin(start / 900 + k)
                out.append(window(topic, start, seconds, n, round(n * wave)))
                start += hop
    return out


def events(topic: str, start: float, seconds: int) -> list[Event]:
    out = []
    for i, (text, label, score) in enumerate(TEXTS):
        out.append(Event(
            event_id=f"newswire:{topic}-{int(start)}-{i}", source="newswire",
            source_topic="news.raw",
            kafka_partition=0, kafka_offset=i, published_at=start + 5 + i * seconds / 8,
            ingested_at=start + 6 + i, lang="zh" if i == 3 else "en", lang_detected=False,
            title="", text=text, url="", author="", reach=0.0, tickers=[], topics=[topic],
            content_hash=i, scored=True, label=label, score=score, model="test",
        ))  # fmt: skip
    return out


def alert(topic: str, window_start: float, kind: str = "alert", **evidence: Any) -> Alert:
    return Alert(
        alert_id=f"{topic}-negative_surge-{kind}-{int(window_start)}", topic=topic,
        rule="negative_surge", kind=kind, severity="warning", window_start=window_start,
        window_seconds=900, value=0.8, baseline=0.25, threshold=0.4, z=4.2,
        created_at=time.time(), evidence={"n": 90, "most_negative": ["x"], **evidence},
    )  # fmt: skip


def delivery(a: Alert, subscription: str, outcome: str = "delivered") -> Delivery:
    return Delivery(
        delivery_id=f"{a.alert_id}-{subscription}", alert_id=a.alert_id,
        subscription_id=subscription, channel="webhook", target="http://127.0.0.1:1/",
        attempt=1, outcome=outcome, status_code=200, error="", duration_ms=3.0,
        attempted_at=time.time(), next_attempt_at=0.0,
    )  # fmt: skip


def seed(client: Any, end: float) -> Alert:
    """Two hours of windows for every topic, texts behind ZQA's last 15 minutes, and one ZQA
    alert delivered to one subscriber; returns the alert."""
    insert(client, SENTIMENT_WINDOWS, windows(end))
    insert(client, EVENTS, events("ZQA", end - 900, 900))
    first = alert("ZQA", end - 1800)
    insert(client, ALERTS, [first])
    insert(client, DELIVERIES, [delivery(first, "sub-desk-1")])
    return first

"""Event time under real producers: records produced keyless by librdkafka (confluent-kafka, its
sticky partitioner puts runs of consecutive records on one partition), back-fills read at full
speed. The window counts are computed here from the records, not from anything the pipeline wrote.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Producer

from tests.integration.helpers import FINPULSE, ROOT, run
from tests.integration.kafka_admin import create_topic
from tests.integration.test_pipeline import (
    CALM,
    GRIM,
    SENTENCES,
    Item,
    Pipeline,
    expected_windows,
    pipeline,  # noqa: F401  (the fixture)
    wait_for_windows,
)

TICKERS = ("ZQA", "ZQB", "ZQC")


def librdkafka_produce(bootstrap: str, items: list[Item], *, rate: float = 0.0) -> None:
    """Keyless, with librdkafka's own (sticky) partitioner and batching; ``rate`` records a
    second (0: all at once)."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all"})
    started = time.monotonic()
    for i, item in enumerate(items):
        if rate:
            time.sleep(max(0.0, i / rate - (time.monotonic() - started)))
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


def check_exact(p: Pipeline, items: list[Item], timeout_s: float = 300) -> None:
    """The stored final one-minute windows converge to the counts computed from the input (an
    amended window may show a partial count before its last amendment)."""
    expected = expected_windows(items, 60, 60)
    deadline = time.monotonic() + timeout_s
    while True:
        got = wait_for_windows(p, expected, 60, timeout_s=timeout_s)
        got = {k: v for k, v in got.items() if k[0] in TICKERS}
        if got == expected or time.monotonic() > deadline:
            break
        time.sleep(2)
    [(late,)] = p.query("SELECT count() FROM late_events FINAL")
    if got != expected:
        # Which stage lost texts: the events table holds every scored text once.
        tickers = ", ".join(f"'{t}'" for t in TICKERS)
        rows = p.query(
            "SELECT topic, intDiv(toUInt32(published_at), 60) * 60 AS start, count() "
            f"FROM events FINAL ARRAY JOIN topics AS topic WHERE topic IN ({tickers}) "
            "GROUP BY topic, start"
        )
        stored = {(topic, start): n for topic, start, n in rows}
        lines = [
            f"{key}: input {n}, events {stored.get(key, 0)}, windows {got.get(key, 0)}"
            for key, n in sorted(expected.items())
            if got.get(key) != n
        ]
        states = p.query(
            "SELECT topic, toUInt32(window_start), final, n, amendments, toString(emitted_at) "
            "FROM sentiment_windows WHERE window_seconds = 60 ORDER BY topic, window_start, version"
        )
        lines += [f"late_events: {late}", *(str(r) for r in states)]
        raise AssertionError("\n".join(lines) + f"\n{p.log_tail()}")
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


def surge(topic: str, start: float) -> list[Item]:
    """16 minutes of ZQA and ZQB at the same calm mix; ZQA turns grim in minutes 10 to 12."""
    items = []
    for minute in range(16):
        for ticker in ("ZQA", "ZQB"):
            grim = ticker == "ZQA" and 10 <= minute < 13
            for k, text in enumerate([GRIM] * len(CALM) if grim else CALM):
                record = {
                    "id": f"{ticker}-{minute}-{k}",
                    "source": "newswire",
                    "lang": "en",
                    "published_at": datetime.fromtimestamp(
                        start + minute * 60 + 5 + k * 7, UTC
                    ).isoformat(),
                    "text": f"${ticker} {text}",
                }
                items.append(Item(0.0, topic, None, json.dumps(record).encode(), "valid"))
    return items


WINDOWS_SQL = (
    "SELECT topic, toUInt32(window_start), window_seconds, n, n_negative, n_neutral, n_positive "
    "FROM sentiment_windows FINAL WHERE final = 1 AND topic IN ('ZQA', 'ZQB') ORDER BY 1, 3, 2"
)
ALERTS_SQL = (
    "SELECT topic, rule, kind, toUInt32(window_start) FROM alerts FINAL "
    "WHERE topic IN ('ZQA', 'ZQB') ORDER BY 4, 1, 2, 3"
)


def test_a_backtest_gives_the_windows_and_alerts_of_the_live_run(
    pipeline: Pipeline,  # noqa: F811  (the fixture, imported)
    tmp_path: Path,
) -> None:
    p = pipeline
    p.env.update(
        {
            "FINPULSE_ALERTS_WINDOW_SECONDS": "60",
            "FINPULSE_ALERTS_WARMUP": "5",
            "FINPULSE_ALERTS_MIN_COUNT": "5",
            "FINPULSE_DELIVERY_ENABLED": "false",
        }
    )
    bootstrap = p.settings.kafka.bootstrap
    for topic in p.topics:
        asyncio.run(create_topic(bootstrap, topic, 4))
    items = surge(p.topics[0], (time.time() // 60 - 20) * 60)
    p.start_worker("w1")
    librdkafka_produce(bootstrap, items)
    expected = expected_windows(items, 60, 60)
    got = wait_for_windows(p, expected, 60, timeout_s=300)
    assert {k: v for k, v in got.items() if k[0] in ("ZQA", "ZQB")} == expected, p.log_tail()
    deadline = time.monotonic() + 120
    while not any(r[1:3] == ("negative_surge", "resolution") for r in p.query(ALERTS_SQL)):
        assert time.monotonic() < deadline, f"{p.query(ALERTS_SQL)}\n{p.log_tail()}"
        time.sleep(2)
    time.sleep(10)  # the last windows and their judgement
    live_windows, live_alerts = p.query(WINDOWS_SQL), p.query(ALERTS_SQL)
    surges = [r for r in live_alerts if r[1] == "negative_surge"]
    assert [r[0] for r in surges] == ["ZQA", "ZQA"], live_alerts  # an alert and its resolution
    assert not [r for r in live_alerts if r[0] == "ZQB"], live_alerts

    history = tmp_path / "history.jsonl"
    history.write_bytes(b"\n".join(item.value for item in items) + b"\n")
    out = run([*FINPULSE, "backtest", str(history), "--run", "bt1", "--json"], p.env, timeout=600)
    report = json.loads(out.stdout)
    database = report["database"]
    try:
        backtest = replace(p, database=database)
        assert backtest.query(WINDOWS_SQL) == live_windows
        assert backtest.query(ALERTS_SQL) == live_alerts
        assert {(a["topic"], a["rule"], a["kind"], a["window_start"]) for a in report["alerts"]} \
            == set(live_alerts)  # fmt: skip
    finally:
        p.query(f"DROP DATABASE IF EXISTS {database}")


def test_a_feed_reconnecting_with_its_backlog_amends_the_closed_windows_exactly(
    pipeline: Pipeline,  # noqa: F811  (the fixture, imported)
) -> None:
    """A live feed, a quiet spell (every source idle: the windows close by wall time), then a
    second feed delivering its last minutes after an outage: its windows, already closed, are
    amended to the exact counts, and no text is recorded late."""
    p = pipeline
    bootstrap = p.settings.kafka.bootstrap
    for topic in p.topics:
        asyncio.run(create_topic(bootstrap, topic, 4))
    p.start_worker("w1")
    now = time.time()
    live = backfill(p.topics[0], now, 30, 90, seed=21)  # dated as they are sent
    librdkafka_produce(bootstrap, live, rate=3.0)
    time.sleep(25)  # quiet: every source idle (idle_close_s 8), the windows close by wall time
    start = (now // 60 - 9) * 60
    backlog = backfill(p.topics[1], start, 360, 240, seed=22)  # 9 to 3 minutes ago
    librdkafka_produce(bootstrap, backlog)
    check_exact(p, live + backlog)
    [(amended,)] = p.query(
        "SELECT count() FROM sentiment_windows FINAL WHERE final = 1 AND window_seconds = 60 "
        f"AND amendments > 0 AND window_start < {int(start) + 360}"
    )
    assert amended > 0, "the backlog's windows had closed before it came: they are amended"


def test_a_clickhouse_outage_and_a_killed_worker_count_every_text_once(
    pipeline: Pipeline,  # noqa: F811  (the fixture, imported)
) -> None:
    """A back-fill through a ClickHouse killed for 20 s and a worker SIGKILLed mid-stream: every
    post is stored once, and the windows equal the counts from the input."""
    p = pipeline
    bootstrap = p.settings.kafka.bootstrap
    for topic in p.topics:
        asyncio.run(create_topic(bootstrap, topic, 4))
    items = backfill(p.topics[0], (time.time() // 60 - 11) * 60, 600, 500, seed=31)
    p.start_worker("w1")
    librdkafka_produce(bootstrap, items[:250])
    time.sleep(3)
    stack = Path(os.environ["FINPULSE_STACK_DIR"])
    os.kill(int((stack / "clickhouse.pid").read_text()), signal.SIGKILL)
    try:
        librdkafka_produce(bootstrap, items[250:])
        time.sleep(5)
        p.workers[0].send_signal(signal.SIGKILL)
        p.workers[0].wait(10)
        p.start_worker("w2")
        time.sleep(12)
    finally:
        run([str(ROOT / "ops" / "stack"), "up", "clickhouse"], p.env, timeout=120)
    check_exact(p, items)
    [(rows, ids)] = p.query("SELECT count(), uniqExact(event_id) FROM events FINAL")
    assert rows == ids == len(items)

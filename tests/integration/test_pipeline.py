"""End to end: raw records on Kafka -> workers -> ClickHouse, against the real broker, ClickHouse
and a Triton serving a freshly trained model.

The stream is built here, and the window counts it must give are computed here from the records
themselves (distinct (source, id) per planted cashtag and minute), not from anything the pipeline
wrote. Workers run as `finpulse worker` processes; one test kills a worker with SIGKILL in the
middle of the stream and starts another.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from stream.clickhouse import client as clickhouse
from stream.config import Settings
from tests.integration.helpers import FINPULSE, ROOT, Served, query, run
from tests.integration.kafka_admin import create_topic
from tests.integration.webhook_receiver import Receiver

TICKERS = ("ZQA", "ZQB", "ZQC", "ZQD")
SENTENCES = (
    "Operating profit rose to EUR 13.1 mn from EUR 8.7 mn in the corresponding period.",
    "The company filed for bankruptcy after sales collapsed.",
    "The annual general meeting will be held on Thursday.",
    "Net sales decreased by 30 % and the outlook was cut.",
    "Shares jumped after the company raised its full-year guidance.",
    "The board proposes a dividend of EUR 0.50 per share.",
)
MALFORMED = (
    b"{not json",
    b'{"id": "caf\xe9"}',
    b'{"id": "m1", "source": "x", "text": "no time"}',
    b'{"id": "m2", "source": "x", "published_at": "yesterday", "text": "t"}',
    b'{"id": "m3", "source": "x", "published_at": "2191-01-01T00:00:00Z", "text": "t"}',
    b'{"id": 4, "source": "x", "published_at": "2026-01-01T00:00:00Z", "text": "t"}',
    b"[]",
    b"",
)


@dataclass(frozen=True)
class Item:
    at_s: float
    topic: str
    key: bytes | None
    value: bytes
    kind: str  # valid | near | repeat | malformed


def build_stream(topics: tuple[str, str], start: float, duration_s: float, seed: int) -> list[Item]:
    rng = random.Random(seed)
    items: list[Item] = []
    valid: list[Item] = []
    n = int(duration_s * 8)
    for i in range(n):
        at = i * duration_s / n
        draw = rng.random()
        if valid and draw < 0.05:
            items.append(replace(rng.choice(valid), at_s=at, kind="repeat"))
            continue
        if draw < 0.08:
            items.append(Item(at, rng.choice(topics), None, rng.choice(MALFORMED), "malformed"))
            continue
        source = rng.choice(("newswire", "finpost", "x", "stocktwits"))
        ticker = rng.choice(TICKERS)
        text, lang = f"${ticker} {rng.choice(SENTENCES)} ({i})", "en"
        kind = "valid"
        if valid and draw < 0.12:  # the same story from another feed
            story = json.loads(rng.choice(valid).value)
            text, lang, kind = story["text"], story["lang"], "near"
        elif draw < 0.15:  # a language the model does not cover: kept, not scored, not counted
            text, lang = f"${ticker} Der Gewinn stieg im dritten Quartal um 40 Prozent ({i})", "de"
        record = {
            "id": f"{seed}-{i}",
            "source": source,
            "published_at": datetime.fromtimestamp(
                start + at - rng.uniform(0, 1.5), UTC
            ).isoformat(),
            "text": text,
            "lang": lang,
            "reach": rng.choice((0, 10, 1000)),
        }
        item = Item(at, topics[source in ("x", "stocktwits")], record["id"].encode(),
                    json.dumps(record).encode(), kind)  # fmt: skip
        items.append(item)
        valid.append(item)
    return items


def expected_windows(items: list[Item], size_s: int, step_s: int) -> dict[tuple[str, int], int]:
    """Distinct (source, id) of English texts per planted ticker and window, from the records."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for item in items:
        if item.kind in ("valid", "near"):
            record = json.loads(item.value)
            if record["lang"] == "en":
                seen[(record["source"], record["id"])] = record
    counts: Counter[tuple[str, int]] = Counter()
    for record in seen.values():
        ts = datetime.fromisoformat(record["published_at"]).timestamp()
        ticker = record["text"].split()[0].lstrip("$")
        start = int(ts // step_s) * step_s
        while start + size_s > ts:
            counts[(ticker, start)] += 1
            start -= step_s
    return dict(counts)


async def produce(
    bootstrap: str, items: list[Item], *, paced: bool = True
) -> list[tuple[str, int, int]]:
    """Send in order at the planned times; returns each record's (topic, partition, offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    positions = []
    started = time.monotonic()
    try:
        for item in items:
            if paced:
                await asyncio.sleep(max(0.0, item.at_s - (time.monotonic() - started)))
            meta = await (await producer.send(item.topic, item.value, key=item.key))
            positions.append((item.topic, meta.partition, meta.offset))
    finally:
        await producer.stop()
    return positions


@dataclass
class Pipeline:
    env: dict[str, str]
    settings: Settings
    database: str
    topics: tuple[str, str]
    deadletter: str
    logs: Path
    workers: list[subprocess.Popen[bytes]]

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        env = {**self.env, "FINPULSE_PIPELINE_DATADIR": str(self.logs / name)}
        worker = subprocess.Popen([*FINPULSE, "worker"], cwd=ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)  # fmt: skip
        self.workers.append(worker)
        return worker

    def query(self, sql: str) -> list[Any]:
        return query(self.settings, self.database, sql)

    def log_tail(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.logs.glob("*.log"))


@contextlib.contextmanager
def open_pipeline(
    settings: Settings, served: Served, unique: str, tmp_path: Path, **extra: str
) -> Iterator[Pipeline]:
    """A database, topics and settings of their own for workers scoring through ``served``;
    ``extra`` settings (environment variables) are added; workers are stopped at the end."""
    env = {
        **os.environ,
        "FINPULSE_TRITON_GRPC": served.grpc,
        "FINPULSE_TRITON_HTTP": served.http,
        "FINPULSE_CLICKHOUSE_DATABASE": unique,
        "FINPULSE_PIPELINE_APP_ID": unique,
        "FINPULSE_PIPELINE_TOPIC_PREFIX": f"{unique}.",
        "FINPULSE_PIPELINE_NEWS_TOPIC": f"{unique}.news.raw",
        "FINPULSE_PIPELINE_SOCIAL_TOPIC": f"{unique}.social.raw",
        "FINPULSE_PIPELINE_DEADLETTER_TOPIC": f"{unique}.deadletter",
        "FINPULSE_PIPELINE_EMIT_INTERVAL_S": "2",
        "FINPULSE_PIPELINE_IDLE_CLOSE_S": "8",
        "FINPULSE_PIPELINE_LATENESS_S": "5",
        "FINPULSE_PIPELINE_WINDOWS": "60/60,120/60",
        "FINPULSE_ALERTS_WINDOW_SECONDS": "120",  # one of the windows (checked at load)
        "FINPULSE_LOG_LEVEL": "INFO",
        **extra,
    }
    run([*FINPULSE, "db", "migrate"], env)
    p = Pipeline(env, settings, unique, (f"{unique}.news.raw", f"{unique}.social.raw"),
                 f"{unique}.deadletter", tmp_path, [])  # fmt: skip
    try:
        yield p
    finally:
        for worker in p.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in p.workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
        cluster = settings.clickhouse.cluster
        on = f" ON CLUSTER {clickhouse.quote_identifier(cluster)}" if cluster else ""
        client = clickhouse.connect(settings.clickhouse, database="default")
        client.execute(f"DROP DATABASE IF EXISTS {clickhouse.quote_identifier(unique)}{on}")
        client.disconnect()


@pytest.fixture
def pipeline(
    settings: Settings, served_model: Served, unique: str, tmp_path: Path
) -> Iterator[Pipeline]:
    with open_pipeline(settings, served_model, unique, tmp_path) as p:
        yield p


def wait_for_windows(p: Pipeline, expected: dict[tuple[str, int], int], size_s: int,
                     timeout_s: float = 240) -> dict[tuple[str, int], int]:  # fmt: skip
    tickers = ", ".join(f"'{t}'" for t in TICKERS)
    got: dict[tuple[str, int], int] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for worker in p.workers[-1:]:  # the one that was killed (if any) is not the last
            assert worker.poll() is None, f"worker exited: {worker.returncode}\n{p.log_tail()}"
        rows = p.query(
            "SELECT topic, toUInt32(window_start), n, n_negative + n_neutral + n_positive "
            f"FROM sentiment_windows FINAL WHERE final = 1 AND window_seconds = {size_s} "
            f"AND topic IN ({tickers})"
        )
        assert all(n == parts for *_, n, parts in rows)
        got = {(topic, start): n for topic, start, n, _ in rows}
        if set(got) >= set(expected):
            break
        time.sleep(2)
    return got


def check_results(p: Pipeline, items: list[Item], positions: list[tuple[str, int, int]]) -> None:
    for size, step in ((60, 60), (120, 60)):
        expected = expected_windows(items, size, step)
        got = wait_for_windows(p, expected, size)
        assert got == expected, f"{size}s windows differ\n{p.log_tail()}"
    records = [json.loads(i.value) for i in items if i.kind in ("valid", "near")]
    kept = {(r["source"], r["id"]): r["lang"] for r in records}
    [(rows, ids, scored, german)] = p.query(
        "SELECT count(), uniqExact(event_id), sum(scored), countIf(lang = 'de' AND scored = 0) "
        "FROM events FINAL"
    )
    assert rows == ids == len(kept)
    assert scored == sum(lang == "en" for lang in kept.values())
    assert german == sum(lang == "de" for lang in kept.values()) > 0
    bad = {pos for pos, item in zip(positions, items, strict=True) if item.kind == "malformed"}
    dead = p.query("SELECT source_topic, kafka_partition, kafka_offset FROM deadletter FINAL")
    assert set(dead) == bad and len(dead) == len(bad)
    [(late,)] = p.query("SELECT count() FROM late_events FINAL")
    assert late == 0


def produce_with_a_kill(p: Pipeline, items: list[Item], cut: int) -> list[tuple[str, int, int]]:
    """``items`` sent to a worker ``w1`` that is SIGKILLed after the first ``cut``, with work in
    flight; a fresh ``w2`` is started and the rest goes on meanwhile. Their positions."""
    p.start_worker("w1")

    async def scenario() -> list[tuple[str, int, int]]:
        first = await produce(p.settings.kafka.bootstrap, items[:cut])
        p.workers[0].send_signal(signal.SIGKILL)
        p.workers[0].wait(10)
        p.start_worker("w2")
        later = [replace(i, at_s=i.at_s - items[cut].at_s) for i in items[cut:]]
        return first + await produce(p.settings.kafka.bootstrap, later)

    return asyncio.run(scenario())


def test_stream_to_clickhouse_exact_counts_with_a_worker_killed_midway(pipeline: Pipeline) -> None:
    items = build_stream(pipeline.topics, time.time(), duration_s=40, seed=1)
    positions = produce_with_a_kill(pipeline, items, len(items) * 2 // 5)
    check_results(pipeline, items, positions)


def test_two_workers_in_one_group_give_the_same_counts(pipeline: Pipeline) -> None:
    p = pipeline
    p.start_worker("w1")
    p.start_worker("w2")
    items = build_stream(p.topics, time.time(), duration_s=40, seed=2)
    positions = asyncio.run(produce(p.settings.kafka.bootstrap, items))
    check_results(p, items, positions)
    assert all(w.poll() is None for w in p.workers), p.log_tail()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _metric(port: int, name: str) -> float | None:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def test_a_triton_outage_holds_the_stream_and_loses_nothing(
    pipeline: Pipeline, served_model: Served
) -> None:
    p = pipeline
    port = _free_port()
    p.env["FINPULSE_PIPELINE_METRICS_PORT"] = str(port)
    p.start_worker("w1")
    items = build_stream(p.topics, time.time(), duration_s=30, seed=3)
    third = len(items) // 3
    stack = [str(ROOT / "ops" / "stack")]

    def rebased(part: list[Item]) -> list[Item]:
        return [replace(i, at_s=i.at_s - part[0].at_s) for i in part]

    async def scenario() -> list[tuple[str, int, int]]:
        bootstrap = p.settings.kafka.bootstrap
        positions = await produce(bootstrap, items[:third])
        run([*stack, "down"], served_model.env, timeout=120)  # Triton goes away mid-stream
        try:
            positions += await produce(bootstrap, rebased(items[third : 2 * third]))
            deadline = time.monotonic() + 60
            while _metric(port, "finpulse_scoring_up") != 0.0:
                assert time.monotonic() < deadline, "the outage never showed in the metrics"
                await asyncio.sleep(0.5)
            assert (_metric(port, "finpulse_scoring_retries_total") or 0) > 0
        finally:
            run([*stack, "up", "triton"], served_model.env, timeout=300)
        positions += await produce(bootstrap, rebased(items[2 * third :]))
        return positions

    positions = asyncio.run(scenario())
    check_results(p, items, positions)
    assert _metric(port, "finpulse_scoring_up") == 1.0


CALM = (
    "Operating profit rose to EUR 13.1 mn from EUR 8.7 mn in the corresponding period.",
    "The annual general meeting will be held on Thursday.",
    "Shares jumped after the company raised its full-year guidance.",
    "The board proposes a dividend of EUR 0.50 per share.",
    "Net sales decreased by 30 % and the outlook was cut.",
    "The company opened a new office in Helsinki.",
)
GRIM = "The company filed for bankruptcy after sales collapsed."


def _subscribe(p: Pipeline, *args: str) -> dict[str, Any]:
    out = run([*FINPULSE, "subscriptions", "add", "--json", *args], p.env).stdout
    return json.loads(out)  # type: ignore[no-any-return]


async def _read_topic(bootstrap: str, topic: str, want: int, timeout_s: float) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest")  # fmt: skip
    await consumer.start()
    values: list[Any] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(values) < want and time.monotonic() < deadline:
            for messages in (await consumer.getmany(timeout_ms=1000)).values():
                values += [json.loads(m.value) for m in messages]
    finally:
        await consumer.stop()
    return values


def test_a_negative_surge_alerts_once_and_reaches_its_subscribers(pipeline: Pipeline) -> None:
    """A back-fill (windows close on event time only): 15 minutes of ZQA and ZQB at the same calm
    mix, then ZQA turns to bankruptcy news for three minutes and calms down again. Exactly one
    surge alert (and its resolution) for ZQA, nothing for ZQB; the alert reaches a webhook that
    checks signatures, a webhook that is down at first (once it is up), a Kafka topic, and the
    dead-letter path for a receiver that always fails; a paused subscription gets nothing."""
    p = pipeline
    p.env.update(
        {
            "FINPULSE_PIPELINE_WALL_CLOCK_CLOSE": "false",
            "FINPULSE_ALERTS_WINDOW_SECONDS": "60",
            "FINPULSE_ALERTS_WARMUP": "5",
            "FINPULSE_ALERTS_MIN_COUNT": "5",
            "FINPULSE_DELIVERY_REFRESH_S": "1",
            "FINPULSE_DELIVERY_MAX_ATTEMPTS": "8",
            "FINPULSE_DELIVERY_BACKOFF_INITIAL_S": "1",
            "FINPULSE_DELIVERY_BACKOFF_MAX_S": "4",
            "FINPULSE_DELIVERY_TIMEOUT_S": "3",
        }
    )
    bootstrap = p.settings.kafka.bootstrap
    desk_topic = f"{p.database}.desk.alerts"
    asyncio.run(create_topic(bootstrap, desk_topic, 1))
    p.start_worker("w1")
    # Subscriptions made while the worker runs: it picks them up without a restart.
    secret = "whsec_" + "s" * 30
    up = Receiver(secret, _free_port()).start()
    late = Receiver(secret, _free_port())  # down until the test sees a failed attempt
    paused = Receiver(secret, _free_port()).start()
    failing = Receiver(secret, _free_port(), status=503).start()
    slow = Receiver(secret, _free_port(), delay_s=30).start()  # never within the 3 s timeout
    subs = {
        "up": _subscribe(p, "--webhook", up.url, "--secret", secret, "-t", "ZQ*",
                         "--rule", "negative_surge"),
        "late": _subscribe(p, "--webhook", late.url, "--secret", secret, "-t", "ZQA"),
        "paused": _subscribe(p, "--webhook", paused.url, "--secret", secret),
        "failing": _subscribe(p, "--webhook", failing.url, "--secret", secret, "-t", "ZQA",
                              "--kind", "alert"),
        "kafka": _subscribe(p, "--kafka-topic", desk_topic, "-t", "ZQA"),
        "slow": _subscribe(p, "--webhook", slow.url, "--secret", secret, "-t", "ZQA"),
    }  # fmt: skip
    run([*FINPULSE, "subscriptions", "pause", subs["paused"]["subscription_id"]], p.env)
    deadline = time.monotonic() + 120
    log = p.logs / "w1.log"
    while "delivery_started" not in log.read_text(errors="replace"):  # up: no backlog at start
        assert p.workers[0].poll() is None and time.monotonic() < deadline, p.log_tail()
        time.sleep(0.5)
    time.sleep(2)  # two refreshes
    start = (time.time() // 60 - 30) * 60
    items = []
    for minute in range(16):
        for ticker in ("ZQA", "ZQB"):
            grim = ticker == "ZQA" and 10 <= minute < 13
            texts = [GRIM] * len(CALM) if grim else list(CALM)
            for k, text in enumerate(texts):
                published = start + minute * 60 + 5 + k * 7
                record = {"id": f"{ticker}-{minute}-{k}", "source": "newswire", "lang": "en",
                          "published_at": datetime.fromtimestamp(published, UTC).isoformat(),
                          "text": f"${ticker} {text}"}  # fmt: skip
                items.append(Item(0.0, p.topics[0], None, json.dumps(record).encode(), "valid"))
    # All at once: the partitions of text.enriched run minutes apart in event time, and the
    # windows must close behind the slowest (the scoring watermark), losing no text as late.
    asyncio.run(produce(p.settings.kafka.bootstrap, items, paced=False))

    deadline = time.monotonic() + 180
    rows: list[Any] = []
    while time.monotonic() < deadline:
        assert p.workers[0].poll() is None, p.log_tail()
        rows = p.query(
            "SELECT topic, rule, kind, severity, toUInt32(window_start), evidence "
            "FROM alerts FINAL WHERE topic IN ('ZQA', 'ZQB') ORDER BY window_start, rule, kind"
        )
        if any(r[:3] == ("ZQA", "negative_surge", "resolution") for r in rows):
            break
        time.sleep(2)
    [(n_late,)] = p.query("SELECT count() FROM late_events FINAL")
    assert n_late == 0, "windows closed ahead of the slowest partition"
    counts = p.query("SELECT DISTINCT n FROM sentiment_windows FINAL WHERE final = 1 AND "
                     f"window_seconds = 60 AND topic IN ('ZQA', 'ZQB') AND "
                     f"window_start < {int(start) + 840}")  # fmt: skip
    assert counts == [(len(CALM),)], counts
    surge = [r for r in rows if r[1] == "negative_surge"]
    assert [(r[0], r[2], r[4]) for r in surge] == [
        ("ZQA", "alert", int(start) + 600),
        ("ZQA", "resolution", int(start) + 780),
    ], f"{rows}\n{p.log_tail()}"
    assert not [r for r in rows if r[0] == "ZQB"], rows
    evidence = json.loads(surge[0][5])
    assert evidence["window"]["n"] == len(CALM) and evidence["window"]["negative_share"] > 0.5
    assert evidence["z"] >= 3 and evidence["baseline"] < 0.5
    assert evidence["most_negative"] and all(i.startswith("newswire:ZQA-10-")
                                             for i in evidence["most_negative"])  # fmt: skip

    ids = {s["subscription_id"]: name for name, s in subs.items()}

    def deliveries() -> list[tuple[str, str, int]]:
        rows = p.query("SELECT subscription_id, outcome, attempt FROM deliveries FINAL "
                       "ORDER BY attempted_at, attempt")  # fmt: skip
        return [(ids.get(sid, sid), outcome, attempt) for sid, outcome, attempt in rows]

    try:
        deadline = time.monotonic() + 120
        while ("late", "retry", 1) not in deliveries():
            assert time.monotonic() < deadline, f"no failed attempt for 'late': {deliveries()}"
            time.sleep(0.5)
        late.start()
        deadline = time.monotonic() + 120
        while len(late.received) < 2 or sum(d[1] == "dead_letter" for d in deliveries()) < 1:
            assert time.monotonic() < deadline, f"{deliveries()}\n{p.log_tail()}"
            time.sleep(1)
    finally:
        stopped_at = time.time()
        for r in (up, late, paused, failing, slow):
            r.stop()

    def got(r: Receiver) -> list[tuple[str, str, str]]:
        return [(b["alert"]["topic"], b["alert"]["rule"], b["alert"]["kind"]) for b in r.received]

    expected = [("ZQA", "negative_surge", "alert"), ("ZQA", "negative_surge", "resolution")]
    assert got(up) == expected and up.refused == 0
    assert got(late) == expected and late.refused == 0
    assert {b["delivery_id"] for b in up.received}.isdisjoint(
        b["delivery_id"] for b in late.received
    )
    assert paused.received == [] and paused.refused == 0
    assert "paused" not in {name for name, *_ in deliveries()}
    desk = asyncio.run(_read_topic(bootstrap, desk_topic, 2, 30))
    assert [(d["alert"]["topic"], d["alert"]["rule"], d["alert"]["kind"]) for d in desk] == expected
    outcomes = Counter((name, outcome) for name, outcome, _ in deliveries())
    assert outcomes[("up", "delivered")] == outcomes[("kafka", "delivered")] == 2
    assert outcomes[("late", "delivered")] == 2 and outcomes[("late", "retry")] >= 1
    assert outcomes[("failing", "retry")] == 7 and outcomes[("failing", "dead_letter")] == 1
    # The slow receiver's alerts time out and wait for retries; nobody else waited for it.
    assert outcomes[("slow", "retry")] >= 1 and outcomes[("slow", "delivered")] == 0
    # Attempts begun while it was up (a timeout before the receivers stopped): once stopped, the
    # retries that go on find no server, rightly.
    errors = p.query("SELECT DISTINCT error FROM deliveries FINAL WHERE subscription_id = "
                     f"'{subs['slow']['subscription_id']}' AND attempted_at < "
                     f"toDateTime({int(stopped_at) - 4})")  # fmt: skip
    assert errors == [("no answer within 3 s",)], errors
    dead = asyncio.run(_read_topic(bootstrap, f"{p.database}.alerts.deadletter", 1, 30))
    assert [(d["subscription_id"], d["attempts"], d["alert"]["kind"]) for d in dead] == [
        (subs["failing"]["subscription_id"], 8, "alert")
    ] and dead[0]["reason"].startswith("HTTP 503")

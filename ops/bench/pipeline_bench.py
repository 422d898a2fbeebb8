"""Pipeline benchmark (see ./ops/bench/pipeline); expects a stack (`./ops/stack env` exported).

Rows, all on the same texts, in one run:
- model server alone: the scoring client sends the texts to Triton (batches of 64, 2 in flight),
  as the score agent does: the ceiling for the pipeline.
- pipeline end to end: a `finpulse worker` drains a backlog of raw records; events/s from the
  first record produced to the last `events` row in ClickHouse. Ratio: over the model server.
- latency at half load: records produced at half the pipeline's rate; time from produce to the
  row being visible in ClickHouse (polled every 100 ms), p50 and p99; and, from the same in-order
  live stream (a cashtag a text), the time from a one-minute window's end to its final state,
  when the alert rules judge it (the close delay lateness_s plus the marks' travel).
- faust stages, no model: the same worker with scoring off (ingest, dedupe, windows, sinks),
  with its CPU per text by process like the pipeline run.
- plain aiokafka: consume each record and produce it to another topic. Ratio: faust over it.
- Quix Streams peer (ops/bench/quix_peer.py, in .venv-quix): the same kind of raw records with a
  cashtag each, parsed, grouped by ticker, counted in 60 s tumbling windows, each update produced
  to a topic; events/s from its first record to its last update. Ratio: the no-model worker's CPU
  per text over the Quix process's (skipped, with a line saying why, without .venv-quix).
Throughputs are medians of --repeats runs. A second table says where the CPU went in the model
server, pipeline, no-model and Quix runs: CPU milliseconds per text by process (from /proc: the
bench's own stack, workers, peer and client with their children, not other processes of a shared
machine), so a ratio below 1 can be told apart into the model's own cost and what the stream adds
around it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from stream.clickhouse import client as clickhouse
from stream.config import load_settings
from stream.errors import FinpulseError
from stream.scoring.triton import TritonScorer
from stream.sentiment.data import load

ROOT = Path(__file__).resolve().parents[2]


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="ops/bench/pipeline")
    p.add_argument("--events", type=int, default=2000, help="records per run")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--latency-seconds", type=float, default=90.0)
    p.add_argument("--json", type=Path, help="also write the rows here")
    p.add_argument("--quix-python", default=str(ROOT / ".venv-quix" / "bin" / "python"),
                   help="python of an environment with quixstreams 3.28.1")  # fmt: skip
    p.add_argument("--quix-skip", metavar="WHY", help="skip the Quix row (no environment: why)")
    return p.parse_args(argv)


@dataclass
class Worker:
    name: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_worker(name: str, *, score: bool, logs: Path, script: Path | None = None) -> Worker:
    """``script``: run the worker through it (a wrapper such as traced_worker.py)."""
    settings = load_settings()
    env = {
        **os.environ,
        "FINPULSE_CLICKHOUSE_DATABASE": name,
        "FINPULSE_PIPELINE_APP_ID": name,
        "FINPULSE_PIPELINE_TOPIC_PREFIX": f"{name}.",
        "FINPULSE_PIPELINE_NEWS_TOPIC": f"{name}.news.raw",
        "FINPULSE_PIPELINE_SOCIAL_TOPIC": f"{name}.social.raw",
        "FINPULSE_PIPELINE_DEADLETTER_TOPIC": f"{name}.deadletter",
        "FINPULSE_PIPELINE_DATADIR": str(logs / name),
        "FINPULSE_PIPELINE_SCORE_TEXTS": str(score).lower(),
    }
    finpulse = [sys.executable, "-m", "stream.cli"]
    subprocess.run([*finpulse, "db", "migrate"], env=env, check=True, capture_output=True)
    log = (logs / f"{name}.log").open("ab")
    command = [sys.executable, str(script)] if script else [*finpulse, "worker"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)  # fmt: skip
    WORKER_PIDS.add(process.pid)
    del settings
    return Worker(name, env, process)


LATENCY_TICKERS = tuple(f"ZQL{c}" for c in "ABCDEFGH")  # cashtags are letters only


def records(
    texts: list[str], tag: str, now: float, *, rate: float = 0.0, tickers: tuple[str, ...] = ()
) -> list[tuple[bytes, bytes]]:
    """Raw posts, dated when they are due to be sent (``rate``), with a cashtag each from
    ``tickers`` when given (so that they land in windows)."""
    out = []
    for i, text in enumerate(texts):
        due = now + (i / rate if rate else 0.0)
        record = {
            "id": f"{tag}-{i}",
            "source": "bench",
            "published_at": datetime.fromtimestamp(due, UTC).isoformat(),
            "text": f"${tickers[i % len(tickers)]} {text}" if tickers else text,
            "lang": "en",
        }
        out.append((record["id"].encode(), json.dumps(record).encode()))
    return out


async def send_all(bootstrap: str, topic: str, batch: list[tuple[bytes, bytes]],
                   rate: float = 0.0) -> list[float]:  # fmt: skip
    """Produce (paced when ``rate``); returns each record's send time."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    sent = []
    started = time.monotonic()
    try:
        futures = []
        for i, (key, value) in enumerate(batch):
            if rate:
                await asyncio.sleep(max(0.0, i / rate - (time.monotonic() - started)))
            sent.append(time.time())
            futures.append(await producer.send(topic, value, key=key))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sent


CLK_TCK = os.sysconf("SC_CLK_TCK")
PROCESS_GROUPS = ("triton + model", "worker (faust)", "quix peer", "broker", "clickhouse",
                  "bench client", "other")  # fmt: skip


# The processes counted: the bench's own stack (by its pid files), its workers and itself, with
# their children. Others on a shared machine (another stack, another worker) are left out.
STACK_GROUPS = {"triton": "triton + model", "tansu": "broker", "clickhouse": "clickhouse"}
WORKER_PIDS: set[int] = set()
PEER_PIDS: set[int] = set()


def own_processes() -> dict[int, str]:
    """pid -> group of the processes the bench accounts for, the roots of each group."""
    stack = Path(os.environ.get("FINPULSE_STACK_DIR", ROOT / ".stack-bench"))
    roots = {os.getpid(): "bench client"}
    for name, group in STACK_GROUPS.items():
        try:
            roots[int((stack / f"{name}.pid").read_text())] = group
        except (OSError, ValueError):  # not started by this stack
            continue
    roots.update(dict.fromkeys(WORKER_PIDS, "worker (faust)"))
    roots.update(dict.fromkeys(PEER_PIDS, "quix peer"))
    return roots


def process_group(pid: int, parents: dict[int, int], roots: dict[int, str]) -> str | None:
    """The group of the nearest of ``pid`` and its ancestors that is a root; None: not ours."""
    seen = 0
    while pid > 1 and seen < 64:
        if pid in roots:
            return roots[pid]
        pid = parents.get(pid, 0)
        seen += 1
    return None


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) used so far by the bench's processes alive now, by group."""
    totals = dict.fromkeys(PROCESS_GROUPS, 0.0)
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
    roots = own_processes()
    for pid, seconds in used.items():
        group = process_group(pid, parents, roots)
        if group is not None:
            totals[group] += seconds
    return totals


def cpu_per_text(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    return {k: (after[k] - before[k]) * 1000 / n for k in PROCESS_GROUPS}


def worker_settings(worker: Worker) -> Any:
    """The settings with ``worker``'s own ClickHouse database, where its rows are counted."""
    settings = load_settings()
    settings.clickhouse.database = worker.name
    return settings


def count_rows(client: Any, tag: str) -> int:
    [(n,)] = client.execute(
        "SELECT uniqExact(event_id) FROM events WHERE event_id LIKE %(p)s", {"p": f"bench:{tag}-%"}
    )
    return int(n)


def drain(worker: Worker, texts: list[str], tag: str, timeout_s: float = 600) -> float:
    """events/s for a backlog of ``texts`` through ``worker``, produce start to last row."""
    settings = worker_settings(worker)
    client = clickhouse.connect(settings.clickhouse)
    batch = records(texts, tag, time.time())
    started = time.time()
    asyncio.run(send_all(settings.kafka.bootstrap, f"{worker.name}.news.raw", batch))
    deadline = time.monotonic() + timeout_s
    while count_rows(client, tag) < len(batch):
        if worker.process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"worker {worker.name} stopped or timed out; see its log")
        time.sleep(0.1)
    took = time.time() - started
    client.disconnect()
    return len(batch) / took


def idle(worker: Worker, seconds: float = 10.0) -> dict[str, float]:
    """CPU ms per second by group while ``worker`` has no input and the bench polls ClickHouse as
    ``drain`` does: the costs that go by time, not by text (the consumers' fetches, which Tansu
    holds for ``fetch_max_wait_ms`` each, heartbeats, timers, marks, the bench's own count query),
    which a drain spreads over its texts."""
    client = clickhouse.connect(worker_settings(worker).clickhouse)
    before, started = cpu_seconds(), time.monotonic()
    while time.monotonic() - started < seconds:
        count_rows(client, "idle")
        time.sleep(0.1)
    after, took = cpu_seconds(), time.monotonic() - started
    client.disconnect()
    return {k: (after[k] - before[k]) * 1000 / took for k in PROCESS_GROUPS}


def net_of_idle(per_text: dict[str, float], idle_ms_s: dict[str, float],
                rates: list[float]) -> dict[str, float]:  # fmt: skip
    """CPU ms per text less the idle cost of the drains' time (a drain of n texts at r/s: n/r s)."""
    seconds_per_text = statistics.mean(1 / r for r in rates)
    return {k: per_text[k] - idle_ms_s[k] * seconds_per_text for k in PROCESS_GROUPS}


def latency(
    worker: Worker, texts: list[str], rate: float, seconds: float
) -> tuple[list[float], list[float]]:
    """Produce -> events row per text, and window end -> its final state per one-minute window
    (the moment the alert rules judge it) of the windows that closed while the stream ran."""
    settings = worker_settings(worker)
    client = clickhouse.connect(settings.clickhouse)
    n = int(rate * seconds)  # the texts again as needed: the stream must cross minutes
    tag = "lat"
    cycled = (texts * (n // len(texts) + 1))[:n]
    batch = records(cycled, tag, time.time(), rate=rate, tickers=LATENCY_TICKERS)
    seen: dict[str, float] = {}

    async def run() -> list[float]:
        producing = asyncio.create_task(
            send_all(settings.kafka.bootstrap, f"{worker.name}.news.raw", batch, rate)
        )
        deadline = time.monotonic() + seconds + 120
        while len(seen) < n and time.monotonic() < deadline:
            rows = await asyncio.to_thread(
                client.execute,
                "SELECT event_id FROM events WHERE event_id LIKE %(p)s",
                {"p": f"bench:{tag}-%"},
            )
            now = time.time()
            for (event_id,) in rows:
                seen.setdefault(event_id, now)
            await asyncio.sleep(0.1)
        return await producing

    sent = asyncio.run(run())
    client.disconnect()
    # Windows that ended (plus the close delay) before the last text was sent closed on the
    # source watermark of live data, not on the idle clock of a stream that stopped. Read from
    # the windows topic: its emitted_at has the sub-second part that ClickHouse's DateTime drops.
    lateness_s = load_settings().pipeline.lateness_s
    windows_topic = f"{worker.name}.sentiment.windows"
    finals = asyncio.run(final_windows(settings.kafka.bootstrap, windows_topic))
    closing = [emitted - end for end, emitted in finals if end + lateness_s < sent[-1]]
    texts_s = [seen[f"bench:{tag}-{i}"] - sent[i] for i in range(n) if f"bench:{tag}-{i}" in seen]
    return texts_s, closing


async def final_windows(bootstrap: str, topic: str) -> list[tuple[float, float]]:
    """(window end, first final emitted_at) of each one-minute window of the latency tickers."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    first: dict[tuple[str, float], float] = {}
    try:
        while batches := await consumer.getmany(timeout_ms=3000, max_records=5000):
            for messages in batches.values():
                for m in messages:
                    w = json.loads(m.value)
                    if w["final"] and w["window_seconds"] == 60 and w["topic"] in LATENCY_TICKERS:
                        end = w["window_start"] + 60
                        key = (w["topic"], end)
                        first[key] = min(first.get(key, w["emitted_at"]), w["emitted_at"])
    finally:
        await consumer.stop()
    return [(end, emitted) for (_, end), emitted in first.items()]


async def aiokafka_loop(bootstrap: str, texts: list[str], tag: str) -> float:
    source, target = f"bench-{tag}-in", f"bench-{tag}-out"
    await send_all(bootstrap, source, records(texts, tag, time.time()))
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=f"bench-{tag}",
                                auto_offset_reset="earliest", enable_auto_commit=True)  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await consumer.start()
    await producer.start()
    try:
        await consumer.getmany(timeout_ms=1)  # join the group before the clock starts
        done = 0
        started = time.perf_counter()
        while done < len(texts):
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            for messages in batches.values():
                for m in messages:
                    await producer.send(target, m.value, key=m.key)
                    done += 1
        await producer.flush()
        return len(texts) / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()


async def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    """Retention given at creation: Tansu reports only the settings a topic was created with, and
    Quix's group_by copies the input's retention.ms and retention.bytes (KeyError without them)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        retention = {"retention.ms": str(7 * 24 * 3600 * 1000), "retention.bytes": "-1"}
        await admin.create_topics([NewTopic(topic, partitions, 1, topic_configs=retention)])
    finally:
        await admin.close()


class PeerFailed(Exception):
    """The Quix peer gave no figure; the message says why (the bench prints it and goes on)."""


def read_word(process: subprocess.Popen[str], deadline: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], max(0.0, deadline - time.monotonic()))
    return process.stdout.readline().strip() if ready else ""


def quix_peer(python: str, texts: list[str], tag: str, logs: Path,
              timeout_s: float = 300) -> tuple[float, dict[str, float]]:  # fmt: skip
    """events/s of the Quix peer over a backlog of ``texts``, and CPU seconds by group over the span
    from its first record to its last window update: it waits for the bench's reading at both ends,
    so its start-up (a librdkafka group takes some 20 s to form on Tansu) and shut-down are left
    out, as the aiokafka loop leaves out its join."""
    settings = load_settings()
    bootstrap = settings.kafka.bootstrap
    source, target = f"bench-{tag}-quix-in", f"bench-{tag}-quix-out"
    asyncio.run(create_topic(bootstrap, source, settings.pipeline.partitions))
    posts = records(texts, tag, time.time(), tickers=LATENCY_TICKERS)  # a ticker to group by
    asyncio.run(send_all(bootstrap, source, posts))
    log_path = logs / f"quix-{tag}.log"
    command = [python, str(ROOT / "ops" / "bench" / "quix_peer.py"), "--bootstrap", bootstrap,
               "--input", source, "--output", target, "--group", f"bench-{tag}-quix",
               "--count", str(len(posts)), "--timeout-s", str(timeout_s)]  # fmt: skip
    if settings.kafka.fetch_max_wait_ms:
        command += ["--fetch-max-wait-ms", str(settings.kafka.fetch_max_wait_ms)]
    with log_path.open("ab") as log:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=log, text=True)  # fmt: skip
    assert process.stdin is not None
    PEER_PIDS.add(process.pid)
    deadline = time.monotonic() + timeout_s + 60
    try:
        readings = []
        for word in ("first", "done"):
            said = read_word(process, deadline)
            if said != word:
                process.stdin.close()
                process.wait(30)
                raise PeerFailed(f"no {word!r} from the peer (it said {said[:200]!r}, exit "
                                 f"{process.returncode}); see {log_path}")  # fmt: skip
            readings.append(cpu_seconds())
            process.stdin.write("\n")
            process.stdin.flush()
        result = json.loads(process.communicate(timeout=60)[0].splitlines()[-1])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        PEER_PIDS.discard(process.pid)
    cpu = {k: readings[1][k] - readings[0][k] for k in PROCESS_GROUPS}
    return len(posts) / result["seconds"], cpu


async def model_alone(texts: list[str]) -> float:
    settings = load_settings()
    async with TritonScorer(settings.triton.grpc, model=settings.triton.model, max_batch=64,
                            max_in_flight=2) as scorer:  # fmt: skip
        await scorer.check_ready()
        await scorer.score(texts[:128])  # warm up
        started = time.perf_counter()
        await scorer.score(texts)
        return len(texts) / (time.perf_counter() - started)


QUIX_ROW = "Quix Streams peer: JSON, by ticker, 60 s count (current)"


def quix_runs(args: argparse.Namespace, texts: list[str], run_id: str,
              logs: Path) -> tuple[list[float], dict[str, float] | None, str | None]:  # fmt: skip
    """The Quix row's rates and CPU ms per text by group, or why it was skipped: the peer needs an
    environment of its own, and the other rows stand without it."""
    if args.quix_skip:
        return [], None, args.quix_skip
    if not Path(args.quix_python).is_file():
        return [], None, f"no {args.quix_python} (./ops/bench/pipeline makes .venv-quix)"
    rates = []
    used = dict.fromkeys(PROCESS_GROUPS, 0.0)
    try:
        for i in range(args.repeats):
            rate, cpu = quix_peer(args.quix_python, texts, f"{run_id}q{i}", logs)
            rates.append(rate)
            used = {k: used[k] + cpu[k] for k in PROCESS_GROUPS}
    except Exception as e:  # any failure of the peer or its topics: a line, not a traceback
        return [], None, f"{type(e).__name__}: {e}"
    print(f"Quix Streams peer: {statistics.median(rates):.0f} events/s", flush=True)
    return rates, {k: v * 1000 / (args.repeats * len(texts)) for k, v in used.items()}, None


def main(argv: list[str]) -> None:
    args = parse(argv)
    examples = load(args.data)
    texts = sorted({e.text for e in examples})
    per_run = args.events
    needed = per_run * (3 * args.repeats + 1)
    texts = (texts * (needed // len(texts) + 1))[:needed]
    chunks = iter(texts[i : i + per_run] for i in range(0, needed, per_run))
    logs = ROOT / os.environ.get("FINPULSE_STACK_DIR", ".stack-bench") / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex[:6]
    settings = load_settings()

    model_rates = []
    before = cpu_seconds()
    for _ in range(args.repeats):
        model_rates.append(asyncio.run(model_alone(next(chunks))))
    model_cpu = cpu_per_text(before, cpu_seconds(), args.repeats * (per_run + 128))
    model_rate = statistics.median(model_rates)
    print(f"model server alone: {model_rate:.0f} texts/s", flush=True)

    worker = start_worker(f"bench{run_id}m", score=True, logs=logs)
    try:
        drain(worker, texts[:64], "warm")
        before = cpu_seconds()
        pipeline_rates = [drain(worker, next(chunks), f"run{i}") for i in range(args.repeats)]
        pipeline_cpu = cpu_per_text(before, cpu_seconds(), args.repeats * per_run)
        pipeline_rate = statistics.median(pipeline_rates)
        print(f"pipeline end to end: {pipeline_rate:.0f} events/s", flush=True)
        pipeline_idle = idle(worker)
        lat, closing = latency(worker, next(chunks), pipeline_rate / 2, args.latency_seconds)
    finally:
        worker.stop()

    worker = start_worker(f"bench{run_id}n", score=False, logs=logs)
    try:
        drain(worker, texts[:64], "warm")
        before = cpu_seconds()
        faust_rates = [drain(worker, next(chunks), f"run{i}") for i in range(args.repeats)]
        faust_cpu = cpu_per_text(before, cpu_seconds(), args.repeats * per_run)
        faust_idle = idle(worker)
    finally:
        worker.stop()
    faust_rate = statistics.median(faust_rates)
    plain_rates = [
        asyncio.run(aiokafka_loop(settings.kafka.bootstrap, texts[:per_run], f"{run_id}{i}"))
        for i in range(args.repeats)
    ]
    plain_rate = statistics.median(plain_rates)
    quix_rates, quix_cpu, quix_skipped = quix_runs(args, texts[:per_run], run_id, logs)

    p50, p99 = (float(np.percentile(lat, q)) * 1000 for q in (50, 99))
    c50, c99 = (float(np.percentile(closing, q)) * 1000 if closing else None for q in (50, 99))
    rows = [
        ("model server alone (Triton, batch 64, 2 in flight)", model_rate, None, None, 1.0),
        ("pipeline end to end (raw record -> events row)", pipeline_rate, None, None,
         pipeline_rate / model_rate),
        (f"latency at half load ({pipeline_rate / 2:.0f}/s, {len(lat)} events)", None, p50, p99,
         None),
        (f"window end -> final, judged by alerts ({len(closing)} windows)", None, c50, c99, None),
        ("faust stages, no model (ingest .. sinks)", faust_rate, None, None,
         faust_rate / plain_rate),
        ("plain aiokafka consume -> produce", plain_rate, None, None, 1.0),
    ]  # fmt: skip
    if quix_cpu:  # no ratio when the peer's CPU was below /proc's tick (a tiny --events)
        peer = quix_cpu["quix peer"]
        ratio = faust_cpu["worker (faust)"] / peer if peer else None
        rows.append((QUIX_ROW, statistics.median(quix_rates), None, None, ratio))
    print()
    print(f"{'row':<58} {'events/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}")
    for name, rate, a, b, ratio in rows:
        cells = [
            f"{rate:9.0f}" if rate else f"{'':>9}",
            f"{a:8.0f}" if a is not None else f"{'':>8}",
            f"{b:8.0f}" if b is not None else f"{'':>8}",
            f"{ratio:6.2f}" if ratio is not None else f"{'':>6}",
        ]
        print(f"{name:<58} {' '.join(cells)}")
    if quix_skipped:
        print(f"Quix Streams peer row skipped: {quix_skipped}")
    pipeline_net = net_of_idle(pipeline_cpu, pipeline_idle, pipeline_rates)
    faust_net = net_of_idle(faust_cpu, faust_idle, faust_rates)
    print(f"\nCPU ms per text, by process ({os.cpu_count()} CPUs); net: less the idle cost (CPU ms "
          "per second with no input, last columns) over the drains' time")  # fmt: skip
    columns = [model_cpu, pipeline_cpu, faust_cpu, quix_cpu or dict.fromkeys(PROCESS_GROUPS, 0.0),
               pipeline_net, faust_net, pipeline_idle, faust_idle]  # fmt: skip
    print(
        f"{'process':<18} {'model server alone':>19} {'pipeline':>9} {'no model':>9} "
        f"{'quix':>9} {'pipe net':>9} {'nomod net':>9} {'idle ms/s':>9} {'(no model)':>10}"
    )
    for group in (*PROCESS_GROUPS, "total"):
        a, b, c, d, e, f, g, h = (sum(col.values()) if group == "total" else col[group]
                                  for col in columns)  # fmt: skip
        print(
            f"{group:<18} {a:19.2f} {b:9.2f} {c:9.2f} {d:9.2f} {e:9.2f} {f:9.2f} {g:9.1f} {h:10.1f}"
        )
    runs = {"model": model_rates, "pipeline": pipeline_rates, "faust": faust_rates,
            "aiokafka": plain_rates, "quix": quix_rates}  # fmt: skip
    print(f"\n{per_run} events a run, median of {args.repeats} runs; ratios: pipeline over model "
          "server, faust over plain aiokafka, Quix: the no-model worker's CPU per text over the "
          "Quix process's")  # fmt: skip
    print("runs (events/s): " + "; ".join(f"{k} {[round(r) for r in v]}" for k, v in runs.items()))
    if args.json:
        keys = ("row", "events_s", "p50_ms", "p99_ms", "ratio")
        report = {
            "rows": [dict(zip(keys, r, strict=True)) for r in rows],
            "runs": runs,
            "cpu_ms_per_text": {
                "model_server_alone": model_cpu,
                "pipeline": pipeline_cpu,
                "faust_no_model": faust_cpu,
                "quix_peer": quix_cpu,
            },
            "cpu_ms_per_text_net_of_idle": {"pipeline": pipeline_net, "faust_no_model": faust_net},
            "idle_cpu_ms_per_s": {"pipeline": pipeline_idle, "faust_no_model": faust_idle},
            "quix_skipped": quix_skipped,
        }
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except FinpulseError as e:  # a missing model, a server down: one line that says what to do
        sys.exit(f"pipeline bench: {e}")

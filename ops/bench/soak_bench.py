"""Soak benchmark (run by ops/bench/soak, which starts a stack of its own): does the pipeline's
state stay bounded over a day of event time?

A steady stream at ``--rate`` texts/s for ``--minutes`` of wall time, its event time spread over
the last ``--event-hours`` (compressed: 24 h in 20 min is 72x), over ``--topics`` tickers with a
Zipf skew (the hottest ticker about a tenth of the texts). Samples every 10 s: the RSS of the
worker, the broker, ClickHouse and Triton (with its model processes), and ClickHouse rows per
table. Afterwards, from the changelog topics: bytes written and live keys per table, by the time
they were written. Each is printed as a slope per hour of event time after warm-up (the longest
window plus the allowed lateness, or the dedupe horizon if longer: before that, state fills up as
designed) and drawn (PNG).

The window changelog is compared, on the same stream batched as the score stage batches it, with
what release 0.x wrote (the whole pane, every id it counted, at every write). The run ends with a
worker restart (SIGKILL, then a new worker on the same data folder): the time until it is ready,
and every one-minute window checked against counts computed here from the input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

sys.path.insert(0, str(Path(__file__).parent))
import contextlib

from pipeline_bench import ROOT, Worker, start_worker

from stream.alerts import state_keys
from stream.alerts.history import judge_all
from stream.alerts.rules import RULES, RuleSettings
from stream.clickhouse import client as clickhouse
from stream.config import load_settings
from stream.kafka.compat import fetch_highwaters
from stream.kafka.topics import WINDOWS
from stream.records import Contribution, WindowRecord
from stream.windows.panes import EVIDENCE, Pane, id_digest, pane_start

SAMPLE_S = 10.0
TABLES = ("events", "sentiment_windows", "alerts", "late_events", "deadletter")
SENTENCES = (
    "shares rose after the quarterly results beat estimates",
    "the stock fell sharply as guidance was cut",
    "analysts kept their rating unchanged",
    "profit warning sends shares lower",
    "record revenue and a raised outlook",
    "trading volume was light today",
)
MODEL_PY = '''"""Soak model: cheap, deterministic probabilities from a hash of the text."""
import zlib

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            texts = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy().reshape(-1)
            probs = np.full((len(texts), 3), 0.1, dtype=np.float32)
            for i, text in enumerate(texts):
                probs[i, zlib.crc32(bytes(text)) % 3] = 0.8
            tensor = pb_utils.Tensor("PROBS", probs)
            responses.append(pb_utils.InferenceResponse(output_tensors=[tensor]))
        return responses
'''


def write_model(repo: Path) -> None:
    config = (ROOT / "model_repo" / "sentiment" / "config.pbtxt").read_text()
    config = config[: config.index("parameters [")]  # the ONNX model's own parameters
    (repo / "sentiment" / "1").mkdir(parents=True, exist_ok=True)
    (repo / "sentiment" / "config.pbtxt").write_text(config)
    (repo / "sentiment" / "1" / "model.py").write_text(MODEL_PY)


def tickers(n: int) -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return [f"Q{letters[i // 676 % 26]}{letters[i // 26 % 26]}{letters[i % 26]}" for i in range(n)]


@dataclass
class Post:
    id: str
    ticker: str
    published_at: float
    text: str

    def record(self) -> bytes:
        return json.dumps({
            "id": self.id, "source": "soak", "lang": "en", "text": self.text,
            "published_at": datetime.fromtimestamp(self.published_at, UTC).isoformat(),
        }).encode()  # fmt: skip


def stream(n: int, start: float, span_s: float, names: list[str], seed: int) -> list[Post]:
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(names))]
    chosen = rng.choices(names, weights, k=n)
    return [
        Post(f"soak-{i}", t, start + span_s * i / n, f"${t} {rng.choice(SENTENCES)} (#{i})")
        for i, t in enumerate(chosen)
    ]


# --- sampling --------------------------------------------------------------------------------


def tree_rss(pid: int) -> int:
    """RSS bytes of a process and its descendants."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            children[int(stat[stat.rindex(")") + 2 :].split()[1])].append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
        todo += children.get(p, [])
    return total


def stack_pids(stack_dir: Path) -> dict[str, int]:
    pids = {}
    for name, label in (("tansu", "broker"), ("clickhouse", "clickhouse"), ("triton", "triton")):
        with contextlib.suppress(OSError, ValueError):
            pids[label] = int((stack_dir / f"{name}.pid").read_text().split()[0])
    return pids


def rows(client: Any) -> dict[str, int]:
    return {t: int(client.execute(f"SELECT count() FROM {t}")[0][0]) for t in TABLES}


async def produce(bootstrap: str, topic: str, posts: list[Post], rate: float,
                  progress: list[float]) -> None:  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    await producer.start()
    started = time.monotonic()
    try:
        for i, post in enumerate(posts):
            if i % 50 == 0:
                await asyncio.sleep(max(0.0, i / rate - (time.monotonic() - started)))
            await producer.send(topic, post.record())
            progress[0] = post.published_at
        await producer.flush()
    finally:
        await producer.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def table_memory(worker: Worker) -> float:
    """The worker's finpulse_table_memory_bytes (RocksDB: block cache and memtables), or NaN."""
    url = f"http://127.0.0.1:{worker.env['FINPULSE_PIPELINE_METRICS_PORT']}/metrics"
    with contextlib.suppress(OSError, ValueError), urllib.request.urlopen(url, timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("finpulse_table_memory_bytes "):
                return float(line.split()[1])
    return float("nan")


async def sample(worker: Worker, stack: dict[str, int], client: Any, progress: list[float],
                 done: asyncio.Event, out: list[dict[str, Any]]) -> None:  # fmt: skip
    while not done.is_set():
        row: dict[str, Any] = {"wall": time.time(), "event": progress[0]}
        row["rss"] = {"worker": tree_rss(worker.process.pid)}
        row["rss"] |= {name: tree_rss(pid) for name, pid in stack.items()}
        row["rows"] = await asyncio.to_thread(rows, client)
        row["tables"] = await asyncio.to_thread(table_memory, worker)
        out.append(row)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), SAMPLE_S)


async def changelogs(bootstrap: str, app_id: str) -> dict[str, list[tuple[float, int, int]]]:
    """Per changelog topic: (write time, bytes, live keys after it) for every record."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    try:
        names = sorted(t for t in await consumer.topics() if t.startswith(app_id) and
                       t.endswith("-changelog"))  # fmt: skip
        consumer.subscribe(names)
        records: dict[str, list[tuple[float, bytes, bool, int]]] = defaultdict(list)
        while batches := await consumer.getmany(timeout_ms=5000, max_records=20_000):
            for tp, messages in batches.items():
                for m in messages:
                    size = len(m.key or b"") + len(m.value or b"")
                    records[tp.topic].append((m.timestamp / 1000, m.key or b"", m.value is None,
                                              size))  # fmt: skip
    finally:
        await consumer.stop()
    out: dict[str, list[tuple[float, int, int]]] = {}
    for topic, items in records.items():
        items.sort(key=lambda r: r[0])
        live: set[bytes] = set()
        series = []
        for t, key, tombstone, size in items:
            (live.discard if tombstone else live.add)(key)
            series.append((t, size, len(live)))
        out[topic.removeprefix(app_id + "-").removesuffix("-changelog")] = series
    return out


# --- the old write, on the same stream -----------------------------------------------------


def simulated_changelog(posts: list[Post], batch: int) -> tuple[int, int]:
    """Bytes the window-panes changelog gets for this stream, batched like the score stage
    (``batch`` texts, a write per topic and pane a batch): deltas (now) and whole panes with
    every id (release 0.x, the cost this issue removes). Labels do not change the sizes."""
    panes: dict[tuple[str, int], Pane] = {}
    ids: dict[tuple[str, int], list[str]] = defaultdict(list)
    new_bytes = old_bytes = 0
    for first in range(0, len(posts), batch):
        touched = set()
        for post in posts[first : first + batch]:
            key = (post.ticker, pane_start(post.published_at))
            pane = panes.setdefault(key, Pane())
            digest = zlib.crc32(post.id.encode())
            score = (digest % 200 - 100) / 100
            label = ("negative", "neutral", "positive")[digest % 3]
            pane.add(Contribution(post.id, post.published_at, label, score, 1.0))
            ids[key].append(f"{id_digest(post.id):016x}")
            touched.add(key)
        for key in touched:
            pane = panes[key]
            name = f"{key[0]}\x1f{key[1]}"
            new_bytes += len(name) + 4 + len(json.dumps(pane.delta()))
            whole = {
                "n_negative": pane.n_negative, "n_neutral": pane.n_neutral,
                "n_positive": pane.n_positive, "score_sum": pane.score_sum,
                "reach_sum": pane.reach_sum, "reach_score_sum": pane.reach_score_sum,
                "ids": ids[key], "negatives": [list(p) for p in pane.negatives[:EVIDENCE]],
            }  # fmt: skip
            old_bytes += len(name) + len(json.dumps(whole))
    return new_bytes, old_bytes


async def final_windows(bootstrap: str, topic: str, seconds: int) -> list[WindowRecord]:
    """The final windows of ``seconds`` the alerts agent read from ``topic``, in its order (a
    partition's records in offset order; a topic's windows are all on one partition)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    out = []
    try:
        while batches := await consumer.getmany(timeout_ms=5000, max_records=20_000):
            for messages in batches.values():
                for m in messages:
                    w = WindowRecord.from_json(m.value)
                    if w.final and w.window_seconds == seconds:
                        out.append(w)
    finally:
        await consumer.stop()
    return out


def simulated_alert_state(windows: list[WindowRecord], sample: int = 10) -> tuple[int, int, int]:
    """Changelog bytes of the alert state for the topics of one in ``sample`` (by a hash of the
    name, so hot and quiet ones alike) judging these windows at the default rule settings: as a
    head a topic and rows (now) and as a whole history a rule (release 0.x); and how many windows
    were judged."""
    stored: dict[str, state_keys.Stored] = {}
    parts = whole = judged = 0
    for w in windows:
        if zlib.crc32(w.topic.encode()) % sample:
            continue
        judged += 1
        before = stored.get(w.topic) or state_keys.Stored()
        after, _ = judge_all(before.histories, w, RULES, RuleSettings())
        for rule, h in after.items():
            if h is not before.histories.get(rule):
                whole += len(w.topic) + len(rule) + 1 + len(json.dumps(h.to_dict()))
        if any(after[r] is not before.histories.get(r) for r in after):
            stored[w.topic], puts, deletes = state_keys.writes(
                w.topic, before, after, RuleSettings()
            )
            parts += sum(len(k) + len(json.dumps(v)) for k, v in puts) + sum(map(len, deletes))
    return parts, whole, judged


# --- checks ----------------------------------------------------------------------------------


def span_s(posts: list[Post], start: float) -> float:
    return posts[-1].published_at - start + 1.0


def expected_windows(posts: list[Post]) -> Counter[tuple[str, int]]:
    return Counter((p.ticker, pane_start(p.published_at)) for p in posts)


def stored_windows(client: Any, names: set[str]) -> dict[tuple[str, int], int]:
    got = client.execute(
        "SELECT topic, toUInt32(window_start), argMax(n, tuple(amendments, emitted_at)) "
        "FROM sentiment_windows WHERE window_seconds = 60 AND final = 1 "
        "GROUP BY topic, window_start"
    )
    return {(t, int(s)): int(n) for t, s, n in got if t in names}


def wait_ready(log: Path, since: int, timeout_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        text = log.read_bytes()[since:]
        if b"windows_state_loaded" in text:  # the tables recovered, the windows agent running
            return time.monotonic() - started
        time.sleep(0.2)
    raise TimeoutError(f"the restarted worker was not ready within {timeout_s:.0f} s")


async def changelog_offsets(bootstrap: str, app_id: str) -> list[tuple[str, int, int, int]]:
    """(topic, partition, log start, end) of every changelog partition of ``app_id``: beside
    faust's "Reading Starts At" table in the worker's log, where a recovery stands."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in sorted(await consumer.topics())
               if t.startswith(app_id) and t.endswith("-changelog")
               for p in sorted(consumer.partitions_for_topic(t) or ())]  # fmt: skip
        starts = await consumer.beginning_offsets(tps)
        ends = await fetch_highwaters(consumer._client, tps, starts)
        return [(tp.topic, tp.partition, starts[tp], ends[tp]) for tp in tps]
    finally:
        await consumer.stop()


# --- report ----------------------------------------------------------------------------------


def slope_per_hour(hours: np.ndarray, values: np.ndarray, after_h: float) -> float:
    keep = hours >= after_h
    if keep.sum() < 3:
        return float("nan")
    return float(np.polyfit(hours[keep], values[keep], 1)[0])


def plot(path: Path, panels: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]],
         warmup_h: float) -> None:  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 3.2 * len(panels)), sharex=True)
    for ax, (title, series) in zip(axes, panels.items(), strict=True):
        for name, (x, y) in series.items():
            ax.plot(x, y, label=name)
        ax.axvline(warmup_h, color="grey", linestyle=":", label="end of warm-up")
        ax.set_title(title)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("hours of event time")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write-model", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--rate", type=float, default=125.0, help="texts a second (wall time)")
    ap.add_argument("--minutes", type=float, default=20.0, help="wall time of the stream")
    ap.add_argument("--event-hours", type=float, default=24.0, help="event time it spans")
    ap.add_argument("--topics", type=int, default=2000)
    ap.add_argument(
        "--dedupe-hours",
        type=float,
        default=6.0,
        help="the worker's dedupe horizon (event time; 24 h by default in production): the "
        "cache fills for one horizon by design, so the soak's day holds a shorter one to see it "
        "level off, and counts it in the warm-up",
    )
    ap.add_argument("--warmup-hours", type=float, metavar="H",
                    help="event time left out of the slopes (default: the longest window + "
                    "lateness + allowed lateness, or the dedupe horizon if longer); a longer one "
                    "leaves out the hours in which RocksDB fills its budget too")  # fmt: skip
    ap.add_argument("--trace-memory", type=Path, metavar="FILE",
                    help="run the worker under tracemalloc, its live allocations by line every "
                    "minute to FILE (JSON lines; slows the worker)")  # fmt: skip
    stack_dir = ROOT / os.environ.get("FINPULSE_STACK_DIR", ".stack-soak")
    ap.add_argument("--out", type=Path, default=stack_dir / "soak.png", help="the plot (PNG)")
    ap.add_argument("--json", type=Path, help="write the figures here too")
    args = ap.parse_args()
    if args.write_model:
        write_model(args.write_model)
        return

    settings = load_settings()
    p = settings.pipeline
    n = int(args.rate * args.minutes * 60)
    span_s = args.event_hours * 3600
    # Event time ends a few minutes before now: every window can close, none is dated ahead.
    start = time.time() - span_s - 300
    names = tickers(args.topics)
    posts = stream(n, start, span_s, names, seed=7)
    warmup_h = (max(s.size_s for s in p.windows) + p.lateness_s + p.allowed_lateness_s) / 3600
    warmup_h = max(warmup_h, args.dedupe_hours)
    if args.warmup_hours is not None:
        warmup_h = args.warmup_hours
    os.environ["FINPULSE_PIPELINE_DEDUPE_HORIZON_S"] = str(args.dedupe_hours * 3600)
    os.environ["FINPULSE_PIPELINE_METRICS_PORT"] = str(free_port())

    name = f"soak{uuid.uuid4().hex[:6]}"
    logs = ROOT / os.environ.get("FINPULSE_STACK_DIR", ".stack-soak") / "soak"
    logs.mkdir(parents=True, exist_ok=True)
    script = None
    if args.trace_memory:
        os.environ["FINPULSE_BENCH_TRACEMALLOC"] = str(args.trace_memory.resolve())
        script = Path(__file__).parent / "traced_worker.py"
    worker = start_worker(name, score=True, logs=logs, script=script)
    try:
        soak(args, settings, name, logs, worker, posts, start, names, warmup_h)
    finally:  # never leave a worker behind, whatever failed
        for process in STARTED:
            if process.poll() is None:
                process.kill()


STARTED: list[subprocess.Popen[bytes]] = []


def soak(args: argparse.Namespace, settings: Any, name: str, logs: Path, worker: Worker,
         posts: list[Post], start: float, names: list[str], warmup_h: float) -> None:  # fmt: skip
    STARTED.append(worker.process)
    p = settings.pipeline
    n = len(posts)
    settings.clickhouse.database = name
    client = clickhouse.connect(settings.clickhouse)
    stack = stack_pids(ROOT / os.environ.get("FINPULSE_STACK_DIR", ".stack-soak"))
    samples: list[dict[str, Any]] = []
    progress = [start]
    print(f"soak: {n:,} texts at {args.rate:.0f}/s over {args.topics:,} topics, "
          f"{args.event_hours:.0f} h of event time in {args.minutes:.0f} min",
          flush=True)  # fmt: skip

    async def run() -> None:
        done = asyncio.Event()
        own = clickhouse.connect(settings.clickhouse)  # one query at a time a connection
        sampler = asyncio.create_task(sample(worker, stack, own, progress, done, samples))
        await produce(settings.kafka.bootstrap, f"{name}.news.raw", posts, args.rate, progress)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if (await asyncio.to_thread(rows, client))["events"] >= n:
                break
            await asyncio.sleep(2)
        done.set()
        await sampler
        own.disconnect()

    asyncio.run(run())

    # The restart: killed, then a new worker on the same data folder.
    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait()
    log = logs / f"{name}.log"
    since = log.stat().st_size
    # At INFO, faust logs each changelog partition's highwater and where its reading starts.
    env = {**worker.env, "FINPULSE_LOG_LEVEL": "INFO"}
    process = subprocess.Popen([sys.executable, "-m", "stream.cli", "worker"], cwd=ROOT,
                               env=env, stdout=log.open("ab"),
                               stderr=subprocess.STDOUT)  # fmt: skip
    worker = Worker(name, worker.env, process)
    STARTED.append(process)
    try:
        recovery_s = wait_ready(log, since, timeout_s=300)
    except TimeoutError as e:
        for topic, partition, first, end in asyncio.run(
            changelog_offsets(settings.kafka.bootstrap, name)
        ):
            print(f"soak: {topic}[{partition}] offsets {first:,}..{end:,}", flush=True)
        raise SystemExit(f"soak: {e}; its log: {log}") from None
    # The stream goes on after the restart: its next minutes (so the recovered state is used,
    # and the last windows close as a live stream's do).
    tail = [
        replace(post, id=f"soak-tail-{i}", text=f"{post.text} (tail)")
        for i, post in enumerate(stream(200, start + span_s(posts, start), 180, names, seed=8))
    ]
    asyncio.run(produce(settings.kafka.bootstrap, f"{name}.news.raw", tail, 100, [0.0]))
    posts = posts + tail
    n = len(posts)
    # Windows close by the idle clock once the stream has stopped; wait for all to be final, as
    # long as the worker is still catching up (fewer windows wrong than 5 minutes before).
    expected = expected_windows(posts)
    deadline, fewest = time.monotonic() + 300, len(expected) + 1
    while True:
        stored = stored_windows(client, set(names))
        missing = {k: v for k, v in expected.items() if stored.get(k) != v}
        if len(missing) < fewest:
            deadline, fewest = time.monotonic() + 300, len(missing)
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(5)
    worker.stop()
    final_rows = rows(client)
    client.disconnect()
    logs_by_table = asyncio.run(changelogs(settings.kafka.bootstrap, name))
    new_sim, old_sim = simulated_changelog(posts, p.score_batch)
    judged_windows = asyncio.run(final_windows(
        settings.kafka.bootstrap, f"{name}.{WINDOWS}", 900))  # fmt: skip
    alert_new, alert_old, judged = simulated_alert_state(judged_windows)

    # Event time of each sample, and of each changelog record (by its write time).
    walls = np.array([s["wall"] for s in samples])
    event_h = (np.array([s["event"] for s in samples]) - start) / 3600

    def at(t: np.ndarray) -> np.ndarray:
        return np.interp(t, walls, event_h)

    table_rows = []
    rss = {k: np.array([s["rss"].get(k, 0) for s in samples]) / 2**20 for k in samples[0]["rss"]}
    for k, v in rss.items():
        table_rows.append((f"RSS {k} (MB)", v[-1], slope_per_hour(event_h, v, warmup_h)))
    tables_mb = np.array([s["tables"] for s in samples]) / 2**20
    table_rows.append(("RocksDB tables in the worker (MB)", tables_mb[-1],
                       slope_per_hour(event_h, tables_mb, warmup_h)))  # fmt: skip
    # RocksDB fills a budget of its own; what grows beside it is the rest of the worker.
    beside = rss["worker"] - tables_mb
    table_rows.append(("worker RSS beside RocksDB (MB)", beside[-1],
                       slope_per_hour(event_h, beside, warmup_h)))  # fmt: skip
    ch = {k: np.array([s["rows"][k] for s in samples], dtype=float) for k in TABLES}
    for k, v in ch.items():
        table_rows.append((f"ClickHouse rows {k}", v[-1], slope_per_hour(event_h, v, warmup_h)))
    changelog_series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    key_series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for table, series in logs_by_table.items():
        t = np.array([r[0] for r in series])
        cum = np.cumsum([r[1] for r in series]) / 2**20
        keys = np.array([r[2] for r in series], dtype=float)
        h = at(t)
        changelog_series[table] = (h, cum)
        key_series[table] = (h, keys)
        table_rows.append((f"changelog {table} (MB)", cum[-1], slope_per_hour(h, cum, warmup_h)))
        table_rows.append((f"table keys {table}", keys[-1], slope_per_hour(h, keys, warmup_h)))
    panes_bytes = logs_by_table.get("window-panes", [])
    measured = sum(r[1] for r in panes_bytes)
    exact = not missing

    print(f"\n{'figure':<40} {'at the end':>14} {'per hour (after warm-up)':>26}")
    for label, last, slope in table_rows:
        print(f"{label:<40} {last:>14,.1f} {slope:>26,.2f}")
    print(
        f"\nwarm-up: {warmup_h:.2f} h of event time "
        + (
            "(--warmup-hours)"
            if args.warmup_hours is not None
            else "(longest window + lateness + allowed lateness, or the dedupe horizon if longer)"
        )
    )
    print(f"window-panes changelog per counted text: {measured / n:,.0f} bytes measured; on the "
          f"same stream simulated {new_sim / n:,.0f} (deltas) vs {old_sim / n:,.0f} (whole panes, "
          f"release 0.x): ratio {old_sim / max(new_sim, 1):.1f}x")  # fmt: skip
    print(f"alert-state changelog, one topic in 10 judging this run's {judged:,} final windows: "
          f"{alert_new / max(judged, 1):,.0f} B per window (heads and rows) vs "
          f"{alert_old / max(judged, 1):,.0f} (whole histories, release 0.x): ratio "
          f"{alert_old / max(alert_new, 1):.1f}x")  # fmt: skip
    # Both tables together, per counted text: measured here against release 0.x on this stream
    # (its whole panes, and its whole histories for every window this run judged).
    total_now = sum(r[1] for series in logs_by_table.values() for r in series) / n
    windows_per_text = len(judged_windows) / n
    total_old = old_sim / n + alert_old / max(judged, 1) * windows_per_text
    print(f"changelog of all tables per counted text: {total_now:,.0f} bytes measured vs "
          f"{total_old:,.0f} for release 0.x on the same stream ({windows_per_text:.1f} judged "
          f"windows a text): ratio {total_old / max(total_now, 1):.1f}x")  # fmt: skip
    print(f"restart after the soak: ready in {recovery_s:.1f} s; one-minute windows "
          f"{'all exact' if exact else f'{len(missing)} of {len(expected)} wrong'}")  # fmt: skip
    plot(args.out, {
        "RSS (MB)": {k: (event_h, v) for k, v in rss.items()},
        "the worker (MB)": {
            "RSS": (event_h, rss["worker"]),
            "RSS beside RocksDB": (event_h, beside),
            f"RocksDB tables (budget {p.table_memory_mb} MB)": (event_h, tables_mb),
        },
        "changelog written (MB, cumulative)": changelog_series,
        "live table keys": key_series,
        "ClickHouse rows": {k: (event_h, v) for k, v in ch.items()},
    }, warmup_h)  # fmt: skip
    print(f"plot: {args.out}")
    if args.json:
        args.json.write_text(json.dumps({
            "texts": n, "topics": args.topics, "event_hours": args.event_hours,
            "warmup_hours": warmup_h, "recovery_s": recovery_s, "exact": exact,
            "rows": [{"figure": a, "end": b, "per_event_hour": c} for a, b, c in table_rows],
            "panes_bytes_per_text": {"measured": measured / n, "simulated_deltas": new_sim / n,
                                     "simulated_whole_panes": old_sim / n},
            "alert_state_bytes_per_window_sampled": {
                "windows": judged, "heads_and_rows": alert_new / max(judged, 1),
                "whole_histories": alert_old / max(judged, 1)},
            "changelog_bytes_per_text": {"measured": total_now, "release_0x": total_old,
                                         "judged_windows_per_text": windows_per_text},
            "clickhouse_rows": final_rows,
            # The samples drawn, to take slopes over other spans afterwards.
            "samples": {"event_hours": event_h.tolist(), "worker_rss_mb": rss["worker"].tolist(),
                        "tables_mb": tables_mb.tolist()},
        }, indent=2))  # fmt: skip
    if not exact:
        raise SystemExit(f"soak: {len(missing)} one-minute windows are not exact after the restart")


if __name__ == "__main__":
    main()

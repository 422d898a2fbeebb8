"""``finpulse backtest``: the pipeline over history, at full speed, in an instance of its own.

A back-test is a second pipeline beside the live one: its own consumer group, topic prefix, raw
topics, worker state and ClickHouse database (``<database>_<run>``: every row of the run is in it,
and the run id names it), with the same settings otherwise, so the same stream gives the same
windows and alerts as a live run. Alerts are not delivered to subscribers. The history is a JSONL
file of raw posts (the input contract of news.raw). When every record is stored and every window
is final, it reports the final windows and the alerts (a table, or JSON with ``--json``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from stream.cli.app import console, err_console, read_settings
from stream.cli.pipeline import kafka_mapped
from stream.config import KafkaSettings, Settings
from stream.errors import ServiceUnavailable, UsageError

POLL_S = 2.0


def run_env(settings: Settings, run: str, datadir: Path) -> dict[str, str]:
    """The environment of the run's own pipeline instance: everything else as configured."""
    p = settings.pipeline
    prefix = f"{p.topic_prefix}{run}."
    return {
        "FINPULSE_PIPELINE_APP_ID": f"{p.app_id}-{run}",
        "FINPULSE_PIPELINE_TOPIC_PREFIX": prefix,
        "FINPULSE_PIPELINE_NEWS_TOPIC": f"{prefix}{p.news_topic}",
        "FINPULSE_PIPELINE_SOCIAL_TOPIC": f"{prefix}{p.social_topic}",
        "FINPULSE_PIPELINE_DEADLETTER_TOPIC": f"{prefix}{p.deadletter_topic}",
        "FINPULSE_PIPELINE_DATADIR": str(datadir),
        "FINPULSE_PIPELINE_METRICS_PORT": "0",
        "FINPULSE_CLICKHOUSE_DATABASE": f"{settings.clickhouse.database}_{run}",
        "FINPULSE_DELIVERY_ENABLED": "false",  # a back-test never alerts a subscriber
    }


def read_history(path: Path) -> list[bytes]:
    try:
        lines = [line for line in path.read_bytes().splitlines() if line.strip()]
    except OSError as exc:
        raise UsageError(
            f"history {path}: {exc.strerror}: pass a JSONL file of raw posts"
        ) from None
    if not lines:
        raise UsageError(f"history {path} holds no record: one raw post (JSON) a line")
    return lines


def produce(kafka: KafkaSettings, topic: str, partitions: int, records: list[bytes]) -> None:
    """Create the run's raw topic and send the history keyless, as a feed would."""
    import asyncio

    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    from stream.kafka.security import client_options

    async def send() -> None:
        admin = AIOKafkaAdminClient(**client_options(kafka, client="backtest"))
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, partitions, 1)])
        except TopicAlreadyExistsError:
            pass
        finally:
            await admin.close()
        producer = AIOKafkaProducer(
            **client_options(kafka, client="backtest"), acks="all", linger_ms=20
        )
        await producer.start()
        try:
            for record in records:
                await producer.send(topic, record)
            await producer.flush()
        finally:
            await producer.stop()

    with kafka_mapped(kafka):
        asyncio.run(send())


def query(settings: Settings, database: str, sql: str) -> list[Any]:
    from stream.clickhouse import client as clickhouse

    with clickhouse.mapped(settings.clickhouse):
        client = clickhouse.connect(settings.clickhouse, database=database)
        try:
            return client.execute(sql)  # type: ignore[no-any-return]
        finally:
            client.disconnect()


STATE_SQL = (
    "SELECT (SELECT count() FROM events FINAL) + (SELECT count() FROM deadletter FINAL), "
    "(SELECT count() FROM (SELECT topic, window_seconds, window_start, max(final) AS f "
    "FROM sentiment_windows GROUP BY topic, window_seconds, window_start) WHERE f = 0), "
    "(SELECT count() FROM sentiment_windows), (SELECT count() FROM alerts)"
)
WINDOWS_SQL = (
    "SELECT topic, toUInt32(window_start), window_seconds, n, n_negative, n_neutral, n_positive, "
    "score_mean, negative_share, amendments FROM sentiment_windows FINAL WHERE final = 1 "
    "ORDER BY topic, window_seconds, window_start"
)
ALERTS_SQL = (
    "SELECT topic, rule, kind, severity, toUInt32(window_start), window_seconds, value, "
    "baseline, z FROM alerts FINAL ORDER BY window_start, topic, rule, kind"
)


def wait_until_done(
    settings: Settings, database: str, worker: subprocess.Popen[bytes], timeout_s: float
) -> None:
    """Done when the stored records, the open windows and the alerts have stopped changing with
    every window final (the run's sources go idle, and the idle clock closes the last windows)."""
    deadline = time.monotonic() + timeout_s
    previous: tuple[Any, ...] = ()
    stable = 0
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise ServiceUnavailable(
                f"the back-test's worker exited ({worker.returncode}): see its log",
                service="worker",
                address="",
            )
        [state] = query(settings, database, STATE_SQL)
        stored, open_windows, _, _ = state
        stable = stable + 1 if state == previous and stored and not open_windows else 0
        if stable >= 3:
            return
        previous = state
        time.sleep(POLL_S)
    raise ServiceUnavailable(
        f"the back-test did not finish within {timeout_s:.0f} s: raise --timeout",
        service="worker",
        address="",
    )


def backtest(
    ctx: typer.Context,
    history: Annotated[Path, typer.Argument(help="JSONL file of raw posts, one a line.")],
    run: Annotated[str | None, typer.Option(help="Run id (default: a new one).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds the run may take.")] = 1800.0,
) -> None:
    """Run the pipeline over history in an instance of its own and report windows and alerts."""
    settings = read_settings(ctx)
    records = read_history(history)
    run_id = run or f"bt{uuid.uuid4().hex[:8]}"
    if not run_id.isidentifier():
        raise UsageError(f"run id {run_id!r}: letters, digits and _ only")
    with tempfile.TemporaryDirectory(prefix=f"finpulse-{run_id}-") as tmp:
        env = {**os.environ, **run_env(settings, run_id, Path(tmp) / "state")}
        database = env["FINPULSE_CLICKHOUSE_DATABASE"]
        finpulse = [sys.executable, "-m", "stream.cli"]
        migrate = subprocess.run([*finpulse, "db", "migrate"], env=env, capture_output=True)
        if migrate.returncode:
            raise ServiceUnavailable(
                f"back-test database {database}: {migrate.stderr.decode().strip()}",
                service="clickhouse",
                address=database,
            )
        produce(settings.kafka, env["FINPULSE_PIPELINE_NEWS_TOPIC"],
                settings.pipeline.partitions, records)  # fmt: skip
        err_console.print(f"back-test {run_id}: {len(records)} records; database {database}")
        log = (Path(tmp) / "worker.log").open("wb")
        worker = subprocess.Popen([*finpulse, "worker"], env=env, stdout=log, stderr=log)
        try:
            wait_until_done(settings, database, worker, timeout)
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
    windows = query(settings, database, WINDOWS_SQL)
    alerts = query(settings, database, ALERTS_SQL)
    if as_json:
        columns_w = ("topic", "window_start", "window_seconds", "n", "n_negative", "n_neutral",
                     "n_positive", "score_mean", "negative_share", "amendments")  # fmt: skip
        columns_a = ("topic", "rule", "kind", "severity", "window_start", "window_seconds",
                     "value", "baseline", "z")  # fmt: skip
        print(json.dumps({
            "run": run_id, "database": database, "records": len(records),
            "windows": [dict(zip(columns_w, row, strict=True)) for row in windows],
            "alerts": [dict(zip(columns_a, row, strict=True)) for row in alerts],
        }))  # fmt: skip
        return
    table = Table("topic", "rule", "kind", "severity", "window", "value", "baseline", "z",
                  title=f"alerts of back-test {run_id}")  # fmt: skip
    for topic, rule, kind, severity, start, size, value, baseline, z in alerts:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(start))
        table.add_row(topic, rule, kind, severity, f"{when} +{size // 60}m", f"{value:.3f}",
                      f"{baseline:.3f}", f"{z:.1f}")  # fmt: skip
    console.print(table)
    console.print(f"{len(windows)} final windows in {database}.sentiment_windows")

"""``finpulse worker``, ``replay`` and ``watch``: run the pipeline, feed it, see what it makes."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from stream.cli.app import console, read_settings
from stream.config import KafkaSettings
from stream.errors import ServiceUnavailable


@contextlib.contextmanager
def kafka_mapped(settings: KafkaSettings) -> Iterator[None]:
    """Raise the broker's connection errors inside the block as ServiceUnavailable."""
    from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError

    try:
        yield
    except (KafkaConnectionError, KafkaTimeoutError, OSError) as exc:
        raise ServiceUnavailable(
            f"Kafka at {settings.bootstrap} did not answer: {exc}. Start it with `./ops/stack up`, "
            "or set FINPULSE_KAFKA_BOOTSTRAP",
            service="kafka",
            address=settings.bootstrap,
        ) from exc


def worker(
    ctx: typer.Context,
    datadir: Annotated[
        Path | None, typer.Option(help="Worker state folder (default: pipeline.datadir).")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option(help="Prometheus /metrics port (default: pipeline.metrics_port).")
    ] = None,
) -> None:
    """Run the pipeline's agents (ingest, score, windows, ClickHouse sinks) until stopped.

    Start several with the same settings to share the work: they form one consumer group.
    """
    import faust

    from stream import allocator, logs, metrics
    from stream import worker as pipeline

    settings = read_settings(ctx)
    allocator.limit_arenas(settings.pipeline.malloc_arenas)  # before any thread starts
    if metrics_port is not None:
        settings.pipeline.metrics_port = metrics_port
    metrics.serve(settings.pipeline.metrics_port)
    faust_app, _ = pipeline.build(settings, datadir=datadir)
    level = os.environ.get("FINPULSE_LOG_LEVEL", "WARNING").upper()
    runner = faust.Worker(faust_app, loglevel=level, quiet=True)
    # faust's terminal spinner sets the root logger to DEBUG so that it spins on every record: the
    # libraries' debug calls then cost more than the pipeline itself (measured: a third of the CPU).
    runner.spinner = None
    # Keep our structured log format (mode would install its own colour handler on the root).
    runner.on_setup_root_logger = lambda *_: logs.configure()  # type: ignore[method-assign]
    runner.execute_from_commandline()


def replay(
    ctx: typer.Context,
    data: Annotated[
        Path,
        typer.Option(
            help="Folder with financial_phrasebank/ and twitter_financial_news/ (and finfe/: "
            "Chinese forum posts join the social stream)."
        ),
    ] = Path("../shared/data"),
    count: Annotated[int, typer.Option(help="Records to send.")] = 1_000,
    rate: Annotated[
        float, typer.Option(help="Records per second (0: as fast as possible).")
    ] = 50.0,
    seed: Annotated[int, typer.Option(help="Seed of the sample stream.")] = 7,
    repeats: Annotated[float, typer.Option(help="Share of exact repeats.")] = 0.02,
    near_repeats: Annotated[float, typer.Option(help="Share of near-repeats.")] = 0.02,
    malformed: Annotated[float, typer.Option(help="Share of malformed records.")] = 0.01,
    span: Annotated[
        float, typer.Option(help="Minutes of event time to back-fill, ending now (0: live).")
    ] = 0.0,
    turn: Annotated[
        str, typer.Option(help="A ticker that turns negative in the last minutes of a back-fill.")
    ] = "",
    turn_minutes: Annotated[float, typer.Option(help="How long the turn lasts.")] = 12.0,
) -> None:
    """Replay a realistic sample stream (news and social posts) into news.raw and social.raw."""
    import time

    from stream import replay as sample
    from stream.progress import progress_bar
    from stream.sentiment.data import FINFE, PHRASEBANK, TWEETS, load
    from stream.sentiment.labels import LABEL_IDS

    settings = read_settings(ctx)
    examples = load(data)
    news = [e.text for e in examples if e.dataset == PHRASEBANK]
    social = [e.text for e in examples if e.dataset == TWEETS]
    chinese = [e.text for e in load(data, (FINFE,))] if (data / "finfe").is_dir() else []
    options = sample.ReplayOptions(
        count=count,
        rate=rate,
        seed=seed,
        repeat_share=repeats,
        near_repeat_share=near_repeats,
        malformed_share=malformed,
        news_topic=settings.pipeline.news_topic,
        social_topic=settings.pipeline.social_topic,
        span_s=span * 60,
        turn=turn,
        turn_s=turn_minutes * 60,
    )
    # The turn's texts: negatives every PhraseBank annotator agreed on, which any fair model
    # calls negative (tweets and split votes are closer calls), so the surge does not hang on
    # the model's recall; all negatives if the data has few of those.
    negative = [e.text for e in examples if e.label == LABEL_IDS["negative"]]
    clear = [
        e.text
        for e in examples
        if e.label == LABEL_IDS["negative"] and e.dataset == PHRASEBANK and e.agreement == 100
    ]
    negative = clear if len(clear) >= 50 else negative
    records = sample.plan(
        news, social, options, start=time.time(), negative_texts=negative, chinese_texts=chinese
    )
    kinds = {
        k: sum(r.kind == k for r in records)
        for k in ("valid", "near_repeat", "repeat", "malformed")
    }
    with (
        kafka_mapped(settings.kafka),
        progress_bar(total=len(records), unit="rec", desc="replay") as bar,
    ):
        took = asyncio.run(
            sample.produce(settings.kafka, records, progress=bar.update, paced=rate > 0)
        )
    console.print(
        f"sent {len(records)} records in {took:.1f} s: "
        + ", ".join(f"{n} {k.replace('_', '-')}" for k, n in kinds.items())
    )


def watch(
    ctx: typer.Context,
    minutes: Annotated[int, typer.Option(help="Window length to show: 1, 15 or 60.")] = 15,
    top: Annotated[int, typer.Option(help="Topics to show, busiest first.")] = 15,
    every: Annotated[float, typer.Option(help="Refresh every this many seconds.")] = 2.0,
    duration: Annotated[float, typer.Option(help="Stop after this many seconds (0: never).")] = 0,
) -> None:
    """Live per-topic sentiment: the latest window of each topic, from ClickHouse."""
    import time

    from rich.live import Live

    from stream.cli.watch import latest_windows, render
    from stream.clickhouse import client as clickhouse

    settings = read_settings(ctx)
    client = clickhouse.connect(settings.clickhouse)
    deadline = time.monotonic() + duration if duration else None
    try:
        with (
            clickhouse.mapped(settings.clickhouse),
            Live(console=console, auto_refresh=False) as live,
        ):
            while True:
                rows = latest_windows(client, minutes * 60, top)
                live.update(render(rows, minutes), refresh=True)
                if deadline is not None and time.monotonic() >= deadline:
                    break
                time.sleep(every)
    finally:
        client.disconnect()
    console.print()

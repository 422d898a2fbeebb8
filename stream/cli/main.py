"""The ``finpulse`` command line."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from stream import __version__
from stream.config import Settings, load_settings
from stream.errors import FinpulseError

app = typer.Typer(
    help="finpulse: real-time financial sentiment from news and social text.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(
    help="ClickHouse schema: apply, inspect and roll back migrations.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
config_app = typer.Typer(help="Inspect the effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
model_app = typer.Typer(
    help="The sentiment model: train, export to Triton, evaluate.", no_args_is_help=True
)
app.add_typer(model_app, name="model")
subs_app = typer.Typer(
    help="Alert subscriptions: who gets which alerts, by webhook or Kafka topic.",
    no_args_is_help=True,
)
app.add_typer(subs_app, name="subscriptions")

console = Console()
err_console = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="TOML config file (else FINPULSE_CONFIG).",
        exists=True,
        dir_okay=False,
    ),
]


def _version(value: bool) -> None:
    if value:
        console.print(f"finpulse {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    config: ConfigOption = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    from stream import logs

    logs.configure()
    ctx.obj = config


def _settings(ctx: typer.Context) -> Settings:
    try:
        return load_settings(ctx.obj)
    except FinpulseError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None


def _fail(exc: FinpulseError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(1)


@app.command()
def check(
    ctx: typer.Context,
    services: Annotated[
        list[str] | None, typer.Argument(help="kafka, clickhouse, triton (default: all).")
    ] = None,
    bootstrap: Annotated[
        str | None, typer.Option(help="Override the Kafka bootstrap servers.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each server.")] = 5.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Exit status only.")] = False,
) -> None:
    """Check that the configured servers answer. Exit status 1 if any does not."""
    from stream import health

    settings = _settings(ctx)
    if bootstrap:
        settings.kafka.bootstrap = bootstrap
    wanted = services or ["kafka", "clickhouse", "triton"]
    unknown = set(wanted) - {"kafka", "clickhouse", "triton"}
    if unknown:
        err_console.print(f"[red]error:[/red] unknown service(s) {sorted(unknown)}")
        raise typer.Exit(2)
    results = []
    for name in wanted:
        if name == "kafka":
            results.append(asyncio.run(health.check_kafka(settings.kafka, timeout)))
        elif name == "clickhouse":
            results.append(health.check_clickhouse(settings.clickhouse, timeout))
        else:
            results.append(health.check_triton(settings.triton, timeout))
    if not quiet:
        table = Table("service", "address", "status", "detail")
        for r in results:
            table.add_row(
                r.service, r.address, "[green]ok[/green]" if r.ok else "[red]down[/red]", r.detail
            )
        console.print(table)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective settings as JSON (secrets masked)."""
    settings = _settings(ctx)
    console.print_json(json.dumps(settings.model_dump(mode="json")))


DatabaseOption = Annotated[
    str | None, typer.Option(help="Database (default: clickhouse.database).")
]


@contextlib.contextmanager
def _migration_session(ctx: typer.Context, database: str | None) -> Iterator[_MigrationSession]:
    """Connect to the database (created if missing) and load the migration files; any finpulse
    error inside the block ends the command with its message."""
    from stream.clickhouse import client as clickhouse
    from stream.clickhouse import migrations

    settings = _settings(ctx).clickhouse
    name = database or settings.database
    try:
        clickhouse.ensure_database(settings, name)
        client = clickhouse.connect(settings, database=name)
        try:
            yield _MigrationSession(name, clickhouse.executor(client), migrations.load_migrations())
        finally:
            client.disconnect()
    except FinpulseError as exc:
        raise _fail(exc) from None


@dataclasses.dataclass(frozen=True)
class _MigrationSession:
    database: str
    execute: Any
    files: list[Any]


@db_app.command("migrate")
def db_migrate(
    ctx: typer.Context,
    to: Annotated[int | None, typer.Option(help="Stop at this version (default: latest).")] = None,
    database: DatabaseOption = None,
) -> None:
    """Apply pending migrations (idempotent: applied ones are skipped)."""
    from stream.clickhouse import migrations

    with _migration_session(ctx, database) as db:
        done = migrations.migrate(db.execute, db.files, target=to)
        latest = max(migrations.applied_migrations(db.execute), default=0)
    for m in done:
        console.print(f"applied {m.label}")
    console.print(f"database {db.database}: at version {latest:04d} ({len(done)} applied now)")


@db_app.command("rollback")
def db_rollback(
    ctx: typer.Context,
    to: Annotated[int, typer.Option(help="Undo migrations above this version (0: all).")],
    database: DatabaseOption = None,
) -> None:
    """Undo migrations newest first, down to version --to."""
    from stream.clickhouse import migrations

    with _migration_session(ctx, database) as db:
        done = migrations.rollback(db.execute, db.files, target=to)
    for m in done:
        console.print(f"rolled back {m.label}")
    console.print(f"database {db.database}: at version {to:04d}")


@db_app.command("status")
def db_status(ctx: typer.Context, database: DatabaseOption = None) -> None:
    """List migrations and whether each is applied."""
    from stream.clickhouse import migrations

    with _migration_session(ctx, database) as db:
        applied = migrations.applied_migrations(db.execute)
        migrations.check_history(db.files, applied)
    table = Table("version", "name", "state", title=f"database {db.database}")
    for m in db.files:
        table.add_row(f"{m.version:04d}", m.name, "applied" if m.version in applied else "pending")
    console.print(table)


DEFAULT_ARTIFACTS = Path("artifacts/sentiment")


def _names(csv: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in csv.split(",") if name.strip())


@model_app.command("train")
def model_train(
    data: Annotated[
        Path,
        typer.Option(
            help="Folder holding financial_phrasebank/ and twitter_financial_news/.",
            exists=True,
            file_okay=False,
        ),
    ],
    out: Annotated[Path, typer.Option(help="Output folder.")] = DEFAULT_ARTIFACTS,
    epochs: Annotated[int, typer.Option(min=1)] = 6,
    learning_rate: Annotated[float, typer.Option(min=0)] = 1e-4,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    max_length: Annotated[int, typer.Option(min=8)] = 128,
    min_agreement: Annotated[
        int, typer.Option(help="Leave PhraseBank sentences below this agreement out of training.")
    ] = 66,
    label_smoothing: Annotated[float, typer.Option(min=0, max=0.5)] = 0.1,
    pooling: Annotated[
        str, typer.Option(help="Sentence vector for the head: mean (of tokens) or cls (pooler).")
    ] = "mean",
    ema_decay: Annotated[
        float,
        typer.Option(
            min=0,
            max=0.99999,
            help="Keep a moving average of the weights with this decay per step (0: off).",
        ),
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Seed of the split, head and training.")] = 13,
    shuffle_seed: Annotated[
        int | None,
        typer.Option(
            help="Another seed for the batch order and dropout only (same split and head): "
            "runs for `finpulse model soup`."
        ),
    ] = None,
    datasets: Annotated[
        str, typer.Option(help="Comma-separated: phrasebank, tweets.")
    ] = "phrasebank,tweets",
    max_train_examples: Annotated[
        int | None, typer.Option(help="Train on a sample only (quick checks; not for release).")
    ] = None,
    fit_on: Annotated[
        str | None,
        typer.Option(
            help="Train on these of --datasets only; the validation split stays that of all."
        ),
    ] = None,
    base_model: Annotated[
        Path | None,
        typer.Option(
            help="Fine-tune this encoder folder instead (a teacher for --teacher; "
            "ops/teacher-weights fetches all-mpnet-base-v2).",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    teacher: Annotated[
        Path | None,
        typer.Option(
            help="Also learn the predictions of this finished run (same split; see README).",
            exists=True,
            file_okay=False,
        ),
    ] = None,
    distill_weight: Annotated[
        float, typer.Option(min=0, max=1, help="Share of the loss given to the teacher.")
    ] = 0.5,
    distill_temperature: Annotated[float, typer.Option(min=0.1)] = 2.0,
) -> None:
    """Fine-tune all-MiniLM-L6-v2 into the 3-class financial sentiment model."""
    from stream.sentiment.metrics import format_metrics
    from stream.sentiment.network import POOLINGS
    from stream.sentiment.train import TrainConfig, base_model_path, train

    if pooling not in POOLINGS:
        raise typer.BadParameter(f"one of {', '.join(POOLINGS)}", param_hint="--pooling")
    try:
        result = train(
            TrainConfig(
                data_dir=data,
                out_dir=out,
                epochs=epochs,
                learning_rate=learning_rate,
                batch_size=batch_size,
                max_length=max_length,
                min_agreement=min_agreement,
                label_smoothing=label_smoothing,
                pooling=pooling,
                ema_decay=ema_decay,
                seed=seed,
                shuffle_seed=shuffle_seed,
                datasets=_names(datasets),
                max_train_examples=max_train_examples,
                fit_datasets=_names(fit_on) if fit_on else None,
                teacher=teacher,
                distill_weight=distill_weight,
                distill_temperature=distill_temperature,
                base_model=base_model or base_model_path(),
            )
        )
    except FinpulseError as exc:
        raise _fail(exc) from None
    for name, metrics in result["final"].items():
        console.print(format_metrics(name, metrics))
    console.print(f"model, metrics.json, plots and MODEL_CARD.md in {out}")


@model_app.command("soup")
def model_soup(
    runs: Annotated[
        list[Path],
        typer.Argument(
            help="Output folders of `finpulse model train` that differ only in --shuffle-seed.",
            exists=True,
            file_okay=False,
        ),
    ],
    out: Annotated[Path, typer.Option(help="Output folder (what export takes).")] = (
        DEFAULT_ARTIFACTS
    ),
) -> None:
    """Average the weights of several training runs into one model (a model soup)."""
    from stream.sentiment.metrics import format_metrics
    from stream.sentiment.soup import make_soup

    try:
        result = make_soup(runs, out)
    except FinpulseError as exc:
        raise _fail(exc) from None
    for run in result["soup"]:
        figures = ", ".join(f"{k} {v['macro_f1']:.4f}" for k, v in run["final"].items())
        console.print(f"{run['run']}: macro-F1 {figures}")
    for name, metrics in result["final"].items():
        console.print(format_metrics(f"soup {name}", metrics))
    console.print(f"model, metrics.json, plots and MODEL_CARD.md in {out}")


@model_app.command("export")
def model_export(
    ctx: typer.Context,
    artifacts: Annotated[
        Path, typer.Option(help="Output folder of `finpulse model train`.")
    ] = DEFAULT_ARTIFACTS,
    model_repo: Annotated[
        Path | None, typer.Option(help="Triton model repository (default: triton.model_repo).")
    ] = None,
    device: Annotated[
        str, typer.Option(help="auto (GPU when one is visible), cpu or gpu: the instance kind.")
    ] = "auto",
    keep: Annotated[int, typer.Option(min=1, help="Versions kept on disk and served.")] = 2,
    max_f1_drop: Annotated[
        float, typer.Option(help="Serve int8 only if its macro-F1 is within this of fp32.")
    ] = 0.005,
    load: Annotated[
        bool, typer.Option(help="Ask a running Triton to load the new version.")
    ] = True,
) -> None:
    """Export the trained model as the next version of model_repo/sentiment (ONNX fp32 + int8)."""
    from stream.sentiment import export as sexport

    settings = _settings(ctx)
    repo = model_repo or settings.triton.model_repo
    kind = {"cpu": "KIND_CPU", "gpu": "KIND_GPU"}.get(device) or _auto_kind()
    try:
        result = sexport.export(
            artifacts, repo, kind=kind, keep_versions=keep, max_f1_drop=max_f1_drop
        )
    except FileNotFoundError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    table = Table("slice", "fp32 macro-F1", "int8 macro-F1", "int8 - fp32", title="export")
    for name, fp32 in result.figures.get("fp32", {}).items():
        int8 = result.figures["int8"][name]
        delta = int8["macro_f1"] - fp32["macro_f1"]
        table.add_row(name, f"{fp32['macro_f1']:.4f}", f"{int8['macro_f1']:.4f}", f"{delta:+.4f}")
    console.print(table)
    console.print(
        f"wrote {result.version_dir} (serving variant: {result.variant}, instances: {kind})"
        + (f"; removed versions {result.removed_versions}" if result.removed_versions else "")
    )
    if load:
        _load_in_triton(settings, sexport.MODEL_NAME)


def _auto_kind() -> str:
    import onnxruntime

    return (
        "KIND_GPU"
        if "CUDAExecutionProvider" in onnxruntime.get_available_providers()
        else "KIND_CPU"
    )


def _load_in_triton(settings: Settings, model: str) -> None:
    import httpx

    url = f"http://{settings.triton.http}/v2/repository/models/{model}/load"
    try:
        response = httpx.post(url, timeout=300)
    except httpx.HTTPError as exc:
        console.print(
            f"Triton at {settings.triton.http} not reachable ({exc}); it loads the model at start"
        )
        return
    if response.status_code != 200:
        err_console.print(f"[red]error:[/red] Triton refused to load {model}: {response.text}")
        raise typer.Exit(1)
    console.print(f"Triton at {settings.triton.http} loaded {model}")


@model_app.command("score")
def model_score(
    ctx: typer.Context,
    texts: Annotated[list[str], typer.Argument(help="Texts to score.")],
    model: Annotated[str | None, typer.Option(help="Model name (default: triton.model).")] = None,
) -> None:
    """Score texts through the running Triton and print label, score and probabilities."""
    from stream.scoring.triton import ScoringError, TritonScorer

    settings = _settings(ctx)

    async def run() -> list[Any]:
        name = model or settings.triton.model
        async with TritonScorer(settings.triton.grpc, model=name, retries=2) as scorer:
            await scorer.check_ready()
            return await scorer.score(texts)

    try:
        results = asyncio.run(run())
    except ScoringError as exc:
        raise _fail(exc) from None
    table = Table("label", "score", "negative", "neutral", "positive", "text")
    for text, s in zip(texts, results, strict=True):
        table.add_row(s.label, f"{s.score:+.3f}", *(f"{p:.3f}" for p in s.probs), text[:80])
    console.print(table)


@model_app.command("eval")
def model_eval(
    ctx: typer.Context,
    data: Annotated[
        Path, typer.Option(help="CSV with columns text,label.", exists=True, dir_okay=False)
    ],
    model: Annotated[str | None, typer.Option(help="Model name (default: triton.model).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Score a labelled CSV through Triton and in-process; print metrics; fail on any mismatch."""
    from stream.sentiment import evaluate
    from stream.sentiment.data import read_eval_csv
    from stream.sentiment.metrics import format_metrics

    settings = _settings(ctx)
    try:
        rows = read_eval_csv(data)
        result = evaluate.compare(
            rows, settings.triton, settings.triton.model_repo, model or settings.triton.model
        )
    except FinpulseError as exc:
        raise _fail(exc) from None
    if json_out:
        console.print_json(evaluate.to_json(result))
    else:
        console.print(f"model version {result.version} ({result.variant}), {len(rows)} texts")
        console.print(format_metrics("served by Triton", result.served))
        console.print(format_metrics("in-process", result.in_process))
    if result.disagreements:
        for text, served, local in result.disagreements[:10]:
            err_console.print(f"  served {served} vs in-process {local}: {text[:100]!r}")
        err_console.print(f"[red]{len(result.disagreements)} label(s) differ[/red]")
        raise typer.Exit(1)
    console.print("served and in-process labels agree on every text")


@app.command()
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

    from stream import logs, metrics
    from stream import worker as pipeline

    settings = _settings(ctx)
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


@app.command()
def replay(
    ctx: typer.Context,
    data: Annotated[
        Path,
        typer.Option(help="Folder with financial_phrasebank/ and twitter_financial_news/."),
    ] = Path("../shared/data"),
    count: Annotated[int, typer.Option(help="Records to send.")] = 1_000,
    rate: Annotated[
        float, typer.Option(help="Records per second (0: as fast as possible).")
    ] = 50.0,
    seed: Annotated[int, typer.Option(help="Seed of the sample stream.")] = 7,
    repeats: Annotated[float, typer.Option(help="Share of exact repeats.")] = 0.02,
    near_repeats: Annotated[float, typer.Option(help="Share of near-repeats.")] = 0.02,
    malformed: Annotated[float, typer.Option(help="Share of malformed records.")] = 0.01,
) -> None:
    """Replay a realistic sample stream (news and social posts) into news.raw and social.raw."""
    import time

    from tqdm import tqdm

    from stream import replay as sample
    from stream.sentiment.data import PHRASEBANK, TWEETS, load

    settings = _settings(ctx)
    try:
        examples = load(data)
    except FinpulseError as exc:
        raise _fail(exc) from None
    news = [e.text for e in examples if e.dataset == PHRASEBANK]
    social = [e.text for e in examples if e.dataset == TWEETS]
    options = sample.ReplayOptions(
        count=count,
        rate=rate,
        seed=seed,
        repeat_share=repeats,
        near_repeat_share=near_repeats,
        malformed_share=malformed,
        news_topic=settings.pipeline.news_topic,
        social_topic=settings.pipeline.social_topic,
    )
    records = sample.plan(news, social, options, start=time.time())
    kinds = {
        k: sum(r.kind == k for r in records)
        for k in ("valid", "near_repeat", "repeat", "malformed")
    }
    with tqdm(total=len(records), unit="rec", desc="replay") as bar:
        took = asyncio.run(
            sample.produce(settings.kafka.bootstrap, records, progress=bar.update, paced=rate > 0)
        )
    console.print(
        f"sent {len(records)} records in {took:.1f} s: "
        + ", ".join(f"{n} {k.replace('_', '-')}" for k, n in kinds.items())
    )


@app.command()
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

    settings = _settings(ctx)
    client = clickhouse.connect(settings.clickhouse)
    deadline = time.monotonic() + duration if duration else None
    with Live(console=console, auto_refresh=False) as live:
        while True:
            rows = latest_windows(client, minutes * 60, top)
            live.update(render(rows, minutes), refresh=True)
            if deadline is not None and time.monotonic() >= deadline:
                break
            time.sleep(every)
    console.print()


@contextlib.contextmanager
def _store(ctx: typer.Context) -> Iterator[Any]:
    from stream.delivery.store import SubscriptionNotFound, SubscriptionStore
    from stream.delivery.subscriptions import InvalidSubscription

    store = SubscriptionStore(_settings(ctx).clickhouse)
    try:
        yield store
    except (InvalidSubscription, SubscriptionNotFound) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except FinpulseError as exc:
        raise _fail(exc) from None
    finally:
        store.close()


def _show_subscription(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(data))
        return
    for key, value in data.items():
        if isinstance(value, list):
            value = ", ".join(value) or "(all)"
        elif key.endswith("_at"):
            value = _utc(value)
        console.print(f"[bold]{key:>16}[/bold]  {value}")


def _utc(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@subs_app.command("add")
def subscriptions_add(
    ctx: typer.Context,
    webhook: Annotated[str | None, typer.Option(help="Deliver by POST to this URL.")] = None,
    kafka_topic: Annotated[str | None, typer.Option(help="Deliver to this Kafka topic.")] = None,
    topic: Annotated[
        list[str] | None,
        typer.Option("--topic", "-t", help="Topic or pattern (AAPL, theme:*); repeat; none = all."),
    ] = None,
    rule: Annotated[
        list[str] | None,
        typer.Option("--rule", "-r", help="negative_surge, volume_spike, sentiment_reversal."),
    ] = None,
    min_severity: Annotated[str, typer.Option(help="warning or critical.")] = "warning",
    kind: Annotated[
        list[str] | None, typer.Option(help="alert, escalation, resolution (default: all).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="A label (default: the target).")] = None,
    secret: Annotated[
        str | None, typer.Option(help="Webhook signing secret (default: a new random one).")
    ] = None,
    paused: Annotated[bool, typer.Option(help="Add it paused.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Add a subscription. Prints its webhook secret: the only time it is shown."""
    if (webhook is None) == (kafka_topic is None):
        err_console.print("[red]error:[/red] give exactly one of --webhook URL or --kafka-topic T")
        raise typer.Exit(2)
    data: dict[str, Any] = {
        "channel": "webhook" if webhook else "kafka",
        "target": webhook or kafka_topic,
        "topics": topic or [],
        "rules": rule or [],
        "min_severity": min_severity,
        "status": "paused" if paused else "active",
    }
    if kind:
        data["kinds"] = kind
    if name:
        data["name"] = name
    if secret:
        data["secret"] = secret
    with _store(ctx) as store:
        sub = store.add(data)
    _show_subscription(vars(sub), as_json)
    if not as_json and sub.channel == "webhook":
        err_console.print(
            "[yellow]Keep the secret: receivers verify X-Finpulse-Signature with it, and it is "
            "not shown again.[/yellow]"
        )


@subs_app.command("list")
def subscriptions_list(
    ctx: typer.Context,
    deleted: Annotated[bool, typer.Option(help="Include deleted subscriptions.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List subscriptions (secrets hidden)."""
    from stream.delivery.subscriptions import public

    with _store(ctx) as store:
        subs = store.all(include_deleted=deleted)
    if as_json:
        console.print_json(json.dumps([public(s) for s in subs]))
        return
    table = Table("id", "name", "status", "channel", "target", "topics", "rules", "severity")
    for s in subs:
        table.add_row(s.subscription_id, s.name, s.status, s.channel, s.target,
                      ", ".join(s.topics) or "(all)", ", ".join(s.rules) or "(all)",
                      f">= {s.min_severity}")  # fmt: skip
    console.print(table)


@subs_app.command("show")
def subscriptions_show(
    ctx: typer.Context, subscription_id: str, as_json: JsonOption = False
) -> None:
    """Show one subscription (secret hidden)."""
    from stream.delivery.subscriptions import public

    with _store(ctx) as store:
        sub = store.get(subscription_id)
    _show_subscription(public(sub), as_json)


@subs_app.command("pause")
def subscriptions_pause(ctx: typer.Context, subscription_id: str) -> None:
    """Pause deliveries; alerts raised meanwhile are not kept for later."""
    with _store(ctx) as store:
        store.change(subscription_id, {"status": "paused"})
    console.print(f"{subscription_id} paused")


@subs_app.command("resume")
def subscriptions_resume(ctx: typer.Context, subscription_id: str) -> None:
    """Resume deliveries of a paused subscription."""
    with _store(ctx) as store:
        store.change(subscription_id, {"status": "active"})
    console.print(f"{subscription_id} active")


@subs_app.command("delete")
def subscriptions_delete(ctx: typer.Context, subscription_id: str) -> None:
    """Delete a subscription; queued alerts for it are cancelled."""
    with _store(ctx) as store:
        store.delete(subscription_id)
    console.print(f"{subscription_id} deleted")


@subs_app.command("receive")
def subscriptions_receive(
    secret: Annotated[str, typer.Option(envvar="FINPULSE_WEBHOOK_SECRET", help="The secret.")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 18006,
) -> None:
    """A local webhook receiver for trying subscriptions: verifies each signature, prints alerts."""
    import time

    from aiohttp import web

    from stream.delivery import signing

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        ok = signing.verify(
            secret,
            request.headers.get(signing.TIMESTAMP_HEADER),
            request.headers.get(signing.SIGNATURE_HEADER),
            body,
            now=time.time(),
        )
        if not ok:
            err_console.print("[red]refused: bad or old signature[/red]")
            return web.Response(status=401)
        alert = json.loads(body)["alert"]
        console.print(
            f"{_utc(alert['window_start'])}  {alert['severity']:>8}  {alert['rule']:<18} "
            f"{alert['kind']:<10} {alert['topic']:<12} value {alert['value']:.3f} "
            f"(baseline {alert['baseline']:.3f})"
        )
        return web.Response(status=204)

    web_app = web.Application()
    web_app.router.add_post("/{tail:.*}", receive)
    console.print(f"receiving on http://127.0.0.1:{port}/ (Ctrl-C stops)")
    web.run_app(web_app, host="127.0.0.1", port=port, print=None)


@app.command()
def api(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address (default: api.host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default: api.port).")] = None,
) -> None:
    """Serve the HTTP API (subscriptions), with bearer tokens from api.tokens."""
    from aiohttp import web

    from stream.delivery.store import SubscriptionStore
    from stream.web.api import create_app

    settings = _settings(ctx)
    tokens = [token.get_secret_value() for token in settings.api.tokens]
    if not tokens:
        err_console.print(
            "[red]error:[/red] no API token: set FINPULSE_API_TOKENS (or api.tokens), "
            "e.g. to the output of `python -c 'import secrets; print(secrets.token_urlsafe())'`"
        )
        raise typer.Exit(2)
    web_app = create_app(SubscriptionStore(settings.clickhouse), tokens)
    host = host or settings.api.host
    port = port or settings.api.port
    err_console.print(f"finpulse API on http://{host}:{port}/v1/subscriptions")
    web.run_app(web_app, host=host, port=port, print=None)


if __name__ == "__main__":
    app()

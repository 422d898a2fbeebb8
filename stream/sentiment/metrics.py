"""Classification metrics (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from stream.sentiment.labels import LABELS


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class F1 and the confusion matrix (rows true, columns predicted)."""
    labels = list(range(len(LABELS)))
    per_class = f1_score(y_true, y_pred, labels=labels, average=None, zero_division=0)
    return {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "f1": {label: float(v) for label, v in zip(LABELS, per_class, strict=True)},
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def format_metrics(name: str, m: dict[str, Any]) -> str:
    f1 = "  ".join(f"{label} {m['f1'][label]:.3f}" for label in LABELS)
    rows = "\n".join(
        f"    {label:>8} " + " ".join(f"{v:6d}" for v in row)
        for label, row in zip(LABELS, m["confusion"], strict=True)
    )
    header = "             " + " ".join(f"{label[:6]:>6}" for label in LABELS)
    return (
        f"{name}: n={m['n']}  accuracy {m['accuracy']:.4f}  macro-F1 {m['macro_f1']:.4f}\n"
        f"  F1: {f1}\n  confusion (rows true, columns predicted):\n{header}\n{rows}"
    )

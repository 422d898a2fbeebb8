"""Class-prior calibration and per-data-set class weights (pure numpy).

A model trained on several sets at once learns one prior over the classes, the mix of all of
them; on a set whose own mix differs (FinFE is 56 % positive and 21 % neutral, the English sets
mostly neutral) it under-predicts that set's rare class, which costs macro-F1 more than accuracy.
Two remedies, both fitted on training data only:

- ``row_class_weights``: each row's loss weighted by its class's inverse square-root frequency
  within its own data set (``class_weights`` in train.py does it over all sets pooled).
- ``fit_logit_bias``: a constant added to the logits, chosen on a development part held out of the
  training rows (never the reported validation split) to maximise the mean macro-F1 of the given
  data sets. Training folds it into the head's bias (network.add_logit_bias), so the exported
  graph, in-process scoring and Triton all apply it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from stream.sentiment.labels import LABELS

NEUTRAL = LABELS.index("neutral")  # the class whose bias stays 0 (only differences matter)
BIAS_GRID = tuple(round(-3.0 + 0.1 * i, 1) for i in range(61))  # -3.0 .. 3.0


def macro_f1(labels: npt.NDArray[np.int64], predicted: npt.NDArray[np.int64]) -> float:
    """Macro-F1 over the three classes (a class absent from both counts 0, as sklearn's
    ``zero_division=0``)."""
    k = len(LABELS)
    confusion = np.bincount(labels * k + predicted, minlength=k * k).reshape(k, k)
    tp = np.diag(confusion).astype(np.float64)
    denominator = confusion.sum(axis=0) + confusion.sum(axis=1)
    f1 = np.divide(2 * tp, denominator, out=np.zeros(k), where=denominator > 0)
    return float(f1.mean())


def mean_macro_f1(
    logits: npt.NDArray[np.floating[Any]],
    labels: npt.NDArray[np.int64],
    groups: Sequence[npt.NDArray[np.bool_]],
    bias: npt.NDArray[np.floating[Any]],
) -> float:
    """The mean over ``groups`` (row masks, one per data set) of macro-F1 with ``bias`` added."""
    predicted = (logits + bias).argmax(axis=1)
    return float(np.mean([macro_f1(labels[g], predicted[g]) for g in groups]))


def fit_logit_bias(
    logits: npt.NDArray[np.floating[Any]],
    labels: Sequence[int],
    datasets: Sequence[str],
    on: Sequence[str],
    grid: Sequence[float] = BIAS_GRID,
) -> npt.NDArray[np.float32]:
    """The bias (neutral's held at 0) on ``grid`` that maximises the mean macro-F1 over the data
    sets ``on`` of these rows; among equals the smallest shift, so no evidence means no bias."""
    gold = np.asarray(labels, dtype=np.int64)
    names = np.asarray(datasets)
    groups = [names == name for name in on if (names == name).any()]
    if not groups:
        return np.zeros(len(LABELS), dtype=np.float32)
    others = [i for i in range(len(LABELS)) if i != NEUTRAL]
    best = np.zeros(len(LABELS))
    best_score = mean_macro_f1(logits, gold, groups, best)
    best_size = 0.0
    for a in grid:
        for b in grid:
            bias = np.zeros(len(LABELS))
            bias[others] = (a, b)
            score = mean_macro_f1(logits, gold, groups, bias)
            size = abs(a) + abs(b)
            if score > best_score or (score == best_score and size < best_size):
                best, best_score, best_size = bias, score, size
    return best.astype(np.float32)


def row_class_weights(labels: Sequence[int], datasets: Sequence[str]) -> npt.NDArray[np.float32]:
    """Per row: 1 / sqrt(count of its (data set, class)), scaled so the weights average 1."""
    counts = Counter(zip(datasets, labels, strict=True))
    raw = np.array(
        [1.0 / math.sqrt(counts[key]) for key in zip(datasets, labels, strict=True)],
        dtype=np.float64,
    )
    scaled: npt.NDArray[np.float32] = (raw / raw.mean() if raw.size else raw).astype(np.float32)
    return scaled

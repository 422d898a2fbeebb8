"""Knowledge distillation: the student also learns a teacher's soft predictions (Hinton et al.,
2015), so a larger encoder that only training can afford passes on what it tells apart.

The teacher is a finished ``finpulse model train`` run, usually on a larger encoder
(``--base-model``). It must have held out the same validation texts as the student: a teacher
that trained on them would leak their labels into the student's targets. It is asked only about
texts of the data sets it was trained on; for the others the student learns the gold label alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from stream.errors import ConfigError
from stream.sentiment.data import read_run_result, read_validation_slices


def check_teacher(teacher: Path, slices: Mapping[str, Sequence[tuple[str, int]]]) -> dict[str, Any]:
    """The training results (metrics.json) of the teacher run at ``teacher``, after checking
    that it held out exactly ``slices`` (the student's validation rows)."""
    result = read_run_result(teacher)
    if not (teacher / "model").is_dir():
        raise ConfigError(f"{teacher}: not a training run (no model/)")
    held_out = read_validation_slices(teacher)
    wanted = {name: list(rows) for name, rows in slices.items()}
    if held_out != wanted:
        raise ConfigError(
            f"{teacher} held out other validation texts than this run (another seed, data or "
            "fraction): its targets would leak validation labels; train the teacher on this split"
        )
    return result


def taught_datasets(teacher_result: Mapping[str, Any]) -> set[str]:
    """The data sets a teacher is asked about: those it was trained on."""
    return set(teacher_result["data"]["train_by_dataset"])


def combined_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    teacher_logits: torch.Tensor,
    taught: torch.Tensor,
    *,
    class_weights: torch.Tensor,
    label_smoothing: float,
    weight: float,
    temperature: float,
) -> torch.Tensor:
    """``(1 - weight)`` times the gold-label loss plus ``weight`` times the distillation loss for
    rows the teacher was asked about (``taught``); the gold-label loss alone for the others.

    The gold-label part is the class-weighted, smoothed cross-entropy that training without a
    teacher uses (same normalisation), so a batch with no taught rows is trained exactly as
    without a teacher. The distillation part is KL(teacher || student) at ``temperature``, times
    its square so the gradient's scale does not depend on the temperature (Hinton et al.).
    """
    ce = torch.nn.functional.cross_entropy(
        logits, labels, weight=class_weights, label_smoothing=label_smoothing, reduction="none"
    )
    share = torch.where(taught, 1.0 - weight, 1.0)
    gold = (share * ce).sum() / class_weights[labels].sum()
    student = torch.log_softmax(logits / temperature, dim=-1)
    teacher = torch.log_softmax(teacher_logits / temperature, dim=-1)
    kl = (teacher.exp() * (teacher - student)).sum(dim=-1) * temperature**2
    soft = (kl * taught).sum() / len(labels)
    return gold + weight * soft

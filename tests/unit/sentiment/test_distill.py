"""Distillation: the combined loss, the check that a teacher held out the student's split, and
short real trainings with a teacher."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from stream.errors import ConfigError
from stream.sentiment import distill
from tests.unit.sentiment.quick_training import needs_data, train_quick

WEIGHTS = torch.tensor([1.5, 0.5, 1.0])


def _batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    student = torch.randn(6, 3, generator=gen)
    teacher = torch.randn(6, 3, generator=gen) * 3
    labels = torch.tensor([0, 1, 2, 1, 1, 0])
    return student, teacher, labels


def _loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    labels: torch.Tensor,
    taught: torch.Tensor,
    weight: float = 0.4,
    temperature: float = 2.0,
) -> torch.Tensor:
    return distill.combined_loss(
        student,
        labels,
        teacher,
        taught,
        class_weights=WEIGHTS,
        label_smoothing=0.1,
        weight=weight,
        temperature=temperature,
    )


def test_untaught_rows_get_the_plain_training_loss() -> None:
    student, teacher, labels = _batch()
    plain = torch.nn.CrossEntropyLoss(weight=WEIGHTS, label_smoothing=0.1)(student, labels)
    torch.testing.assert_close(
        _loss(student, teacher, labels, torch.zeros(6, dtype=torch.bool)), plain
    )


def test_taught_rows_mix_gold_loss_and_scaled_kl() -> None:
    student, teacher, labels = _batch()
    plain = torch.nn.CrossEntropyLoss(weight=WEIGHTS, label_smoothing=0.1)(student, labels)
    kl = torch.nn.functional.kl_div(
        torch.log_softmax(student / 2, -1), torch.softmax(teacher / 2, -1), reduction="batchmean"
    )
    expected = 0.6 * plain + 0.4 * 4 * kl
    torch.testing.assert_close(
        _loss(student, teacher, labels, torch.ones(6, dtype=torch.bool)), expected
    )
    # A student that already agrees with its teacher pays only the gold-label share.
    agreed = _loss(teacher, teacher, labels, torch.ones(6, dtype=torch.bool))
    plain_teacher = torch.nn.CrossEntropyLoss(weight=WEIGHTS, label_smoothing=0.1)(teacher, labels)
    torch.testing.assert_close(agreed, 0.6 * plain_teacher)


def test_with_full_weight_taught_rows_follow_the_teacher_and_the_others_their_label() -> None:
    student, teacher, labels = _batch()
    taught = torch.tensor([True, True, True, False, False, False])
    base = _loss(student, teacher, labels, taught, weight=1.0)
    relabelled = labels.clone()
    relabelled[:3] = (labels[:3] + 1) % 3
    torch.testing.assert_close(_loss(student, teacher, relabelled, taught, weight=1.0), base)
    other_teacher = teacher.clone()
    other_teacher[3:] = -other_teacher[3:]
    torch.testing.assert_close(_loss(student, other_teacher, labels, taught, weight=1.0), base)
    relabelled = labels.clone()
    relabelled[3:] = (labels[3:] + 1) % 3
    assert not torch.isclose(_loss(student, teacher, relabelled, taught, weight=1.0), base)


def _fake_teacher(root: Path, rows: str) -> Path:
    run = root / "teacher"
    (run / "model").mkdir(parents=True)
    result = {"config": {"base_model": "x"}, "data": {"train_by_dataset": {"tweets": 3}}}
    (run / "metrics.json").write_text(json.dumps(result))
    (run / "validation_tweets.csv").write_text("text,label\n" + rows)
    return run


def test_teacher_must_have_held_out_the_same_split(tmp_path: Path) -> None:
    ours = {"tweets": [("up", 2)]}
    teacher = _fake_teacher(tmp_path, "up,positive\n")
    assert distill.taught_datasets(distill.check_teacher(teacher, ours)) == {"tweets"}
    (teacher / "validation_tweets.csv").write_text("text,label\ndown,negative\n")
    with pytest.raises(ConfigError, match="leak"):
        distill.check_teacher(teacher, ours)
    with pytest.raises(ConfigError, match="not a training run"):
        distill.check_teacher(tmp_path, ours)


@needs_data
def test_training_with_a_teacher(tmp_path: Path) -> None:
    teacher = train_quick(tmp_path / "teacher", shuffle_seed=21)
    plain = train_quick(tmp_path / "plain")
    student = train_quick(tmp_path / "student", teacher=teacher, distill_weight=0.9)

    result = json.loads((student / "metrics.json").read_text())
    assert result["teacher"]["asked"] == ["phrasebank"]
    assert result["teacher"]["asked_rows"] == result["data"]["train"] == 64
    assert "| teacher |" in (student / "MODEL_CARD.md").read_text()
    head = load_file(str(student / "model" / "head.safetensors"))["weight"]
    plain_head = load_file(str(plain / "model" / "head.safetensors"))["weight"]
    assert not torch.equal(head, plain_head)  # the teacher changed what was learnt

    with pytest.raises(ConfigError, match="leak"):
        train_quick(tmp_path / "other-split", teacher=teacher, seed=14)


@needs_data
def test_fit_on_keeps_the_split_of_all_data_sets(tmp_path: Path) -> None:
    both = ("phrasebank", "tweets")
    run = train_quick(tmp_path / "tweets", datasets=both, fit_datasets=("tweets",))
    result = json.loads((run / "metrics.json").read_text())
    assert set(result["data"]["train_by_dataset"]) == {"tweets"}
    assert set(result["data"]["validation"]) == {"phrasebank", "phrasebank_100", "tweets"}
    with pytest.raises(ConfigError, match="cannot fit on"):
        train_quick(tmp_path / "bad", fit_datasets=("tweets",))

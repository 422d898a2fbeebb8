"""Class-prior calibration and per-data-set class weights: the rules of the fit, and that a
calibrated training saves and reports the model with its bias."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import torch
from sklearn.metrics import f1_score
from transformers import AutoTokenizer

from stream.errors import ConfigError
from stream.sentiment import calibration, network
from stream.sentiment.data import read_validation_slices
from stream.sentiment.train import _row_weighted_loss, evaluate
from tests.unit.sentiment.quick_training import needs_data, train_quick


def noisy_logits(
    n: int, seed: int, shift: tuple[float, float, float]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Logits that lean towards the true class, plus a constant ``shift`` per class."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), labels] += 1.5
    return logits + np.array(shift), labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_macro_f1_is_sklearns(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth, predicted = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    predicted[:50] = 0  # and a class that may be missing from one side
    expected = f1_score(truth, predicted, labels=[0, 1, 2], average="macro", zero_division=0)
    assert calibration.macro_f1(truth, predicted) == pytest.approx(expected)


@pytest.mark.parametrize("shift", [(0.0, 0.0, 0.0), (0.0, 1.5, 0.0), (1.0, 0.0, -1.0)])
def test_the_fitted_bias_is_never_worse_than_none_and_keeps_neutral_at_zero(
    shift: tuple[float, float, float],
) -> None:
    logits, labels = noisy_logits(400, 3, shift)
    names = ["finfe"] * 400
    bias = calibration.fit_logit_bias(logits, labels.tolist(), names, ["finfe"])
    groups = [np.ones(400, dtype=bool)]
    assert bias[calibration.NEUTRAL] == 0.0
    fitted = calibration.mean_macro_f1(logits, labels, groups, bias)
    assert fitted >= calibration.mean_macro_f1(logits, labels, groups, np.zeros(3))


def test_a_bias_against_the_over_predicted_class_is_found() -> None:
    logits, labels = noisy_logits(600, 4, (0.0, 2.0, 0.0))  # neutral pushed up
    bias = calibration.fit_logit_bias(logits, labels.tolist(), ["finfe"] * 600, ["finfe"])
    assert bias[0] > 0.5 and bias[2] > 0.5  # the others raised against neutral


def test_rows_of_other_data_sets_do_not_move_the_bias() -> None:
    logits, labels = noisy_logits(600, 5, (0.0, 1.0, 0.0))
    names = ["finfe"] * 300 + ["tweets"] * 300
    base = calibration.fit_logit_bias(logits, labels.tolist(), names, ["finfe"])
    other = logits.copy()
    other[300:] = np.random.default_rng(6).normal(size=(300, 3)) * 5
    assert np.array_equal(
        base, calibration.fit_logit_bias(other, labels.tolist(), names, ["finfe"])
    )


def test_no_rows_of_the_data_sets_means_no_bias() -> None:
    logits, labels = noisy_logits(50, 7, (0.0, 1.0, 0.0))
    bias = calibration.fit_logit_bias(logits, labels.tolist(), ["tweets"] * 50, ["finfe"])
    assert np.array_equal(bias, np.zeros(3))


def test_row_weights_average_one_and_favour_a_sets_rare_class() -> None:
    labels = [0, 2, 2, 2, 1, 1, 1, 0]
    names = ["finfe"] * 4 + ["tweets"] * 4
    weights = calibration.row_class_weights(labels, names)
    assert weights.mean() == pytest.approx(1.0)
    assert weights[0] > weights[1]  # finfe: negative once, positive three times
    assert weights[7] > weights[4]  # tweets: negative once, neutral three times
    assert weights[1] == pytest.approx(weights[4])  # same count, same weight, whatever the set


def test_equal_row_weights_give_the_plain_smoothed_loss() -> None:
    torch.manual_seed(0)
    logits, gold = torch.randn(8, 3), torch.randint(0, 3, (8,))
    plain = torch.nn.functional.cross_entropy(logits, gold, label_smoothing=0.1)
    weighted = _row_weighted_loss(logits, gold, torch.full((8,), 2.0), 0.1)
    assert torch.allclose(plain, weighted)


class _Encoder(torch.nn.Module):
    class config:  # what MeanPoolClassifier reads of a transformers config
        hidden_dropout_prob = 0.0
        hidden_size = 4

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> object:
        class Out:
            last_hidden_state = input_ids.unsqueeze(-1).float().expand(-1, -1, 4)

        return Out()


def test_a_logit_bias_shifts_every_logit_by_exactly_that() -> None:
    model = network.MeanPoolClassifier(_Encoder(), 3).eval()
    ids, mask = torch.tensor([[1, 2, 3], [4, 5, 6]]), torch.ones(2, 3, dtype=torch.long)
    before = model(ids, mask).detach()
    bias = torch.tensor([0.5, 0.0, -1.25])
    network.add_logit_bias(model, bias)
    assert torch.allclose(model(ids, mask).detach(), before + bias)


def test_only_the_head_learns_at_the_head_rate() -> None:
    assert network.is_head("classifier.weight") and network.is_head("model.classifier.bias")
    assert not network.is_head("encoder.layer.0.attention.self.query.weight")


@needs_data
def test_a_calibrated_run_reports_and_saves_the_model_with_its_bias(tmp_path: Path) -> None:
    run = train_quick(
        tmp_path,
        calibration_fraction=0.05,
        class_weighting="dataset",
        head_learning_rate=1e-3,
    )
    result = json.loads((run / "metrics.json").read_text())
    assert result["data"]["calibration_dev"] > 0
    assert result["calibration"]["on"] == ["phrasebank"]
    assert result["calibration"]["bias"]["neutral"] == 0.0
    assert "| logit bias |" in (run / "MODEL_CARD.md").read_text()
    model = network.load(run / "model")
    tokenizer = AutoTokenizer.from_pretrained(str(run / "model"))
    saved = evaluate(model, tokenizer, read_validation_slices(run), 32)
    assert {k: m["macro_f1"] for k, m in saved.items()} == {
        k: m["macro_f1"] for k, m in result["final"].items()
    }


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"class_weighting": "sqrt"}, "class weighting"),
        ({"calibrate_on": ("phrasebank",)}, "needs --calibration-fraction"),
        ({"calibrate_on": ("finfe",), "calibration_fraction": 0.1}, "cannot calibrate on"),
    ],
)
def test_settings_that_cannot_work_are_refused_before_training(
    settings: dict[str, Any], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=message):
        train_quick(tmp_path, **settings)


def test_the_exported_graph_carries_the_bias(tmp_path: Path) -> None:
    import onnxruntime as ort

    from stream.sentiment.export import export_onnx
    from stream.sentiment.train import base_model_path

    torch.manual_seed(0)
    model = network.build(base_model_path(), "mean").eval()
    tokenizer = AutoTokenizer.from_pretrained(str(base_model_path()))
    enc = tokenizer(["Profit rose 40 %", "Shares fell after the warning"], padding=True)
    ids, mask = np.array(enc["input_ids"]), np.array(enc["attention_mask"])
    with torch.no_grad():
        plain = model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    bias = np.array([2.0, 0.0, -2.0], dtype=np.float32)
    network.add_logit_bias(model, torch.from_numpy(bias))
    network.save(model, tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    export_onnx(tmp_path / "model", tmp_path / "model.onnx")
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    (served,) = session.run(["logits"], {"input_ids": ids, "attention_mask": mask})
    assert np.allclose(served, plain + bias, atol=1e-4)

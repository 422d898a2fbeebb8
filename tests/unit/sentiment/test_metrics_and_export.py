import numpy as np
import pytest

from stream.sentiment.classifier import labels_and_scores, softmax
from stream.sentiment.export import choose_variant, config_pbtxt
from stream.sentiment.metrics import classification_metrics
from stream.sentiment.train import class_weights, length_bucketed_batches


def test_classification_metrics() -> None:
    m = classification_metrics([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0])
    assert m["n"] == 6
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion"] == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert m["f1"]["neutral"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((0.5 + 2 / 3 + 0.8) / 3)


def _figures(fp32: float, int8: float) -> dict[str, dict[str, dict[str, float]]]:
    return {"fp32": {"a": {"macro_f1": fp32}}, "int8": {"a": {"macro_f1": int8}}}


@pytest.mark.parametrize(
    ("fp32", "int8", "chosen"),
    [(0.93, 0.93, "int8"), (0.93, 0.926, "int8"), (0.93, 0.9249, "fp32"), (0.90, 0.95, "int8")],
)
def test_int8_only_within_half_a_point(fp32: float, int8: float, chosen: str) -> None:
    assert choose_variant(_figures(fp32, int8), max_f1_drop=0.005) == chosen


@pytest.mark.parametrize("name", ["sentiment", "sentiment_multilingual"])
def test_committed_config_is_what_export_writes(name: str) -> None:
    from pathlib import Path

    committed = Path(__file__).resolve().parents[3] / "model_repo" / name / "config.pbtxt"
    assert committed.read_text() == config_pbtxt(kind="KIND_CPU", keep_versions=2, name=name)


def test_softmax_labels_and_scores() -> None:
    probs = softmax(np.array([[0.0, 0.0, 0.0], [10.0, 0.0, -10.0], [1000.0, 0.0, 1001.0]]))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    labels, scores = labels_and_scores(probs)
    assert labels == ["negative", "negative", "positive"]  # ties go to the first class
    assert scores[0] == pytest.approx(0.0)
    assert scores[1] == pytest.approx(-1.0, abs=1e-4)
    assert 0 < scores[2] < 1


def test_length_buckets_cover_every_index_once() -> None:
    import random

    lengths = [random.Random(3).randint(3, 80) for _ in range(1000)]
    batches = length_bucketed_batches(lengths, 32, random.Random(0))
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    assert all(len(b) <= 32 for b in batches)
    assert batches == length_bucketed_batches(lengths, 32, random.Random(0))


def test_class_weights_favour_rare_classes() -> None:
    w = class_weights([0] * 10 + [1] * 90 + [2] * 40)
    assert w[0] > w[2] > w[1]
    assert float(w.mean()) == pytest.approx(1.0)

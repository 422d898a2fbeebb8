"""Same seed, same model: two short trainings on the real data give identical weights (with the
moving average of weights, which follows every step of the raw weights), and the average is what
gets saved."""

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from tests.unit.sentiment.quick_training import needs_data, train_quick


def _train(out: Path, ema_decay: float) -> dict[str, torch.Tensor]:
    train_quick(out, ema_decay=ema_decay)
    weights = {}
    for path in sorted((out / "model").glob("*.safetensors")):  # encoder, head
        weights.update({f"{path.name}:{k}": v for k, v in load_file(str(path)).items()})
    return weights


@needs_data
def test_same_seed_same_weights(tmp_path: Path) -> None:
    averaged = [_train(tmp_path / f"ema-{i}", 0.5) for i in range(2)]
    assert averaged[0].keys() == averaged[1].keys()
    for key in averaged[0]:
        assert torch.equal(averaged[0][key], averaged[1][key]), key
    # The average, not the last step's weights, is saved (same seed, same steps otherwise).
    plain = _train(tmp_path / "plain", 0.0)
    head = "head.safetensors:weight"
    assert not torch.equal(plain[head], averaged[0][head])
    history = json.loads((tmp_path / "ema-0" / "metrics.json").read_text())["history"]
    assert history[0]["validation_raw"].keys() == history[0]["validation"].keys()

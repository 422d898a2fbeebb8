"""Same seed, same model: two short trainings on the real data give identical weights."""

import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from stream.sentiment.train import TrainConfig, train

DATA = Path(
    os.environ.get("FINPULSE_DATA", Path(__file__).resolve().parents[4] / "shared" / "data")
)


@pytest.mark.skipif(not DATA.is_dir(), reason="labelled data not found (set FINPULSE_DATA)")
def test_same_seed_same_weights(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        config = TrainConfig(
            data_dir=DATA,
            out_dir=tmp_path / name,
            datasets=("phrasebank",),
            epochs=1,
            max_length=32,
            max_train_examples=64,
            batch_size=16,
        )
        train(config, progress=False)
        weights = {}
        for path in sorted((tmp_path / name / "model").glob("*.safetensors")):  # encoder, head
            weights.update({f"{path.name}:{k}": v for k, v in load_file(str(path)).items()})
        runs.append(weights)
    assert runs[0].keys() == runs[1].keys()
    for key in runs[0]:
        assert torch.equal(runs[0][key], runs[1][key]), key

"""Short real trainings for the unit tests of training (seconds, not minutes)."""

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest

from stream.sentiment.train import TrainConfig, train

DATA = Path(
    os.environ.get("FINPULSE_DATA", Path(__file__).resolve().parents[4] / "shared" / "data")
)
needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason="labelled data not found (set FINPULSE_DATA)"
)


def train_quick(out: Path, *, progress: bool = False, **settings: Any) -> Path:
    """One epoch on 64 PhraseBank sentences of at most 32 tokens; ``settings`` override."""
    config = TrainConfig(
        data_dir=DATA,
        out_dir=out,
        datasets=("phrasebank",),
        epochs=1,
        max_length=32,
        max_train_examples=64,
        batch_size=16,
    )
    train(dataclasses.replace(config, **settings), progress=progress)
    return out

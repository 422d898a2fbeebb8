"""--train-seen-embeddings: only the vocabulary rows of the training texts move, and the saved
model is a plain one (the offsets folded in)."""

import json
from pathlib import Path

import pytest
import torch

from stream.errors import ConfigError
from stream.sentiment import network
from stream.sentiment.train import base_model_path
from tests.unit.sentiment.quick_training import needs_data, train_quick


@needs_data
def test_a_run_moves_only_the_rows_its_texts_use_and_saves_a_plain_model(tmp_path: Path) -> None:
    train_quick(tmp_path, train_seen_embeddings=True, learning_rate=1e-3)
    rows = json.loads((tmp_path / "metrics.json").read_text())["data"]["trained_embedding_rows"]
    trained = network.load(tmp_path / "model").encoder.get_input_embeddings()
    base = network.build(base_model_path(), "mean").encoder.get_input_embeddings()
    assert type(trained) is torch.nn.Embedding
    moved = (trained.weight != base.weight).any(dim=1).sum().item()
    assert 0 < moved <= rows < base.num_embeddings // 10


def test_freezing_and_training_the_rows_exclude_each_other(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="exclude each other"):
        train_quick(tmp_path, train_seen_embeddings=True, freeze_word_embeddings=True)

"""The classifier networks: padding does not change a text's logits, and save/load round-trips."""

import logging
from pathlib import Path

import pytest
import structlog
import torch
from transformers import AutoTokenizer

from stream.sentiment import network
from stream.sentiment.train import base_model_path

TEXTS = ["Profit rose 40 %", "The company filed for bankruptcy after years of heavy losses ."]


def logits(model: torch.nn.Module, texts: list[str]) -> torch.Tensor:
    tokenizer = AutoTokenizer.from_pretrained(str(base_model_path()))
    enc = tokenizer(texts, padding=True, return_tensors="pt")
    model.eval()
    with torch.no_grad():
        out: torch.Tensor = model(enc["input_ids"], enc["attention_mask"])
    return out


@pytest.mark.parametrize("pooling", network.POOLINGS)
def test_padding_does_not_change_a_texts_logits(pooling: str) -> None:
    torch.manual_seed(0)
    model = network.build(base_model_path(), pooling)
    alone = logits(model, TEXTS[:1])
    padded = logits(model, TEXTS)[:1]  # the short text padded to the long one's length
    assert alone.shape == (1, 3)
    assert torch.allclose(alone, padded, atol=1e-5)


@pytest.mark.parametrize("pooling", network.POOLINGS)
def test_a_saved_network_loads_with_the_same_weights(pooling: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = network.build(base_model_path(), pooling)
    network.save(model, tmp_path / "model")
    loaded = network.load(tmp_path / "model")
    assert network.pooling_of(loaded) == pooling
    assert torch.equal(logits(model, TEXTS), logits(loaded, TEXTS))


@pytest.mark.parametrize(
    ("pooling", "report"),
    [
        ("cls", {"missing": ["classifier.bias", "classifier.weight"]}),
        ("mean", {"unexpected": ["pooler.dense.bias", "pooler.dense.weight"]}),
    ],
)
def test_loading_logs_one_line_instead_of_transformers_load_report(
    pooling: str,
    report: dict[str, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    warned: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = warned.append  # type: ignore[method-assign]
    logging.getLogger("transformers").addHandler(handler)
    log = structlog.testing.CapturingLogger()
    monkeypatch.setattr(network, "log", log)
    try:
        network.save(network.build(base_model_path(), pooling), tmp_path / "model")
        network.load(tmp_path / "model")  # a saved model: nothing to report
    finally:
        logging.getLogger("transformers").removeHandler(handler)
    [call] = log.calls
    assert (call.method_name, call.args) == ("info", ("classifier_head_initialised",))
    assert call.kwargs == {"base_model": str(base_model_path()), "pooling": pooling, **report}
    assert not [r for r in warned if "LOAD REPORT" in r.getMessage()]
    assert "Loading weights" not in capsys.readouterr().err


def test_an_unknown_pooling_is_refused() -> None:
    with pytest.raises(ValueError, match="pooling must be one of cls, mean"):
        network.build(base_model_path(), "max")


def test_seen_rows_train_alone_and_fold_into_the_plain_embedding() -> None:
    torch.manual_seed(0)
    model = network.build(base_model_path(), "mean")
    before = model.encoder.get_input_embeddings().weight.detach().clone()
    tokenizer = AutoTokenizer.from_pretrained(str(base_model_path()))
    enc = tokenizer(TEXTS, padding=True, return_tensors="pt")
    seen = enc["input_ids"][enc["attention_mask"].bool()]
    rows = network.train_seen_word_embeddings(model, seen)
    assert rows == len(set(seen.tolist()))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert "encoder.embeddings.word_embeddings.delta" in trainable
    assert "encoder.embeddings.word_embeddings.base.weight" not in trainable

    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1.0)
    model.train()
    loss = model(enc["input_ids"], enc["attention_mask"]).logsumexp(1).sum()
    loss.backward()  # type: ignore[no-untyped-call]
    optimizer.step()
    wrapped = logits(model, TEXTS)
    network.fold_word_embeddings(model)
    assert isinstance(model.encoder.get_input_embeddings(), torch.nn.Embedding)
    after = model.encoder.get_input_embeddings().weight
    changed = (after != before).any(dim=1).nonzero().flatten()
    assert set(changed.tolist()) <= set(seen.tolist())  # no unseen row moved
    assert len(changed) > 0
    assert torch.allclose(logits(model, TEXTS), wrapped, atol=1e-5)


def test_a_model_with_unfolded_offsets_is_not_saved(tmp_path: Path) -> None:
    model = network.build(base_model_path(), "mean")
    network.train_seen_word_embeddings(model, torch.tensor([5, 6]))
    with pytest.raises(TypeError, match="fold"):
        network.save(model, tmp_path / "model")

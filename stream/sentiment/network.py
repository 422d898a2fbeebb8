"""The trainable network: the MiniLM encoder and a 3-class head, with a choice of pooling.

``cls`` is transformers' own sequence classifier (the first token through BERT's pooler).
``mean`` averages the token states under the attention mask, which is how all-MiniLM-L6-v2 was
trained to embed sentences, so the head starts from a representation the encoder already makes
well. Both take (input_ids, attention_mask) and return logits, so training, evaluation and the
ONNX export treat them alike. A trained model is saved as a transformers folder plus, for
``mean``, ``head.safetensors`` and ``pooling.json``.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from stream.logs import get_logger
from stream.sentiment.labels import LABELS

log = get_logger(__name__)

POOLINGS = ("cls", "mean")
_POOLING_FILE = "pooling.json"
_HEAD_FILE = "head.safetensors"


class ClsClassifier(torch.nn.Module):
    """transformers' sequence classifier, returning plain logits."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        logits: torch.Tensor = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
        return logits


class MeanPoolClassifier(torch.nn.Module):
    """Masked mean of the encoder's token states -> dropout -> linear."""

    def __init__(self, encoder: Any, num_labels: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = torch.nn.Dropout(float(encoder.config.hidden_dropout_prob))
        self.classifier = torch.nn.Linear(int(encoder.config.hidden_size), num_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        logits: torch.Tensor = self.classifier(self.dropout(pooled))
        return logits


def build(base_model: Path, pooling: str) -> torch.nn.Module:
    """A fresh classifier on the base encoder; the head starts from torch's seed."""
    from transformers import AutoModelForSequenceClassification

    model: torch.nn.Module
    if pooling == "cls":
        classifier, report = _from_pretrained(
            AutoModelForSequenceClassification,
            base_model,
            num_labels=len(LABELS),
            id2label=dict(enumerate(LABELS)),
            label2id={label: i for i, label in enumerate(LABELS)},
        )
        model = ClsClassifier(classifier)
    elif pooling == "mean":
        encoder, report = _encoder(base_model)
        model = MeanPoolClassifier(encoder, len(LABELS))
    else:
        raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, not {pooling!r}")
    # Expected, so one line instead of transformers' warning table: the head is new ("missing"
    # from the encoder's checkpoint), and mean pooling leaves BERT's pooler out ("unexpected").
    log.info("classifier_head_initialised", base_model=str(base_model), pooling=pooling, **report)
    return model


def freeze_word_embeddings(model: torch.nn.Module) -> None:
    """Leave the encoder's vocabulary embedding out of training (its gradient and optimizer)."""
    _encoder_of(model).get_input_embeddings().weight.requires_grad_(False)


class SeenRowsEmbedding(torch.nn.Module):
    """The vocabulary embedding with only the rows of pieces the training texts hold trainable.

    multilingual-e5-small's vocabulary is 250k pieces, 96M of its 118M weights; a fine-tuning
    set holds a few tens of thousands of them. Training the whole matrix makes every step update
    96M weights (and keep Adam's moments for them); freezing it leaves the pieces of forum
    slang and stock names where pre-training put them. A dense offset for the seen rows only
    (unseen pieces all share one row that no training text reaches) costs a tenth of that, and
    ``fold_word_embeddings`` adds it back into the plain embedding before the model is saved.
    """

    seen: torch.Tensor  # the rows trained, ascending
    index: torch.Tensor  # a vocabulary id -> its row of ``delta`` (len(seen): the shared zero row)

    def __init__(self, base: torch.nn.Embedding, seen: torch.Tensor) -> None:
        super().__init__()
        self.base = base
        self.base.weight.requires_grad_(False)
        seen = torch.unique(seen)
        index = torch.full((base.num_embeddings,), len(seen), dtype=torch.long)
        index[seen] = torch.arange(len(seen))
        self.register_buffer("seen", seen, persistent=False)
        self.register_buffer("index", index, persistent=False)
        self.delta = torch.nn.Parameter(torch.zeros(len(seen) + 1, base.embedding_dim))

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        offset = torch.nn.functional.embedding(self.index[input_ids], self.delta)
        out: torch.Tensor = self.base(input_ids) + offset
        return out

    @torch.no_grad()
    def folded(self) -> torch.nn.Embedding:
        """The plain embedding with the trained offsets added to its rows."""
        self.base.weight[self.seen] += self.delta[:-1].to(self.base.weight.dtype)
        return self.base


def _encoder_of(model: torch.nn.Module) -> Any:
    return model.model if isinstance(model, ClsClassifier) else model.encoder


def train_seen_word_embeddings(model: torch.nn.Module, token_ids: torch.Tensor) -> int:
    """Make only the embedding rows of ``token_ids`` trainable (see SeenRowsEmbedding); returns
    how many rows that is."""
    encoder = _encoder_of(model)
    wrapped = SeenRowsEmbedding(encoder.get_input_embeddings(), token_ids)
    encoder.set_input_embeddings(wrapped)
    return len(wrapped.seen)


def fold_word_embeddings(model: torch.nn.Module) -> None:
    """Undo train_seen_word_embeddings, keeping what the rows learnt (a no-op without it)."""
    encoder = _encoder_of(model)
    embedding = encoder.get_input_embeddings()
    if isinstance(embedding, SeenRowsEmbedding):
        encoder.set_input_embeddings(embedding.folded())


def head_layer(model: torch.nn.Module) -> torch.nn.Linear:
    """The linear layer that makes the logits."""
    if isinstance(model, MeanPoolClassifier):
        return model.classifier
    head: Any = model.model.classifier if isinstance(model, ClsClassifier) else None
    layer = getattr(head, "out_proj", head)  # RoBERTa-style heads end in out_proj
    if not isinstance(layer, torch.nn.Linear):
        raise TypeError(f"no linear head in {type(model).__name__}")
    return layer


def is_head(name: str) -> bool:
    """Whether a parameter (a ``named_parameters`` name) is the classification head's."""
    return name.startswith(("classifier.", "model.classifier."))


@torch.no_grad()
def add_logit_bias(model: torch.nn.Module, bias: torch.Tensor) -> None:
    """Add ``bias`` to every logit the model makes (into the head's own bias, so it is saved,
    exported and served with the weights)."""
    layer = head_layer(model)
    if layer.bias is None:
        raise TypeError("the head has no bias to add to")
    layer.bias.add_(bias.to(layer.bias.dtype))


def save(model: torch.nn.Module, out: Path) -> None:
    if isinstance(_encoder_of(model).get_input_embeddings(), SeenRowsEmbedding):
        raise TypeError("fold_word_embeddings before saving: the offsets would be lost")
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(model, ClsClassifier):
        model.model.save_pretrained(out)
        return
    if not isinstance(model, MeanPoolClassifier):
        raise TypeError(f"not a sentiment network: {type(model).__name__}")
    model.encoder.save_pretrained(out)
    head = {k: v.contiguous() for k, v in model.classifier.state_dict().items()}
    save_file(head, str(out / _HEAD_FILE))
    (out / _POOLING_FILE).write_text(
        json.dumps({"pooling": "mean", "labels": list(LABELS)}, indent=2) + "\n", encoding="utf-8"
    )


def load(model_dir: Path) -> torch.nn.Module:
    """A trained classifier saved by ``save`` (folders without pooling.json are ``cls``)."""
    from transformers import AutoModelForSequenceClassification

    meta_path = model_dir / _POOLING_FILE
    model: torch.nn.Module
    if not meta_path.is_file():
        classifier, report = _from_pretrained(AutoModelForSequenceClassification, model_dir)
        model = ClsClassifier(classifier)
    else:
        pooling = json.loads(meta_path.read_text(encoding="utf-8"))["pooling"]
        if pooling != "mean":
            raise ValueError(f"{meta_path}: unknown pooling {pooling!r}")
        encoder, report = _encoder(model_dir)
        model = MeanPoolClassifier(encoder, len(LABELS))
        model.classifier.load_state_dict(load_file(str(model_dir / _HEAD_FILE)))
    if report:  # a model saved by save() has every weight it needs, and no others
        log.warning("model_weights_differ", model_dir=str(model_dir), **report)
    return model


def _encoder(path: Path) -> tuple[Any, dict[str, list[str]]]:
    from transformers import AutoModel

    # No BERT pooler: its output is unused here, so it would only be dead weight to save and export.
    return _from_pretrained(AutoModel, path, add_pooling_layer=False)


def _from_pretrained(cls: Any, path: Path, **kwargs: Any) -> tuple[Any, dict[str, list[str]]]:
    """``cls.from_pretrained`` without transformers' load report table and progress bar, and
    what that report would have listed (missing, unexpected and mismatched weights)."""
    with _quiet_transformers():
        model, info = cls.from_pretrained(str(path), output_loading_info=True, **kwargs)
    names = {
        "missing_keys": "missing",
        "unexpected_keys": "unexpected",
        "mismatched_keys": "resized",
    }
    report = {
        short: sorted(k if isinstance(k, str) else k[0] for k in info.get(key) or ())
        for key, short in names.items()
    }
    return model, {short: keys for short, keys in report.items() if keys}


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    logger = logging.getLogger("transformers.modeling_utils")  # it logs the report as a warning
    level, bars = logger.level, hf_logging.is_progress_bar_enabled()
    logger.setLevel(logging.ERROR)
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # "Loading weights"
    try:
        yield
    finally:
        logger.setLevel(level)
        if bars:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def pooling_of(model: torch.nn.Module) -> str:
    return "mean" if isinstance(model, MeanPoolClassifier) else "cls"

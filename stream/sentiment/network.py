"""The trainable network: the MiniLM encoder and a 3-class head, with a choice of pooling.

``cls`` is transformers' own sequence classifier (the first token through BERT's pooler).
``mean`` averages the token states under the attention mask, which is how all-MiniLM-L6-v2 was
trained to embed sentences, so the head starts from a representation the encoder already makes
well. Both take (input_ids, attention_mask) and return logits, so training, evaluation and the
ONNX export treat them alike. A trained model is saved as a transformers folder plus, for
``mean``, ``head.safetensors`` and ``pooling.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from stream.sentiment.labels import LABELS

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

    if pooling == "cls":
        return ClsClassifier(
            AutoModelForSequenceClassification.from_pretrained(
                str(base_model),
                num_labels=len(LABELS),
                id2label=dict(enumerate(LABELS)),
                label2id={label: i for i, label in enumerate(LABELS)},
            )
        )
    if pooling == "mean":
        return MeanPoolClassifier(_encoder(base_model), len(LABELS))
    raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, not {pooling!r}")


def save(model: torch.nn.Module, out: Path) -> None:
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
    if not meta_path.is_file():
        return ClsClassifier(AutoModelForSequenceClassification.from_pretrained(str(model_dir)))
    pooling = json.loads(meta_path.read_text(encoding="utf-8"))["pooling"]
    if pooling != "mean":
        raise ValueError(f"{meta_path}: unknown pooling {pooling!r}")
    model = MeanPoolClassifier(_encoder(model_dir), len(LABELS))
    model.classifier.load_state_dict(load_file(str(model_dir / _HEAD_FILE)))
    return model


def _encoder(path: Path) -> Any:
    from transformers import AutoModel

    # No BERT pooler: its output is unused here, so it would only be dead weight to save and export.
    return AutoModel.from_pretrained(str(path), add_pooling_layer=False)


def pooling_of(model: torch.nn.Module) -> str:
    return "mean" if isinstance(model, MeanPoolClassifier) else "cls"

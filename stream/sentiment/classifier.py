"""The sentiment classifier at inference time: tokenizer + ONNX Runtime, nothing else.

This one file is what the Triton model runs (``finpulse model export`` copies it into each model
version, beside ``model.py``) and what in-process scoring, evaluation and benchmarks run, so the
two paths cannot drift apart. It imports only numpy, onnxruntime and tokenizers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from tokenizers import Tokenizer

LABELS = ("negative", "neutral", "positive")
# Texts are clipped to this many characters per token of max_length before tokenizing: far more
# than a max_length window ever holds, and a 10 MB text costs no more than a long one.
_CHARS_PER_TOKEN = 16


class SentimentClassifier:
    """Score texts: ``predict_probs(texts)`` returns probabilities in LABELS order."""

    def __init__(
        self,
        version_dir: Path,
        *,
        variant: str | None = None,
        intra_op_threads: int = 0,
        providers: Sequence[Any] = ("CPUExecutionProvider",),
    ) -> None:
        meta = json.loads((version_dir / "model.json").read_text(encoding="utf-8"))
        self.variant = variant or meta["variant"]
        self.max_length = int(meta["max_length"])
        self.tokenizer = Tokenizer.from_file(str(version_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.enable_padding(pad_id=int(meta["pad_id"]), pad_token=meta["pad_token"])
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads  # 0: one per physical core
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Spinning threads burn 1.5 to 5 times the CPU on shared machines for no gain here.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        path = version_dir / meta["files"][self.variant]
        self.session = ort.InferenceSession(str(path), options, providers=list(providers))

    def predict_probs(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """(len(texts), 3) float32 probabilities; one forward pass for the whole list."""
        if not texts:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        limit = self.max_length * _CHARS_PER_TOKEN
        encodings = self.tokenizer.encode_batch([t[:limit] for t in texts])
        input_ids = np.array([e.ids for e in encodings], dtype=np.int64)
        attention = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (logits,) = self.session.run(
            ["logits"], {"input_ids": input_ids, "attention_mask": attention}
        )
        return softmax(np.asarray(logits))


def softmax(logits: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    probs: npt.NDArray[np.float32] = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
    return probs


def labels_and_scores(probs: npt.NDArray[np.float32]) -> tuple[list[str], npt.NDArray[np.float32]]:
    """Predicted labels, and scores p(positive) - p(negative) in [-1, 1]."""
    labels = [LABELS[i] for i in probs.argmax(axis=1)]
    return labels, (probs[:, 2] - probs[:, 0]).astype(np.float32)

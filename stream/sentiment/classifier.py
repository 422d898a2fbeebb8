"""The sentiment classifier at inference time: tokenizer + ONNX Runtime, nothing else.

This one file is what the Triton model runs (``finpulse model export`` copies it into each model
version, beside ``model.py``) and what in-process scoring, evaluation and benchmarks run, so the
two paths cannot drift apart. It imports only numpy, onnxruntime and tokenizers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from tokenizers import Tokenizer

LABELS = ("negative", "neutral", "positive")
_CHARS_PER_TOKEN = 16  # characters kept per token of max_length: far more than a token spans
_URL = re.compile(r"https?://\S+|www\.\S+")


def prepare_text(text: str, max_tokens: int) -> str:
    """What the model reads: links replaced by a placeholder (their random characters are noise
    to it), clipped to far more characters than ``max_tokens`` tokens can hold, so a 10 MB text
    costs no more than a long one. Training and serving both call this."""
    limit = max_tokens * _CHARS_PER_TOKEN
    return _URL.sub("http", text[: limit * 2])[:limit]


class SentimentClassifier:
    """Score texts: ``predict_probs(texts)`` returns probabilities in LABELS order.

    ``rows_per_run`` bounds the rows of one ONNX Runtime call: a large batch is sorted by length
    and run in groups of that many, which wastes less on padding.
    """

    def __init__(
        self,
        version_dir: Path,
        *,
        variant: str | None = None,
        intra_op_threads: int = 0,
        providers: Sequence[Any] = ("CPUExecutionProvider",),
        rows_per_run: int = 16,
    ) -> None:
        meta = json.loads((version_dir / "model.json").read_text(encoding="utf-8"))
        self.variant = variant or meta["variant"]
        self.max_length = int(meta["max_length"])
        self.pad_id = int(meta["pad_id"])
        self.tokenizer = Tokenizer.from_file(str(version_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_length)
        self.tokenizer.no_padding()
        self.rows_per_run = rows_per_run
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
        """(len(texts), 3) float32 probabilities, in the order of ``texts``."""
        if not texts:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        prepared = [prepare_text(t, self.max_length) for t in texts]
        ids = [e.ids for e in self.tokenizer.encode_batch(prepared)]
        # Texts of similar length run together, padded only to the longest of their group: a
        # batch mixing 10- and 120-token texts would otherwise pay for 120 tokens on every row.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        logits = np.zeros((len(ids), len(LABELS)), dtype=np.float32)
        for start in range(0, len(order), self.rows_per_run):
            rows = order[start : start + self.rows_per_run]
            width = max(len(ids[i]) for i in rows)
            input_ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            attention = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                input_ids[r, : len(ids[i])] = ids[i]
                attention[r, : len(ids[i])] = 1
            (out,) = self.session.run(
                ["logits"], {"input_ids": input_ids, "attention_mask": attention}
            )
            logits[rows] = out
        return softmax(logits)

    def predict_probs_in_batches(
        self, texts: Sequence[str], batch_size: int = 64
    ) -> npt.NDArray[np.float32]:
        """predict_probs over ``batch_size`` texts at a time, in order (as a client batches)."""
        parts = [
            self.predict_probs(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)
        ]
        return np.vstack(parts) if parts else self.predict_probs([])


def softmax(logits: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    probs: npt.NDArray[np.float32] = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
    return probs


def labels_and_scores(probs: npt.NDArray[np.float32]) -> tuple[list[str], npt.NDArray[np.float32]]:
    """Predicted labels, and scores p(positive) - p(negative) in [-1, 1]."""
    labels = [LABELS[i] for i in probs.argmax(axis=1)]
    return labels, (probs[:, 2] - probs[:, 0]).astype(np.float32)

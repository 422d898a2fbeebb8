"""Export a trained model as a new numbered version of the Triton model ``sentiment``.

A version folder holds: ``model.onnx`` (fp32), ``model.int8.onnx`` (dynamic int8 quantization),
the tokenizer, ``model.json`` (which variant to serve, max length, padding), ``export.json``
(fp32 and int8 figures), and the code Triton runs: ``model.py`` and ``classifier.py``.
The int8 variant is served only if its macro-F1 is within ``max_f1_drop`` of fp32 on every
validation slice. The version is written under a temporary name and renamed into place, so a
server never sees half a version.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stream.errors import ConfigError
from stream.sentiment import classifier as classifier_module
from stream.sentiment.data import read_run_result, read_validation_slices
from stream.sentiment.labels import LABELS
from stream.sentiment.metrics import classification_metrics

MODEL_NAME = "sentiment"
MULTILINGUAL_MODEL_NAME = "sentiment_multilingual"  # multilingual-e5-small, English and Chinese
# The files Triton runs, copied into every version (triton_model.py imports Triton's own module,
# so it is copied by path, never imported here).
_HERE = Path(__file__).resolve().parent
SERVED_CODE = {"model.py": _HERE / "triton_model.py", "classifier.py": _HERE / "classifier.py"}
MAX_BATCH_SIZE = 64
OPSET = 17


@dataclass(frozen=True)
class ExportResult:
    version: int
    version_dir: Path
    variant: str
    figures: dict[str, Any]
    removed_versions: list[int]


def config_pbtxt(*, kind: str, keep_versions: int, name: str = MODEL_NAME) -> str:
    """The model configuration; ``kind`` is KIND_CPU or KIND_GPU."""
    return f"""# Written by `finpulse model export`. Outputs are per text: PROBS in the order
# negative, neutral, positive; LABEL the most likely class; SCORE = p(positive) - p(negative).
name: "{name}"
backend: "python"
max_batch_size: {MAX_BATCH_SIZE}
input [
  {{
    name: "TEXT"
    data_type: TYPE_STRING
    dims: [ 1 ]
  }}
]
output [
  {{
    name: "PROBS"
    data_type: TYPE_FP32
    dims: [ 3 ]
  }},
  {{
    name: "LABEL"
    data_type: TYPE_STRING
    dims: [ 1 ]
  }},
  {{
    name: "SCORE"
    data_type: TYPE_FP32
    dims: [ 1 ]
  }}
]
# No waiting for a fuller batch: requests that queue while the model is busy are batched
# anyway, and a lone request is not held back.
dynamic_batching {{
  max_queue_delay_microseconds: 0
}}
version_policy: {{ latest: {{ num_versions: {keep_versions} }} }}
instance_group [
  {{
    count: 1
    kind: {kind}
  }}
]
parameters [
  {{
    # auto: the variant the export chose (model.json); or fp32 / int8 to force one.
    key: "variant"
    value: {{ string_value: "auto" }}
  }},
  {{
    # ONNX Runtime intra-op threads per instance; 0 = one per physical core.
    key: "intra_op_threads"
    value: {{ string_value: "0" }}
  }}
]
"""


def export_onnx(model_dir: Path, out: Path) -> None:
    import torch
    from transformers import AutoTokenizer

    from stream.sentiment import network

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = network.load(model_dir).eval()
    sample = tokenizer(
        ["Profit rose 40 %", "The company filed for bankruptcy ."],
        padding=True,
        return_tensors="pt",
    )
    with torch.no_grad():
        torch.onnx.export(
            model,
            (sample["input_ids"], sample["attention_mask"]),
            str(out),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "sequence"},
                "attention_mask": {0: "batch", 1: "sequence"},
                "logits": {0: "batch"},
            },
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: no onnxscript dependency, stable graph
        )


def quantize_int8(fp32: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8)


def evaluate_variants(
    version_dir: Path, slices: dict[str, list[tuple[str, int]]]
) -> dict[str, dict[str, Any]]:
    figures: dict[str, dict[str, Any]] = {}
    for variant in ("fp32", "int8"):
        clf = classifier_module.SentimentClassifier(version_dir, variant=variant)
        figures[variant] = {}
        for name, rows in slices.items():
            probs = clf.predict_probs_in_batches([t for t, _ in rows])
            figures[variant][name] = classification_metrics(
                [y for _, y in rows], probs.argmax(axis=1).tolist()
            )
    return figures


def choose_variant(figures: dict[str, dict[str, Any]], max_f1_drop: float) -> str:
    """int8 when its macro-F1 is within max_f1_drop of fp32 on every slice (pure)."""
    fp32, int8 = figures["fp32"], figures["int8"]
    ok = all(int8[name]["macro_f1"] >= fp32[name]["macro_f1"] - max_f1_drop for name in fp32)
    return "int8" if ok else "fp32"


def existing_versions(model_dir: Path) -> list[int]:
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def export(
    artifacts: Path,
    model_repo: Path,
    *,
    kind: str = "KIND_CPU",
    keep_versions: int = 2,
    max_f1_drop: float = 0.005,
    name: str = MODEL_NAME,
) -> ExportResult:
    """Write the next version of the Triton model ``name`` from a training output folder."""
    from transformers import AutoTokenizer

    model_dir = artifacts / "model"
    if not (model_dir / "config.json").is_file():
        raise ConfigError(
            f"no trained model in {model_dir}: "
            f"run `finpulse model train --data DIR --out {artifacts}`"
        )
    slices = read_validation_slices(artifacts)
    train_config = read_run_result(artifacts)["config"]
    target = model_repo / name
    target.mkdir(parents=True, exist_ok=True)
    version = max(existing_versions(target), default=0) + 1

    staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=target))
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
        tokenizer.save_pretrained(str(staging))
        export_onnx(model_dir, staging / "model.onnx")
        quantize_int8(staging / "model.onnx", staging / "model.int8.onnx")
        meta = {
            "variant": "fp32",
            "files": {"fp32": "model.onnx", "int8": "model.int8.onnx"},
            "max_length": int(train_config["max_length"]),
            "pad_id": int(tokenizer.pad_token_id),
            "pad_token": tokenizer.pad_token,
            "labels": list(LABELS),
        }
        (staging / "model.json").write_text(json.dumps(meta, indent=2) + "\n")
        figures = evaluate_variants(staging, slices) if slices else {}
        variant = choose_variant(figures, max_f1_drop) if figures else "fp32"
        meta["variant"] = variant
        (staging / "model.json").write_text(json.dumps(meta, indent=2) + "\n")
        report = {
            "version": version,
            "variant": variant,
            "max_f1_drop": max_f1_drop,
            "figures": figures,
        }
        (staging / "export.json").write_text(json.dumps(report, indent=2) + "\n")
        for filename, source in SERVED_CODE.items():
            shutil.copyfile(source, staging / filename)
        for extra in ("MODEL_CARD.md", "metrics.json"):
            if (artifacts / extra).is_file():
                shutil.copyfile(artifacts / extra, staging / extra)
        (target / "config.pbtxt").write_text(
            config_pbtxt(kind=kind, keep_versions=keep_versions, name=name)
        )
        staging.chmod(0o755)  # mkdtemp makes it private; the server may run as another user
        staging.rename(target / str(version))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

    removed = [v for v in existing_versions(target) if v <= version - keep_versions]
    for old in removed:
        shutil.rmtree(target / str(old))
    return ExportResult(version, target / str(version), variant, figures, removed)

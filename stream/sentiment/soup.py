"""A model soup: the uniform average of the weights of runs that differ only in batch order and
dropout (``finpulse model train --shuffle-seed``), Wortsman et al., 2022.

Runs fine-tuned from the same encoder and the same initial head tend to stay in one basin of the
loss, so their average is a working model that can keep some of what an ensemble of the runs
gains over one run, at the serving cost of one model. Whether it does is measured: the soup is
reported beside each run, on a held-out split they all share (checked, not assumed).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from stream.errors import ConfigError
from stream.sentiment import network
from stream.sentiment.data import read_run_result, read_validation_slices

# What may differ between ingredients: where they were written and the seed of their batch order.
_FREE_SETTINGS = frozenset({"out_dir", "data_dir", "shuffle_seed"})


def average_weights(states: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The element-wise mean of floating-point tensors; other tensors (token position ids) must
    be equal in every ingredient and are kept as they are."""
    if not states:
        raise ConfigError("a soup needs at least one model")
    first = states[0]
    for i, state in enumerate(states[1:], start=2):
        if state.keys() != first.keys():
            raise ConfigError(f"model {i} has other weights than model 1: not the same network")
    averaged: dict[str, torch.Tensor] = {}
    for key, tensor in first.items():
        tensors = [state[key] for state in states]
        if any(t.shape != tensor.shape for t in tensors):
            raise ConfigError(f"weight {key!r} differs in shape between the models")
        if tensor.is_floating_point():
            averaged[key] = torch.stack([t.float() for t in tensors]).mean(dim=0).to(tensor.dtype)
        elif all(torch.equal(t, tensor) for t in tensors):
            averaged[key] = tensor.clone()
        else:
            raise ConfigError(f"non-float tensor {key!r} differs between the models")
    return averaged


def check_same_recipe(runs: Sequence[Path]) -> list[dict[str, Any]]:
    """The training results (metrics.json) of ``runs``, after checking they used the same
    settings (but for ``_FREE_SETTINGS``) and held out the same validation texts."""
    results = [read_run_result(run) for run in runs]
    base = {k: v for k, v in results[0]["config"].items() if k not in _FREE_SETTINGS}
    for run, result in zip(runs[1:], results[1:], strict=True):
        config = {k: v for k, v in result["config"].items() if k not in _FREE_SETTINGS}
        differ = sorted(k for k in base.keys() | config.keys() if base.get(k) != config.get(k))
        if differ:
            raise ConfigError(
                f"{run} was trained with other settings than {runs[0]} ({', '.join(differ)}): "
                "a soup takes runs that differ only in --shuffle-seed"
            )
        for csv_path in sorted(runs[0].glob("validation_*.csv")):
            other = run / csv_path.name
            if not other.is_file() or other.read_bytes() != csv_path.read_bytes():
                raise ConfigError(f"{other} differs from {csv_path}: not the same held-out split")
    seeds = [r["config"].get("shuffle_seed") for r in results]  # None: the seed's own stream
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"runs share a shuffle seed ({seeds}): they are the same model")
    return results


def make_soup(runs: Sequence[Path], out: Path) -> dict[str, Any]:
    """Average ``runs`` into ``out`` (a training output folder `finpulse model export` takes):
    the model, metrics.json with each ingredient's figures beside the soup's, confusion PNGs and
    the model card."""
    from transformers import AutoTokenizer

    from stream.sentiment import report
    from stream.sentiment.train import evaluate

    if len(runs) < 2:
        raise ConfigError("a soup needs at least two runs")
    results = check_same_recipe(runs)
    first = results[0]
    models = [network.load(run / "model") for run in runs]
    poolings = {network.pooling_of(m) for m in models}
    if len(poolings) != 1:
        raise ConfigError(f"the runs use different heads ({', '.join(sorted(poolings))})")
    soup = models[0]
    soup.load_state_dict(average_weights([m.state_dict() for m in models]))
    tokenizer = AutoTokenizer.from_pretrained(str(runs[0] / "model"))
    max_length = int(first["config"]["max_length"])
    final = evaluate(soup, tokenizer, read_validation_slices(runs[0]), max_length)

    out.mkdir(parents=True, exist_ok=True)
    network.save(soup, out / "model")
    tokenizer.save_pretrained(out / "model")
    for csv_path in runs[0].glob("validation_*.csv"):
        shutil.copyfile(csv_path, out / csv_path.name)
    result = {
        **{k: v for k, v in first.items() if k != "history"},  # each run keeps its own curves
        "config": {**first["config"], "out_dir": str(out), "shuffle_seed": None},
        "train_seconds": sum(float(r["train_seconds"]) for r in results),
        "soup": [
            {
                "run": str(run),
                "shuffle_seed": r["config"].get("shuffle_seed"),
                "final": r["final"],
            }
            for run, r in zip(runs, results, strict=True)
        ],
        "final": final,
    }
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for name, metrics in final.items():
        report.confusion_matrix(metrics, f"validation: {name}", out / f"confusion_{name}.png")
    report.model_card(result, out / "MODEL_CARD.md")
    return result

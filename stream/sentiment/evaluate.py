"""`finpulse model eval`: score a labelled CSV through the running Triton, and the same weights
in-process, and compare the two."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from stream.config import TritonSettings
from stream.errors import ServiceUnavailable
from stream.ingest.language import detect
from stream.scoring.triton import TritonScorer, tls_options
from stream.sentiment.classifier import SentimentClassifier
from stream.sentiment.labels import LABEL_IDS, LABELS
from stream.sentiment.metrics import classification_metrics


@dataclass(frozen=True)
class Comparison:
    version: int
    variant: str
    served: dict[str, Any]
    in_process: dict[str, Any]
    disagreements: list[tuple[str, str, str]]  # text, served label, in-process label
    # Served figures per detected language (ingest's detector: what the pipeline would route).
    by_language: dict[str, dict[str, Any]] = field(default_factory=dict)


def served_version(triton: TritonSettings, model: str) -> tuple[int, str]:
    """The newest ready version of ``model`` and the variant it was configured with."""
    base = f"http://{triton.http}"
    try:
        meta = httpx.get(f"{base}/v2/models/{model}", timeout=10).raise_for_status().json()
        config = httpx.get(f"{base}/v2/models/{model}/config", timeout=10).raise_for_status().json()
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(
            f"Triton at {triton.http} has no ready model {model!r} ({exc}): run `./ops/stack up` "
            "and `finpulse model export`",
            service="triton",
            address=triton.http,
        ) from exc
    variant = config.get("parameters", {}).get("variant", {}).get("string_value", "auto")
    return max(int(v) for v in meta["versions"]), variant


def compare(
    rows: list[tuple[str, int]], triton: TritonSettings, model_repo: Path, model: str = "sentiment"
) -> Comparison:
    version, variant = served_version(triton, model)
    version_dir = model_repo / model / str(version)
    local = SentimentClassifier(version_dir, variant=None if variant == "auto" else variant)
    texts = [t for t, _ in rows]
    truth = [y for _, y in rows]

    async def served_labels() -> list[str]:
        # One request at a time and the same 64-text batches as in-process below: an int8
        # model's numbers depend on which texts share a batch (dynamic quantization).
        async with TritonScorer(
            triton.grpc,
            tls=tls_options(triton),
            model=model,
            version=str(version),
            timeout_s=60,
            max_in_flight=1,
        ) as scorer:
            await scorer.check_ready()
            return [s.label for s in await scorer.score(texts)]

    served = asyncio.run(served_labels())
    in_process = [LABELS[int(i)] for i in local.predict_probs_in_batches(texts).argmax(axis=1)]
    disagreements = [(t, a, b) for t, a, b in zip(texts, served, in_process, strict=True) if a != b]
    languages: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        languages.setdefault(detect(text).code, []).append(i)
    by_language = {
        lang: classification_metrics([truth[i] for i in rows], [LABEL_IDS[served[i]] for i in rows])
        for lang, rows in sorted(languages.items())
    }
    return Comparison(
        version=version,
        variant=local.variant,
        served=classification_metrics(truth, [LABEL_IDS[x] for x in served]),
        in_process=classification_metrics(truth, [LABEL_IDS[x] for x in in_process]),
        disagreements=disagreements,
        by_language=by_language,
    )


def to_json(c: Comparison) -> str:
    return json.dumps(
        {
            "version": c.version,
            "variant": c.variant,
            "served": c.served,
            "in_process": c.in_process,
            "disagreements": len(c.disagreements),
            "by_language": c.by_language,
        },
        indent=2,
    )

"""Scoring benchmark (see ./ops/bench/scoring). Two steps:

prepare REPO [options]: lay out REPO with sentiment_fp32 and sentiment_int8, links to one version.
run REPO [options]: time in-process and Triton scoring on the same texts; print the table.

Timings are medians over --repeats runs; latency percentiles are over every request of every
run. The ratio is Triton texts/s over in-process texts/s for the same variant and row.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import tritonclient.grpc.aio as grpcclient

from stream.sentiment.classifier import SentimentClassifier
from stream.sentiment.data import read_eval_csv
from stream.sentiment.export import MODEL_NAME, config_pbtxt, existing_versions

VARIANTS = ("fp32", "int8")
BATCHES = (1, 8, 32, 64)
CONCURRENT = 8


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="ops/bench/scoring")
    p.add_argument("step", choices=["prepare", "run"])
    p.add_argument("repo", type=Path)
    p.add_argument("--model", default=MODEL_NAME, help="sentiment or sentiment_multilingual")
    p.add_argument("--version-dir", type=Path, help="default: newest model_repo/MODEL/N")
    p.add_argument("--data", type=Path, default=Path("artifacts/sentiment/validation_tweets.csv"))
    p.add_argument("--texts", type=int, default=256, help="texts per run")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", type=Path, help="also write the rows here")
    return p.parse_args(argv)


def version_dir(args: argparse.Namespace) -> Path:
    if args.version_dir:
        return args.version_dir.resolve()
    repo = Path(os.environ.get("FINPULSE_TRITON_MODEL_REPO", "model_repo")) / args.model
    versions = existing_versions(repo)
    if not versions:
        sys.exit(f"no version under {repo}: run `finpulse model export` or pass --version-dir")
    return (repo / str(versions[-1])).resolve()


def prepare(args: argparse.Namespace) -> None:
    source = version_dir(args)
    for variant in VARIANTS:
        model = args.repo / f"{args.model}_{variant}"
        target = model / "1"
        target.mkdir(parents=True, exist_ok=True)
        for f in source.iterdir():
            link = target / f.name
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(f)
        config = config_pbtxt(kind="KIND_CPU", keep_versions=1, name=f"{args.model}_{variant}")
        config = config.replace('string_value: "auto"', f'string_value: "{variant}"')
        (model / "config.pbtxt").write_text(config)
    print(f"==> bench model repository {args.repo} -> {source}")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q)) if values else float("nan")


def in_process_rows(
    clf: SentimentClassifier, texts: list[str], repeats: int
) -> dict[str, dict[str, float]]:
    rows: dict[str, dict[str, float]] = {}
    for batch in BATCHES:
        rates, lat, cpu = [], [], []
        for _ in range(repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            for i in range(0, len(texts), batch):
                t0 = time.perf_counter()
                clf.predict_probs(texts[i : i + batch])
                lat.append(time.perf_counter() - t0)
            rates.append(len(texts) / (time.perf_counter() - start))
            cpu.append((time.process_time() - cpu_start) * 1000 / len(texts))
        rows[f"batch {batch}"] = summary(rates, lat) | {"cpu_ms": statistics.median(cpu)}
    # 8 single-text calls at a time from a thread pool: the in-process peer of 8 in-flight requests.
    rates, lat = [], []
    with ThreadPoolExecutor(CONCURRENT) as pool:
        for _ in range(repeats):

            def one(text: str) -> float:
                t0 = time.perf_counter()
                clf.predict_probs([text])
                return time.perf_counter() - t0

            start = time.perf_counter()
            lat.extend(pool.map(one, texts))
            rates.append(len(texts) / (time.perf_counter() - start))
    rows[f"{CONCURRENT} in flight x 1"] = summary(rates, lat)
    return rows


async def triton_rows(
    url: str, model: str, texts: list[str], repeats: int
) -> dict[str, dict[str, float]]:
    client = grpcclient.InferenceServerClient(url)

    async def infer(chunk: list[str]) -> float:
        data = np.array([t.encode() for t in chunk], dtype=np.object_).reshape(-1, 1)
        tensor = grpcclient.InferInput("TEXT", list(data.shape), "BYTES")
        tensor.set_data_from_numpy(data)
        t0 = time.perf_counter()
        await client.infer(model, [tensor], outputs=[grpcclient.InferRequestedOutput("PROBS")])
        return time.perf_counter() - t0

    rows: dict[str, dict[str, float]] = {}
    try:
        await infer(texts[:8])  # warm-up
        for batch in BATCHES:
            rates, lat = [], []
            for _ in range(repeats):
                start = time.perf_counter()
                for i in range(0, len(texts), batch):
                    lat.append(await infer(texts[i : i + batch]))
                rates.append(len(texts) / (time.perf_counter() - start))
            rows[f"batch {batch}"] = summary(rates, lat)
        rates, lat = [], []
        slots = asyncio.Semaphore(CONCURRENT)

        async def bounded(text: str) -> float:
            async with slots:
                return await infer([text])

        for _ in range(repeats):
            start = time.perf_counter()
            lat.extend(await asyncio.gather(*(bounded(t) for t in texts)))
            rates.append(len(texts) / (time.perf_counter() - start))
        rows[f"{CONCURRENT} in flight x 1"] = summary(rates, lat)
    finally:
        await client.close()
    return rows


def summary(rates: list[float], latencies: list[float]) -> dict[str, float]:
    return {
        "texts_per_s": statistics.median(rates),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def run(args: argparse.Namespace) -> None:
    rows = [text for text, _ in read_eval_csv(args.data)]
    texts = (rows * (args.texts // max(len(rows), 1) + 1))[: args.texts]
    url = os.environ["FINPULSE_TRITON_GRPC"]
    source = (args.repo / f"{args.model}_fp32" / "1" / "model.json").resolve().parent
    results = []
    for variant in VARIANTS:
        clf = SentimentClassifier(source, variant=variant)
        clf.predict_probs(texts[:8])  # warm-up
        local = in_process_rows(clf, texts, args.repeats)
        del clf
        served = asyncio.run(triton_rows(url, f"{args.model}_{variant}", texts, args.repeats))
        for row in local:
            results.append(
                {"variant": variant, "row": row, "in_process": local[row], "triton": served[row]}
            )

    mean_chars = sum(len(t) for t in texts) / len(texts)
    print(
        f"\nscoring benchmark: {len(texts)} texts a run (mean {mean_chars:.0f} chars), "
        f"{args.repeats} runs, {os.cpu_count()} CPUs; model {source}"
    )
    header = (
        f"{'variant':<8}{'row':<18}{'in-process t/s':>15}{'CPU ms/t':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'Triton t/s':>12}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        a, b = r["in_process"], r["triton"]
        r["ratio"] = b["texts_per_s"] / a["texts_per_s"]
        print(
            f"{r['variant']:<8}{r['row']:<18}{a['texts_per_s']:>15.1f}"
            f"{a.get('cpu_ms', float('nan')):>9.1f}{a['p50_ms']:>9.1f}"
            f"{a['p99_ms']:>9.1f}{b['texts_per_s']:>12.1f}{b['p50_ms']:>9.1f}{b['p99_ms']:>9.1f}"
            f"{r['ratio']:>8.2f}"
        )
    print("ratio: Triton texts/s / in-process texts/s (medians of the runs)")
    print("CPU ms/t: CPU time of this process per text, in-process batches (all its threads)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


def main() -> None:
    args = parse(sys.argv[1:])
    args.repo = args.repo.resolve()
    prepare(args) if args.step == "prepare" else run(args)


if __name__ == "__main__":
    main()

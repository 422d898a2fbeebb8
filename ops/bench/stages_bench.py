"""The worker's own work per record, stage by stage, in one process (no Kafka, no ClickHouse).

    PYTHONPATH=. python ops/bench/stages_bench.py [--events 2000] [--data ../shared/data]

Each stage runs over the same records as ops/bench/pipeline's drain runs (bench posts, ``lang``
given, no cashtags) and a second set without ``lang`` (language detection on), timed with
``time.process_time`` (CPU of this process), the best of --repeats: microseconds per record.
What it leaves out is faust's and aiokafka's share (consume, stream machinery, sends, commits),
which ``py-spy record`` on a running worker shows; the README's "Pipeline cost" puts both
together.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "ops" / "bench"))

from pipeline_bench import records  # noqa: E402

from stream.clickhouse.tables import EVENTS  # noqa: E402
from stream.ingest.enrich import enrich  # noqa: E402
from stream.ingest.language import detect  # noqa: E402
from stream.ingest.normalize import content_hash, normalize_text  # noqa: E402
from stream.ingest.pii import redact  # noqa: E402
from stream.ingest.topic_extraction import TopicExtractor, load_dictionary  # noqa: E402
from stream.ingest.validation import parse_post  # noqa: E402
from stream.records import Event, TopicBatch  # noqa: E402
from stream.scoring.dedupe import StoryCache  # noqa: E402
from stream.scoring.plan import contributions_by_topic, plan_batch  # noqa: E402
from stream.sentiment.data import load  # noqa: E402
from stream.windows.state import TopicWindows  # noqa: E402


def timed(run: Callable[[], Any], n: int, repeats: int) -> float:
    """Best CPU microseconds per record of ``run`` (which handles ``n`` records) over repeats."""
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best * 1e6 / n


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="ops/bench/stages_bench.py")
    p.add_argument("--events", type=int, default=2000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = p.parse_args(argv)
    texts = sorted({e.text for e in load(args.data)})[: args.events]
    n = len(texts)
    now = time.time()
    raw = [value for _, value in records(texts, "stage", now)]
    unlabelled = [json.dumps({**json.loads(v), "lang": None}).encode() for v in raw]
    extractor = TopicExtractor(load_dictionary())
    posts = [parse_post(v, now=now) for v in raw]

    def enriched(batch: list[bytes]) -> list[Event]:
        return [
            enrich(
                parse_post(v, now=now),
                source_topic="news.raw",
                partition=0,
                offset=i,
                now=now,
                social=False,
                extractor=extractor,
            )
            for i, v in enumerate(batch)
        ]

    events = enriched(raw)
    for e in events:  # as if scored, so that they contribute to windows
        e.scored, e.label, e.score = True, "positive", 0.5
        e.topics = e.topics or ["market"]
    encoded = [e.to_json() for e in events]
    batches = [
        TopicBatch(t, items).to_json() for t, items in contributions_by_topic(events).items()
    ]
    rows = [EVENTS.decode(v) for v in encoded]

    def windows() -> None:
        states: dict[str, TopicWindows] = {}
        for value in batches:
            batch = TopicBatch.from_dict(json.loads(value))
            tw = states.setdefault(batch.topic, TopicWindows(batch.topic, lateness_s=10.0))
            for c in batch.contributions():
                tw.add(c)

    stages: list[tuple[str, Callable[[], Any]]] = [
        ("ingest: JSON decode of the raw value", lambda: [json.loads(v) for v in raw]),
        (
            "ingest: parse + validate (decode, schema, time)",
            lambda: [parse_post(v, now=now) for v in raw],
        ),
        (
            "ingest: normalise text and title",
            lambda: [(normalize_text(p.text), normalize_text(p.title)) for p in posts],
        ),
        ("ingest: language detection (lang given)", lambda: None),
        ("ingest: language detection (no lang)", lambda: [detect(p.text) for p in posts]),
        ("ingest: topics", lambda: [extractor.topics(p.text, p.tickers) for p in posts]),
        ("ingest: PII redaction (social only)", lambda: [redact(p.text) for p in posts]),
        ("ingest: content hash", lambda: [content_hash(p.text) for p in posts]),
        ("ingest: enrich, all of it (lang given)", lambda: enriched(raw)),
        ("ingest: enrich, all of it (no lang)", lambda: enriched(unlabelled)),
        ("ingest: Event encode", lambda: [e.to_json() for e in events]),
        ("score: Event decode", lambda: [Event.from_json(v) for v in encoded]),
        (
            "score: dedupe plan",
            lambda: plan_batch(
                [Event.from_json(v) for v in encoded],
                StoryCache(3600.0),
                {"en"},
                horizon_s=3600.0,
                score_texts=False,
                now_s=now,
            ),
        ),
        ("score: Event encode (text.scored)", lambda: [e.to_json() for e in events]),
        (
            "score: contributions per topic + encode",
            lambda: [TopicBatch(t, i).to_json() for t, i in contributions_by_topic(events).items()],
        ),
        ("windows: decode + add to panes", windows),
        ("sink events: decode", lambda: [EVENTS.decode(v) for v in encoded]),
        ("sink events: rows", lambda: [EVENTS.row(r, 0) for r in rows]),
    ]
    print(f"{'stage':<52} {'us/record':>10}")
    for name, run in stages:
        print(f"{name:<52} {timed(run, n, args.repeats):10.1f}", flush=True)
    print(f"\n{n} records, best of {args.repeats}, CPU time of this process")


if __name__ == "__main__":
    main(sys.argv[1:])

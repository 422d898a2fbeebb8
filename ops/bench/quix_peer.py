"""The Quix Streams peer of ./ops/bench/pipeline: run with .venv-quix's python (quixstreams 3.28.1,
whose pins conflict with ours), never with the project's. It reads raw posts from --input, parses
them, keys them by their cashtag (group_by: a repartition topic), counts them in 60 s tumbling
event-time windows (state in RocksDB with its changelog topic) and produces each window update to
--output; it stops once --count window updates were produced, or after --timeout-s.

Talks to the bench on stdin/stdout, so that the bench reads the CPU of this process and the broker
over the same span: it prints `first` at the first record and `done` at the last update, and waits
for a line on stdin after each (the bench's CPU reading); at exit it prints one JSON line:
{"consumed", "emitted", "seconds"}, seconds from the first record to the last update.
"""

from __future__ import annotations

import argparse
import json
import re
import select
import sys
import tempfile
import threading
import time
from datetime import datetime
from typing import Any

from quixstreams import Application

CASHTAG = re.compile(r"\$([A-Z]{1,6})\b")


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="ops/bench/quix_peer.py")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--input", required=True, help="raw posts, made by the bench beforehand")
    p.add_argument("--output", required=True, help="window updates, made by Quix")
    p.add_argument("--group", required=True, help="a fresh consumer group: reads from earliest")
    p.add_argument("--count", type=int, required=True, help="posts in --input")
    p.add_argument("--timeout-s", type=float, default=300.0)
    p.add_argument("--fetch-max-wait-ms", type=int, help="Tansu's fetch-wait measure (README)")
    return p.parse_args(argv)


def published_ms(value: Any, headers: Any, timestamp: int, timestamp_type: Any) -> int:
    """Event time: the post's own `published_at`, as the worker's windows use."""
    return int(datetime.fromisoformat(value["published_at"]).timestamp() * 1000)


def handshake(word: str, timeout_s: float = 60.0) -> None:
    """Tell the bench, then wait for its answer (it reads the CPU counters meanwhile)."""
    print(word, flush=True)
    ready, _, _ = select.select([sys.stdin], [], [], timeout_s)
    if ready:
        sys.stdin.readline()


def main(argv: list[str]) -> int:
    args = parse(argv)
    consumer_config = {}
    if args.fetch_max_wait_ms:  # Tansu holds a fetch its whole max wait (librdkafka: 500 ms)
        consumer_config["fetch.wait.max.ms"] = args.fetch_max_wait_ms
    state_dir = tempfile.TemporaryDirectory(prefix="quix-peer-")
    app = Application(
        broker_address=args.bootstrap,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        consumer_extra_config=consumer_config,
        state_dir=state_dir.name,
        loglevel="WARNING",
    )
    source = app.topic(args.input, value_deserializer="json", timestamp_extractor=published_ms)
    target = app.topic(args.output, value_serializer="json")
    progress = {"consumed": 0, "emitted": 0, "seconds": None}
    started = 0.0

    def consumed(post: dict[str, Any]) -> None:
        nonlocal started
        if progress["consumed"] == 0:
            handshake("first")
            started = time.perf_counter()
        progress["consumed"] += 1

    def emitted(window: dict[str, Any]) -> None:
        progress["emitted"] += 1
        if progress["emitted"] == args.count:
            progress["seconds"] = time.perf_counter() - started
            handshake("done")
            app.stop()

    def ticker(post: dict[str, Any]) -> str:
        match = CASHTAG.search(post["text"])
        return match.group(1) if match else ""

    sdf = app.dataframe(source).update(consumed)
    sdf = sdf.group_by(ticker, name="ticker")
    # current(): the bench's backlog is dated "now", so no window would close (final()) within a
    # run; an update a post is also what the worker's stages produce: records a text.
    sdf = sdf.tumbling_window(duration_ms=60_000).count().current()
    sdf = sdf.to_topic(target).update(emitted)
    timer = threading.Timer(args.timeout_s, app.stop)
    timer.daemon = True
    timer.start()
    app.run()
    timer.cancel()
    state_dir.cleanup()
    print(json.dumps(progress), flush=True)
    return 0 if progress["seconds"] is not None else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

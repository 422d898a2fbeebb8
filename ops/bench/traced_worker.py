"""``finpulse worker`` under tracemalloc, for the soak's --trace-memory: every ``TRACE_EVERY_S``
the Python allocations still alive, by line, one JSON line each to $FINPULSE_BENCH_TRACEMALLOC,
so that two of them taken hours of event time apart show what grew. Slows the worker down (it
fell behind a 100/s soak here), so the soak's own figures come from runs without it."""

from __future__ import annotations

import json
import os
import runpy
import sys
import threading
import time
import tracemalloc

TRACE_EVERY_S = 60.0
TOP = 300


def _dump(path: str) -> None:
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)]
    while True:
        time.sleep(TRACE_EVERY_S)
        snapshot = tracemalloc.take_snapshot().filter_traces(ignore)
        stats = snapshot.statistics("lineno")
        row = {
            "wall": time.time(),
            "traced": sum(s.size for s in stats),
            "top": [[str(s.traceback[0]), s.size, s.count] for s in stats[:TOP]],
        }
        with open(path, "a") as out:
            out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    tracemalloc.start(1)
    threading.Thread(target=_dump, args=(os.environ["FINPULSE_BENCH_TRACEMALLOC"],),
                     daemon=True).start()  # fmt: skip
    sys.argv = ["finpulse", "worker"]
    runpy.run_module("stream.cli", run_name="__main__")

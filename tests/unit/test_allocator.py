"""The arena cap, seen from glibc itself: threads alive at once, each calling malloc, get arenas
of their own up to the cap (``malloc_stats`` lists them). Each case runs in a fresh interpreter:
the cap is read when the process makes its first extra arena."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from stream import allocator

pytestmark = pytest.mark.skipif(allocator._glibc() is None, reason="glibc only")

PROGRAM = """
import ctypes, sys, threading
from stream import allocator
print(allocator.limit_arenas(int(sys.argv[1])))
libc = allocator._glibc()
libc.malloc.restype = ctypes.c_void_p
barrier = threading.Barrier(8)
def allocate():
    barrier.wait()  # all alive at once: none can take over an arena a finished one left
    libc.malloc(4096)
    barrier.wait()
threads = [threading.Thread(target=allocate) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
sys.stdout.flush()
libc.malloc_stats()  # to stderr, one "Arena N:" block per arena
"""


def arenas(cap: int, **env: str) -> tuple[str, int]:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env
    done = subprocess.run([sys.executable, "-c", PROGRAM, str(cap)], capture_output=True,
                          text=True, env=environ, check=True)  # fmt: skip
    return done.stdout.strip(), done.stderr.count("Arena ")


def test_the_cap_bounds_the_arenas_of_threads_alive_at_once() -> None:
    assert arenas(2) == ("True", 2)


def test_without_a_cap_each_thread_gets_an_arena() -> None:
    said, count = arenas(0)
    assert said == "False" and count > 2  # glibc's default: 8 per core


def test_the_environment_wins() -> None:
    assert arenas(2, MALLOC_ARENA_MAX="3") == ("False", 3)


TRIM = """
import ctypes, os
from stream import allocator
libc = allocator._glibc()
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
blocks = [libc.malloc(60_000) for _ in range(1_000)]  # 60 MB inside the heap (below mmap's 128 KB)
for b in blocks:
    ctypes.memset(b, 1, 60_000)  # touched: resident
for b in blocks[:-1]:
    libc.free(b)  # the last one stays, so the heap's top cannot shrink by itself
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
before = rss()
print(allocator.trim(), before - rss())
"""


def test_trim_hands_freed_pages_inside_the_heap_back() -> None:
    said = subprocess.run([sys.executable, "-c", TRIM], capture_output=True, text=True,
                          check=True).stdout.split()  # fmt: skip
    assert said[0] == "True" and int(said[1]) > 50_000_000

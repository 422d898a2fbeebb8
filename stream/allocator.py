"""The C allocator of a process that runs for weeks (glibc's malloc; elsewhere nothing is done).

glibc gives a thread that allocates while another holds the main arena an arena of its own, up to
8 per core, and a freed block returns to the system only from the top of its arena. The worker's
threads (RocksDB's flushes and compactions, faust's consumer thread, the executor that runs
ClickHouse inserts) can each fragment an arena of their own, so that RSS holds memory Python and
RocksDB have already freed. Fewer arenas (what ``MALLOC_ARENA_MAX`` sets) and a periodic
``malloc_trim`` (which hands free pages inside the heap back, not only its top) keep RSS nearer to
what is in use (measured by ``ops/bench/soak``: README, "State and its bounds").
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import cache

M_ARENA_MAX = -8  # glibc's malloc.h


@cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # noqa: B018 - only glibc has it (musl, macOS do not)
    except (OSError, AttributeError):
        return None
    return libc


def limit_arenas(arenas: int) -> bool:
    """At most ``arenas`` malloc arenas for this process (0: glibc's default); call it before
    threads start. ``MALLOC_ARENA_MAX`` in the environment wins. True when the limit was set."""
    libc = _glibc()
    if arenas <= 0 or libc is None or "MALLOC_ARENA_MAX" in os.environ:
        return False
    return bool(libc.mallopt(M_ARENA_MAX, arenas))


def trim() -> bool:
    """Hand the free pages of every arena back to the system; True when some were."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False

"""How far ingest has got on each raw partition, in event time (pure: time is passed in).

The source of the pipeline's watermarks (stream/watermarks.py): per raw partition this worker
reads, the latest event time it has read and sent on, and whether the partition is idle. Idle
means nothing left to read (the high watermark of the last fetch is not past the next offset to
process) and no record for ``idle_s``: a partition with a backlog always holds windows back,
however long it has been quiet, and one that is merely slow holds them until ``idle_s``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RawPartition:
    event_time_s: float = 0.0  # the latest event time read and sent on
    read_s: float = 0.0  # wall time of the latest record (or of the assignment)
    next_offset: int | None = None  # after the last record processed
    behind: bool = True  # records not processed yet (unknown counts as behind)


class SourceProgress:
    def __init__(self, idle_s: float, max_ahead_s: float) -> None:
        self.idle_s = idle_s
        self.max_ahead_s = max_ahead_s
        self.partitions: dict[str, RawPartition] = {}
        self.totals: dict[str, int] = {}  # raw topic -> number of partitions

    def assigned(self, names: set[str], now_s: float) -> None:
        """A rebalance: ``names`` (``topic/partition``) are read from their committed offsets."""
        self.partitions = {
            name: self.partitions.get(name) or RawPartition(read_s=now_s) for name in names
        }

    def read(self, name: str, offset: int, event_time_s: float, now_s: float) -> None:
        """A record was processed and sent on. A post dated ahead moves the clock at most to
        wall time plus ``max_ahead_s``: one bad timestamp must not close a day of windows."""
        part = self.partitions.setdefault(name, RawPartition())
        capped_s = min(event_time_s, now_s + self.max_ahead_s)
        part.event_time_s = max(part.event_time_s, capped_s)
        part.read_s = now_s
        part.next_offset = max(part.next_offset or 0, offset + 1)

    def observe(self, name: str, highwater: int | None, position: int | None) -> None:
        """The partition's high watermark from the last fetch, and where this worker began
        reading it (before any record was processed)."""
        part = self.partitions.get(name)
        if part is None:
            return
        taken = part.next_offset if part.next_offset is not None else position
        part.behind = highwater is None or taken is None or highwater > taken

    def marks(self, now_s: float) -> dict[str, tuple[float, bool]]:
        """``topic/partition -> (event time, idle)`` for every partition this worker reads."""
        return {
            name: (part.event_time_s, not part.behind and now_s - part.read_s >= self.idle_s)
            for name, part in self.partitions.items()
        }

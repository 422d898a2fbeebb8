"""Which offsets of ``alerts`` are done (pure).

An alert record on Kafka is done when every subscriber it went to has settled it (delivered or
dead-lettered); its offset is committed only when every record before it is done too, so a crash
re-reads what was not settled, and nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class OffsetTracker:
    """Per partition: records still being delivered, and the offset that can be committed."""

    pending: dict[int, dict[int, int]] = field(default_factory=dict)  # partition -> offset -> jobs
    seen: dict[int, int] = field(default_factory=dict)  # partition -> highest offset read

    def add(self, partition: int, offset: int, jobs: int) -> None:
        self.seen[partition] = max(offset, self.seen.get(partition, -1))
        if jobs:
            self.pending.setdefault(partition, {})[offset] = jobs

    def done(self, partition: int, offset: int) -> None:
        waiting = self.pending.get(partition, {})
        if offset in waiting:
            waiting[offset] -= 1
            if waiting[offset] <= 0:
                del waiting[offset]

    def committable(self) -> dict[int, int]:
        """Partition -> the next offset to read after a restart (Kafka's committed offset)."""
        out = {}
        for partition, highest in self.seen.items():
            waiting = self.pending.get(partition)
            out[partition] = min(waiting) if waiting else highest + 1
        return out

    def forget(self, partitions: set[int]) -> None:
        """Partitions taken by a rebalance: their new owner re-reads what was not committed."""
        for p in partitions:
            self.pending.pop(p, None)
            self.seen.pop(p, None)

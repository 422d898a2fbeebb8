"""What the sink consumer holds between fetches: a batch of Kafka values per ClickHouse table, and
the offsets each batch lets the consumer commit once it is inserted.

A table's batch is due when it holds ``size`` values or its oldest value has waited ``within_s``:
under load batches fill up (few, large inserts), at a trickle a value waits at most ``within_s``
(the clock starts with the first value, not with the previous insert). Pure: time is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

Partition = tuple[str, int]  # topic, partition


@dataclass
class Batch:
    values: list[bytes] = field(default_factory=list)
    # partition -> the offset to commit after this batch's insert (last offset read + 1)
    offsets: dict[Partition, int] = field(default_factory=dict)
    first_s: float | None = None  # when the oldest value arrived


@dataclass
class Batches:
    """One open batch per table; ``tables`` maps each topic to the table it fills."""

    tables: dict[str, str]
    size: int
    within_s: float
    open: dict[str, Batch] = field(default_factory=dict)

    def add(self, topic: str, partition: int, offsets_values: Iterable[tuple[int, bytes | None]],
            now_s: float) -> None:  # fmt: skip
        """Values read from one partition, in offset order. Empty values (tombstones) are not
        rows but still move the offset to commit."""
        batch = self.open.setdefault(self.tables[topic], Batch())
        last = None
        for offset, value in offsets_values:
            last = offset
            if value:
                batch.values.append(value)
        if last is None:
            return
        batch.offsets[(topic, partition)] = last + 1
        if batch.first_s is None:
            batch.first_s = now_s

    def due(self, now_s: float) -> list[str]:
        """Tables whose batch is full or has waited long enough; a batch of tombstones alone is
        due too, so that its offsets get committed."""
        return [
            table
            for table, batch in self.open.items()
            if batch.offsets
            and (
                len(batch.values) >= self.size
                or (batch.first_s is not None and now_s - batch.first_s >= self.within_s)
            )
        ]

    def take(self, table: str) -> Batch:
        return self.open.pop(table, Batch())

    def wait_s(self, now_s: float) -> float:
        """How long the consumer may wait for more before a batch falls due (``within_s`` when
        nothing is held)."""
        firsts = [b.first_s for b in self.open.values() if b.first_s is not None]
        if not firsts:
            return self.within_s
        return max(0.0, min(firsts) + self.within_s - now_s)

    def room(self) -> int:
        """Values the fullest batch can take before it is due: the most one fetch should bring."""
        fullest = max((len(b.values) for b in self.open.values()), default=0)
        return max(1, self.size - fullest)

    def take_all(self) -> list[tuple[str, Batch]]:
        """Every batch that holds offsets (before partitions are given up)."""
        held = [table for table, batch in self.open.items() if batch.offsets]
        return [(table, self.open.pop(table)) for table in held]

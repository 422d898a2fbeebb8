"""The deliveries a worker knows to be settled (pure): not sent again when their alert is re-read.

Each delivery id is kept with the time it settled, for ``horizon_s`` (the lookback of the
``deliveries`` table read at start and at every rebalance): an alert is re-read only while its
offset is uncommitted, long before that. Pruned as settlements come, every ``horizon_s / PRUNES``,
so the ids held stay under ``(1 + 1 / PRUNES) * horizon_s`` of settlements.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

PRUNES = 24  # prunes per horizon


@dataclass
class Settled:
    horizon_s: float
    at: dict[str, float] = field(default_factory=dict)  # delivery id -> when it settled (s)
    pruned_at: float = -math.inf

    def __contains__(self, delivery_id: object) -> bool:
        return delivery_id in self.at

    def __len__(self) -> int:
        return len(self.at)

    def add(self, delivery_id: str, at_s: float) -> None:
        self.update({delivery_id: at_s}, now_s=at_s)

    def update(self, settled: Mapping[str, float], *, now_s: float) -> None:
        """Remember these settlements (id -> when), forgetting those past the horizon."""
        for delivery_id, at_s in settled.items():
            self.at[delivery_id] = max(at_s, self.at.get(delivery_id, at_s))
        if now_s - self.pruned_at >= self.horizon_s / PRUNES:
            cutoff = now_s - self.horizon_s
            self.at = {d: t for d, t in self.at.items() if t >= cutoff}
            self.pruned_at = now_s

"""Retry delays: exponential backoff with full jitter (pure)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    initial_s: float = 0.2
    maximum_s: float = 10.0
    multiplier: float = 2.0

    def ceiling(self, attempt: int) -> float:
        """Upper bound of the delay before retry number ``attempt`` (1-based)."""
        return min(self.maximum_s, self.initial_s * self.multiplier ** max(0, attempt - 1))

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """A delay drawn uniformly from [0, ceiling]: retries of many clients spread out."""
        return (rng or random).uniform(0.0, self.ceiling(attempt))

"""What the window tests feed in: contributions at event times from a whole hour on."""

from __future__ import annotations

from stream.records import Contribution

T0 = 1_800_000_000  # a whole hour


def c(
    i: int, ts: float, label: str = "neutral", score: float = 0.0, reach: float = 0.0
) -> Contribution:
    return Contribution(f"src:{i}", ts, label, score, reach)

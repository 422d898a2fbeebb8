"""Settled deliveries: remembered for their horizon, then forgotten."""

from __future__ import annotations

from stream.delivery.settled import PRUNES, Settled

HOUR_S = 3600.0


def test_a_settled_delivery_is_known_until_its_horizon_passes() -> None:
    settled = Settled(horizon_s=24 * HOUR_S)
    settled.add("dlv_a", 0.0)
    settled.update({"dlv_b": 5 * HOUR_S, "dlv_a": 1.0}, now_s=5 * HOUR_S)  # read from the table
    assert "dlv_a" in settled and "dlv_b" in settled and settled.at["dlv_a"] == 1.0
    settled.add("dlv_c", 24 * HOUR_S + 1.0)
    assert "dlv_a" in settled  # settled again at 1.0: within the horizon
    settled.add("dlv_d", 26 * HOUR_S)
    assert sorted(settled.at) == ["dlv_b", "dlv_c", "dlv_d"]


def test_the_ids_held_stay_within_the_horizon_and_one_prune_interval() -> None:
    horizon_s = 24 * HOUR_S
    settled = Settled(horizon_s=horizon_s)
    every_s = 60.0  # one settlement a minute for ten days
    most = 0
    for i in range(10 * 24 * 60):
        settled.add(f"dlv_{i}", i * every_s)
        most = max(most, len(settled))
    assert most <= (1 + 1 / PRUNES) * horizon_s / every_s + 1

"""Alert rules over synthetic window series."""

from __future__ import annotations

from stream.alerts.rules import Decision, RuleSettings, RuleState, evaluate
from stream.records import WindowRecord

S = RuleSettings(min_count=10, warmup=6, warning_z=3.0, critical_z=5.0, cooldown_s=3600)


def window(i: int, n: int, negative: int, score: float) -> WindowRecord:
    return WindowRecord("AAPL", i * 900.0, 900, n, negative, n - negative, 0, score * n, score,
                        0.0, score, negative / n if n else 0.0, True, i * 900.0)  # fmt: skip


def run(rule: str, series: list[WindowRecord], s: RuleSettings = S) -> list[tuple[int, Decision]]:
    state = RuleState()
    out = []
    for i, w in enumerate(series):
        d = evaluate(rule, state, w, s, now=w.window_start)  # type: ignore[arg-type]
        if d is not None:
            out.append((i, d))
    return out


def calm(k: int, start: int = 0) -> list[WindowRecord]:
    # 20 texts, 2 or 3 negative: a share around 0.12, score around +0.2
    return [window(start + i, 20, 2 + i % 2, 0.2) for i in range(k)]


def test_a_calm_series_never_alerts() -> None:
    assert run("negative_surge", calm(40)) == []
    assert run("volume_spike", calm(40)) == []
    assert run("sentiment_reversal", calm(40)) == []


def test_a_surge_alerts_once_escalates_once_and_resolves() -> None:
    series = calm(10)
    series += [window(10, 20, 7, -0.1), window(11, 20, 7, -0.1)]  # share 0.35: warning
    series += [window(12, 20, 18, -0.8), window(13, 20, 18, -0.8)]  # share 0.9: critical
    series += calm(3, start=14)
    got = [(i, d.kind, d.severity) for i, d in run("negative_surge", series)]
    assert got == [
        (10, "alert", "warning"),
        (12, "escalation", "critical"),
        (14, "resolution", "critical"),
    ]


def test_minimum_volume() -> None:
    series = [*calm(10), window(10, 5, 5, -0.9)]  # all negative, but only five texts
    assert run("negative_surge", series) == []


def test_no_alert_before_the_baseline_is_warm() -> None:
    assert run("negative_surge", [window(0, 20, 2, 0.2), window(1, 20, 19, -0.9)]) == []


def test_cooldown_holds_back_a_new_alert_but_not_after_it() -> None:
    s = RuleSettings(min_count=10, warmup=6, cooldown_s=3 * 900)
    spike = [window(10, 20, 12, -0.4)]
    series = calm(10) + spike + calm(1, 11) + [window(12, 20, 12, -0.4)] + calm(6, 13)
    series += [window(19, 20, 12, -0.4)]
    alerts = [i for i, d in run("negative_surge", series, s) if d.kind == "alert"]
    assert alerts == [10, 19]  # 12 is within the cooldown of 10; 19 is not


def test_volume_spike_and_its_evidence() -> None:
    series = [*calm(10), window(10, 120, 12, 0.2)]
    [(i, d)] = run("volume_spike", series)
    assert (i, d.kind, d.severity) == (10, "alert", "critical")
    assert d.value == 120 and abs(d.baseline - 20) < 1e-9 and d.threshold < 120 and d.z > 5


def test_reversal_from_positive_to_negative() -> None:
    series = [window(i, 20, 1, 0.5) for i in range(10)] + [window(10, 20, 12, -0.4)]
    [(i, d)] = run("sentiment_reversal", series)
    assert (i, d.kind) == (10, "alert") and d.value == -0.4
    assert run("sentiment_reversal", [window(i, 20, 1, 0.5) for i in range(10)]
               + [window(10, 20, 3, 0.1)]) == []  # fmt: skip


def test_the_baseline_does_not_learn_a_sustained_anomaly() -> None:
    series = calm(10) + [window(10 + k, 20, 12, -0.4) for k in range(12)]
    decisions = run("negative_surge", series)
    assert [d.kind for _, d in decisions] == ["alert"]  # still the same condition, no resolution


def test_rule_state_round_trip() -> None:
    from stream.alerts.rules import Baseline

    state = RuleState(Baseline(0.1, 0.01, 7), "warning", 1800.0, 900.0)
    assert RuleState.from_dict(state.to_dict()) == state
    fresh = RuleState()
    assert RuleState.from_dict(fresh.to_dict()) == fresh


def test_settings_per_topic_override_globals_exact_over_pattern() -> None:
    import pytest

    from stream.alerts.agent import rule_settings
    from stream.config import AlertSettings

    settings = AlertSettings(
        min_count=10,
        overrides={"theme:*": {"min_count": 20, "warning_z": 4}, "theme:rates": {"min_count": 50}},
    )
    assert rule_settings(settings, "AAPL").min_count == 10
    assert (
        rule_settings(settings, "theme:layoffs").min_count,
        rule_settings(settings, "theme:layoffs").warning_z,
    ) == (20, 4.0)
    assert rule_settings(settings, "theme:rates").min_count == 50
    with pytest.raises(ValueError, match="unknown setting"):
        rule_settings(AlertSettings(overrides={"AAPL": {"min_cnt": 1}}), "AAPL")


def test_alert_ids_are_stable_and_distinct() -> None:
    from stream.alerts.agent import alert_id

    w = window(3, 20, 10, -0.3)
    assert alert_id("AAPL", "negative_surge", "alert", w) == alert_id(
        "AAPL", "negative_surge", "alert", w
    )
    assert alert_id("AAPL", "negative_surge", "alert", w) != alert_id(
        "AAPL", "negative_surge", "resolution", w
    )

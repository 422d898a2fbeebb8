"""The dashboard's and the reports' views of ClickHouse rows (stream/web/views.py)."""

from __future__ import annotations

from typing import Any

import pytest

from stream.errors import UsageError
from stream.web import views


def _window(
    topic: str, start: int, n: int = 10, mean: float = 0.1, seconds: int = 60
) -> dict[str, Any]:
    return {"topic": topic, "window_seconds": seconds, "window_start": start, "n": n,
            "n_negative": 1, "n_neutral": 8, "n_positive": 1, "score_mean": mean,
            "negative_share": 0.1, "final": 1}  # fmt: skip


def _alert(topic: str, rule: str, kind: str) -> dict[str, Any]:
    return {"alert_id": f"{topic}-{rule}-{kind}", "topic": topic, "rule": rule, "kind": kind}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("24h", 86_400), ("90m", 5_400), ("2d", 172_800), ("300s", 300), (" 3H ", 10_800)],
)
def test_since_reads_a_duration_with_its_unit(text: str, seconds: int) -> None:
    assert views.since_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "24", "h", "-1h", "0h", "1w", "1.5h"])
def test_since_refuses_anything_else_with_the_form_it_wants(text: str) -> None:
    with pytest.raises(UsageError, match="90m, 24h or 7d"):
        views.since_seconds(text)


@pytest.mark.parametrize(
    ("topic", "patterns", "expected"),
    [
        ("AAPL", [], True),
        ("AAPL", ["AAPL"], True),
        ("AAPL", ["MSFT"], False),
        ("theme:rates", ["theme:*"], True),
        ("ZQA", ["ZQ?"], True),
        ("ZQAB", ["ZQ?"], False),
        ("aapl", ["AAPL"], False),
        ("腾讯", ["腾讯"], True),
    ],
)
def test_a_topic_matches_exact_names_or_patterns_and_no_filter_matches_all(
    topic: str, patterns: list[str], expected: bool
) -> None:
    assert views.matches(topic, patterns) is expected


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("127.0.0.2", True),
     ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("api.example", False), ("", False)],
)  # fmt: skip
def test_only_a_loopback_address_opens_the_pages_without_a_token(host: str, loopback: bool) -> None:
    assert views.is_loopback(host) is loopback


def test_the_overview_has_each_topic_once_with_its_latest_window_sparkline_and_open_alerts() -> (
    None
):
    windows = [_window("AAPL", 0, 5, -0.2), _window("AAPL", 60, 7, 0.3), _window("MSFT", 0, 9)]
    latest = [
        _alert("AAPL", "negative_surge", "alert"),
        _alert("MSFT", "volume_spike", "resolution"),
    ]
    view = views.overview(windows, latest, now=300.0)
    assert [t["topic"] for t in view["topics"]] == ["MSFT", "AAPL"]  # busiest latest window first
    aapl = view["topics"][1]
    assert aapl["latest"]["window_start"] == 60
    assert aapl["spark"] == [[0, -0.2, 5], [60, 0.3, 7]]
    assert [a["rule"] for a in aapl["open_alerts"]] == ["negative_surge"]
    assert view["topics"][0]["open_alerts"] == []  # resolved
    assert (view["data_time"], view["behind_s"]) == (120, 180.0)


def test_an_empty_store_has_no_data_time() -> None:
    view = views.overview([], [], now=10.0)
    assert view == {"topics": [], "data_time": None, "now": 10.0, "behind_s": None}


def test_the_baseline_at_each_window_is_the_weighted_mean_of_the_earlier_ones() -> None:
    assert views.baseline_series([], 0.2) == []
    assert views.baseline_series([0.5, 0.5, 1.0, 1.0], 0.5) == [None, 0.5, 0.5, 0.75]


def test_timelines_are_columns_per_window_length_in_time_order() -> None:
    windows = [_window("A", 0), _window("A", 60, mean=-0.5), _window("A", 0, 90, seconds=900)]
    lines = views.timelines(windows, alpha=0.2)
    assert set(lines) == {"60", "900"}
    assert lines["60"]["start"] == [0, 60]
    assert lines["60"]["score_mean"] == [0.1, -0.5]
    assert lines["900"]["n"] == [90]
    assert lines["60"]["baseline"] == [None, 0.1]


def test_each_alert_carries_the_deliveries_of_its_subscribers() -> None:
    alerts = [_alert("A", "negative_surge", "alert"), _alert("B", "volume_spike", "alert")]
    sent = {"alert_id": "A-negative_surge-alert", "subscription_id": "s1", "outcome": "delivered"}
    out = views.with_deliveries(alerts, [sent])
    assert out[0]["deliveries"] == [sent]
    assert out[1]["deliveries"] == []


def test_alert_rows_parse_the_evidence() -> None:
    row = ("id", "A", "negative_surge", "alert", "warning", 0, 900, 0.8, 0.2, 0.4, 4.0, 5,
           '{"n": 30, "most_negative": ["x"]}')  # fmt: skip
    [alert] = views.alert_rows([row])
    assert alert["evidence"] == {"n": 30, "most_negative": ["x"]}
    assert alert["window_seconds"] == 900

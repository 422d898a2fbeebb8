"""What the dashboard and the reports show, shaped from ClickHouse rows (pure).

Rows come in as the tuples of stream/web/queries.py; views go out as plain dicts, ready for JSON.
Times are Unix seconds. "Data time" is the end of the newest window stored: a back-fill's data
is hours old while it is being read, so the views anchor their "last hours" on it, not on the
wall clock, and show how far behind the wall clock it is (freshness).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from stream.alerts.rules import Baseline
from stream.errors import UsageError

WINDOW_LENGTHS = (60, 900, 3600)  # the lengths the pages draw (the default pipeline.windows)
WINDOW_FIELDS = (
    "topic", "window_seconds", "window_start", "n", "n_negative", "n_neutral", "n_positive",
    "score_mean", "negative_share", "final",
)  # fmt: skip
ALERT_FIELDS = (
    "alert_id", "topic", "rule", "kind", "severity", "window_start", "window_seconds", "value",
    "baseline", "threshold", "z", "created_at", "evidence",
)  # fmt: skip
TEXT_FIELDS = ("event_id", "source", "published_at", "lang", "title", "text", "label", "score")
DELIVERY_FIELDS = ("alert_id", "subscription_id", "channel", "outcome", "attempts", "attempted_at")
_SINCE = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rows(fields: Sequence[str], data: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(fields, row, strict=True)) for row in data]


def alert_rows(data: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """Alerts as dicts, the evidence (stored as JSON text) parsed."""
    out = rows(ALERT_FIELDS, data)
    for alert in out:
        alert["evidence"] = json.loads(alert["evidence"] or "{}")
    return out


def since_seconds(text: str) -> int:
    """``24h``, ``90m``, ``2d``, ``300s`` -> seconds."""
    match = _SINCE.match(text.strip().lower())
    if not match or int(match[1]) == 0:
        raise UsageError(f"--since {text!r}: expected a duration such as 90m, 24h or 7d")
    return int(match[1]) * _UNITS[match[2]]


def matches(topic: str, patterns: Sequence[str]) -> bool:
    """A topic against filters: exact names or patterns (``theme:*``, ``ZQ?``); none = all."""
    return not patterns or any(p == topic or fnmatch.fnmatchcase(topic, p) for p in patterns)


def is_loopback(host: str) -> bool:
    """Whether the API listens on loopback only (then the read-only pages need no token)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name, or "" / "0.0.0.0" style wildcards: reachable from elsewhere


def freshness(data_time: float | None, now: float) -> dict[str, Any]:
    return {"data_time": data_time, "now": now,
            "behind_s": None if data_time is None else max(0.0, now - data_time)}  # fmt: skip


def open_alerts(latest: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The open conditions per topic, from the newest alert of each (topic, rule): open unless
    that newest one is a resolution."""
    out: dict[str, list[dict[str, Any]]] = {}
    for alert in latest:
        if alert["kind"] != "resolution":
            out.setdefault(alert["topic"], []).append(alert)
    return out


def overview(
    windows: Iterable[dict[str, Any]], latest_alerts: Iterable[dict[str, Any]], now: float
) -> dict[str, Any]:
    """One entry per topic: its latest window, a sparkline of mean scores (oldest first) and its
    open alerts; windows in time order."""
    topics: dict[str, dict[str, Any]] = {}
    data_time = None
    for w in windows:
        entry = topics.setdefault(w["topic"], {"topic": w["topic"], "spark": []})
        entry["spark"].append([w["window_start"], w["score_mean"], w["n"]])
        entry["latest"] = w
        end = w["window_start"] + w["window_seconds"]
        data_time = end if data_time is None else max(data_time, end)
    alerts = open_alerts(latest_alerts)
    for topic, entry in topics.items():
        entry["open_alerts"] = alerts.get(topic, [])
    ordered = sorted(topics.values(), key=lambda e: (-e["latest"]["n"], e["topic"]))
    return {"topics": ordered, **freshness(data_time, now)}


def baseline_series(values: Sequence[float], alpha: float) -> list[float | None]:
    """The exponentially weighted mean of the earlier values at each point (what a window is
    compared with; None before the first), as the alert rules learn it while no condition
    holds."""
    base, out = Baseline(), []
    for x in values:
        out.append(base.mean if base.n else None)
        base.update(x, alpha)
    return out


def timelines(windows: Iterable[dict[str, Any]], alpha: float) -> dict[str, dict[str, Any]]:
    """Per window length: columns for the charts (start, mean score, negative share, texts) and
    the negative share's baseline."""
    out: dict[str, dict[str, Any]] = {}
    for w in windows:
        series = out.setdefault(str(w["window_seconds"]), {k: [] for k in (
            "start", "score_mean", "negative_share", "n", "final")})  # fmt: skip
        for key in series:
            series[key].append(w["window_start"] if key == "start" else w[key])
    for series in out.values():
        series["baseline"] = baseline_series(series["negative_share"], alpha)
    return out


def with_deliveries(
    alerts: Iterable[dict[str, Any]], deliveries: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each alert with the delivery status per subscriber (the latest attempt's outcome)."""
    by_alert: dict[str, list[dict[str, Any]]] = {}
    for d in deliveries:
        by_alert.setdefault(d["alert_id"], []).append(d)
    return [{**a, "deliveries": by_alert.get(a["alert_id"], [])} for a in alerts]

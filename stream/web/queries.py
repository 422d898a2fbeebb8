"""The dashboard's and the reports' reads from ClickHouse: plain SELECTs that run on 18.16 and on
current servers (FINAL for the newest row of each key, LIMIT BY, no window functions).

Each function takes a clickhouse-driver client and returns dicts shaped by stream/web/views.py.
Times are Unix seconds (``toUInt32`` on the way out, ``toDateTime`` on the way in).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stream.web import views

_WINDOW_COLUMNS = (
    "topic, window_seconds, toUInt32(window_start), n, n_negative, n_neutral, n_positive, "
    "score_mean, negative_share, final"
)
_ALERT_COLUMNS = (
    "alert_id, topic, rule, kind, severity, toUInt32(window_start), window_seconds, value, "
    "baseline, threshold, z, toUInt32(created_at), evidence"
)
DATA_TIME_SQL = (
    "SELECT toUInt32(max(window_start + window_seconds)), count() FROM sentiment_windows"
)
WINDOWS_SQL = f"""
SELECT {_WINDOW_COLUMNS}
FROM sentiment_windows FINAL
WHERE window_seconds IN %(lengths)s AND window_start >= toDateTime(%(since)s)
ORDER BY topic, window_seconds, window_start
"""
TOPIC_WINDOWS_SQL = f"""
SELECT {_WINDOW_COLUMNS}
FROM sentiment_windows FINAL
WHERE topic = %(topic)s AND window_start >= toDateTime(%(since)s)
ORDER BY window_seconds, window_start
"""
LATEST_ALERTS_SQL = f"""
SELECT {_ALERT_COLUMNS}
FROM alerts FINAL
ORDER BY topic, rule, created_at DESC, window_start DESC
LIMIT 1 BY topic, rule
"""
ALERTS_SQL = f"""
SELECT {_ALERT_COLUMNS}
FROM alerts FINAL
WHERE created_at >= toDateTime(%(since)s) OR window_start >= toDateTime(%(since)s)
ORDER BY window_start DESC, created_at DESC
LIMIT %(limit)s
"""
TOPIC_ALERTS_SQL = f"""
SELECT {_ALERT_COLUMNS}
FROM alerts FINAL
WHERE topic = %(topic)s AND window_start >= toDateTime(%(since)s)
ORDER BY window_start, created_at
"""
DELIVERIES_SQL = """
SELECT alert_id, subscription_id, any(channel), argMax(outcome, attempt), max(attempt),
    toUInt32(max(attempted_at))
FROM deliveries FINAL
WHERE alert_id IN %(ids)s
GROUP BY alert_id, subscription_id
ORDER BY alert_id, subscription_id
"""
TEXTS_SQL = """
SELECT event_id, source, toUInt32(published_at), lang, title, text, toString(label), score
FROM events FINAL
WHERE has(topics, %(topic)s) AND scored = 1
    AND published_at >= toDateTime(%(start)s) AND published_at < toDateTime(%(end)s)
ORDER BY score {order}, published_at
LIMIT %(limit)s
"""
SOURCES_SQL = """
SELECT source, lang, count()
FROM events FINAL
WHERE hasAny(topics, %(topics)s) AND published_at >= toDateTime(%(since)s)
GROUP BY source, lang
ORDER BY count() DESC, source, lang
"""


def data_time(client: Any) -> float | None:
    """The end of the newest window stored (None when there is none)."""
    [(end, count)] = client.execute(DATA_TIME_SQL)
    return float(end) if count else None


def windows(client: Any, since: float, lengths: Sequence[int]) -> list[dict[str, Any]]:
    data = client.execute(WINDOWS_SQL, {"since": int(since), "lengths": tuple(lengths)})
    return views.rows(views.WINDOW_FIELDS, data)


def topic_windows(client: Any, topic: str, since: float) -> list[dict[str, Any]]:
    data = client.execute(TOPIC_WINDOWS_SQL, {"topic": topic, "since": int(since)})
    return views.rows(views.WINDOW_FIELDS, data)


def latest_alerts(client: Any) -> list[dict[str, Any]]:
    """The newest alert of each (topic, rule): whether its condition is still open."""
    return views.alert_rows(client.execute(LATEST_ALERTS_SQL))


def alerts(client: Any, since: float, limit: int = 200) -> list[dict[str, Any]]:
    """The newest alerts first, each with its delivery status per subscriber."""
    found = views.alert_rows(client.execute(ALERTS_SQL, {"since": int(since), "limit": limit}))
    return views.with_deliveries(found, deliveries(client, [a["alert_id"] for a in found]))


def topic_alerts(client: Any, topic: str, since: float) -> list[dict[str, Any]]:
    return views.alert_rows(client.execute(TOPIC_ALERTS_SQL, {"topic": topic, "since": int(since)}))


def deliveries(client: Any, alert_ids: Sequence[str]) -> list[dict[str, Any]]:
    if not alert_ids:
        return []
    data = client.execute(DELIVERIES_SQL, {"ids": tuple(alert_ids)})
    return views.rows(views.DELIVERY_FIELDS, data)


def texts(
    client: Any, topic: str, start: float, end: float, *, negative_first: bool = True,
    limit: int = 20,
) -> list[dict[str, Any]]:  # fmt: skip
    """The scored texts about a topic published in [start, end), most negative (or most
    positive) first."""
    sql = TEXTS_SQL.format(order="ASC" if negative_first else "DESC")
    params = {"topic": topic, "start": int(start), "end": int(end), "limit": limit}
    return views.rows(views.TEXT_FIELDS, client.execute(sql, params))


def sources(client: Any, topics: Sequence[str], since: float) -> list[dict[str, Any]]:
    """Texts per (source, language) about any of the topics since then."""
    data = client.execute(SOURCES_SQL, {"topics": list(topics), "since": int(since)})
    return views.rows(("source", "lang", "texts"), data)


def overview(client: Any, now: float, hours: float, length: int) -> dict[str, Any]:
    """Every topic with windows of ``length`` in the last ``hours`` of data time."""
    end = data_time(client)
    since = (end if end is not None else now) - hours * 3600
    return views.overview(windows(client, since, [length]), latest_alerts(client), now)


def topic(client: Any, name: str, now: float, hours: float, alpha: float) -> dict[str, Any]:
    """A topic's timelines per window length, its alerts and its baseline."""
    end = data_time(client)
    since = (end if end is not None else now) - hours * 3600
    found = topic_windows(client, name, since)
    return {
        "topic": name,
        "timelines": views.timelines(found, alpha),
        "alerts": topic_alerts(client, name, since),
        **views.freshness(end, now),
    }


HEADLINE_SQL = """
SELECT count(), avg(score), countIf(label = 'negative'), countIf(label = 'positive'),
    uniqExact(source), toUInt32(min(published_at)), toUInt32(max(published_at))
FROM events FINAL
WHERE has(topics, %(topic)s) AND scored = 1 AND published_at >= toDateTime(%(since)s)
"""
TOPICS_SQL = """
SELECT topic, sum(n) AS texts
FROM sentiment_windows FINAL
WHERE window_seconds = 60 AND window_start >= toDateTime(%(since)s)
GROUP BY topic
ORDER BY texts DESC, topic
"""


def active_topics(client: Any, since: float) -> list[str]:
    """Topics with windows since then, the busiest first."""
    return [row[0] for row in client.execute(TOPICS_SQL, {"since": int(since)})]


def headline(client: Any, topic: str, since: float) -> dict[str, Any]:
    [row] = client.execute(HEADLINE_SQL, {"topic": topic, "since": int(since)})
    n, mean, neg, pos, feeds, first, last = row
    return {"texts": n, "score_mean": mean if n else 0.0, "negative_share": neg / n if n else 0.0,
            "positive_share": pos / n if n else 0.0, "sources": feeds,
            "first": first if n else None, "last": last if n else None}  # fmt: skip

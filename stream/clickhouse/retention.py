"""Retention per table (pure): how long each table keeps its rows, and the SQL that enforces it.

On a current ClickHouse a TTL clause per table deletes rows past their age as parts merge
(``ALTER TABLE t MODIFY TTL col + INTERVAL n DAY``). ClickHouse before 19.6 (the local 18.16)
has no TTL: with the compatibility measure ``clickhouse.ttl_unsupported`` on, retention drops
whole monthly partitions once every row in them is past its age, so a row lives up to a month
longer than its retention there. Every table is partitioned by ``toYYYYMM`` of the column below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# table -> the time column its partitions (toYYYYMM) and its TTL follow.
TIME_COLUMNS = {
    "events": "published_at",
    "late_events": "window_start",
    "deadletter": "received_at",
    "deliveries": "attempted_at",
    "sentiment_windows": "window_start",
    "alerts": "window_start",
    "topic_hourly": "hour",
    "source_hourly": "hour",
}
# Days kept; 0 keeps for ever. Texts (and rejected raw posts) the shortest: they are what
# people wrote; aggregates and alerts, which hold counts and ids, two years.
DEFAULT_DAYS = {
    "events": 90,
    "late_events": 90,
    "deadletter": 30,
    "deliveries": 180,
    "sentiment_windows": 730,
    "alerts": 730,
    "topic_hourly": 730,
    "source_hourly": 730,
}


@dataclass(frozen=True)
class Drop:
    table: str
    partition: int  # YYYYMM


def ttl_statements(days: dict[str, int]) -> list[str]:
    """The TTL clause of every table with a retention (current ClickHouse, 19.6+)."""
    return [
        f"ALTER TABLE {table} MODIFY TTL {TIME_COLUMNS[table]} + INTERVAL {n} DAY"
        for table, n in sorted(days.items())
        if n > 0
    ]


def _month_end(partition: int) -> datetime:
    year, month = divmod(partition, 100)
    return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def expired_partitions(table: str, partitions: list[int], days: int, now: datetime) -> list[Drop]:
    """The monthly partitions whose every row is older than ``days`` at ``now``."""
    if days <= 0:
        return []
    cutoff = now - timedelta(days=days)
    return [Drop(table, p) for p in sorted(partitions) if _month_end(p) <= cutoff]

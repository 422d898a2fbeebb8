"""Retention: which monthly partitions are past their age, and the TTL clauses of each table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stream.clickhouse.retention import (
    DEFAULT_DAYS,
    TIME_COLUMNS,
    Drop,
    expired_partitions,
    ttl_statements,
)
from stream.clickhouse.tables import TABLES

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("days", "expired"),
    [
        (0, []),  # kept for ever
        (30, [202609, 202610]),  # October ended on Nov 1, more than 30 days before Dec 1 noon
        (31, [202609]),  # ... but not 31 days before
        (90, []),
        (1, [202609, 202610]),  # November's last row is 1 day old at most: not yet
    ],
)
def test_a_partition_goes_once_its_whole_month_is_past_its_age(
    days: int, expired: list[int]
) -> None:
    partitions = [202612, 202610, 202609, 202611]
    assert expired_partitions("events", partitions, days, NOW) == [
        Drop("events", p) for p in expired
    ]


def test_december_partitions_end_in_the_next_year() -> None:
    assert expired_partitions("alerts", [202512], 1, datetime(2026, 1, 2, tzinfo=UTC)) == [
        Drop("alerts", 202512)
    ]


def test_texts_are_kept_shorter_than_windows_and_alerts() -> None:
    assert DEFAULT_DAYS["events"] < DEFAULT_DAYS["sentiment_windows"]
    assert DEFAULT_DAYS["events"] < DEFAULT_DAYS["alerts"]


def test_every_partitioned_table_has_a_retention_on_its_time_column() -> None:
    assert set(TIME_COLUMNS) == set(DEFAULT_DAYS)
    for table, column in TIME_COLUMNS.items():
        if table in TABLES:  # the rollups are written by materialized views, not declared
            assert column in dict(TABLES[table].schema()), table


def test_ttl_statements_skip_tables_kept_for_ever() -> None:
    assert ttl_statements({"events": 30, "alerts": 0}) == [
        "ALTER TABLE events MODIFY TTL published_at + INTERVAL 30 DAY"
    ]

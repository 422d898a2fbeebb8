"""Report schedules: what a valid one is, its boundaries, and which reports are due (pure)."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream.delivery import schedule
from stream.delivery.jobs import delivery_id, report_job
from stream.delivery.schedule import due_reports, owner, subject
from stream.delivery.subscriptions import change
from stream.errors import InvalidSubscription
from stream.records import Subscription
from tests.unit.delivery.examples import hook

SET_AT = datetime(2026, 12, 1, 15, 0, tzinfo=UTC).timestamp()  # a Tuesday, 15:00 UTC


def utc(day: int, hour: int, minute: int = 0) -> float:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC).timestamp()


def reporting(report: dict[str, object], **extra: object) -> Subscription:
    return replace(hook(**extra), report=schedule.parse(report, now=SET_AT))


@pytest.mark.parametrize(
    ("report", "every_s", "at_s", "since_s"),
    [
        ({}, None, None, None),
        ({"every": "daily", "at": "07:00"}, 86_400, 7 * 3600, 86_400),
        ({"every": "24h", "at": "7:30", "since": "3h"}, 86_400, 7 * 3600 + 1800, 3 * 3600),
        ({"every": "6h", "at": "07:00"}, 6 * 3600, 3600, 6 * 3600),  # 01, 07, 13, 19 UTC
        ({"every": "30m"}, 1800, 0, 1800),
    ],
)
def test_a_schedule_is_read_with_its_defaults(
    report: dict[str, object], every_s: int | None, at_s: int | None, since_s: int | None
) -> None:
    found = schedule.of(reporting(report, topics=["AAPL"]))
    if every_s is None:
        assert found is None
        return
    assert found is not None
    assert (found.every_s, found.at_s, found.since_s) == (every_s, at_s, since_s)
    assert found.topics == ("AAPL",) and found.format == "html" and found.from_s == SET_AT


@pytest.mark.parametrize(
    ("report", "message"),
    [
        ({"every": "7h"}, "must divide a day"),
        ({"every": "2d"}, "must divide a day"),
        ({"every": "10s"}, "must divide a day"),
        ({"every": "often"}, "report.every: a duration"),
        ({"every": "24h", "at": "25:00"}, "report.at: HH:MM"),
        ({"every": "24h", "since": "ever"}, "report.since: a duration"),
        ({"every": "24h", "format": "png"}, "report.format: one of ['html', 'pdf']"),
        ({"every": "24h", "topics": [3]}, "report.topics: a list of strings"),
        ({"every": "24h", "when": "soon"}, "unknown field(s) ['when']"),
    ],
)
def test_invalid_schedules_are_refused_with_the_field_named(
    report: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidSubscription, match=re.escape(message)):
        schedule.parse(report, now=SET_AT)


def test_a_subscription_gets_changes_and_drops_its_schedule() -> None:
    sub = hook(report={"every": "24h", "at": "07:00", "format": "pdf"})
    assert sub.report["format"] == "pdf" and sub.report["every_s"] == 86_400
    later = change(sub, {"report": {"every": "6h"}}, now=SET_AT + 60)
    assert later.report["every_s"] == 6 * 3600 and later.report["from_s"] == SET_AT + 60
    assert change(later, {"report": {}}, now=SET_AT).report == {}
    with pytest.raises(InvalidSubscription, match="report: an object"):
        change(sub, {"report": "daily"}, now=SET_AT)


@pytest.mark.parametrize(
    ("report", "now_s", "due_end"),
    [
        # Daily at 07:00, set at 15:00: nothing until 07:00 the next day, then that one.
        ({"every": "24h", "at": "07:00"}, utc(1, 15, 1), None),
        ({"every": "24h", "at": "07:00"}, utc(2, 6, 59), None),
        ({"every": "24h", "at": "07:00"}, utc(2, 7), utc(2, 7)),
        ({"every": "24h", "at": "07:00"}, utc(2, 23, 59), utc(2, 7)),
        # Down for three days: only the latest period is sent, not one per missed day.
        ({"every": "24h", "at": "07:00"}, utc(5, 8), utc(5, 7)),
        # Every 6 h from 01:00: 19:00 is the first boundary after 15:00.
        ({"every": "6h", "at": "01:00"}, utc(1, 18, 59), None),
        ({"every": "6h", "at": "01:00"}, utc(1, 19, 30), utc(1, 19)),
        ({"every": "6h", "at": "01:00"}, utc(2, 0, 59), utc(1, 19)),
        ({"every": "6h", "at": "01:00"}, utc(2, 1), utc(2, 1)),
        ({"every": "30m"}, utc(1, 15, 29), None),
        ({"every": "30m"}, utc(1, 15, 45), utc(1, 15, 30)),
    ],
)
def test_the_latest_boundary_after_the_schedule_was_set_is_due(
    report: dict[str, object], now_s: float, due_end: float | None
) -> None:
    sub = reporting(report, topics=["AAPL"])
    runs = due_reports([sub], now_s=now_s, sent=set())
    assert [run.end_s for run in runs] == ([due_end] if due_end else [])
    for run in runs:
        assert run.subscription_id == sub.subscription_id and run.topics == ("AAPL",)
        assert run.start_s == due_end - schedule.of(sub).since_s  # type: ignore[operator,union-attr]
        assert run.subject == subject(run.end_s)


def test_a_report_sent_is_not_due_again_until_the_next_period() -> None:
    sub = reporting({"every": "24h", "at": "07:00"})
    (run,) = due_reports([sub], now_s=utc(2, 7, 1), sent=set())
    sent = {delivery_id(run.subject, sub.subscription_id)}
    assert due_reports([sub], now_s=utc(2, 7, 2), sent=sent) == []
    assert due_reports([sub], now_s=utc(3, 6, 59), sent=sent) == []
    assert [r.end_s for r in due_reports([sub], now_s=utc(3, 7), sent=sent)] == [utc(3, 7)]


@pytest.mark.parametrize(
    ("extra", "report"),
    [
        ({"status": "paused"}, {"every": "30m"}),
        ({}, {}),
    ],
)
def test_paused_subscriptions_and_those_without_a_schedule_get_no_report(
    extra: dict[str, object], report: dict[str, object]
) -> None:
    assert due_reports([reporting(report, **extra)], now_s=utc(9, 12), sent=set()) == []


@given(
    every_s=st.sampled_from([60, 300, 1800, 3600, 6 * 3600, 86_400]),
    at_minutes=st.integers(0, 1439),
    now_s=st.floats(1.7e9, 2.0e9),
)
def test_a_boundary_is_at_or_before_now_and_less_than_a_period_back(
    every_s: int, at_minutes: int, now_s: float
) -> None:
    s = schedule.Schedule(every_s, at_minutes * 60 % every_s, every_s, "html", (), 0.0)
    b = schedule.boundary(s, now_s)
    assert int(now_s) - every_s < b <= now_s
    assert (b - at_minutes * 60) % every_s == 0  # the same time of day, every day
    assert schedule.boundary(s, b) == b and schedule.boundary(s, b - 1) == b - every_s


@given(st.text(min_size=1, max_size=30), st.integers(1, 64))
def test_every_subscription_has_one_owner_partition(subscription_id: str, partitions: int) -> None:
    assert 0 <= owner(subscription_id, partitions) < partitions
    assert owner(subscription_id, partitions) == owner(subscription_id, partitions)


def test_a_report_job_carries_the_file_and_a_stable_delivery_id() -> None:
    sub = hook()
    report = {"subject": subject(utc(2, 7)), "format": "pdf", "topics": ["AAPL"]}
    job = report_job(sub, report, b"%PDF-1.7 ...")
    again = report_job(sub, report, b"%PDF-1.7 other bytes")
    assert job.delivery_id == again.delivery_id == delivery_id("report@2026-12-02T07:00Z",
                                                               sub.subscription_id)  # fmt: skip
    data = json.loads(job.body)
    assert data["type"] == "finpulse.report" and data["report"] == report
    assert base64.b64decode(data["content_base64"]) == b"%PDF-1.7 ..."
    assert job.subject == "report@2026-12-02T07:00Z" and job.kind == "report"
    assert job.key == sub.subscription_id and job.partition == -1

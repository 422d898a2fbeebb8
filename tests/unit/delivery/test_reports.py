"""The report scheduler's bookkeeping, with the build (ClickHouse, Chromium) replaced: each due
report is built and submitted once, only by its owner, and a failed build waits before a retry."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from stream.config import Settings
from stream.delivery import reports, schedule
from stream.delivery.jobs import Job, report_job
from stream.delivery.reports import RETRY_S, ReportScheduler
from stream.delivery.schedule import ReportRun
from stream.errors import ServiceError
from stream.records import Subscription
from tests.unit.delivery.examples import hook

SET_AT = datetime(2026, 12, 1, 15, 0, tzinfo=UTC).timestamp()
DUE_AT = datetime(2026, 12, 2, 7, 0, 5, tzinfo=UTC).timestamp()


def daily() -> Subscription:
    return replace(hook(), report=schedule.parse({"every": "24h", "at": "07:00"}, now=SET_AT))


def scheduler(sub: Subscription, monkeypatch: pytest.MonkeyPatch, *, owned: bool = True,
              fail: int = 0) -> tuple[ReportScheduler, list[Job], set[str]]:  # fmt: skip
    failures = [fail]

    def build(settings: Any, s: Subscription, run: ReportRun) -> Job:
        if failures[0]:
            failures[0] -= 1
            raise ServiceError("chromium could not print", service="chromium", address="x")
        return report_job(s, {"subject": run.subject}, b"<html>")

    monkeypatch.setattr(reports, "build", build)
    submitted: list[Job] = []
    settled: set[str] = set()
    return (ReportScheduler(cast(Settings, None), lambda: [sub], settled, submitted.append,
                            lambda _: owned), submitted, settled)  # fmt: skip


async def test_a_due_report_is_submitted_once_until_settled_then_not_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sub = daily()
    s, submitted, settled = scheduler(sub, monkeypatch)
    assert await s.tick(DUE_AT - 10) == []  # 06:59:55: not yet
    (job,) = await s.tick(DUE_AT)
    assert await s.tick(DUE_AT + 2) == []  # queued, not settled: not built again
    settled.add(job.delivery_id)
    assert await s.tick(DUE_AT + 4) == [] and s.in_flight == set()
    assert submitted == [job] and job.subject == "report@2026-12-02T07:00Z"


async def test_only_the_owner_of_a_subscription_sends_its_reports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s, submitted, _ = scheduler(daily(), monkeypatch, owned=False)
    assert await s.tick(DUE_AT) == [] and submitted == []


async def test_a_report_that_could_not_be_built_is_tried_again_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s, submitted, _ = scheduler(daily(), monkeypatch, fail=1)
    assert await s.tick(DUE_AT) == []
    assert await s.tick(DUE_AT + RETRY_S - 1) == []
    assert len(await s.tick(DUE_AT + RETRY_S)) == 1 and len(submitted) == 1

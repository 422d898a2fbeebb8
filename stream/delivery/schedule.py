"""Scheduled reports (pure): a subscription's report schedule, and which reports are due when.

A schedule sends one report per period, at the period's end (its *boundary*): boundaries are
``at`` past midnight UTC and every ``every`` after it, so ``every`` divides a day and the hours
stay the same from day to day (daily at 07:00; every 6 h from 01:00 is 01, 07, 13, 19 UTC).
The report of a boundary covers the ``since`` before it. Only the latest boundary is due: a
deliverer that was down sends the report it missed last, not one per missed period, and a new
schedule starts with the first boundary after it was set (``from_s``).

A report's subject is ``report@<boundary, UTC>``, so its delivery id (jobs.delivery_id) is the
same for a subscription and period wherever and however often it is computed: a report is sent
unless that id is settled, which the deliverer knows across restarts and rebalances from the
``deliveries`` table, as for alerts (runner.py, settled.py).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stream.delivery.jobs import delivery_id
from stream.errors import InvalidSubscription, UsageError
from stream.records import Subscription
from stream.web.views import since_seconds

DAY_S = 86_400
FORMATS = ("html", "pdf")
CONTENT_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
FIELDS = ("every", "at", "since", "format", "topics")
SUBJECT_PREFIX = "report@"
_SUBJECT_TIME = "%Y-%m-%dT%H:%MZ"
_AT = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Schedule:
    every_s: int  # divides a day
    at_s: int  # the first boundary of each UTC day, in seconds past midnight (< every_s)
    since_s: int  # what a report covers, back from its boundary
    format: str  # html or pdf
    topics: tuple[str, ...]  # topics or patterns; empty: the subscription's topics
    from_s: float  # when the schedule was set: no boundary before it is due


@dataclass(frozen=True)
class ReportRun:
    """One report due to one subscriber: the topics over ``[start_s, end_s)``."""

    subscription_id: str
    subject: str  # report@<end>, as in the deliveries table
    start_s: float
    end_s: float  # the boundary
    topics: tuple[str, ...]
    format: str


def parse(data: Mapping[str, Any], *, now: float) -> dict[str, Any]:
    """A subscription's ``report`` field from user input, checked and in its stored form
    (``{}``: no reports). ``every`` is a duration that divides a day (``24h``, ``6h``, ``30m``;
    ``daily`` is ``24h``), ``at`` is HH:MM UTC (default 00:00), ``since`` defaults to ``every``."""
    if not data:
        return {}
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise InvalidSubscription(f"report: unknown field(s) {unknown}; known: {list(FIELDS)}")
    every = str(data.get("every", "daily"))
    every_s = DAY_S if every == "daily" else _seconds("every", every)
    if DAY_S % every_s or every_s < 60:
        raise InvalidSubscription(
            f"report.every: {every!r} must divide a day (24h, 12h, 6h, 1h, 30m ...)"
        )
    at = str(data.get("at", "00:00"))
    match = _AT.match(at)
    if not match:
        raise InvalidSubscription(f"report.at: HH:MM (UTC) is expected, got {at!r}")
    since_s = _seconds("since", str(data["since"])) if data.get("since") else every_s
    fmt = str(data.get("format", "html"))
    if fmt not in FORMATS:
        raise InvalidSubscription(f"report.format: one of {list(FORMATS)}")
    topics = data.get("topics", [])
    if isinstance(topics, str):
        topics = [topics]
    if not isinstance(topics, list | tuple) or not all(isinstance(t, str) for t in topics):
        raise InvalidSubscription(f"report.topics: a list of strings is expected, got {topics!r}")
    return {
        "every": every,
        "at": f"{int(match[1]):02d}:{match[2]}",
        "since": str(data.get("since") or ("24h" if every == "daily" else every)),
        "format": fmt,
        "topics": sorted({t.strip() for t in topics if t.strip()}),
        "every_s": every_s,
        "since_s": since_s,
        "from_s": now,
    }


def _seconds(name: str, text: str) -> int:
    try:
        return since_seconds(text)
    except UsageError:
        raise InvalidSubscription(
            f"report.{name}: a duration such as 30m, 6h or 24h is expected, got {text!r}"
        ) from None


def of(sub: Subscription) -> Schedule | None:
    """The schedule of a subscription (its stored ``report`` field); None when it has none."""
    r = sub.report
    if not r:
        return None
    hours, minutes = (int(part) for part in r["at"].split(":"))
    return Schedule(
        every_s=int(r["every_s"]),
        at_s=(hours * 3600 + minutes * 60) % int(r["every_s"]),
        since_s=int(r["since_s"]),
        format=str(r["format"]),
        topics=tuple(r["topics"]) or tuple(sub.topics),
        from_s=float(r["from_s"]),
    )


def boundary(schedule: Schedule, now_s: float) -> float:
    """The latest boundary at or before ``now_s`` (Unix seconds)."""
    return float(
        (int(now_s) - schedule.at_s) // schedule.every_s * schedule.every_s + schedule.at_s
    )


def due(schedule: Schedule, now_s: float) -> float | None:
    """The boundary whose report is due at ``now_s`` unless it was sent: the latest one, when it
    comes after the schedule was set; None when there is none yet."""
    latest = boundary(schedule, now_s)
    return latest if latest > schedule.from_s else None


def due_reports(
    subs: Iterable[Subscription], *, now_s: float, sent: Container[str]
) -> list[ReportRun]:
    """The reports due at ``now_s`` to the active subscriptions, given the delivery ids of the
    reports already sent (settled: delivered, dead-lettered or cancelled)."""
    runs = []
    for sub in subs:
        schedule = of(sub)
        if sub.status != "active" or schedule is None:
            continue
        end_s = due(schedule, now_s)
        if end_s is None or delivery_id(subject(end_s), sub.subscription_id) in sent:
            continue
        runs.append(ReportRun(sub.subscription_id, subject(end_s), end_s - schedule.since_s,
                              end_s, schedule.topics, schedule.format))  # fmt: skip
    return runs


def subject(end_s: float) -> str:
    return SUBJECT_PREFIX + datetime.fromtimestamp(end_s, UTC).strftime(_SUBJECT_TIME)


def owner(subscription_id: str, partitions: int) -> int:
    """The partition of ``alerts`` whose worker schedules this subscription's reports: one
    worker of the group per subscription, whatever the number of workers."""
    return zlib.crc32(subscription_id.encode()) % max(partitions, 1)

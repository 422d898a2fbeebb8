"""Scheduled reports, delivered like alerts: when schedule.py says a subscription's report is
due, it is built here (stream/web/report.py, printed by Chromium for PDF) and handed to the
deliverer as one more job of that subscriber, behind its alerts: the same channel, signature,
retries, dead-letter and ``deliveries`` rows as an alert, with ``alert_id`` the report's
``report@<period end>``.

It runs in the deliverer (runner.py), not in ``finpulse api``: the deliverer already has the
channels and the settled deliveries, runs wherever alerts are delivered, and its consumer group
gives every subscription's schedule to one worker (the owner of partition schedule.owner of
``alerts``), where any number of APIs would each send it. A report is due until its delivery id
is settled; the settled ids come back from the ``deliveries`` table at start and at every
rebalance, so a restart sends a period's report once. The window that remains is the one alerts
have too: a settlement not yet in the table (the sink writes within seconds) when the worker dies
is sent again, under the same ``webhook-id``, for the receiver to drop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Container

from clickhouse_driver.errors import Error as DriverError

from stream.clickhouse.client import connect, mapped
from stream.config import Settings
from stream.delivery.jobs import Job, delivery_id, report_job
from stream.delivery.schedule import CONTENT_TYPES, ReportRun, due_reports
from stream.errors import FinpulseError, UsageError
from stream.logs import get_logger
from stream.records import Subscription
from stream.web.render import printed
from stream.web.report import collect, render_html

log = get_logger(__name__)
RETRY_S = 60.0  # a report that could not be built is tried again this much later


def build(settings: Settings, sub: Subscription, run: ReportRun) -> Job:
    """The report of ``run`` for ``sub``, as a job. A period without windows for its topics gets
    a report with no content and a ``note`` that says so: the desk hears that nothing happened."""
    note = ""
    client = connect(settings.clickhouse)
    try:
        with mapped(settings.clickhouse):
            data = collect(client, run.topics, since_s=int(run.end_s - run.start_s),
                           now=run.end_s, alpha=settings.alerts.alpha)  # fmt: skip
    except UsageError:
        data, note = None, f"no windows for {' '.join(run.topics) or 'any topic'} in the period"
    finally:
        client.disconnect()
    content = b""
    if data is not None:
        page = render_html(data)
        content = page.encode() if run.format == "html" else printed(page, run.format)
    stamp = run.subject.removeprefix("report@").replace("-", "").replace(":", "")
    report = {
        "subject": run.subject,
        "period_start": run.start_s,
        "period_end": run.end_s,
        "topics": list(run.topics),
        "topics_found": [t["topic"] for t in data["topics"]] if data else [],
        "format": run.format,
        "content_type": CONTENT_TYPES[run.format],
        "filename": f"finpulse-report-{stamp}.{run.format}",
        "note": note,
    }
    return report_job(sub, report, content)


class ReportScheduler:
    """Builds the reports due to the subscriptions this worker owns and submits them."""

    def __init__(
        self,
        settings: Settings,
        subscriptions: Callable[[], list[Subscription]],
        settled: Container[str],  # delivery ids settled (settled.Settled)
        submit: Callable[[Job], None],
        owns: Callable[[str], bool],
    ) -> None:
        self.settings = settings
        self.subscriptions = subscriptions
        self.settled = settled
        self.submit = submit
        self.owns = owns
        self.in_flight: set[str] = set()  # delivery ids submitted, not settled yet
        self.retry_at: dict[str, float] = {}  # subscription id -> when to try a failed build

    async def tick(self, now_s: float) -> list[Job]:
        """Submit the reports due at ``now_s``; returns the jobs submitted."""
        self.in_flight = {d for d in self.in_flight if d not in self.settled}
        subs = {s.subscription_id: s for s in self.subscriptions()}
        submitted = []
        for run in due_reports(subs.values(), now_s=now_s, sent=self.settled):
            sid = run.subscription_id
            did = delivery_id(run.subject, sid)
            if did in self.in_flight or not self.owns(sid) or self.retry_at.get(sid, 0.0) > now_s:
                continue
            try:
                job = await asyncio.to_thread(build, self.settings, subs[sid], run)
            except (FinpulseError, DriverError, OSError, EOFError) as exc:
                self.retry_at[sid] = now_s + RETRY_S
                log.warning("report_not_built", subscription=sid, report=run.subject,
                            error=" ".join(str(exc).split())[:300], retry_s=RETRY_S)  # fmt: skip
                continue
            self.retry_at.pop(sid, None)
            self.in_flight.add(did)
            log.info("report_due", subscription=sid, report=run.subject, bytes=len(job.body))
            self.submit(job)
            submitted.append(job)
        return submitted

    async def follow(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.tick(time.time())
            except (KeyError, ValueError, TypeError) as exc:
                # A schedule stored by hand in a shape we do not read: a bug to see, and the
                # other subscriptions' reports and every alert must go on.
                log.error("report_schedule_unreadable", error=str(exc)[:300])

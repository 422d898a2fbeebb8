"""A scheduled report delivered by the deliverer to a local webhook receiver, whose signature the
``standardwebhooks`` package checks, and recorded in ClickHouse by the real deliveries sink, so
that a deliverer started afresh finds the period sent and does not send it again."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
import time
from typing import cast

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from stream.clickhouse import client as clickhouse
from stream.clickhouse.sink_agents import run_sinks
from stream.config import Settings
from stream.delivery.channels import Channels, KafkaChannel, WebhookChannel
from stream.delivery.offsets import OffsetTracker
from stream.delivery.reports import ReportScheduler
from stream.delivery.runner import (
    SETTLED_LOOKBACK_S,
    Deliverer,
    SubscriberView,
    settled_deliveries,
)
from stream.delivery.settled import Settled
from stream.delivery.store import SubscriptionStore
from stream.delivery.subscriptions import create
from stream.kafka.security import client_options
from stream.records import Subscription
from tests.integration import dashboard_data
from tests.integration.helpers import FINPULSE, run
from tests.integration.kafka_admin import create_topic
from tests.integration.webhook_receiver import Receiver

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def reporting(settings: Settings, database: str) -> Settings:
    """Settings on a database of the test's own, migrated, with two hours of windows."""
    run([*FINPULSE, "db", "migrate"], {**os.environ, "FINPULSE_CLICKHOUSE_DATABASE": database})
    client = clickhouse.connect(settings.clickhouse, database=database)
    dashboard_data.seed(client, (time.time() // 60) * 60)
    client.disconnect()
    return settings.model_copy(
        update={
            "clickhouse": settings.clickhouse.model_copy(update={"database": database}),
            "pipeline": settings.pipeline.model_copy(update={"app_id": database}),
        }
    )


async def _deliver_due_reports(
    settings: Settings, sub: Subscription, topic: str, now_s: float
) -> list[str]:
    """One deliverer's life: load what was settled, deliver the reports due at ``now_s``;
    returns their delivery ids."""
    settled = Settled(SETTLED_LOOKBACK_S)
    settled.update(await asyncio.to_thread(settled_deliveries, settings), now_s=time.time())
    producer = AIOKafkaProducer(**client_options(settings.kafka, client="test"), acks="all")
    await producer.start()
    try:
        async with httpx.AsyncClient() as http:
            channels = Channels(WebhookChannel(http, 10), KafkaChannel(producer, 10))
            view = SubscriberView(cast(SubscriptionStore, None))
            view.by_id = {sub.subscription_id: sub}
            deliverer = Deliverer(settings.delivery, view, producer, channels, OffsetTracker(),
                                  settled, topic, f"{topic}.dl")  # fmt: skip
            scheduler = ReportScheduler(settings, view.active, settled, deliverer.submit,
                                        owns=lambda _: True)  # fmt: skip
            jobs = await scheduler.tick(now_s)
            deadline = time.monotonic() + 60
            while any(j.delivery_id not in settled for j in jobs):
                assert time.monotonic() < deadline, "the report was not settled within 60 s"
                await asyncio.sleep(0.2)
            await deliverer.close()
    finally:
        await producer.stop()
    return [j.delivery_id for j in jobs]


async def test_a_scheduled_report_is_delivered_signed_and_once_per_period(
    reporting: Settings, unique: str
) -> None:
    port = _free_port()
    sub = create(
        {"channel": "webhook", "target": f"http://127.0.0.1:{port}/hooks/finpulse",
         "topics": ["ZQA"], "report": {"every": "30m", "since": "2h"}},
        now=time.time() - 3600,  # set an hour ago: a period ended since
    )  # fmt: skip
    store = SubscriptionStore(reporting.clickhouse)
    store.put(sub)
    assert store.get(sub.subscription_id).report == sub.report  # as stored
    store.close()
    topic = f"{unique}.deliveries"
    await create_topic(reporting.kafka.bootstrap, topic, 1)
    sink = asyncio.create_task(run_sinks({"deliveries": topic}, reporting.pipeline, reporting.kafka,
                                         reporting.clickhouse))  # fmt: skip
    receiver = Receiver(sub.secret, port).start()
    now_s = time.time()  # both lives at one time: a period ending between them is not the point
    try:
        sent = await _deliver_due_reports(reporting, sub, topic, now_s)
        assert len(sent) == 1 and receiver.refused == 0
        (message,) = receiver.received  # its signature verified by standardwebhooks
        assert receiver.headers[0]["webhook-id"] == sent[0] == message["delivery_id"]
        report = message["report"]
        assert message["type"] == "finpulse.report" and report["topics_found"] == ["ZQA"]
        assert report["period_end"] - report["period_start"] == 7200
        assert report["period_end"] % 1800 == 0 and now_s - 1800 < report["period_end"] <= now_s
        page = base64.b64decode(message["content_base64"]).decode()
        assert page.startswith("<!doctype html>") and "ZQA" in page
        sql = (f"SELECT count() FROM deliveries FINAL WHERE delivery_id = '{sent[0]}' "
               "AND outcome = 'delivered'")  # fmt: skip
        deadline = time.monotonic() + 30
        while _count(reporting, sql) == 0:  # the sink writes it
            assert time.monotonic() < deadline, "the delivery never reached ClickHouse"
            await asyncio.sleep(0.3)
        # A deliverer started afresh reads the period as sent.
        assert await _deliver_due_reports(reporting, sub, topic, now_s) == []
        assert len(receiver.received) == 1
    finally:
        receiver.stop()
        sink.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sink


def _count(settings: Settings, sql: str) -> int:
    client = clickhouse.connect(settings.clickhouse)
    try:
        return int(client.execute(sql)[0][0])
    finally:
        client.disconnect()

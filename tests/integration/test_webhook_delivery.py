"""A webhook delivery over real HTTP, verified by the ``standardwebhooks`` package on loopback."""

from __future__ import annotations

import socket

import httpx
import pytest

from stream.delivery.channels import WebhookChannel
from stream.delivery.jobs import alert_job
from stream.delivery.subscriptions import create
from tests.integration.webhook_receiver import Receiver
from tests.unit.delivery.examples import alert

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("legacy_headers", [False, True])
async def test_a_delivery_verifies_with_the_standardwebhooks_package(legacy_headers: bool) -> None:
    port = _free_port()
    sub = create(
        {"channel": "webhook", "target": f"http://127.0.0.1:{port}/hooks/finpulse",
         "legacy_headers": legacy_headers},
        now=0.0,
    )  # fmt: skip
    job = alert_job(alert(), sub, 0, 0)
    did = job.delivery_id
    receiver = Receiver(sub.secret, port).start()
    try:
        async with httpx.AsyncClient() as client:
            answer = await WebhookChannel(client, timeout_s=5).send(sub, job, 1)
    finally:
        receiver.stop()
    assert answer.status_code == 204 and receiver.refused == 0
    assert [r["delivery_id"] for r in receiver.received] == [did]
    (headers,) = receiver.headers
    assert headers["webhook-id"] == did
    assert ("X-Finpulse-Signature" in headers) is legacy_headers

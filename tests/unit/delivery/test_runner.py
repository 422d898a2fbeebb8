"""The deliverer's loop over scripted channels: the rows of ``deliveries`` each attempt writes."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any, cast

import pytest

from stream.config import DeliverySettings
from stream.delivery.channels import Channels
from stream.delivery.jobs import Job
from stream.delivery.offsets import OffsetTracker
from stream.delivery.policy import Answer
from stream.delivery.runner import SETTLED_LOOKBACK_S, Deliverer, SubscriberView
from stream.delivery.settled import Settled
from stream.delivery.store import SubscriptionStore
from stream.records import Delivery, Subscription
from tests.unit.delivery.examples import hook, job, kafka

BUSY = Answer(503, text="busy", retry_after="1", duration_s=0.25)
TIMEOUT = Answer(error="no answer within 10 s", duration_s=10.0)
OK = Answer(204, duration_s=0.125)


class Script:
    """A channel that answers as told, and may change the subscription before it answers."""

    def __init__(self, view: SubscriberView, *answers: Answer | str) -> None:
        self.view = view
        self.answers = list(answers)
        self.attempts: list[int] = []

    async def send(self, sub: Subscription, job: Job, attempt: int) -> Answer:
        self.attempts.append(attempt)
        answer = self.answers.pop(0)
        if answer == "deleted":
            del self.view.by_id[sub.subscription_id]
            return TIMEOUT
        if isinstance(answer, str):
            self.view.by_id[sub.subscription_id] = replace(sub, status=answer)
            return TIMEOUT
        return answer


class Producer:
    def __init__(self) -> None:
        self.sent: dict[str, list[dict[str, Any]]] = {}

    async def send_and_wait(self, topic: str, value: bytes, key: bytes) -> None:
        self.sent.setdefault(topic, []).append(json.loads(value))


async def settle(sub: Subscription, *answers: Answer | str) -> tuple[list[Delivery], Producer]:
    view = SubscriberView(cast(SubscriptionStore, None))
    view.by_id = {sub.subscription_id: sub}
    script = Script(view, *answers)
    producer = Producer()
    tracker = OffsetTracker()
    tracker.add(0, 10, 1)
    settings = DeliverySettings(max_attempts=3, backoff_initial_s=0.001, backoff_max_s=0.002)
    deliverer = Deliverer(settings, view, producer, Channels(webhook=script, kafka=script),
                          tracker, Settled(SETTLED_LOOKBACK_S), "deliveries",
                          "alerts.deadletter")  # fmt: skip
    j = job(sub)
    await deliverer.settle(j)
    assert list(deliverer.settled.at) == [j.delivery_id]
    assert tracker.committable() == {0: 11}  # settled, whatever the outcome
    assert script.attempts == list(range(1, len(script.attempts) + 1))
    rows = [Delivery.from_dict(r) for r in producer.sent.pop("deliveries")]
    assert {(r.delivery_id, r.alert_id, r.subscription_id) for r in rows} == {
        (j.delivery_id, "a1", sub.subscription_id)
    }
    return rows, producer


def outcomes(rows: list[Delivery]) -> list[tuple[int, str, int, str, float]]:
    return [(r.attempt, r.outcome, r.status_code, r.error, r.duration_ms) for r in rows]


async def test_failures_are_retried_until_one_delivers() -> None:
    sub = hook()
    rows, producer = await settle(sub, BUSY, TIMEOUT, OK)
    assert outcomes(rows) == [
        (1, "retry", 503, "HTTP 503: busy", 250.0),
        (2, "retry", 0, "no answer within 10 s", 10_000.0),
        (3, "delivered", 204, "", 125.0),
    ]
    assert {(r.channel, r.target) for r in rows} == {("webhook", sub.target)}
    for r in rows[:2]:  # the next try: after the answer, by at most backoff_max_s (0.002 s);
        # the fake answers at once, so the answer came well within 0.5 s even on a busy machine
        assert r.attempted_at < r.next_attempt_at <= r.attempted_at + 0.5
    assert rows[2].next_attempt_at == 0
    assert producer.sent == {}


async def test_the_last_failure_dead_letters_the_alert_with_its_reason() -> None:
    sub = kafka("desk.alerts")
    rows, producer = await settle(sub, TIMEOUT, BUSY, Answer(error="Kafka topic desk.alerts: x"))
    assert outcomes(rows) == [
        (1, "retry", 0, "no answer within 10 s", 10_000.0),
        (2, "retry", 503, "HTTP 503: busy", 250.0),
        (3, "dead_letter", 0, "Kafka topic desk.alerts: x", 0.0),
    ]
    assert {(r.channel, r.target) for r in rows} == {("kafka", "desk.alerts")}
    assert rows[2].next_attempt_at == 0
    (letter,) = producer.sent.pop("alerts.deadletter")
    assert letter["reason"] == "Kafka topic desk.alerts: x" and letter["attempts"] == 3
    assert letter["subscription_id"] == sub.subscription_id and letter["alert"]["alert_id"] == "a1"
    assert producer.sent == {}


@pytest.mark.parametrize("status", ["paused", "deleted"])
async def test_a_subscription_paused_or_deleted_meanwhile_cancels_the_rest(status: str) -> None:
    sub = hook()
    rows, producer = await settle(sub, status)
    assert outcomes(rows) == [
        (1, "retry", 0, "no answer within 10 s", 10_000.0),
        (2, "cancelled", 0, f"subscription {status}", 0.0),
    ]
    assert rows[1].channel == ("webhook" if status == "paused" else "")
    assert producer.sent == {}


@pytest.mark.parametrize("status", ["active", "paused", "deleted"])
async def test_the_queue_and_sender_of_a_stopped_subscription_go(status: str) -> None:
    sub = hook()
    view = SubscriberView(cast(SubscriptionStore, None))
    view.by_id = {sub.subscription_id: sub}
    script = Script(view, OK, OK if status == "active" else status)  # stopped at the second
    settings = DeliverySettings(refresh_s=0.01, backoff_initial_s=0.001, backoff_max_s=0.002)
    tracker = OffsetTracker()
    tracker.add(0, 10, 1)
    tracker.add(0, 11, 1)
    deliverer = Deliverer(settings, view, Producer(), Channels(webhook=script, kafka=script),
                          tracker, Settled(SETTLED_LOOKBACK_S), "deliveries",
                          "alerts.deadletter")  # fmt: skip
    deliverer.submit(job(sub, offset=10))
    deliverer.submit(job(sub, offset=11))
    for _ in range(500):  # both settled, then idle for refresh_s (0.01 s)
        await asyncio.sleep(0.01)
        if tracker.committable() == {0: 12} and (status == "active" or not deliverer.queues):
            break
    assert tracker.committable() == {0: 12}
    if status == "active":
        assert list(deliverer.queues) == [sub.subscription_id] and len(deliverer.tasks) == 1
    else:
        assert deliverer.queues == {} and deliverer.tasks == set()
    await deliverer.close()

"""Delivery channels: one attempt to hand a job to a subscriber, behind one protocol.

A channel reports what happened as an ``Answer`` and raises nothing for the receiver's failures
(a timeout, a refused connection or a broker's error is an answer with its error); it never
retries either: policy.py decides what an answer means, runner.py waits and tries again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from stream import __version__
from stream.delivery import signing
from stream.delivery.jobs import Job
from stream.delivery.policy import Answer
from stream.records import Subscription


class Channel(Protocol):
    async def send(self, sub: Subscription, job: Job, attempt: int) -> Answer:
        """Attempt number ``attempt`` (1-based) to hand ``job`` to ``sub``'s target."""
        ...


class WebhookChannel:
    """One signed POST per attempt (httpx). Every attempt is signed afresh, so its timestamp is
    recent wherever in the retry schedule it falls."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        timeout_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.timeout_s = timeout_s
        self.clock = clock  # Unix seconds: the signature's timestamp

    async def send(self, sub: Subscription, job: Job, attempt: int) -> Answer:
        return await _timed(self._post(sub, job, attempt))

    async def _post(self, sub: Subscription, job: Job, attempt: int) -> Answer:
        now = int(self.clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"finpulse/{__version__}",
            **signing.standard_headers(sub.secret, job.delivery_id, now, job.body),
        }
        if sub.legacy_headers:  # the X-Finpulse-* form, for one release
            headers |= {
                signing.DELIVERY_HEADER: job.delivery_id,
                signing.ATTEMPT_HEADER: str(attempt),
                **signing.headers(sub.secret, now, job.body),
            }
        try:
            response = await self.client.post(
                sub.target, content=job.body, headers=headers, timeout=self.timeout_s
            )
        except httpx.TimeoutException:
            return Answer(error=f"no answer within {self.timeout_s:g} s")
        except httpx.HTTPError as exc:
            return Answer(error=f"{type(exc).__name__}: {exc}"[:500])
        return Answer(
            response.status_code,
            text=response.text,
            retry_after=response.headers.get("Retry-After"),
        )


class KafkaChannel:
    """The subscriber's own Kafka topic, by the worker's producer, keyed by the alert's topic (a
    report: by the subscription)."""

    def __init__(self, producer: AIOKafkaProducer, timeout_s: float) -> None:
        self.producer = producer
        self.timeout_s = timeout_s

    async def send(self, sub: Subscription, job: Job, attempt: int) -> Answer:
        return await _timed(self._produce(sub, job))

    async def _produce(self, sub: Subscription, job: Job) -> Answer:
        try:
            sent = self.producer.send_and_wait(sub.target, job.body, key=job.key.encode())
            await asyncio.wait_for(sent, self.timeout_s)
        except (KafkaError, TimeoutError) as exc:
            return Answer(error=f"Kafka topic {sub.target}: {type(exc).__name__} {exc}")
        return Answer()  # the broker has it; Kafka has no status to report


@dataclass(frozen=True)
class Channels:
    """The channel of each kind of subscription (subscriptions.CHANNELS)."""

    webhook: Channel
    kafka: Channel

    def of(self, sub: Subscription) -> Channel:
        # subscriptions.py lets in only these two; anything but a webhook is a Kafka topic.
        return self.webhook if sub.channel == "webhook" else self.kafka


async def _timed(attempt: Awaitable[Answer]) -> Answer:
    started = time.perf_counter()
    answer = await attempt
    return replace(answer, duration_s=time.perf_counter() - started)

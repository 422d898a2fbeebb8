"""Channels: a signed webhook POST (httpx.MockTransport) and a record on the subscriber's topic."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from standardwebhooks import Webhook, WebhookVerificationError

from stream import __version__
from stream.backoff import Backoff
from stream.delivery import signing
from stream.delivery.channels import Channels, KafkaChannel, WebhookChannel
from stream.delivery.policy import Answer, Delivered, Retry, RetryPolicy, next_step
from stream.records import Subscription
from tests.unit.delivery.examples import NOW, hook, job, kafka

Handler = Callable[[httpx.Request], httpx.Response]
DATE = "Thu, 01 Jan 2026 00:00:30 GMT"
POLICY = RetryPolicy(max_attempts=2, backoff=Backoff(initial_s=1.0, maximum_s=4.0))


def webhook(handler: Handler, clock: Callable[[], float] = lambda: NOW) -> WebhookChannel:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return WebhookChannel(client, timeout_s=3.0, clock=clock)


async def test_a_post_is_signed_so_the_receiver_can_verify_the_exact_body() -> None:
    seen: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    sub = hook(legacy_headers=True)
    j = job(sub)
    answer = await webhook(receive).send(sub, j, 1)
    assert answer.status_code == 204 and answer.error == "" and answer.duration_s >= 0
    (request,) = seen
    assert request.method == "POST" and str(request.url) == sub.target
    assert request.content == j.body
    h = request.headers
    assert signing.verify(
        sub.secret, h[signing.TIMESTAMP_HEADER], h[signing.SIGNATURE_HEADER], request.content,
        now=NOW, tolerance_s=0,
    )  # fmt: skip
    assert not signing.verify(
        hook().secret, h[signing.TIMESTAMP_HEADER], h[signing.SIGNATURE_HEADER], request.content,
        now=NOW,
    )  # fmt: skip
    assert h[signing.TIMESTAMP_HEADER] == str(int(NOW))
    assert h[signing.DELIVERY_HEADER] == j.delivery_id
    assert h[signing.ATTEMPT_HEADER] == "1"
    assert signing.verify_standard(sub.secret, dict(h), request.content, now=NOW, tolerance_s=0)
    assert h["webhook-id"] == j.delivery_id and h["webhook-timestamp"] == str(int(NOW))
    assert h["Content-Type"] == "application/json"
    assert h["User-Agent"] == f"finpulse/{__version__}"
    assert json.loads(request.content)["delivery_id"] == j.delivery_id
    assert request.extensions["timeout"] == dict.fromkeys(("connect", "read", "write", "pool"), 3.0)


async def test_every_attempt_is_counted_and_signed_afresh() -> None:
    seen: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503)

    times = iter([NOW, NOW + 60.5, NOW + 300])
    channel = webhook(receive, clock=lambda: next(times))
    sub = hook(legacy_headers=True)
    j = job(sub)
    for attempt in (1, 2, 3):
        await channel.send(sub, j, attempt)
    assert [r.headers[signing.ATTEMPT_HEADER] for r in seen] == ["1", "2", "3"]
    stamps = [r.headers[signing.TIMESTAMP_HEADER] for r in seen]
    assert stamps == [str(int(NOW)), str(int(NOW) + 60), str(int(NOW) + 300)]
    assert len({r.headers[signing.SIGNATURE_HEADER] for r in seen}) == 3
    assert {r.headers[signing.DELIVERY_HEADER] for r in seen} == {j.delivery_id}
    assert all(r.content == j.body for r in seen)
    for r, now in zip(seen, (NOW, NOW + 60.5, NOW + 300), strict=True):
        h = r.headers
        assert signing.verify(sub.secret, h[signing.TIMESTAMP_HEADER],
                              h[signing.SIGNATURE_HEADER], r.content, now=now)  # fmt: skip


async def test_a_new_subscription_gets_standard_webhooks_headers_only() -> None:
    seen: list[httpx.Request] = []

    def receive(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    sub = hook()
    j = job(sub)
    await webhook(receive, clock=time.time).send(sub, j, 2)
    (request,) = seen
    # Verified by the standardwebhooks package, as a subscriber would.
    Webhook(sub.secret).verify(request.content, dict(request.headers), json_parse=False)
    assert request.headers["webhook-id"] == j.delivery_id
    assert not [name for name in request.headers if name.lower().startswith("x-finpulse")]
    with pytest.raises(WebhookVerificationError):
        Webhook(hook().secret).verify(request.content, dict(request.headers), json_parse=False)


@pytest.mark.parametrize(
    ("response", "answer"),
    [
        (httpx.Response(200, text="ok"), Answer(200, text="ok")),
        (httpx.Response(500, text="boom"), Answer(500, text="boom")),
        (httpx.Response(429, headers={"Retry-After": "7"}), Answer(429, retry_after="7")),
        (httpx.Response(503, text="later", headers={"Retry-After": DATE}),
         Answer(503, text="later", retry_after=DATE)),
        (httpx.Response(302, headers={"Location": "https://elsewhere.test/"}), Answer(302)),
    ],
)  # fmt: skip
async def test_a_response_is_an_answer_with_its_status_text_and_retry_after(
    response: httpx.Response, answer: Answer
) -> None:
    sub = hook()
    got = await webhook(lambda request: response).send(sub, job(sub), 1)
    assert got.duration_s >= 0
    assert got == Answer(answer.status_code, text=answer.text, retry_after=answer.retry_after,
                         duration_s=got.duration_s)  # fmt: skip


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (httpx.ReadTimeout("timed out"), "no answer within 3 s"),
        (httpx.ConnectTimeout("timed out"), "no answer within 3 s"),
        (httpx.PoolTimeout("no connection free"), "no answer within 3 s"),
        (httpx.ConnectError("[Errno 111] Connection refused"),
         "ConnectError: [Errno 111] Connection refused"),
        (httpx.RemoteProtocolError("Server disconnected"),
         "RemoteProtocolError: Server disconnected"),
        (httpx.ConnectError("x" * 1000), ("ConnectError: " + "x" * 1000)[:500]),
    ],
)  # fmt: skip
async def test_no_answer_is_a_failed_answer_not_an_exception(
    error: httpx.HTTPError, message: str
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    sub = hook()
    answer = await webhook(fail).send(sub, job(sub), 2)
    assert answer.status_code == 0 and answer.error == message
    step = next_step(answer, 1, POLICY, now=NOW)
    assert isinstance(step, Retry) and step.reason == message


class Producer:
    """The part of AIOKafkaProducer a KafkaChannel uses."""

    def __init__(self, fail: Exception | None = None, delay_s: float = 0.0) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.fail = fail
        self.delay_s = delay_s

    async def send_and_wait(self, topic: str, value: bytes, key: bytes) -> None:
        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise self.fail
        self.sent.append((topic, value, key))


async def test_a_kafka_subscriber_gets_the_body_on_its_own_topic_keyed_by_the_alert_topic() -> None:
    producer = Producer()
    sub = kafka("desk.alerts")
    j = job(sub)
    answer = await KafkaChannel(producer, timeout_s=1.0).send(sub, j, 1)
    assert producer.sent == [("desk.alerts", j.body, b"AAPL")]
    assert answer.status_code == 0 and answer.error == ""
    assert next_step(answer, 1, POLICY, now=NOW) == Delivered()


@pytest.mark.parametrize(
    ("producer", "message"),
    [
        (Producer(fail=KafkaTimeoutError()),
         "Kafka topic desk.alerts: KafkaTimeoutError KafkaTimeoutError"),
        (Producer(fail=KafkaConnectionError("no broker")),
         "Kafka topic desk.alerts: KafkaConnectionError KafkaConnectionError: no broker"),
        (Producer(delay_s=5.0), "Kafka topic desk.alerts: TimeoutError "),
    ],
)  # fmt: skip
async def test_a_kafka_failure_is_a_failed_answer(producer: Producer, message: str) -> None:
    sub = kafka("desk.alerts")
    answer = await KafkaChannel(producer, timeout_s=0.05).send(sub, job(sub), 1)
    assert answer == Answer(error=message, duration_s=answer.duration_s)
    assert producer.sent == []


def test_each_subscription_goes_by_its_own_channel() -> None:
    by_hook, by_kafka = webhook(lambda r: httpx.Response(204)), KafkaChannel(Producer(), 1.0)
    channels = Channels(webhook=by_hook, kafka=by_kafka)
    subs: list[Subscription] = [hook(), kafka()]
    assert [channels.of(s) for s in subs] == [by_hook, by_kafka]

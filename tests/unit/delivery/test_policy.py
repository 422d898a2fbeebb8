"""The retry policy: what each answer means after each attempt (pure)."""

from __future__ import annotations

import random

import pytest

from stream.backoff import Backoff
from stream.delivery.policy import (
    Answer,
    DeadLetter,
    Delivered,
    Retry,
    RetryPolicy,
    Step,
    next_step,
    retry_after_s,
)

NOW = 1_767_225_600.0  # Thu, 01 Jan 2026 00:00:00 GMT
POLICY = RetryPolicy(max_attempts=8, backoff=Backoff(initial_s=1.0, maximum_s=300.0))
TIMEOUT = Answer(error="no answer within 10 s")
REFUSED = Answer(error="ConnectError: [Errno 111] Connection refused")
KAFKA_DOWN = Answer(error="Kafka topic t: KafkaConnectionError no broker")


class Lowest(random.Random):
    """Jitter that always draws the bottom of the range: the delay is what Retry-After asks."""

    def uniform(self, a: float, b: float) -> float:
        return a


class Highest(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.mark.parametrize(
    ("answer", "step"),
    [
        (Answer(200), Delivered()),
        (Answer(201, text="created"), Delivered()),
        (Answer(204), Delivered()),
        (Answer(299), Delivered()),
        (Answer(), Delivered()),  # a Kafka topic took the record
        (Answer(301, text="moved"), Retry(1.0, "HTTP 301: moved")),  # redirects are not followed
        (Answer(304), Retry(1.0, "HTTP 304: ")),
        (Answer(400, text="bad"), Retry(1.0, "HTTP 400: bad")),
        (Answer(404, text="no such hook"), Retry(1.0, "HTTP 404: no such hook")),
        (Answer(429, text="slow down"), Retry(1.0, "HTTP 429: slow down")),
        (Answer(500, text="x" * 1000), Retry(1.0, "HTTP 500: " + "x" * 200)),
        (Answer(503, text="busy"), Retry(1.0, "HTTP 503: busy")),
        (TIMEOUT, Retry(1.0, "no answer within 10 s")),
        (REFUSED, Retry(1.0, "ConnectError: [Errno 111] Connection refused")),
        (KAFKA_DOWN, Retry(1.0, "Kafka topic t: KafkaConnectionError no broker")),
    ],
)  # fmt: skip
def test_any_2xx_delivers_and_anything_else_is_retried(answer: Answer, step: Step) -> None:
    assert next_step(answer, 1, POLICY, now=NOW, rng=Highest()) == step


@pytest.mark.parametrize(
    ("answer", "attempt", "step"),
    [
        (Answer(503, text="busy"), 7, Retry(64.0, "HTTP 503: busy")),
        (Answer(503, text="busy"), 8, DeadLetter("HTTP 503: busy")),
        (TIMEOUT, 8, DeadLetter("no answer within 10 s")),
        (REFUSED, 9, DeadLetter("ConnectError: [Errno 111] Connection refused")),
        (Answer(429, retry_after="60"), 8, DeadLetter("HTTP 429: ")),  # no time left to wait
        (Answer(204), 8, Delivered()),  # the last attempt may still deliver
    ],
)
def test_the_last_attempt_dead_letters_with_its_failure_as_the_reason(
    answer: Answer, attempt: int, step: Step
) -> None:
    assert next_step(answer, attempt, POLICY, now=NOW, rng=Highest()) == step


@pytest.mark.parametrize(
    ("retry_after", "rng", "attempt", "delay_s"),
    [
        ("7", Lowest(), 1, 7.0),  # seconds
        (" 7 ", Lowest(), 1, 7.0),
        ("7", Highest(), 5, 16.0),  # the backoff asks for longer: it wins
        ("Thu, 01 Jan 2026 00:00:30 GMT", Lowest(), 1, 30.0),  # an HTTP date
        ("Wed, 31 Dec 2025 23:59:00 GMT", Lowest(), 1, 0.0),  # a date gone by: no extra wait
        ("Wed, 31 Dec 2025 23:59:00 GMT", Highest(), 3, 4.0),
        ("3600", Lowest(), 1, 300.0),  # capped at the backoff's maximum
        ("Thu, 01 Jan 2026 02:00:00 GMT", Lowest(), 1, 300.0),
        ("soon", Highest(), 2, 2.0),  # not a Retry-After: the backoff alone
        ("", Highest(), 2, 2.0),
        (None, Lowest(), 2, 0.0),
    ],
)
def test_retry_after_is_honoured_up_to_the_backoff_maximum(
    retry_after: str | None, rng: random.Random, attempt: int, delay_s: float
) -> None:
    answer = Answer(429, text="slow down", retry_after=retry_after)
    step = next_step(answer, attempt, POLICY, now=NOW, rng=rng)
    assert step == Retry(delay_s, "HTTP 429: slow down")


@pytest.mark.parametrize("attempt", range(1, 8))
def test_the_delay_is_drawn_within_the_doubling_ceiling(attempt: int) -> None:
    ceiling_s = min(300.0, 2.0 ** (attempt - 1))
    rng = random.Random(attempt)
    delays = []
    for _ in range(200):
        step = next_step(TIMEOUT, attempt, POLICY, now=NOW, rng=rng)
        assert isinstance(step, Retry)
        delays.append(step.delay_s)
    assert all(0.0 <= d <= ceiling_s for d in delays)
    assert max(delays) > 0.8 * ceiling_s and min(delays) < 0.2 * ceiling_s  # full jitter
    assert next_step(TIMEOUT, attempt, POLICY, now=NOW, rng=Highest()) == Retry(
        ceiling_s, TIMEOUT.error
    )


def test_the_ceiling_stops_at_the_backoff_maximum() -> None:
    policy = RetryPolicy(max_attempts=20, backoff=Backoff(initial_s=1.0, maximum_s=4.0))
    steps = [next_step(TIMEOUT, n, policy, now=NOW, rng=Highest()) for n in (1, 2, 3, 4, 19)]
    assert [s.delay_s for s in steps if isinstance(s, Retry)] == [1.0, 2.0, 4.0, 4.0, 4.0]


@pytest.mark.parametrize(
    ("value", "now", "seconds"),
    [
        ("7", NOW, 7.0),
        ("0", NOW, 0.0),
        ("Thu, 01 Jan 2026 00:00:30 GMT", NOW, 30.0),
        ("Thu, 01 Jan 2026 00:00:30 GMT", NOW + 100, 0.0),
        (None, NOW, None),
        ("", NOW, None),
        ("soon", NOW, None),
        ("-5", NOW, None),
    ],
)
def test_retry_after_in_seconds_or_as_a_date(
    value: str | None, now: float, seconds: float | None
) -> None:
    assert retry_after_s(value, now=now) == seconds

"""The retry policy of deliveries (pure): what one attempt's answer means for its alert.

Any 2xx delivers. Anything else, or no answer at all (a timeout, a refused connection, a Kafka
error), is tried again after an exponential backoff with full jitter, or after the receiver's
``Retry-After`` when that is longer (but never longer than the backoff's maximum), until
``max_attempts``; the last failure dead-letters the alert, with itself as the reason.
stream/delivery/runner.py does what the step says; the channels (channels.py) bring the answers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from stream.backoff import Backoff


@dataclass(frozen=True)
class Answer:
    """What one attempt got back.

    ``status_code`` is the HTTP status, 0 when none came: then ``error`` says why, or, with no
    error, the channel has no statuses and took the record (Kafka).
    """

    status_code: int = 0
    error: str = ""  # why the attempt got no answer; "" when it got one
    text: str = ""  # the response body, the start of which names an HTTP failure
    retry_after: str | None = None  # the response's Retry-After header, as sent
    duration_s: float = 0.0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int  # the last one dead-letters when it fails
    backoff: Backoff  # its maximum also caps what a Retry-After asks for


@dataclass(frozen=True)
class Delivered:
    pass


@dataclass(frozen=True)
class Retry:
    delay_s: float
    reason: str  # the failure of the attempt just made


@dataclass(frozen=True)
class DeadLetter:
    reason: str  # the failure of the last attempt


Step = Delivered | Retry | DeadLetter


def failure(answer: Answer) -> str:
    """Why the attempt failed, "" when it delivered."""
    if answer.error:
        return answer.error
    if answer.status_code == 0 or 200 <= answer.status_code < 300:
        return ""
    return f"HTTP {answer.status_code}: {answer.text[:200]}"


def next_step(
    answer: Answer,
    attempt: int,
    policy: RetryPolicy,
    *,
    now: float,
    rng: random.Random | None = None,
) -> Step:
    """After attempt number ``attempt`` (1-based) got ``answer`` at ``now`` (Unix seconds)."""
    reason = failure(answer)
    if not reason:
        return Delivered()
    if attempt >= policy.max_attempts:
        return DeadLetter(reason)
    delay_s = policy.backoff.delay(attempt, rng)
    asked_s = retry_after_s(answer.retry_after, now=now)
    if asked_s is not None:
        delay_s = min(max(delay_s, asked_s), policy.backoff.maximum_s)
    return Retry(delay_s, reason)


def retry_after_s(value: str | None, *, now: float) -> float | None:
    """A ``Retry-After`` header (seconds, or an HTTP date) as seconds from now; None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None

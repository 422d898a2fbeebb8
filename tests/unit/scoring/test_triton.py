import random

import pytest
from tritonclient.utils import InferenceServerException

from stream.backoff import Backoff
from stream.scoring.triton import classify_error


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(1, 0.2), (2, 0.4), (3, 0.8), (7, 10.0), (50, 10.0)]
)
def test_backoff_ceiling_grows_then_caps(attempt: int, ceiling: float) -> None:
    assert Backoff(initial_s=0.2, maximum_s=10.0).ceiling(attempt) == pytest.approx(ceiling)


def test_backoff_delay_is_jittered_within_ceiling() -> None:
    rng = random.Random(5)
    delays = [Backoff().delay(4, rng) for _ in range(200)]
    assert all(0 <= d <= 1.6 for d in delays)
    assert len({round(d, 6) for d in delays}) > 150


@pytest.mark.parametrize(
    ("status", "message", "retryable"),
    [
        ("StatusCode.UNAVAILABLE", "failed to connect", True),
        ("StatusCode.DEADLINE_EXCEEDED", "Deadline Exceeded", True),
        ("StatusCode.RESOURCE_EXHAUSTED", "queue full", True),
        ("StatusCode.NOT_FOUND", "Request for unknown model: 'sentiment' is not found", False),
        ("StatusCode.INVALID_ARGUMENT", "TEXT must be UTF-8", False),
        ("StatusCode.INTERNAL", "Request for model 'sentiment' version 2 is not ready", True),
    ],
)
def test_classify_error(status: str, message: str, retryable: bool) -> None:
    assert classify_error(InferenceServerException(message, status=status)) is retryable

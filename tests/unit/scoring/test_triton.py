from __future__ import annotations

import random
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from tritonclient.utils import InferenceServerException

from stream.backoff import Backoff
from stream.config import TritonSettings
from stream.scoring import triton
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


class _Result:
    def __init__(self, rows: int, version: str) -> None:
        self.rows, self.version = rows, version

    def get_response(self) -> Any:
        return type("Response", (), {"model_version": self.version})()

    def as_numpy(self, name: str) -> np.ndarray:
        return np.tile(np.array([[0.1, 0.2, 0.7]], dtype=np.float32), (self.rows, 1))


class _Replica:
    """Stands in for tritonclient's gRPC client: records the options it was built with and the
    batches it answered; ``down`` makes it fail like a stopped server."""

    built: ClassVar[list[tuple[str, dict[str, Any]]]] = []
    by_url: ClassVar[dict[str, _Replica]] = {}

    def __init__(self, url: str, **options: Any) -> None:
        self.url, self.down, self.batches = url, False, 0
        _Replica.built.append((url, options))
        _Replica.by_url[url] = self

    async def infer(self, model: str, inputs: list[Any], **options: Any) -> _Result:
        if self.down:
            raise InferenceServerException("failed to connect", status="StatusCode.UNAVAILABLE")
        self.batches += 1
        return _Result(inputs[0].shape()[0], self.url[-1])

    async def close(self) -> None:
        pass


@pytest.fixture
def replicas(monkeypatch: pytest.MonkeyPatch) -> dict[str, _Replica]:
    _Replica.built, _Replica.by_url = [], {}
    monkeypatch.setattr(triton.grpcclient, "InferenceServerClient", _Replica)
    return _Replica.by_url


class _Delays(Backoff):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[int] = []

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        self.asked.append(attempt)
        return 0.0


def test_tls_settings_reach_every_replica_client(
    replicas: dict[str, _Replica], tmp_path: Path
) -> None:
    settings = TritonSettings(
        grpc="t1:8001, t2:8001", ssl=True, ssl_root_certificates=tmp_path / "ca.pem"
    )
    triton.TritonScorer(settings.grpc, tls=triton.tls_options(settings))
    assert _Replica.built == [
        (url, {"ssl": True, "root_certificates": str(tmp_path / "ca.pem")})
        for url in ("t1:8001", "t2:8001")
    ]


def test_without_ssl_the_clients_are_plaintext(replicas: dict[str, _Replica]) -> None:
    settings = TritonSettings(grpc="t1:8001")
    triton.TritonScorer(settings.grpc, tls=triton.tls_options(settings))
    assert _Replica.built == [("t1:8001", {})]


async def test_batches_are_spread_over_the_replicas(replicas: dict[str, _Replica]) -> None:
    scorer = triton.TritonScorer("t1:1,t2:2", max_batch=2)
    scored = await scorer.score([f"text {i}" for i in range(8)])
    assert len(scored) == 8
    assert (replicas["t1:1"].batches, replicas["t2:2"].batches) == (2, 2)


async def test_a_down_replica_fails_over_to_the_other_without_waiting(
    replicas: dict[str, _Replica],
) -> None:
    delays = _Delays()
    scorer = triton.TritonScorer("t1:1,t2:2", max_batch=2, retries=None, backoff=delays)
    replicas["t1:1"].down = True
    scored = await scorer.score([f"text {i}" for i in range(8)])
    assert len(scored) == 8 and replicas["t2:2"].batches == 4
    assert delays.asked == []  # the other replica answered: no backoff


async def test_when_every_replica_is_down_the_batch_backs_off_per_round(
    replicas: dict[str, _Replica],
) -> None:
    delays = _Delays()
    scorer = triton.TritonScorer("t1:1,t2:2", retries=5, backoff=delays)
    replicas["t1:1"].down = replicas["t2:2"].down = True
    with pytest.raises(triton.ScoringError, match=r"Triton at t[12]"):
        await scorer.score(["text"])
    assert delays.asked == [1, 2]  # after attempts 2 and 4 (each a full round); 6 gives up


async def test_one_replica_backs_off_every_attempt_as_before(
    replicas: dict[str, _Replica],
) -> None:
    delays = _Delays()
    scorer = triton.TritonScorer("t1:1", retries=3, backoff=delays)
    replicas["t1:1"].down = True
    with pytest.raises(triton.ScoringError):
        await scorer.score(["text"])
    assert delays.asked == [1, 2, 3]

"""Sentiment scoring through Triton (gRPC, asyncio): what the pipeline calls.

``TritonScorer.score(texts)`` splits texts into batches of at most ``max_batch`` and keeps at
most ``max_in_flight`` requests open. Errors a retry can cure (server unavailable, timeout,
overloaded, model still loading) are retried with exponential backoff and full jitter,
``retries`` times, or for ever with ``retries=None`` (back-pressure: the caller waits, nothing is
lost). Errors no retry can cure (model missing, bad input) raise at once, saying how to fix them.

``url`` may name several replicas (``host:port,host:port``): batches start on them in turn, and
a batch that fails retryably on one goes at once to the next; it waits out the backoff only when
every replica has failed it in a row. ``tls`` puts the gRPC channels on TLS.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tritonclient.grpc.aio as grpcclient
from tritonclient.utils import InferenceServerException

from stream.backoff import Backoff
from stream.config import TritonSettings

# Imported "as" itself: the error's old home, where the scoring agent still imports it from.
from stream.errors import ScoringError as ScoringError
from stream.logs import get_logger
from stream.scoring.plan import Sentiment
from stream.sentiment.labels import LABELS

log = get_logger(__name__)

_RETRYABLE = {
    "StatusCode.UNAVAILABLE",
    "StatusCode.DEADLINE_EXCEEDED",
    "StatusCode.RESOURCE_EXHAUSTED",
}


def classify_error(exc: InferenceServerException) -> bool:
    """Whether a Triton error is worth a retry (pure)."""
    status = str(exc.status() or "")
    message = str(exc.message() or "").lower()
    if status in _RETRYABLE:
        return True
    # A model being (re)loaded answers "not ready" / "unavailable" for a moment.
    return "is not ready" in message or "unavailable" in message


@dataclass(frozen=True)
class TritonTLS:
    """TLS of the gRPC channel: PEM files (tritonclient reads them); None for the system's CAs
    and no client certificate."""

    root_certificates: Path | None = None
    private_key: Path | None = None
    certificate_chain: Path | None = None

    def client_options(self) -> dict[str, object]:
        files = {"root_certificates": self.root_certificates, "private_key": self.private_key,
                 "certificate_chain": self.certificate_chain}  # fmt: skip
        return {"ssl": True} | {k: str(v) for k, v in files.items() if v is not None}


def tls_options(triton: TritonSettings) -> TritonTLS | None:
    """The scorer's TLS from the settings; None without ``ssl``."""
    if not triton.ssl:
        return None
    return TritonTLS(
        triton.ssl_root_certificates, triton.ssl_private_key, triton.ssl_certificate_chain
    )


def endpoints(url: str) -> list[str]:
    """``host:port[,host:port...]`` -> the replicas, in order (pure)."""
    found = [part.strip() for part in url.split(",") if part.strip()]
    if not found:
        raise ScoringError(
            f"no Triton endpoint in {url!r}: set FINPULSE_TRITON_GRPC", retryable=False
        )
    return found


class TritonScorer:
    def __init__(
        self,
        url: str,
        *,
        tls: TritonTLS | None = None,
        model: str = "sentiment",
        version: str = "",
        timeout_s: float = 10.0,
        max_batch: int = 64,
        max_in_flight: int = 4,
        retries: int | None = 5,
        backoff: Backoff | None = None,
        on_retry: Callable[[ScoringError, int], None] | None = None,
    ) -> None:
        self.url = url
        self.model = model
        self.version = version
        self.timeout_s = timeout_s
        self.max_batch = max_batch
        self.retries = retries
        self.backoff = backoff or Backoff()
        self.on_retry = on_retry
        self.model_version = ""  # the version that answered last
        self._slots = asyncio.Semaphore(max_in_flight)
        options = tls.client_options() if tls is not None else {}
        self.urls = endpoints(url)
        self._clients = [grpcclient.InferenceServerClient(u, **options) for u in self.urls]
        self._turns = itertools.count()  # which replica the next batch starts on

    async def close(self) -> None:
        for client in self._clients:
            await client.close()

    async def __aenter__(self) -> TritonScorer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def check_ready(self) -> None:
        """Raise a ScoringError that says what to do when no replica is ready (the first
        replica's problem is named; one ready replica is enough to score)."""
        errors = []
        for url, client in zip(self.urls, self._clients, strict=True):
            try:
                await _check_ready(client, url, self.model, self.version)
                return
            except ScoringError as exc:
                errors.append(exc)
        raise errors[0]

    async def score(self, texts: Sequence[str]) -> list[Sentiment]:
        batches = [texts[i : i + self.max_batch] for i in range(0, len(texts), self.max_batch)]
        results = await asyncio.gather(*(self._score_batch(b) for b in batches))
        return [s for batch in results for s in batch]

    async def _score_batch(self, texts: Sequence[str]) -> list[Sentiment]:
        start = next(self._turns)
        replicas = len(self._clients)
        attempt = 0
        while True:
            attempt += 1
            turn = (start + attempt - 1) % replicas
            try:
                async with self._slots:
                    return await self._infer(self._clients[turn], texts)
            except InferenceServerException as exc:
                retryable = classify_error(exc)
                error = ScoringError(self._explain(exc, self.urls[turn]), retryable=retryable)
            if not retryable or (self.retries is not None and attempt > self.retries):
                raise error
            # The next replica at once, unless every one has just failed this batch.
            delay = self.backoff.delay(attempt // replicas) if attempt % replicas == 0 else 0.0
            if self.on_retry is not None:
                self.on_retry(error, attempt)
            log.warning(
                "scoring_retry",
                url=self.urls[turn],
                attempt=attempt,
                delay_s=round(delay, 3),
                error=str(error),
            )
            await asyncio.sleep(delay)

    async def _infer(
        self, client: grpcclient.InferenceServerClient, texts: Sequence[str]
    ) -> list[Sentiment]:
        data = np.array([t.encode("utf-8") for t in texts], dtype=np.object_).reshape(-1, 1)
        tensor = grpcclient.InferInput("TEXT", list(data.shape), "BYTES")
        tensor.set_data_from_numpy(data)
        result = await client.infer(
            self.model,
            [tensor],
            model_version=self.version,
            outputs=[grpcclient.InferRequestedOutput("PROBS")],
            client_timeout=self.timeout_s,
        )
        self.model_version = result.get_response().model_version
        probs = result.as_numpy("PROBS")
        if probs is None or probs.shape != (len(texts), len(LABELS)):
            shape = None if probs is None else probs.shape
            raise ScoringError(
                f"model {self.model!r} returned PROBS of shape {shape} for {len(texts)} texts",
                retryable=False,
            )
        return [
            Sentiment(
                LABELS[int(p.argmax())], float(p[2] - p[0]), (float(p[0]), float(p[1]), float(p[2]))
            )
            for p in probs
        ]

    def _explain(self, exc: InferenceServerException, url: str) -> str:
        message = exc.message() or str(exc)
        if "unknown model" in message.lower() or "not found" in message.lower():
            return (
                f"model {self.model!r} is not served by Triton at {url}: build it with "
                f"`finpulse model train` and `finpulse model export` ({message})"
            )
        return f"Triton at {url}: {message}"


async def _check_ready(
    client: grpcclient.InferenceServerClient, url: str, model: str, version: str
) -> None:
    try:
        if not await client.is_server_ready():
            raise ScoringError(f"Triton at {url} is not ready yet", retryable=True)
        if not await client.is_model_ready(model, version):
            raise ScoringError(
                f"model {model!r} is not loaded in Triton at {url}: build it with "
                "`finpulse model train` and `finpulse model export`",
                retryable=False,
            )
    except InferenceServerException as exc:
        raise ScoringError(
            f"Triton at {url} did not answer ({exc.message()}): start it with "
            "`./ops/stack up` or set FINPULSE_TRITON_GRPC",
            retryable=True,
        ) from exc

"""Sentiment scoring through Triton (gRPC, asyncio): what the pipeline calls.

``TritonScorer.score(texts)`` splits texts into batches of at most ``max_batch`` and keeps at
most ``max_in_flight`` requests open. Errors a retry can cure (server unavailable, timeout,
overloaded, model still loading) are retried with exponential backoff and full jitter,
``retries`` times, or for ever with ``retries=None`` (back-pressure: the caller waits, nothing is
lost). Errors no retry can cure (model missing, bad input) raise at once, saying how to fix them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import numpy as np
import tritonclient.grpc.aio as grpcclient
from tritonclient.utils import InferenceServerException

from stream.backoff import Backoff

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


class TritonScorer:
    def __init__(
        self,
        url: str,
        *,
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
        self._client = grpcclient.InferenceServerClient(url)

    async def close(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> TritonScorer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def check_ready(self) -> None:
        """Raise a ScoringError that says what to do when the server or model is not ready."""
        try:
            if not await self._client.is_server_ready():
                raise ScoringError(f"Triton at {self.url} is not ready yet", retryable=True)
            if not await self._client.is_model_ready(self.model, self.version):
                raise ScoringError(
                    f"model {self.model!r} is not loaded in Triton at {self.url}: build it with "
                    "`finpulse model train` and `finpulse model export`",
                    retryable=False,
                )
        except InferenceServerException as exc:
            raise ScoringError(
                f"Triton at {self.url} did not answer ({exc.message()}): start it with "
                "`./ops/stack up` or set FINPULSE_TRITON_GRPC",
                retryable=True,
            ) from exc

    async def score(self, texts: Sequence[str]) -> list[Sentiment]:
        batches = [texts[i : i + self.max_batch] for i in range(0, len(texts), self.max_batch)]
        results = await asyncio.gather(*(self._score_batch(b) for b in batches))
        return [s for batch in results for s in batch]

    async def _score_batch(self, texts: Sequence[str]) -> list[Sentiment]:
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._slots:
                    return await self._infer(texts)
            except InferenceServerException as exc:
                retryable = classify_error(exc)
                error = ScoringError(self._explain(exc), retryable=retryable)
            if not retryable or (self.retries is not None and attempt > self.retries):
                raise error
            delay = self.backoff.delay(attempt)
            if self.on_retry is not None:
                self.on_retry(error, attempt)
            log.warning(
                "scoring_retry",
                url=self.url,
                attempt=attempt,
                delay_s=round(delay, 3),
                error=str(error),
            )
            await asyncio.sleep(delay)

    async def _infer(self, texts: Sequence[str]) -> list[Sentiment]:
        data = np.array([t.encode("utf-8") for t in texts], dtype=np.object_).reshape(-1, 1)
        tensor = grpcclient.InferInput("TEXT", list(data.shape), "BYTES")
        tensor.set_data_from_numpy(data)
        result = await self._client.infer(
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

    def _explain(self, exc: InferenceServerException) -> str:
        message = exc.message() or str(exc)
        if "unknown model" in message.lower() or "not found" in message.lower():
            return (
                f"model {self.model!r} is not served by Triton at {self.url}: build it with "
                "`finpulse model train` and `finpulse model export` ({message})"
            )
        return f"Triton at {self.url}: {message}"

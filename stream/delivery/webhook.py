"""Webhook calls: one signed POST per attempt (httpx). The caller decides about retries."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from stream import __version__
from stream.delivery import signing
from stream.delivery.policy import retry_after_s


@dataclass(frozen=True)
class Answer:
    ok: bool
    status_code: int  # 0 when the receiver did not answer
    error: str
    retry_after_s: float | None = None


async def post(
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    body: bytes,
    *,
    delivery_id: str,
    attempt: int,
    timeout_s: float,
) -> Answer:
    """POST ``body`` signed with ``secret``; any 2xx is success. Every attempt is signed afresh,
    so its timestamp is recent wherever in the retry schedule it falls."""
    now = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"finpulse/{__version__}",
        signing.DELIVERY_HEADER: delivery_id,
        signing.ATTEMPT_HEADER: str(attempt),
        **signing.headers(secret, now, body),
    }
    try:
        response = await client.post(url, content=body, headers=headers, timeout=timeout_s)
    except httpx.TimeoutException:
        return Answer(False, 0, f"no answer within {timeout_s:g} s")
    except httpx.HTTPError as exc:
        return Answer(False, 0, f"{type(exc).__name__}: {exc}"[:500])
    if response.is_success:
        return Answer(True, response.status_code, "")
    return Answer(
        False,
        response.status_code,
        f"HTTP {response.status_code}: {response.text[:200]}",
        retry_after_s(response.headers.get("Retry-After"), now=time.time()),
    )

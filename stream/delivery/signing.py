"""Webhook signatures (pure): HMAC-SHA256 of ``"<timestamp>.<body>"`` with the subscription's
secret, sent as ``X-Finpulse-Signature: sha256=<hex>`` next to ``X-Finpulse-Timestamp``.

Signing the timestamp with the body lets a receiver refuse old requests replayed by someone who
captured one (``tolerance_s``); README.md shows the receiver's side in a few lines.
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Finpulse-Timestamp"
SIGNATURE_HEADER = "X-Finpulse-Signature"
DELIVERY_HEADER = "X-Finpulse-Delivery"
ATTEMPT_HEADER = "X-Finpulse-Attempt"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(
    secret: str,
    timestamp: str | None,
    signature_header: str | None,
    body: bytes,
    *,
    now: float,
    tolerance_s: float = 300.0,
) -> bool:
    """True when the signature is the secret's for this body and the timestamp is recent."""
    if not timestamp or not signature_header or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > tolerance_s:
        return False
    expected = signature(secret, int(timestamp), body)
    return hmac.compare_digest(expected.encode(), signature_header.strip().encode())

"""Webhook signatures (pure), in the form of Standard Webhooks (standardwebhooks.com), so a
receiver verifies with the ``standardwebhooks`` or ``svix`` library in any language:

- ``webhook-id``: the delivery id, the same on every retry (receivers deduplicate on it);
- ``webhook-timestamp``: Unix seconds of this attempt;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``, keyed with
  the base64-decoded part of the ``whsec_...`` secret.

Signing the timestamp with the body lets a receiver refuse old requests replayed by someone who
captured one (``tolerance_s``). For one release a subscription may also ask for the older
``X-Finpulse-*`` headers (``legacy_headers``): HMAC-SHA256 of ``"<timestamp>.<body>"`` keyed with
the whole secret as text, sent as ``X-Finpulse-Signature: sha256=<hex>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"

TIMESTAMP_HEADER = "X-Finpulse-Timestamp"
SIGNATURE_HEADER = "X-Finpulse-Signature"
DELIVERY_HEADER = "X-Finpulse-Delivery"
ATTEMPT_HEADER = "X-Finpulse-Attempt"


def signing_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret, decoded as the Standard Webhooks libraries
    decode it (padding added, characters outside base64 skipped). A secret that does not decode
    keys with its text: such a secret cannot be verified by those libraries."""
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX) + "==")
    except (binascii.Error, ValueError):
        key = b""
    return key or secret.encode()


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def standard_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        ID_HEADER: msg_id,
        STANDARD_TIMESTAMP_HEADER: str(timestamp),
        STANDARD_SIGNATURE_HEADER: standard_signature(secret, msg_id, timestamp, body),
    }


def verify_standard(
    secret: str,
    headers: dict[str, str],
    body: bytes,
    *,
    now: float,
    tolerance_s: float = 300.0,
) -> bool:
    """True when one of the ``v1`` signatures is the secret's for this body and id, and the
    timestamp is recent (header names in any case)."""
    lower = {name.lower(): value for name, value in headers.items()}
    msg_id = lower.get(ID_HEADER, "")
    timestamp = lower.get(STANDARD_TIMESTAMP_HEADER, "")
    if not msg_id or not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance_s:
        return False
    expected = standard_signature(secret, msg_id, int(timestamp), body).encode()
    given = lower.get(STANDARD_SIGNATURE_HEADER, "").split()
    return any(hmac.compare_digest(expected, candidate.encode()) for candidate in given)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The legacy ``X-Finpulse-Signature``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The legacy ``X-Finpulse-*`` signature headers."""
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
    """True when the legacy signature is the secret's for this body and the timestamp is recent."""
    if not timestamp or not signature_header or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > tolerance_s:
        return False
    expected = signature(secret, int(timestamp), body)
    return hmac.compare_digest(expected.encode(), signature_header.strip().encode())

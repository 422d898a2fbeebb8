"""Webhook signatures: HMAC-SHA256 of "<timestamp>.<body>", refused when altered or old."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from stream.delivery import signing

SECRET = "whsec_" + "k" * 20
TS = 1_790_000_000
PAYLOAD = b'{"a": 1}'
SIG = signing.signature(SECRET, TS, PAYLOAD)


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1790000000." + PAYLOAD, hashlib.sha256).hexdigest()
    assert signing.headers(SECRET, TS, PAYLOAD) == {
        "X-Finpulse-Timestamp": "1790000000",
        "X-Finpulse-Signature": "sha256=" + expected,
    }


@pytest.mark.parametrize(
    ("secret", "timestamp", "sig", "payload", "now", "ok"),
    [
        (SECRET, "1790000000", SIG, PAYLOAD, TS + 10, True),
        (SECRET, "1790000000", f" {SIG} ", PAYLOAD, TS, True),  # stray spaces in the header
        (SECRET, "1790000000", SIG, PAYLOAD, TS - 300, True),  # a clock a little behind
        (SECRET, "1790000000", SIG, PAYLOAD + b" ", TS, False),  # body altered
        ("whsec_other_secret_x", "1790000000", SIG, PAYLOAD, TS, False),
        (SECRET, "1790000001", SIG, PAYLOAD, TS, False),  # timestamp altered
        (SECRET, "1790000000", SIG, PAYLOAD, TS + 301, False),  # replayed late
        (SECRET, None, SIG, PAYLOAD, TS, False),
        (SECRET, "1790000000", None, PAYLOAD, TS, False),
        (SECRET, "-5", SIG, PAYLOAD, TS, False),
    ],
)
def test_verify_takes_only_a_recent_signature_of_this_body_with_this_secret(
    secret: str, timestamp: str | None, sig: str | None, payload: bytes, now: float, ok: bool
) -> None:
    assert signing.verify(secret, timestamp, sig, payload, now=now) is ok

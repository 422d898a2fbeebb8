"""Webhook signatures: Standard Webhooks (checked against the standardwebhooks package) and the
legacy HMAC-SHA256 of "<timestamp>.<body>", refused when altered or old."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from stream.delivery import signing
from stream.delivery.subscriptions import new_secret

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


@pytest.mark.parametrize(
    "secret",
    [
        new_secret(),
        "whsec_" + "s" * 30,
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # the Standard Webhooks example secret
        "whsec_" + "a-b_c" * 8,  # url-safe characters, as older finpulse secrets had
    ],
)
def test_standard_signature_is_the_standardwebhooks_packages(secret: str) -> None:
    msg_id, body = "dlv_1", b'{"alert": {}}'
    ours = signing.standard_signature(secret, msg_id, TS, body)
    theirs = Webhook(secret).sign(msg_id, datetime.fromtimestamp(TS, UTC), body.decode())
    assert ours == theirs and ours.startswith("v1,")


@pytest.mark.parametrize(
    ("change", "now", "ok"),
    [
        ({}, TS + 10, True),
        ({}, TS + 301, False),
        ({"webhook-id": "dlv_2"}, TS, False),
        ({"webhook-signature": "v1,AAAA"}, TS, False),
        ({"webhook-signature": "v0,x {sig}"}, TS, True),  # one of several matches
        ({"webhook-timestamp": "soon"}, TS, False),
    ],
)
def test_verify_standard(change: dict[str, str], now: float, ok: bool) -> None:
    secret = new_secret()
    headers = signing.standard_headers(secret, "dlv_1", TS, PAYLOAD)
    sig = headers["webhook-signature"]
    headers |= {name: value.format(sig=sig) for name, value in change.items()}
    assert signing.verify_standard(secret, headers, PAYLOAD, now=now) is ok


def test_new_secrets_are_whsec_base64_of_32_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32

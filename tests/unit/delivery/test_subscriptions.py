"""Subscriptions, signatures and delivery bookkeeping (pure logic)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import replace

import pytest

from stream.delivery import signing, subscriptions
from stream.delivery.policy import OffsetTracker, body, delivery_id, retry_after_s
from stream.delivery.subscriptions import InvalidSubscription, change, create, public, wants
from stream.records import Alert

NOW = 1_790_000_000.0


def alert(topic: str = "AAPL", rule: str = "negative_surge", kind: str = "alert",
          severity: str = "warning") -> Alert:  # fmt: skip
    return Alert("a1", topic, rule, kind, severity, NOW - 900, 900, 0.6, 0.1, 0.3, 4.2, NOW,
                 {"most_negative": ["newswire:1"]})  # fmt: skip


def hook(**extra: object) -> subscriptions.Subscription:
    return create({"channel": "webhook", "target": "https://example.test/hook", **extra}, now=NOW)


def test_create_fills_defaults_and_a_fresh_secret() -> None:
    a, b = hook(), hook()
    assert a.subscription_id != b.subscription_id and a.secret != b.secret
    assert a.status == "active" and a.min_severity == "warning"
    assert a.kinds == ["alert", "escalation", "resolution"] and a.topics == a.rules == []
    assert len(a.secret) >= 32 and public(a)["secret"] == "********"
    kafka = create({"channel": "kafka", "target": "desk.alerts"}, now=NOW)
    assert kafka.secret == "" and public(kafka)["secret"] == ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"channel": "webhook"}, "target: required"),
        ({"channel": "sms", "target": "x"}, "channel: one of"),
        ({"channel": "webhook", "target": "ftp://x.test/"}, "http(s) URL"),
        ({"channel": "webhook", "target": "https:///nohost"}, "http(s) URL"),
        ({"channel": "webhook", "target": "https://x.test", "secret": "short"}, "16 characters"),
        ({"channel": "kafka", "target": "bad topic!"}, "Kafka topic name"),
        ({"channel": "kafka", "target": "t", "rules": ["nope"]}, "rules: unknown ['nope']"),
        ({"channel": "kafka", "target": "t", "min_severity": "info"}, "min_severity"),
        ({"channel": "kafka", "target": "t", "kinds": ["maybe"]}, "kinds: unknown"),
        ({"channel": "kafka", "target": "t", "topics": [1]}, "list of strings"),
        ({"channel": "kafka", "target": "t", "topics": ["a;drop"]}, "not a topic or pattern"),
        ({"channel": "kafka", "target": "t", "status": "deleted"}, "status: one of"),
        ({"channel": "kafka", "target": "t", "colour": "red"}, "unknown field(s) ['colour']"),
    ],
)
def test_invalid_subscriptions_are_refused_with_the_field_named(
    data: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidSubscription, match=re.escape(message)):
        create(data, now=NOW)


def test_change_pauses_edits_and_refuses_what_is_not_editable() -> None:
    sub = hook(topics=["AAPL"])
    paused = change(sub, {"status": "paused", "topics": "theme:*"}, now=NOW + 5)
    assert paused.status == "paused" and paused.topics == ["theme:*"]
    assert paused.updated_at == NOW + 5 and paused.created_at == NOW
    assert paused.secret == sub.secret and paused.subscription_id == sub.subscription_id
    with pytest.raises(InvalidSubscription, match="cannot change"):
        change(sub, {"secret": "x" * 20}, now=NOW)
    with pytest.raises(InvalidSubscription, match="min_severity"):
        change(sub, {"min_severity": "loud"}, now=NOW)
    assert subscriptions.deleted(sub, now=NOW).status == "deleted"


def test_filters_topics_patterns_rules_kinds_and_severity() -> None:
    assert wants(hook(), alert())
    assert wants(hook(topics=["AAPL", "MSFT"]), alert("MSFT"))
    assert not wants(hook(topics=["AAPL"]), alert("AAPLX"))
    assert wants(hook(topics=["theme:*"]), alert("theme:rates"))
    assert not wants(hook(topics=["theme:*"]), alert("AAPL"))
    assert not wants(hook(rules=["volume_spike"]), alert())
    assert wants(hook(rules=["volume_spike"]), alert(rule="volume_spike"))
    assert not wants(hook(min_severity="critical"), alert())
    assert wants(hook(min_severity="critical"), alert(severity="critical"))
    assert not wants(hook(kinds=["alert"]), alert(kind="resolution"))
    assert not wants(replace(hook(), status="paused"), alert())
    assert not wants(replace(hook(), status="deleted"), alert())


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    secret, ts, payload = "whsec_" + "k" * 20, 1_790_000_000, b'{"a": 1}'
    expected = hmac.new(secret.encode(), b"1790000000." + payload, hashlib.sha256).hexdigest()
    headers = signing.headers(secret, ts, payload)
    assert headers == {"X-Finpulse-Timestamp": "1790000000",
                       "X-Finpulse-Signature": "sha256=" + expected}  # fmt: skip
    sig = headers["X-Finpulse-Signature"]
    assert signing.verify(secret, "1790000000", sig, payload, now=ts + 10)
    assert not signing.verify(secret, "1790000000", sig, payload + b" ", now=ts)
    assert not signing.verify("whsec_other_secret_x", "1790000000", sig, payload, now=ts)
    assert not signing.verify(secret, "1790000001", sig, payload, now=ts)
    assert not signing.verify(secret, "1790000000", sig, payload, now=ts + 301)  # replayed late
    assert not signing.verify(secret, None, sig, payload, now=ts)
    assert not signing.verify(secret, "-5", sig, payload, now=ts)


def test_delivery_ids_and_bodies() -> None:
    sub = hook()
    did = delivery_id("a1", sub.subscription_id)
    assert did == delivery_id("a1", sub.subscription_id) != delivery_id("a2", sub.subscription_id)
    data = json.loads(body(alert(), sub, did))
    assert data["type"] == "finpulse.alert" and data["delivery_id"] == did
    assert data["subscription_id"] == sub.subscription_id
    assert Alert.from_dict(data["alert"]) == alert()


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_s("7", now=NOW) == 7.0
    assert retry_after_s("Thu, 01 Jan 2026 00:00:30 GMT", now=1767225600.0) == 30.0
    assert retry_after_s("Thu, 01 Jan 2026 00:00:30 GMT", now=1767225700.0) == 0.0
    assert retry_after_s(None, now=NOW) is None and retry_after_s("soon", now=NOW) is None


def test_offsets_commit_only_past_settled_records() -> None:
    t = OffsetTracker()
    t.add(0, 10, 2)  # two subscribers
    t.add(0, 11, 0)  # nobody wanted it
    t.add(0, 12, 1)
    t.add(1, 5, 0)
    assert t.committable() == {0: 10, 1: 6}
    t.done(0, 12)  # a later record settled first: 10 still holds the commit
    assert t.committable() == {0: 10, 1: 6}
    t.done(0, 10)
    assert t.committable() == {0: 10, 1: 6}
    t.done(0, 10)
    assert t.committable() == {0: 13, 1: 6}
    t.add(0, 13, 1)
    t.forget({0})
    t.done(0, 13)  # settled after the partition went to another worker: ignored
    assert t.committable() == {1: 6}

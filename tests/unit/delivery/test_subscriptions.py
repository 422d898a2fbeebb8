"""Subscriptions: validation, changes and the alerts each one wants (pure)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from stream.delivery import subscriptions
from stream.delivery.subscriptions import InvalidSubscription, change, create, public, wants
from tests.unit.delivery.examples import NOW, alert, hook


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

"""Jobs: one stable delivery id per (alert, subscriber) and the body a subscriber receives."""

from __future__ import annotations

import json

from stream.delivery.jobs import body, delivery_id
from stream.records import Alert
from tests.unit.delivery.examples import alert, hook


def test_a_delivery_id_is_stable_per_alert_and_subscriber() -> None:
    a, b = hook(), hook()
    did = delivery_id("a1", a.subscription_id)
    assert did == delivery_id("a1", a.subscription_id) and did.startswith("dlv_")
    assert did != delivery_id("a2", a.subscription_id)
    assert did != delivery_id("a1", b.subscription_id)


def test_the_body_carries_the_ids_and_the_whole_alert() -> None:
    sub = hook()
    did = delivery_id("a1", sub.subscription_id)
    data = json.loads(body(alert(), sub, did))
    assert data["type"] == "finpulse.alert" and data["delivery_id"] == did
    assert data["subscription_id"] == sub.subscription_id
    assert Alert.from_dict(data["alert"]) == alert()

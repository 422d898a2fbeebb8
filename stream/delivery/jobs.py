"""What goes to a subscriber (pure): one job per (alert, subscriber), its stable id and its body."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from stream.records import Alert, Subscription


@dataclass(frozen=True)
class Job:
    """One alert on its way to one subscriber, and the record of ``alerts`` it settles."""

    alert: Alert
    subscription_id: str
    delivery_id: str
    body: bytes
    partition: int
    offset: int


def delivery_id(alert_id: str, subscription_id: str) -> str:
    """The same for every attempt of one alert to one subscriber: receivers deduplicate on it."""
    digest = hashlib.blake2b(f"{alert_id}|{subscription_id}".encode(), digest_size=10)
    return "dlv_" + digest.hexdigest()


def body(alert: Alert, sub: Subscription, delivery: str) -> bytes:
    """What a subscriber receives: one JSON object (webhook body, or Kafka record value)."""
    return json.dumps(
        {
            "type": "finpulse.alert",
            "delivery_id": delivery,
            "subscription_id": sub.subscription_id,
            "alert": vars(alert),
        },
        ensure_ascii=False,
        sort_keys=True,
    ).encode()

"""What goes to a subscriber (pure): one job per (alert, subscriber) or (report, subscriber), its
stable id and its body."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from stream.records import Alert, Subscription

NO_RECORD = -1  # the partition of a job that settles no record of ``alerts`` (a report)


@dataclass(frozen=True)
class Job:
    """One alert or report on its way to one subscriber, and the record of ``alerts`` it settles
    (none for a report: ``partition`` is NO_RECORD)."""

    subject: str  # the alert's id, or report@<period end> (deliveries.alert_id)
    key: str  # the Kafka key at a Kafka target: the alert's topic, or the subscription's id
    subscription_id: str
    delivery_id: str
    body: bytes
    partition: int
    offset: int
    kind: str = "alert"  # alert or report: the dead-letter record holds it under this name
    details: dict[str, Any] | None = None  # what logs and the dead-letter record show of it


def alert_job(alert: Alert, sub: Subscription, partition: int, offset: int) -> Job:
    did = delivery_id(alert.alert_id, sub.subscription_id)
    return Job(alert.alert_id, alert.topic, sub.subscription_id, did, body(alert, sub, did),
               partition, offset, "alert", vars(alert))  # fmt: skip


def report_job(sub: Subscription, report: dict[str, Any], content: bytes) -> Job:
    """A report to ``sub``: ``report`` says what it is (its ``subject``, period, topics, format),
    ``content`` is the file (empty when no topic had windows in the period)."""
    did = delivery_id(report["subject"], sub.subscription_id)
    payload = json.dumps(
        {
            "type": "finpulse.report",
            "delivery_id": did,
            "subscription_id": sub.subscription_id,
            "report": report,
            "content_base64": base64.b64encode(content).decode(),
        },
        ensure_ascii=False,
        sort_keys=True,
    ).encode()
    return Job(report["subject"], sub.subscription_id, sub.subscription_id, did, payload,
               NO_RECORD, 0, "report", report)  # fmt: skip


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

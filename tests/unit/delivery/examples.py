"""Alerts, subscriptions and jobs the delivery tests share."""

from __future__ import annotations

from stream.delivery.jobs import Job, alert_job
from stream.delivery.subscriptions import create
from stream.records import Alert, Subscription

NOW = 1_790_000_000.0


def alert(topic: str = "AAPL", rule: str = "negative_surge", kind: str = "alert",
          severity: str = "warning") -> Alert:  # fmt: skip
    return Alert("a1", topic, rule, kind, severity, NOW - 900, 900, 0.6, 0.1, 0.3, 4.2, NOW,
                 {"most_negative": ["newswire:1"]})  # fmt: skip


def hook(**extra: object) -> Subscription:
    return create({"channel": "webhook", "target": "https://example.test/hook", **extra}, now=NOW)


def kafka(target: str = "desk.alerts") -> Subscription:
    return create({"channel": "kafka", "target": target}, now=NOW)


def job(sub: Subscription, partition: int = 0, offset: int = 10) -> Job:
    return alert_job(alert(), sub, partition, offset)

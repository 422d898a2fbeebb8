"""Delivery of alerts (pure parts): ids, bodies, retry timing and which offsets are done.

An alert record on Kafka is done when every subscriber it went to has settled it (delivered or
dead-lettered); its offset is committed only when every record before it is done too, so a crash
re-reads what was not settled, and nothing is lost.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

from stream.records import Alert, Subscription


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


def retry_after_s(value: str | None, *, now: float) -> float | None:
    """A ``Retry-After`` header (seconds, or an HTTP date) as seconds from now; None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


@dataclass
class OffsetTracker:
    """Per partition: records still being delivered, and the offset that can be committed."""

    pending: dict[int, dict[int, int]] = field(default_factory=dict)  # partition -> offset -> jobs
    seen: dict[int, int] = field(default_factory=dict)  # partition -> highest offset read

    def add(self, partition: int, offset: int, jobs: int) -> None:
        self.seen[partition] = max(offset, self.seen.get(partition, -1))
        if jobs:
            self.pending.setdefault(partition, {})[offset] = jobs

    def done(self, partition: int, offset: int) -> None:
        waiting = self.pending.get(partition, {})
        if offset in waiting:
            waiting[offset] -= 1
            if waiting[offset] <= 0:
                del waiting[offset]

    def committable(self) -> dict[int, int]:
        """Partition -> the next offset to read after a restart (Kafka's committed offset)."""
        out = {}
        for partition, highest in self.seen.items():
            waiting = self.pending.get(partition)
            out[partition] = min(waiting) if waiting else highest + 1
        return out

    def forget(self, partitions: set[int]) -> None:
        """Partitions taken by a rebalance: their new owner re-reads what was not committed."""
        for p in partitions:
            self.pending.pop(p, None)
            self.seen.pop(p, None)

"""Subscriptions (pure): what a valid one is, how changes apply, and which alerts it wants.

The CLI and the HTTP API both build and change subscriptions here, so they accept and refuse
exactly the same things; stream/delivery/store.py keeps them, stream/delivery/runner.py
delivers to them.
"""

from __future__ import annotations

import base64
import fnmatch
import re
import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from stream.alerts.rules import RULES, SEVERITIES
from stream.delivery import schedule

# Imported "as" itself: the error's old home, where callers still import it from.
from stream.errors import InvalidSubscription as InvalidSubscription
from stream.records import Alert, Subscription

CHANNELS = ("webhook", "kafka")
KINDS = ("alert", "escalation", "resolution")
STATUSES = ("active", "paused")
# The fields a change may touch; id, secret and times are the server's.
EDITABLE = (
    "name", "topics", "rules", "min_severity", "kinds", "status", "target", "legacy_headers",
    "report",
)  # fmt: skip
_TOPIC = re.compile(r"^[A-Za-z0-9_.:*?\-\[\]/ ]{1,128}$")
_KAFKA_TOPIC = re.compile(r"^[A-Za-z0-9._\-]{1,249}$")


def new_id() -> str:
    return "sub_" + uuid.uuid4().hex[:16]


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidSubscription(f"{name}: true or false is expected, got {value!r}")
    return value


def _strings(name: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidSubscription(f"{name}: a list of strings is expected, got {value!r}")
    return sorted({v.strip() for v in value if v.strip()})


def _report(value: Any, *, now: float) -> dict[str, Any]:
    """A report schedule (schedule.py); None or {} for none. A new schedule starts now."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidSubscription(f"report: an object such as {{'every': '24h', 'at': '07:00'}} "
                                  f"is expected, got {value!r}")  # fmt: skip
    return schedule.parse({k: v for k, v in value.items() if k != "from_s"}, now=now)


def _check(sub: Subscription) -> Subscription:
    if not sub.name or len(sub.name) > 200:
        raise InvalidSubscription("name: 1 to 200 characters")
    for topic in sub.topics:
        if not _TOPIC.match(topic):
            raise InvalidSubscription(
                f"topics: {topic!r} is not a topic or pattern (letters, digits, _.:-/ and * ? [ ])"
            )
    unknown = sorted(set(sub.rules) - set(RULES))
    if unknown:
        raise InvalidSubscription(f"rules: unknown {unknown}; known: {list(RULES)}")
    if sub.min_severity not in SEVERITIES:
        raise InvalidSubscription(f"min_severity: one of {list(SEVERITIES)}")
    unknown = sorted(set(sub.kinds) - set(KINDS))
    if unknown:
        raise InvalidSubscription(f"kinds: unknown {unknown}; known: {list(KINDS)}")
    if sub.status not in STATUSES:
        raise InvalidSubscription(f"status: one of {list(STATUSES)}")
    if sub.channel == "webhook":
        url = urlsplit(sub.target)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise InvalidSubscription(f"target: an http(s) URL is expected, got {sub.target!r}")
        if len(sub.secret) < 16:
            raise InvalidSubscription("secret: at least 16 characters")
    elif sub.channel == "kafka":
        if not _KAFKA_TOPIC.match(sub.target):
            raise InvalidSubscription(
                f"target: {sub.target!r} is not a Kafka topic name (letters, digits, . _ -)"
            )
    else:
        raise InvalidSubscription(f"channel: one of {list(CHANNELS)}")
    return sub


def create(data: Mapping[str, Any], *, now: float) -> Subscription:
    """A new subscription from user input (CLI options or an API body)."""
    allowed = {*EDITABLE, "channel", "secret"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InvalidSubscription(f"unknown field(s) {unknown}; known: {sorted(allowed)}")
    for name in ("channel", "target"):
        if not data.get(name):
            raise InvalidSubscription(f"{name}: required")
    channel = str(data["channel"])
    secret = data.get("secret") or (new_secret() if channel == "webhook" else "")
    sub = Subscription(
        subscription_id=new_id(),
        name=str(data.get("name") or data["target"]),
        topics=_strings("topics", data.get("topics", [])),
        rules=_strings("rules", data.get("rules", [])),
        min_severity=str(data.get("min_severity", "warning")),
        kinds=_strings("kinds", data.get("kinds", list(KINDS))) or list(KINDS),
        channel=channel,
        target=str(data["target"]),
        secret=str(secret),
        status=str(data.get("status", "active")),
        created_at=now,
        updated_at=now,
        legacy_headers=_flag("legacy_headers", data.get("legacy_headers", False)),
        report=_report(data.get("report"), now=now),
    )
    return _check(sub)


def change(sub: Subscription, data: Mapping[str, Any], *, now: float) -> Subscription:
    """``sub`` with the fields of ``data`` changed (``status`` pauses or resumes)."""
    unknown = sorted(set(data) - set(EDITABLE))
    if unknown:
        raise InvalidSubscription(f"cannot change {unknown}; changeable: {list(EDITABLE)}")
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name in ("topics", "rules", "kinds"):
            values[name] = _strings(name, value)
        elif name == "legacy_headers":
            values[name] = _flag(name, value)
        elif name == "report":
            values[name] = _report(value, now=now)
        elif not isinstance(value, str):
            raise InvalidSubscription(f"{name}: a string is expected, got {value!r}")
        else:
            values[name] = value
    if "kinds" in values and not values["kinds"]:
        values["kinds"] = list(KINDS)
    return _check(replace(sub, **values, updated_at=now))


def deleted(sub: Subscription, *, now: float) -> Subscription:
    return replace(sub, status="deleted", updated_at=now)


def public(sub: Subscription) -> dict[str, Any]:
    """A subscription as shown by list/show: the secret is never shown again after creation."""
    data = dict(vars(sub))
    data["secret"] = "********" if sub.secret else ""
    return data


def wants(sub: Subscription, alert: Alert) -> bool:
    """Whether an active subscription's filters take this alert."""
    if sub.status != "active":
        return False
    if sub.topics and not any(
        t == alert.topic or fnmatch.fnmatchcase(alert.topic, t) for t in sub.topics
    ):
        return False
    if sub.rules and alert.rule not in sub.rules:
        return False
    if alert.kind not in sub.kinds:
        return False
    # A resolution carries the severity that ended: it reaches whoever got the alert.
    return SEVERITIES.index(alert.severity) >= SEVERITIES.index(sub.min_severity)


def subscribers(subs: Iterable[Subscription], alert: Alert) -> list[Subscription]:
    return [s for s in subs if wants(s, alert)]

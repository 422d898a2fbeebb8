"""Typed records that travel between the agents, and their JSON form on Kafka.

Times are Unix seconds (float, UTC) inside the pipeline; the input contract (RFC 3339 strings) is
in schemas/records/raw_post.schema.json and is parsed once, at ingest.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass, field
from typing import Any, Self

import orjson


def dumps(data: Any) -> bytes:
    """JSON of plain values, UTF-8, compact: orjson, about 10 times faster than ``json``. What
    orjson would write differently from ``json`` goes through ``json``: NaN and infinities (orjson
    writes null, so a ``null`` in the output is checked), keys that are not strings, integers past
    64 bits. Either way a reader decodes the same values (see ``loads`` on large integers)."""
    try:
        out = orjson.dumps(data)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(data, ensure_ascii=False).encode()
    if b"null" in out:
        return json.dumps(data, ensure_ascii=False).encode()
    return out


def loads(data: bytes | str) -> Any:
    """The values of a JSON document: orjson, and ``json`` for what orjson refuses and ``json``
    takes (NaN, infinities), or to raise ``json``'s own error. orjson reads an integer past 64
    bits as a float: the records hold none (a content hash has 63 bits, ClickHouse at most 64)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


class _Json:
    """JSON encoding shared by the records: field names as keys, tuples as lists."""

    def to_json(self) -> bytes:
        # vars(), not dataclasses.asdict: the records hold only plain values, lists and dicts,
        # and asdict's deep copies were a measurable share of the worker's CPU.
        return dumps(vars(self))

    @classmethod
    def from_json(cls, data: bytes | str) -> Self:
        return cls.from_dict(loads(data))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        names = _field_names(cls)  # type: ignore[arg-type]
        if names.issuperset(data):
            return cls(**data)
        return cls(**{k: v for k, v in data.items() if k in names})  # newer writers' extra fields


@functools.cache
def _field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls))


@dataclass
class Post(_Json):
    """A raw post that passed validation (fields as the provider sent them, times parsed)."""

    id: str
    source: str
    published_at: float
    text: str
    title: str = ""
    url: str = ""
    lang: str = ""
    author: str = ""
    tickers: list[str] = field(default_factory=list)
    reach: float = 0.0


@dataclass
class Event(_Json):
    """A validated, normalised, enriched text (``text.enriched``); scored on ``text.scored``."""

    event_id: str  # source + ":" + id
    source: str
    source_topic: str
    kafka_partition: int
    kafka_offset: int
    published_at: float
    ingested_at: float
    lang: str
    lang_detected: bool
    title: str
    text: str
    url: str
    author: str
    reach: float
    tickers: list[str]
    topics: list[str]
    content_hash: int
    redactions: int = 0
    duplicate_of: str = ""
    scored: bool = False
    label: str = "neutral"
    probs: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    score: float = 0.0
    model: str = ""

    @property
    def scoring_text(self) -> str:
        """What the model reads: the title and the text, as one passage."""
        if self.title and self.text:
            return f"{self.title}. {self.text}"
        return self.title or self.text


@dataclass
class Rejection(_Json):
    """A record that failed validation, on ``deadletter`` and in the ClickHouse table."""

    source_topic: str
    kafka_partition: int
    kafka_offset: int
    received_at: float
    reason_code: str
    reason: str
    raw: str  # the value when it is valid UTF-8 and small, else a safe excerpt
    raw_size: int


@dataclass
class Contribution(_Json):
    """One scored text's part in one topic's windows."""

    event_id: str
    published_at: float
    label: str
    score: float
    reach: float


@dataclass
class TopicBatch(_Json):
    """The contributions of one scoring batch to one topic: one Kafka message, keyed by topic."""

    topic: str
    items: list[dict[str, Any]]
    kind: str = "batch"

    def contributions(self) -> list[Contribution]:
        return [Contribution.from_dict(item) for item in self.items]


@dataclass
class Tick(_Json):
    """The window timer, sent to every partition of ``sentiment.contributions``: windows close on
    time even when no text arrives, and their state changes inside the stream (in order, with the
    partition's own changelog), not from a side task."""

    wall: float
    kind: str = "tick"


@dataclass
class Mark(_Json):
    """How far a stage has got in event time on each partition it reads (stream/watermarks.py):
    sent to every partition of the topic it writes, after the records it covers. ``kind`` comes
    first, so a reader tells a mark from a record by the first bytes."""

    kind: str = "mark"
    stage: str = ""  # "ingest" (raw partitions) or "score" (text.enriched partitions)
    sender: str = ""  # the worker that sent it
    partitions: dict[str, list[Any]] = field(default_factory=dict)  # name -> [time_s, idle]
    totals: dict[str, int] = field(default_factory=dict)  # upstream topic -> its partitions

    def view(self) -> dict[str, tuple[float, bool]]:
        return {name: (float(t), bool(idle)) for name, (t, idle) in self.partitions.items()}


# How a mark's value starts: compact (``dumps``), or spaced as an older release wrote it.
MARK_PREFIX = (b'{"kind":"mark"', b'{"kind": "mark"')


@dataclass
class WindowRecord(_Json):
    """The state of one window of one topic, on ``sentiment.windows`` and in ClickHouse.

    ``final`` is false for the running state of an open window (emitted by the timer so that
    dashboards see it) and true once the window has closed; alerting reads only final ones.
    ``amendments`` counts the times a final window was emitted again because texts within the
    allowed lateness arrived after it closed (0 for its first final emission).
    """

    topic: str
    window_start: float
    window_seconds: int
    n: int
    n_negative: int
    n_neutral: int
    n_positive: int
    score_sum: float
    score_mean: float
    reach_sum: float
    reach_weighted_score: float
    negative_share: float
    final: bool
    emitted_at: float
    most_negative: list[str] = field(default_factory=list)  # event ids, most negative first
    amendments: int = 0


@dataclass
class LateRecord(_Json):
    """A scored text that arrived after its windows had closed (``sentiment.late``)."""

    topic: str
    event_id: str
    published_at: float
    pane_start: float
    arrived_at: float
    watermark: float


@dataclass
class Alert(_Json):
    """A rule's finding on a closed window (``alerts`` topic and table). ``kind`` is ``alert``,
    ``escalation`` (the same condition got worse) or ``resolution`` (it ended)."""

    alert_id: str  # stable: the same window judged again gives the same id
    topic: str
    rule: str
    kind: str
    severity: str
    window_start: float
    window_seconds: int
    value: float
    baseline: float
    threshold: float
    z: float
    created_at: float
    evidence: dict[str, Any]


@dataclass
class Subscription(_Json):
    """Who wants which alerts, and how they get them (stream/delivery/subscriptions.py checks
    the fields).

    ``topics`` and ``rules`` empty mean all; topics may be patterns (``theme:*``). ``channel`` is
    ``webhook`` (``target`` a URL, bodies signed with ``secret``) or ``kafka`` (``target`` a topic).
    """

    subscription_id: str
    name: str
    topics: list[str]
    rules: list[str]
    min_severity: str
    kinds: list[str]
    channel: str
    target: str
    secret: str
    status: str  # active | paused | deleted
    created_at: float
    updated_at: float
    # Also the X-Finpulse-* signature headers (deprecated; kept for one release).
    legacy_headers: bool = False
    # A report schedule, in the form stream/delivery/schedule.py checks; {} = no reports.
    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class Delivery(_Json):
    """One attempt to hand an alert to a subscriber (``deliveries`` topic and table)."""

    delivery_id: str  # stable per (alert, subscription): receivers deduplicate on it
    alert_id: str
    subscription_id: str
    channel: str
    target: str
    attempt: int
    outcome: str  # delivered | retry | dead_letter | cancelled (subscription paused or deleted)
    status_code: int  # HTTP status; 0 when there was no answer (or a Kafka target)
    error: str
    duration_ms: float
    attempted_at: float
    next_attempt_at: float  # 0 unless the outcome is retry

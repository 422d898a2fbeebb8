"""Alerts: closed windows -> rule decisions -> the ``alerts`` topic (and, by its sink, ClickHouse).

The rules are stream/alerts/rules.py. Their state (baseline, condition in progress, cooldown),
with the history of the windows judged within the allowed lateness (stream/alerts/history.py), is
kept per (topic, rule) in a changelogged faust table, a row a window kept and a head a topic,
written when the rows do not give it (stream/alerts/state_keys.py), so a restarted worker goes on
with the same baselines; the agent holds the histories in memory, read from the table at its first
window after a start or a rebalance. A topic whose windows stop coming (quiet for
``alerts.topic_expiry_s`` of event time, against the newest window judged on its partition) loses
its state: its keys are deleted, looked for once an hour of event time. A window judged before (a
replay) is skipped; an amended one (texts that came after it closed) is judged again, with every
later window, as if its texts had come in time. An alert's id is a hash of what it is about, so a
re-sent alert replaces itself downstream, and one already sent is not sent again.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import time
from typing import Any

import faust

from stream import metrics
from stream.alerts import history, state_keys
from stream.alerts.history import HORIZON_S, Entry, Finding
from stream.alerts.rules import FIGURE, RULES, Rule, RuleSettings
from stream.alerts.state_keys import Stored
from stream.config import AlertSettings, PipelineSettings
from stream.kafka.app import json_table
from stream.kafka.table_store import MemoryBudget
from stream.kafka.topics import partition_for
from stream.logs import get_logger
from stream.records import Alert, WindowRecord

log = get_logger(__name__)
SWEEP_S = 3600.0  # event time between two looks for quiet topics on a partition


def rule_settings(settings: AlertSettings, topic: str) -> RuleSettings:
    """Global rule settings with the overrides for this topic: patterns first, exact name last."""
    names = {f.name for f in dataclasses.fields(RuleSettings)}
    values = {name: getattr(settings, name) for name in names}
    patterns = sorted(k for k in settings.overrides if k != topic and fnmatch.fnmatchcase(topic, k))
    for key in [*patterns, topic]:
        for name, value in settings.overrides.get(key, {}).items():
            if name not in names:
                raise ValueError(f"alerts.overrides[{key!r}]: unknown setting {name!r}")
            values[name] = type(values[name])(value)
    return RuleSettings(**values)


def alert_id(topic: str, rule: str, kind: str, w: WindowRecord | Entry) -> str:
    key = f"{topic}|{rule}|{kind}|{w.window_seconds}|{int(w.window_start)}"
    return hashlib.blake2b(key.encode(), digest_size=10).hexdigest()


def to_alert(w: WindowRecord, f: Finding, now: float) -> Alert:
    """The alert of a finding. ``w`` is the window that arrived: the finding is about it, or about
    another window judged again after an amendment, whose evidence is what the history kept of
    it (its count and the figure its rule reads)."""
    d, about = f.decision, f.window
    if about.window_start == w.window_start:
        window: dict[str, Any] = {
            "n": w.n,
            "n_negative": w.n_negative,
            "n_neutral": w.n_neutral,
            "n_positive": w.n_positive,
            "score_mean": w.score_mean,
            "reach_weighted_score": w.reach_weighted_score,
            "negative_share": w.negative_share,
        }
        most_negative = w.most_negative
    else:
        figure = FIGURE[d.rule]
        window = (
            {"n": about.n} if figure is None else {"n": about.n, figure: getattr(about, figure)}
        )
        most_negative = []
    evidence: dict[str, Any] = {
        "window": window,
        "baseline": d.baseline,
        "threshold": d.threshold,
        "z": d.z,
        "most_negative": most_negative,
    }
    if f.amended is not None:
        evidence["amended"] = f.amended
    return Alert(
        alert_id=alert_id(w.topic, d.rule, d.kind, about),
        topic=w.topic,
        rule=d.rule,
        kind=d.kind,
        severity=d.severity,
        window_start=about.window_start,
        window_seconds=about.window_seconds,
        value=d.value,
        baseline=d.baseline,
        threshold=d.threshold,
        z=d.z,
        created_at=now,
        evidence=evidence,
    )


def register(
    app: faust.App,
    windows: faust.TopicT,
    alerts_topic: faust.TopicT,
    pipeline: PipelineSettings,
    settings: AlertSettings,
    *,
    horizon_s: float = HORIZON_S,
    budget: MemoryBudget | None = None,
) -> None:
    """``horizon_s``: how long after a window closed an amendment of it is judged again (the
    window stage's allowed lateness); ``budget``: the worker's table memory, tables on disk."""
    rules: list[Rule] = [r for r in RULES if r in settings.rules]
    state = json_table(app, "alert-state", pipeline.partitions, budget)
    stored: dict[str, Stored] | None = None  # topic -> its histories, loaded from the table
    newest: dict[int, float] = {}  # partition -> start of the newest window judged on it
    swept: dict[int, float] = {}  # partition -> newest start when quiet topics were last dropped

    def current() -> dict[str, Stored]:
        nonlocal stored
        if stored is None:
            stored = state_keys.load(
                ((str(k), v) for k, v in state.items()),
                lambda topic: rule_settings(settings, topic),
                horizon_s=horizon_s,
            )
            log.info("alert_state_loaded", topics=len(stored))
        return stored

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget(app: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal stored
        stored = None  # loaded again for the partitions this worker holds next

    def drop_quiet(partition: int) -> None:
        """Delete the state of this partition's topics quiet longer than their expiry (a delete
        goes to the changelog of the partition being processed: only its own keys)."""
        topics = current()
        mine = (
            (topic, s.last_window)
            for topic, s in topics.items()
            if partition_for(topic, pipeline.partitions) == partition
        )
        quiet = history.expired(
            mine, newest_start_s=newest[partition], expiry_s=settings.topic_expiry_s
        )
        for topic in quiet:
            for key in state_keys.every_key(topic, topics.pop(topic)):
                state.pop(key, None)
        if quiet:
            log.info("alert_state_expired", partition=partition, topics=len(quiet))

    @app.agent(windows, name="alerts")
    async def judge(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            w = WindowRecord.from_json(event.value)
            if not w.final or w.window_seconds != settings.window_seconds:
                continue
            partition = event.message.partition
            newest[partition] = max(newest.get(partition, w.window_start), w.window_start)
            if newest[partition] - swept.setdefault(partition, newest[partition]) >= SWEEP_S:
                swept[partition] = newest[partition]
                drop_quiet(partition)
            s = rule_settings(settings, w.topic)
            topics = current()
            before = topics.get(w.topic) or Stored()
            after, found = history.judge_all(before.histories, w, rules, s, horizon_s=horizon_s)
            if any(after[rule] is not before.histories.get(rule) for rule in after):
                topics[w.topic], puts, deletes = state_keys.writes(
                    w.topic, before, after, s, horizon_s=horizon_s
                )
                for key, value in puts:
                    state[key] = value
                for key in deletes:
                    state.pop(key, None)
            for rule, f in found:
                alert = to_alert(w, f, time.time())
                await alerts_topic.send(key=w.topic.encode(), value=alert.to_json())
                d = f.decision
                metrics.ALERTS.labels(rule, d.kind, d.severity).inc()
                log.info(
                    "alert", topic=w.topic, rule=rule, kind=d.kind, severity=d.severity,
                    value=round(d.value, 3), baseline=round(d.baseline, 3),
                    window_start=alert.window_start, amended=f.amended is not None,
                )  # fmt: skip

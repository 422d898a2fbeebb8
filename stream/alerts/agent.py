"""Alerts: closed windows -> rule decisions -> the ``alerts`` topic (and, by its sink, ClickHouse).

The rules are stream/alerts/rules.py. Their state (baseline, condition in progress, cooldown) is
kept per (topic, rule) in a changelogged faust table, updated by the message that changed it, so
a restarted worker goes on with the same baselines. A window judged before (a replay) is skipped,
and an alert's id is a hash of what it is about, so a re-sent alert replaces itself downstream.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import time
from typing import Any

import faust

from stream import metrics
from stream.alerts.rules import RULES, Decision, Rule, RuleSettings, RuleState, evaluate
from stream.config import AlertSettings, PipelineSettings
from stream.kafka.app import json_table
from stream.logs import get_logger
from stream.records import Alert, WindowRecord

log = get_logger(__name__)
SEP = "\x1f"


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


def alert_id(topic: str, rule: str, kind: str, w: WindowRecord) -> str:
    key = f"{topic}|{rule}|{kind}|{w.window_seconds}|{int(w.window_start)}"
    return hashlib.blake2b(key.encode(), digest_size=10).hexdigest()


def to_alert(w: WindowRecord, d: Decision, now: float) -> Alert:
    evidence: dict[str, Any] = {
        "window": {
            "n": w.n,
            "n_negative": w.n_negative,
            "n_neutral": w.n_neutral,
            "n_positive": w.n_positive,
            "score_mean": w.score_mean,
            "reach_weighted_score": w.reach_weighted_score,
            "negative_share": w.negative_share,
        },
        "baseline": d.baseline,
        "threshold": d.threshold,
        "z": d.z,
        "most_negative": w.most_negative,
    }
    return Alert(
        alert_id=alert_id(w.topic, d.rule, d.kind, w),
        topic=w.topic,
        rule=d.rule,
        kind=d.kind,
        severity=d.severity,
        window_start=w.window_start,
        window_seconds=w.window_seconds,
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
) -> None:
    rules: list[Rule] = [r for r in RULES if r in settings.rules]
    state = json_table(app, "alert-state", pipeline.partitions)

    @app.agent(windows, name="alerts")
    async def judge(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            w = WindowRecord.from_json(event.value)
            if not w.final or w.window_seconds != settings.window_seconds:
                continue
            s = rule_settings(settings, w.topic)
            for rule in rules:
                key = f"{w.topic}{SEP}{rule}"
                stored = state.get(key)
                st = RuleState.from_dict(stored) if stored else RuleState()
                if w.window_start <= st.last_window:
                    continue  # judged before: a replay
                # Event time (the window's end) drives cooldowns: replays judge alike.
                decision = evaluate(rule, st, w, s, now=w.window_start + w.window_seconds)
                st.last_window = w.window_start
                state[key] = st.to_dict()
                if decision is None:
                    continue
                alert = to_alert(w, decision, time.time())
                await alerts_topic.send(key=w.topic.encode(), value=alert.to_json())
                metrics.ALERTS.labels(rule, decision.kind, decision.severity).inc()
                log.info(
                    "alert", topic=w.topic, rule=rule, kind=decision.kind,
                    severity=decision.severity, value=round(decision.value, 3),
                    baseline=round(decision.baseline, 3), window_start=w.window_start,
                )  # fmt: skip

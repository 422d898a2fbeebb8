"""The plan of one scoring batch (pure): which events are kept (repeats out, near-repeats marked),
which of those are scored, the sentiments applied to them, and their parts in each topic's
windows. The agent (stream/scoring/agent.py) does the I/O: take, score through Triton, send.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stream.records import Contribution, Event
from stream.scoring.dedupe import Story, StoryCache, Verdict, judge


@dataclass(frozen=True)
class Sentiment:
    """The model's answer for one text (stream/scoring/triton.py asks for it)."""

    label: str
    score: float  # p(positive) - p(negative)
    probs: tuple[float, float, float]  # negative, neutral, positive


@dataclass
class BatchPlan:
    kept: list[Event]  # every event but the repeats, in the order taken
    to_score: list[Event]  # the kept events to score
    verdicts: Counter[Verdict] = field(default_factory=Counter)  # events per dedupe verdict


def plan_batch(
    events: Sequence[Event],
    stories: StoryCache,
    covered: set[str],
    *,
    horizon_s: float,
    score_texts: bool,
    now_s: float,
) -> BatchPlan:
    """Judge each event against ``stories`` (and add the new ones to it): a repeat is dropped, a
    near-repeat kept with ``duplicate_of`` set to the story's first event. The kept events in a
    language in ``covered`` are to be scored, none when ``score_texts`` is off. ``now_s`` (wall
    time) bounds how far ahead a post dated in the future moves the stories' horizon."""
    plan = BatchPlan([], [])
    for event in events:
        seen = stories.get(event.content_hash)
        verdict = judge(seen, event, horizon_s=horizon_s)
        plan.verdicts[verdict] += 1
        if verdict == "repeat":
            continue
        if verdict == "near_repeat" and seen is not None:
            event.duplicate_of = seen.event_id
            seen.add_copy(event)
            stories.update(event.content_hash, seen)
        elif verdict == "new":
            stories.add(event.content_hash, Story.of(event), now_s=now_s)
        plan.kept.append(event)
    plan.to_score = [e for e in plan.kept if e.lang in covered] if score_texts else []
    return plan


def by_model(events: Sequence[Event], routes: Mapping[str, str]) -> dict[str, list[Event]]:
    """``events`` grouped by the model that scores their language (``routes``: language ->
    model), each group in the order of ``events``; events of other languages are left out."""
    groups: dict[str, list[Event]] = {}
    for event in events:
        model = routes.get(event.lang)
        if model is not None:
            groups.setdefault(model, []).append(event)
    return groups


def apply_sentiments(events: Sequence[Event], sentiments: Sequence[Sentiment], model: str) -> None:
    """Mark ``events`` scored with their ``sentiments`` (one each, in order) by ``model``."""
    for event, sentiment in zip(events, sentiments, strict=True):
        event.scored = True
        event.label = sentiment.label
        event.probs = list(sentiment.probs)
        event.score = sentiment.score
        event.model = model


def contributions_by_topic(events: Sequence[Event]) -> dict[str, list[dict[str, Any]]]:
    """Each scored event's part in the windows of each of its topics (unscored ones have none),
    grouped per topic in the order of ``events``: one ``TopicBatch`` each."""
    by_topic: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if not event.scored:
            continue
        contribution = Contribution(
            event.event_id, event.published_at, event.label, event.score, event.reach
        )
        for topic in event.topics:
            by_topic.setdefault(topic, []).append(contribution.__dict__)
    return by_topic

from __future__ import annotations

from typing import Any

import pytest

from stream.records import Event
from stream.scoring.dedupe import StoryCache
from stream.scoring.plan import (
    BatchPlan,
    Sentiment,
    apply_sentiments,
    by_model,
    contributions_by_topic,
    plan_batch,
)

T0 = 1_800_000_000.0
HORIZON_S = 3600.0


def event(
    event_id: str,
    *,
    story: int = 1,
    offset: int = 0,
    lang: str = "en",
    topics: tuple[str, ...] = ("AAPL",),
    published_at: float = T0,
) -> Event:
    return Event(
        event_id=event_id,
        source=event_id.partition(":")[0],
        source_topic="news.raw",
        kafka_partition=0,
        kafka_offset=offset,
        published_at=published_at,
        ingested_at=published_at + 1,
        lang=lang,
        lang_detected=False,
        title="",
        text=f"text of story {story}",
        url="",
        author="",
        reach=10.0,
        tickers=[],
        topics=list(topics),
        content_hash=story,
    )


def plan(
    events: list[Event],
    *,
    covered: str = "en",
    score_texts: bool = True,
    stories: StoryCache | None = None,
) -> BatchPlan:
    return plan_batch(
        events,
        StoryCache(HORIZON_S) if stories is None else stories,
        set(covered.split(",")),
        horizon_s=HORIZON_S,
        score_texts=score_texts,
        now_s=T0,
    )


@pytest.mark.parametrize(
    ("second", "verdicts", "kept", "duplicate_of"),
    [
        # the same record read again (a replay after a crash): processed again
        ({"event_id": "a:1"}, {"new": 1, "replay": 1}, ["a:1", "a:1"], ""),
        # the same id read from elsewhere: dropped
        ({"event_id": "a:1", "offset": 7}, {"new": 1, "repeat": 1}, ["a:1"], ""),
        # another feed's copy of the story: kept, marked
        ({"event_id": "b:9", "offset": 8}, {"new": 1, "near_repeat": 1}, ["a:1", "b:9"], "a:1"),
        # the same story beyond the horizon, or another story: new
        ({"event_id": "b:9", "published_at": T0 + HORIZON_S + 1}, {"new": 2}, ["a:1", "b:9"], ""),
        ({"event_id": "b:9", "story": 2}, {"new": 2}, ["a:1", "b:9"], ""),
    ],
)
def test_repeats_are_dropped_and_near_repeats_marked(
    second: dict[str, Any], verdicts: dict[str, int], kept: list[str], duplicate_of: str
) -> None:
    p = plan([event("a:1"), event(**second)])
    assert p.verdicts == verdicts
    assert [e.event_id for e in p.kept] == kept
    assert p.kept[-1].duplicate_of == duplicate_of


def test_new_stories_are_remembered_across_batches() -> None:
    stories = StoryCache(HORIZON_S)
    plan([event("a:1")], stories=stories)
    later = plan([event("a:1", offset=5)], stories=stories)
    assert later.kept == [] and later.verdicts == {"repeat": 1}


@pytest.mark.parametrize(
    ("covered", "score_texts", "scored"),
    [
        ("en", True, ["a:1"]),  # the German text is kept, not scored
        ("en,de", True, ["a:1", "b:2"]),
        ("en,de", False, []),  # scoring off: every text kept unscored
    ],
)
def test_only_kept_texts_in_covered_languages_are_scored(
    covered: str, score_texts: bool, scored: list[str]
) -> None:
    events = [event("a:1"), event("b:2", story=2, lang="de")]
    p = plan(events, covered=covered, score_texts=score_texts)
    assert [e.event_id for e in p.kept] == ["a:1", "b:2"]
    assert [e.event_id for e in p.to_score] == scored


def test_sentiments_are_applied_in_order() -> None:
    events = [event("a:1"), event("b:2", story=2)]
    sentiments = [
        Sentiment("negative", -0.75, (0.8, 0.15, 0.05)),
        Sentiment("neutral", 0.0, (0.1, 0.8, 0.1)),
    ]
    apply_sentiments(events, sentiments, "sentiment/3")
    assert [(e.scored, e.label, e.score, e.probs, e.model) for e in events] == [
        (True, "negative", -0.75, [0.8, 0.15, 0.05], "sentiment/3"),
        (True, "neutral", 0.0, [0.1, 0.8, 0.1], "sentiment/3"),
    ]
    with pytest.raises(ValueError):
        apply_sentiments(events, sentiments[:1], "sentiment/3")  # one sentiment per event


def test_contributions_only_for_scored_events_one_per_topic() -> None:
    events = [
        event("a:1", topics=("AAPL", "theme:ai")),
        event("b:2", story=2, lang="de", topics=("AAPL",)),  # not scored
        event("c:3", story=3, topics=("MSFT", "AAPL"), published_at=T0 + 5),
    ]
    p = plan(events)
    apply_sentiments(p.to_score, [Sentiment("positive", 0.5, (0.1, 0.3, 0.6))] * 2, "m/1")
    by_topic = contributions_by_topic(p.kept)
    assert {topic: [item["event_id"] for item in items] for topic, items in by_topic.items()} == {
        "AAPL": ["a:1", "c:3"],
        "theme:ai": ["a:1"],
        "MSFT": ["c:3"],
    }
    assert by_topic["MSFT"] == [
        {"event_id": "c:3", "published_at": T0 + 5, "label": "positive", "score": 0.5,
         "reach": 10.0}
    ]  # fmt: skip


def test_events_go_to_the_model_of_their_language_in_order() -> None:
    events = [
        event("a:1", lang="en"),
        event("a:2", lang="zh"),
        event("a:3", lang="de"),
        event("a:4", lang="zh"),
        event("a:5", lang="en"),
    ]
    routes = {"en": "sentiment", "zh": "sentiment_multilingual"}
    groups = by_model(events, routes)
    assert {model: [e.event_id for e in group] for model, group in groups.items()} == {
        "sentiment": ["a:1", "a:5"],
        "sentiment_multilingual": ["a:2", "a:4"],
    }


def test_one_model_may_cover_every_language() -> None:
    events = [event("a:1", lang="en"), event("a:2", lang="zh")]
    groups = by_model(events, {"en": "sentiment_multilingual", "zh": "sentiment_multilingual"})
    assert list(groups) == ["sentiment_multilingual"]
    assert len(groups["sentiment_multilingual"]) == 2

"""From a validated post to an enriched event: normalise, redact, language, topics (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field

from stream.ingest.language import detect
from stream.ingest.normalize import content_hash, normalize_text
from stream.ingest.pii import Redaction, redact
from stream.ingest.topic_extraction import TopicExtractor
from stream.records import Event, Post


@dataclass(frozen=True)
class EnrichOptions:
    redaction: Redaction = field(default_factory=Redaction)
    redact_all_sources: bool = False  # False: social posts only (news is public by nature)
    default_language: str = "en"


def enrich(
    post: Post,
    *,
    source_topic: str,
    partition: int,
    offset: int,
    now: float,
    social: bool,
    extractor: TopicExtractor,
    options: EnrichOptions = EnrichOptions(),
) -> Event:
    text = normalize_text(post.text)
    title = normalize_text(post.title)
    author = post.author
    redactions = 0
    if social or options.redact_all_sources:
        text, n_text = redact(text, options.redaction)
        title, n_title = redact(title, options.redaction)
        redactions = n_text + n_title
    passage = f"{title}\n{text}" if title else text
    if post.lang:
        lang, detected = post.lang, False
    else:
        found = detect(passage, default=options.default_language)
        lang, detected = found.code, found.confident
    return Event(
        event_id=f"{post.source}:{post.id}",
        source=post.source,
        source_topic=source_topic,
        kafka_partition=partition,
        kafka_offset=offset,
        published_at=post.published_at,
        ingested_at=now,
        lang=lang,
        lang_detected=detected,
        title=title,
        text=text,
        url=post.url,
        author=author,
        reach=post.reach,
        tickers=post.tickers,
        topics=extractor.topics(passage, post.tickers),
        content_hash=content_hash(passage),
        redactions=redactions,
    )

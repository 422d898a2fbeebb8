"""A realistic sample stream for demos, tests and benchmarks.

``plan`` (pure, seeded) turns labelled texts into raw records for news.raw and social.raw: several
sources per topic, times close to "now" with a little jitter and disorder, provider tickers on
some news, bursts about one ticker, and a share of exact repeats (same source and id),
near-repeats (the same story from another source) and malformed records of every kind the
ingest agent rejects; with Chinese texts, a share of the social posts are Chinese forum posts
(some naming a Chinese company, no ``lang``: ingest detects it). ``produce`` sends a plan at a
given rate with a progress bar.

A back-fill (``span_s``): the posts' times spread over the ``span_s`` seconds before the start,
as a feed sends its history, so the windows of hours fill in as fast as the pipeline reads.
With a ``turn`` ticker, a share of the posts are about it all along (its baseline) and, in the
last ``turn_s`` seconds of event time, half the posts are negative texts about it: the scripted
negative turn that the demo's surge alert comes from.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from stream.config import KafkaSettings
from stream.kafka.security import client_options

NEWS_SOURCES = ("newswire", "marketdesk", "finpost")
SOCIAL_SOURCES = ("x", "stocktwits", "reddit")
BURST_TICKERS = ("TSLA", "AAPL", "NVDA", "BA", "JPM")
CHINESE_SOURCES = ("guba", "xueqiu")
CHINESE_NAMES = ("贵州茅台", "茅台", "腾讯", "宁德时代", "比亚迪", "招商银行", "600519", "0700.HK")


@dataclass(frozen=True)
class ReplayOptions:
    count: int = 1_000
    rate: float = 50.0  # records per second; 0 = as fast as possible
    seed: int = 7
    repeat_share: float = 0.02
    near_repeat_share: float = 0.02
    malformed_share: float = 0.01
    burst_every: int = 250  # a burst of texts about one ticker every this many records
    burst_size: int = 25
    chinese_share: float = 0.2  # of social posts, when Chinese texts are given
    named_share: float = 0.4  # of Chinese posts: a company name or code put in front
    news_topic: str = "news.raw"
    social_topic: str = "social.raw"
    span_s: float = 0.0  # > 0: a back-fill of this many seconds of event time, ending at start
    turn: str = ""  # a ticker that turns negative at the end of a back-fill
    turn_s: float = 900.0  # how long the turn lasts, in event time
    # The share of the posts about the ticker during the turn: a turn that is also a burst of
    # posts moves its 15-minute windows within a few hops, before the baselines follow.
    turn_share: float = 0.8
    focus_share: float = 0.1  # the share about it before (its baseline)


@dataclass(frozen=True)
class Planned:
    at_s: float  # when to send, from the start of the replay
    topic: str
    key: bytes | None
    value: bytes
    kind: str  # valid | repeat | near_repeat | malformed
    record: dict[str, Any] | None  # the JSON object, when the value is one


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _malformed(rng: random.Random, base: dict[str, Any]) -> bytes:
    kind = rng.randrange(7)
    if kind == 0:
        return b"{not json"
    if kind == 1:
        return b'{"id": "x", "text": "caf\xe9"}'  # Latin-1, not UTF-8
    if kind == 2:
        return json.dumps({k: v for k, v in base.items() if k != "text"}).encode()
    if kind == 3:
        return json.dumps({**base, "published_at": "yesterday"}).encode()
    if kind == 4:
        return json.dumps({**base, "published_at": "2191-01-01T00:00:00Z"}).encode()
    if kind == 5:
        return json.dumps({**base, "reach": "a lot"}).encode()
    return json.dumps({**base, "text": "x" * 40_000}).encode()


def _published(options: ReplayOptions, i: int, at: float, start: float, jitter: float) -> float:
    if options.span_s > 0:
        return start - options.span_s + i * options.span_s / options.count - jitter
    return start + at - jitter


def _turned(
    rng: random.Random, options: ReplayOptions, text: str, negative: Sequence[str], ts: float,
    start: float,
) -> str:  # fmt: skip
    """The text with the turn ticker's cashtag (a negative text during the turn), or as it is."""
    if not options.turn:
        return text
    if ts >= start - options.turn_s and negative:
        return (
            f"${options.turn} {rng.choice(negative)}" if rng.random() < options.turn_share else text
        )
    return f"${options.turn} {text}" if rng.random() < options.focus_share else text


def plan(
    news_texts: Sequence[str],
    social_texts: Sequence[str],
    options: ReplayOptions,
    start: float,
    negative_texts: Sequence[str] = (),
    chinese_texts: Sequence[str] = (),
) -> list[Planned]:
    rng = random.Random(options.seed)
    interval = 1.0 / options.rate if options.rate > 0 else 0.0
    out: list[Planned] = []
    sent: list[Planned] = []  # valid records, for repeats
    counters: dict[str, int] = {}
    burst_left, burst_ticker = 0, ""
    for i in range(options.count):
        at = i * interval
        if options.burst_every and i % options.burst_every == options.burst_every - 1:
            burst_left, burst_ticker = options.burst_size, rng.choice(BURST_TICKERS)
        draw = rng.random()
        if sent and draw < options.repeat_share:
            again = rng.choice(sent)
            out.append(replace(again, at_s=at, kind="repeat"))
            continue
        social = rng.random() < 0.5
        # Drawn only with Chinese texts, so plans without them stay as they were.
        chinese = bool(chinese_texts) and social and rng.random() < options.chinese_share
        if chinese:
            source = rng.choice(CHINESE_SOURCES)
        else:
            source = rng.choice(SOCIAL_SOURCES if social else NEWS_SOURCES)
        counters[source] = counters.get(source, 0) + 1
        record: dict[str, Any] = {
            # the start time in the id: a second replay is new posts, not repeats of the first
            "id": f"{source}-{options.seed}-{int(start)}-{counters[source]}",
            "source": source,
            "published_at": rfc3339(_published(options, i, at, start, rng.uniform(0.0, 2.0))),
        }
        near = sent and draw < options.repeat_share + options.near_repeat_share
        if near:
            story = rng.choice(sent).record
            assert story is not None
            record["text"] = story["text"]
            if story.get("title"):
                record["title"] = story["title"]
        elif chinese:
            text = rng.choice(chinese_texts)
            if rng.random() < options.named_share:
                text = f"{rng.choice(CHINESE_NAMES)} {text}"
            record["text"] = text
        else:
            text = rng.choice(social_texts if social else news_texts)
            if burst_left:
                burst_left -= 1
                text = f"${burst_ticker} {text}"
            record["text"] = text
            if options.turn:
                ts = _published(options, i, at, start, 0.0)
                record["text"] = _turned(rng, options, text, negative_texts, ts, start)
        if not social:
            record["url"] = f"https://{source}.example/{record['id']}"
            record["reach"] = float(rng.choice((50_000, 250_000, 1_000_000)))
            if rng.random() < 0.3:
                record["tickers"] = [rng.choice(BURST_TICKERS)]
        else:
            record["author"] = f"user{rng.randrange(10_000)}"
            record["reach"] = float(int(rng.paretovariate(1.2) * 100))
        topic = options.social_topic if social else options.news_topic
        if rng.random() < options.malformed_share:
            out.append(Planned(at, topic, None, _malformed(rng, record), "malformed", None))
            continue
        item = Planned(
            at,
            topic,
            record["id"].encode(),
            json.dumps(record, ensure_ascii=False).encode(),
            "near_repeat" if near else "valid",
            record,
        )
        out.append(item)
        sent.append(item)
    return out


async def produce(
    kafka: KafkaSettings,
    records: Sequence[Planned],
    *,
    progress: Callable[[int], None] | None = None,
    paced: bool = True,
) -> float:
    """Send the records (at their planned times when ``paced``); returns the seconds it took."""
    producer = AIOKafkaProducer(**client_options(kafka, client="replay"), acks="all", linger_ms=5)
    await producer.start()
    started = time.monotonic()
    try:
        pending = []
        for i, item in enumerate(records):
            if paced:
                wait = item.at_s - (time.monotonic() - started)
                if wait > 0:
                    await asyncio.sleep(wait)
            pending.append(await producer.send(item.topic, item.value, key=item.key))
            if progress is not None and i % 50 == 49:
                progress(50)
        await asyncio.gather(*pending)
        if progress is not None:
            progress(len(records) % 50)
    finally:
        await producer.stop()
    return time.monotonic() - started

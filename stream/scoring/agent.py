"""Score: repeats out, sentiment in. Batches of enriched events (``stream.take``) are checked for
repeats, the texts in languages the model covers are scored through Triton, and each kept event
goes to ``text.scored``; each scored event's part in its topics' windows goes, one message per
(topic, batch), to ``sentiment.contributions``.

When Triton is down the scorer retries for ever with backoff: the batch waits, its offsets stay
uncommitted, the consumer stops fetching (back-pressure) and nothing is lost. The outage shows in
the logs (``scoring_retry``) and the metrics (finpulse_scoring_up, ..._scoring_retries_total).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from typing import Any

import faust
from faust.types import TP

from stream import metrics
from stream.backoff import Backoff
from stream.config import PipelineSettings, TritonSettings
from stream.kafka.topics import Topics, partition_for
from stream.logs import get_logger
from stream.records import Contribution, Event, TopicBatch
from stream.scoring.dedupe import Story, StoryCache, judge
from stream.scoring.triton import ScoringError, Sentiment, TritonScorer

log = get_logger(__name__)
BACKOFF = Backoff(initial_s=1.0, maximum_s=30.0)
WATCH_BACKLOG_S = 0.2


class Progress:
    """How far this worker's scoring has got, in wall time and in event time.

    ``wall``: now, or the start of the oldest batch still being scored; the window timer uses
    it, so a Triton outage holds windows open instead of turning the backlog into late records.

    ``watermark``: the event time below which this worker has sent every text it read: the
    lowest of the latest event time read from each partition of ``text.enriched`` that is still
    busy (read from within ``idle_s``, or with records not taken yet) and the oldest text of each
    batch in flight; a partition with records waiting that this worker has not read at all holds
    it at 0 (nothing is known of it). Every contribution carries it, so the windows close on the
    slowest upstream partition, not the fastest: in a back-fill read at full speed the partitions
    run minutes apart in event time, and the first to be read may be far ahead of the others.
    """

    def __init__(self, idle_s: float) -> None:
        self.idle_s = idle_s
        self.source = uuid.uuid4().hex[:12]  # names this worker's watermarks
        self.busy: dict[int, float] = {}
        self.in_flight: dict[int, float] = {}  # actor -> oldest event time of its batch
        self.read: dict[int, tuple[float, float]] = {}  # partition -> (latest event time, wall)
        self.assignment: set[int] = set()  # partitions of text.enriched this worker reads
        self.start: dict[int, int | None] = {}  # partition -> offset reading began at
        self.next_offset: dict[int, int] = {}  # partition -> offset after the last one taken
        self.behind: set[int] = set()  # partitions with records not taken yet

    def wall(self, now: float) -> float:
        return min([now, *self.busy.values()])

    def assigned(self, partitions: set[int]) -> None:
        """A rebalance: reading restarts from the committed offsets of ``partitions``."""
        self.assignment = set(partitions)
        self.read = {p: v for p, v in self.read.items() if p in partitions}
        self.start.clear()
        self.next_offset.clear()
        self.behind.clear()

    def started(
        self, actor: int, taken: list[tuple[int, int]], times: list[float], now: float
    ) -> None:
        """A batch of ``taken`` (partition, offset) with event ``times`` goes to scoring."""
        self.busy[actor] = now
        if times:
            self.in_flight[actor] = min(times)
        for (partition, offset), t in zip(taken, times, strict=True):
            latest = self.read.get(partition, (t, now))[0]
            self.read[partition] = (max(latest, t), now)
            self.next_offset[partition] = max(self.next_offset.get(partition, 0), offset + 1)

    def finished(self, actor: int) -> None:
        self.busy.pop(actor, None)
        self.in_flight.pop(actor, None)

    def observe(self, partition: int, highwater: int | None) -> None:
        """Whether ``partition`` has records not taken yet: its high watermark (from the last
        fetch) past the offset after the last record taken or, before any was, past where this
        worker began reading it (``start``). Unknown offsets claim nothing. (The topic is
        written at-least-once: no transaction markers, which would leave the high watermark past
        the last record and the partition behind for good.)"""
        taken = self.next_offset.get(partition, self.start.get(partition))
        if highwater is not None and taken is not None and highwater > taken:
            self.behind.add(partition)
        else:
            self.behind.discard(partition)

    def watermark(self, now: float) -> float:
        marks = [
            t for p, (t, seen) in self.read.items() if now - seen < self.idle_s or p in self.behind
        ]
        marks += [0.0 for p in self.behind if p not in self.read]
        marks += self.in_flight.values()
        if marks:
            return min(marks)
        return max((t for t, _ in self.read.values()), default=0.0)


async def watch_backlog(app: faust.App, topic: str, progress: Progress) -> None:
    """Tell ``progress`` which assigned partitions of ``topic`` have records not taken yet, from
    the consumer's high watermarks (updated by every fetch, so no request to the broker)."""
    consumer = app.consumer
    while True:
        assignment = progress.assignment
        for partition in sorted(assignment):
            tp = TP(topic, partition)
            try:
                if partition not in progress.start:
                    position = await consumer.position(tp)
                    if progress.assignment is not assignment:
                        break  # a rebalance meanwhile: that position is of the old one
                    progress.start[partition] = position
                highwater = consumer.highwater(tp)
            except Exception:  # mid-rebalance: the next round sees the new assignment
                break
            progress.observe(partition, highwater)
        metrics.SCORING_BEHIND.set(len(progress.behind))
        metrics.SCORING_WATERMARK.set(progress.watermark(time.time()))
        await asyncio.sleep(WATCH_BACKLOG_S)


def register(
    app: faust.App, topics: Topics, settings: PipelineSettings, triton: TritonSettings
) -> Progress:
    progress = Progress(settings.idle_close_s)
    covered = set(settings.model_languages)
    stories = StoryCache(settings.dedupe_horizon_s)

    def on_retry(error: ScoringError, attempt: int) -> None:
        metrics.SCORING_UP.set(0)
        metrics.SCORING_RETRIES.inc()

    @app.agent(topics.enriched, name="score", concurrency=settings.score_concurrency)
    async def score(stream: faust.StreamT[bytes]) -> None:
        scorer = TritonScorer(
            triton.grpc,
            model=triton.model,
            timeout_s=triton.timeout_s,
            max_batch=settings.score_batch,
            max_in_flight=1,
            retries=None,
            on_retry=on_retry,
        )
        actor = id(stream)
        take = stream.take_events  # type: ignore[attr-defined]  # not in StreamT, on Stream
        async for taken in take(settings.score_batch, settings.score_within_s):
            started = time.perf_counter()
            events = [Event.from_json(e.value) for e in taken]
            progress.started(actor, [(e.message.partition, e.message.offset) for e in taken],
                             [e.published_at for e in events], time.time())  # fmt: skip
            kept: list[Event] = []
            for event in events:
                seen = stories.get(event.content_hash)
                verdict = judge(seen, event, horizon_s=settings.dedupe_horizon_s)
                metrics.RECORDS.labels("dedupe", verdict).inc()
                if verdict == "repeat":
                    continue
                if verdict == "near_repeat" and seen is not None:
                    event.duplicate_of = seen.event_id
                    seen.add_copy(event)
                elif verdict == "new":
                    stories.add(event.content_hash, Story.of(event))
                kept.append(event)
            to_score = [e for e in kept if e.lang in covered] if settings.score_texts else []
            if to_score:
                sentiments = await score_until_done(scorer, [e.scoring_text for e in to_score])
                model = f"{triton.model}/{scorer.model_version}"
                for event, sentiment in zip(to_score, sentiments, strict=True):
                    event.scored = True
                    event.label = sentiment.label
                    event.probs = list(sentiment.probs)
                    event.score = sentiment.score
                    event.model = model
            by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for event in kept:
                metrics.RECORDS.labels("score", "scored" if event.scored else "unscored").inc()
                await topics.scored.send(key=event.event_id.encode(), value=event.to_json())
                if not event.scored:
                    continue
                contribution = Contribution(
                    event.event_id, event.published_at, event.label, event.score, event.reach
                )
                for topic in event.topics:
                    by_topic[topic].append(contribution.__dict__)
            # Taken with this batch still in flight: conservative, and true for every message.
            watermark = progress.watermark(time.time())
            for topic, items in by_topic.items():
                await topics.contributions.send(
                    key=topic.encode(),
                    partition=partition_for(topic, topics.partitions),
                    value=TopicBatch(topic, items, progress.source, watermark).to_json(),
                )
            progress.finished(actor)
            metrics.BATCH_SECONDS.labels("score").observe(time.perf_counter() - started)

    enriched = topics.enriched.get_topic_name()

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def assigned(app: Any, assigned: set[TP], **kwargs: Any) -> None:
        # Every rebalance, even one that gives back the same partitions: faust re-seeks them.
        progress.assigned({tp.partition for tp in assigned if tp.topic == enriched})

    @app.task  # type: ignore[untyped-decorator]
    async def backlog() -> None:
        await watch_backlog(app, enriched, progress)

    return progress


async def score_until_done(scorer: TritonScorer, texts: list[str]) -> list[Sentiment]:
    """Score, waiting out any failure: the scorer retries outages itself; an error it will not
    retry (the model not loaded yet) is logged and tried again later rather than crashing the
    worker, so an operator can deploy the model while the stream waits."""
    attempt = 0
    while True:
        try:
            sentiments = await scorer.score(texts)
        except ScoringError as exc:
            attempt += 1
            delay = BACKOFF.delay(attempt)
            metrics.SCORING_UP.set(0)
            log.error("scoring_failed", error=str(exc), attempt=attempt, retry_in_s=round(delay, 1))
            await asyncio.sleep(delay)
        else:
            metrics.SCORING_UP.set(1)
            return sentiments

"""Score: repeats out, sentiment in. Batches of enriched events (``stream.take``) are checked for
repeats, the texts in languages a model covers are scored through Triton, each language by its
own model (``PipelineSettings.model_routes``; one request per model and batch; the event records
which model scored it), and each kept event goes to ``text.scored``; each scored event's part in
its topics' windows goes, one message per (topic, batch), to ``sentiment.contributions``.

When Triton is down the scorer retries for ever with backoff: the batch waits, its offsets stay
uncommitted, the consumer stops fetching (back-pressure) and nothing is lost. The outage shows in
the logs (``scoring_retry``) and the metrics (finpulse_scoring_up, ..._scoring_retries_total).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust
from faust.types import TP

from stream import metrics
from stream.backoff import Backoff
from stream.config import PipelineSettings, TritonSettings
from stream.kafka.produce import Outgoing, send_batches
from stream.kafka.topics import Topics, partition_for
from stream.logs import get_logger
from stream.records import MARK_PREFIX, Event, Mark, TopicBatch
from stream.scoring.dedupe import StoryCache
from stream.scoring.plan import (
    Sentiment,
    apply_sentiments,
    by_model,
    contributions_by_topic,
    plan_batch,
)
from stream.scoring.progress import EnrichedMarks, Progress
from stream.scoring.triton import ScoringError, TritonScorer, tls_options
from stream.watermarks import MarkPacer, stage_watermark

log = get_logger(__name__)
BACKOFF = Backoff(initial_s=1.0, maximum_s=30.0)
WATCH_BACKLOG_S = 0.2


async def watch_backlog(
    app: faust.App, topic: str, progress: Progress, marks: EnrichedMarks
) -> None:
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
                    if position is not None:
                        marks.begin(partition, position)
                highwater = consumer.highwater(tp)
            except Exception:  # mid-rebalance: the next round sees the new assignment
                break
            progress.observe(partition, highwater)
        metrics.SCORING_BEHIND.set(len(progress.behind))
        await asyncio.sleep(WATCH_BACKLOG_S)


def register(
    app: faust.App, topics: Topics, settings: PipelineSettings, triton: TritonSettings
) -> Progress:
    progress = Progress()
    enriched = topics.enriched.get_topic_name()
    scored_topic = topics.scored.get_topic_name()
    contributions_topic = topics.contributions.get_topic_name()
    # A mark waits for the records before it that other actors hold; where offsets cannot tell,
    # for a grace well past the take buffers' score_within_s (EnrichedMarks).
    grace_s = max(5.0, 4 * settings.score_within_s)
    marks = EnrichedMarks(enriched, topics.partitions, grace_s=grace_s)
    pacer = MarkPacer(settings.mark_interval_s, settings.lateness_s)
    routes = settings.model_routes(triton.model)
    covered = set(routes)
    stories = StoryCache(
        settings.dedupe_horizon_s, settings.dedupe_max_entries, settings.max_clock_ahead_s
    )

    def on_retry(error: ScoringError, attempt: int) -> None:
        metrics.SCORING_UP.set(0)
        metrics.SCORING_RETRIES.inc()

    @app.agent(topics.enriched, name="score", concurrency=settings.score_concurrency)
    async def score(stream: faust.StreamT[bytes]) -> None:
        scorers = {
            model: TritonScorer(
                triton.grpc,
                tls=tls_options(triton),
                model=model,
                timeout_s=triton.timeout_s,
                max_batch=settings.score_batch,
                max_in_flight=1,
                retries=None,
                on_retry=on_retry,
            )
            for model in sorted(set(routes.values()))
        }
        actor = id(stream)
        take = stream.take_events  # type: ignore[attr-defined]  # not in StreamT, on Stream
        async for taken in take(settings.score_batch, settings.score_within_s):
            started = time.perf_counter()
            now = time.time()
            records = []
            for e in taken:
                if e.value.startswith(MARK_PREFIX):  # ingest's event-time progress
                    marks.read(e.message.partition, e.message.offset, Mark.from_json(e.value), now)
                    progress.passed(e.message.partition, e.message.offset)
                else:
                    records.append(e)
            events = [Event.from_json(e.value) for e in records]
            positions = [(e.message.partition, e.message.offset) for e in records]
            progress.started(actor, positions, [e.published_at for e in events], now)
            marks.started(actor, positions)
            plan = plan_batch(
                events,
                stories,
                covered,
                horizon_s=settings.dedupe_horizon_s,
                score_texts=settings.score_texts,
                now_s=now,
            )
            for verdict, n in plan.verdicts.items():
                metrics.RECORDS.labels("dedupe", verdict).inc(n)
            for model, group in by_model(plan.to_score, routes).items():
                scorer = scorers[model]
                sentiments = await score_until_done(scorer, [e.scoring_text for e in group])
                apply_sentiments(group, sentiments, f"{model}/{scorer.model_version}")
            scored = sum(e.scored for e in plan.kept)
            for outcome, n in (("scored", scored), ("unscored", len(plan.kept) - scored)):
                if n:
                    metrics.RECORDS.labels("score", outcome).inc(n)
            await send_batches(
                app, scored_topic, [(e.event_id.encode(), e.to_json(), None) for e in plan.kept]
            )
            contributions: list[Outgoing] = [
                (topic.encode(), TopicBatch(topic, items).to_json(),
                 partition_for(topic, topics.partitions))
                for topic, items in contributions_by_topic(plan.kept).items()
            ]  # fmt: skip
            await send_batches(app, contributions_topic, contributions)
            progress.finished(actor)
            marks.finished(actor)
            await send_marks_if_due()
            metrics.BATCH_SECONDS.labels("score").observe(time.perf_counter() - started)

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def assigned(app: Any, assigned: set[TP], **kwargs: Any) -> None:
        # Every rebalance, even one that gives back the same partitions: faust re-seeks them.
        mine = {tp.partition for tp in assigned if tp.topic == enriched}
        progress.assigned(mine)
        marks.assigned(mine)

    async def send_marks_if_due() -> None:
        # To every partition of the contributions topic, after the contributions they cover (the
        # same producer, so the same order on each partition).
        now = time.time()
        in_flight_s = min(progress.in_flight.values(), default=None)
        view = marks.marks(progress.assignment, progress.behind, in_flight_s, now)
        watermark_s = stage_watermark(view)
        if not pacer.due(watermark_s, now):
            return
        pacer.sent(watermark_s, now)
        metrics.SCORING_WATERMARK.set(watermark_s or 0.0)
        value = Mark(
            stage="score",
            sender=progress.source,
            partitions={name: [t, idle] for name, (t, idle) in view.items()},
            totals=marks.totals(),
        ).to_json()
        for partition in range(topics.partitions):
            await topics.contributions.send(partition=partition, value=value)

    @app.task  # type: ignore[untyped-decorator]
    async def send_marks() -> None:
        # Every mark_interval_s, and as soon as a held mark may be applied and lets windows close
        # (MarkPacer); after each batch too (above).
        while True:
            now = time.time()
            wake_s = pacer.sent_s + pacer.interval_s
            ready_s = marks.next_ready_s()
            if ready_s is not None and ready_s > now:  # one past it waits for a batch
                wake_s = min(wake_s, ready_s)
            await asyncio.sleep(max(wake_s - now, 0.01))
            await send_marks_if_due()

    @app.task  # type: ignore[untyped-decorator]
    async def backlog() -> None:
        await watch_backlog(app, enriched, progress, marks)

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

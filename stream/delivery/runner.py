"""Delivery: alerts -> the subscribers that want them, by webhook or to a Kafka topic of their own.

One plain aiokafka consumer reads the ``alerts`` topic (as the sinks do: no faust machinery is
needed for it) and hands each alert to one queue per subscriber. Every subscriber has its own
task, so a slow or dead receiver delays only itself: its queue grows (up to ``delivery.backlog``,
then alerts go straight to the dead-letter topic) while the others and the pipeline go on.

Each attempt goes through the subscriber's channel (channels.py) and is a ``Delivery`` record on
the ``deliveries`` topic (and, by its sink, a row of the ClickHouse table); what comes of its
answer is the retry policy's to say (policy.py: retry with backoff, or dead-letter after
``delivery.max_attempts``, to ``alerts.deadletter`` with the reason). An alert's offset is
committed once every subscriber settled it, so a crash re-reads the rest; deliveries already
settled (the ``deliveries`` table) are not sent again, and the ``X-Finpulse-Delivery`` id lets a
receiver drop the rare repeat (at-least-once).

Subscriptions are re-read from ClickHouse every ``delivery.refresh_s``: additions, pauses and
deletions apply without a restart; alerts queued for a paused or deleted one are cancelled, then
its queue and task go (a resumed one gets new ones). Settled deliveries are remembered for
``SETTLED_LOOKBACK_S`` (settled.py), not for ever. Scheduled reports (reports.py) are jobs of
the same queues, built when due for the subscriptions whose owner partition this worker holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from clickhouse_driver.errors import Error as DriverError

from stream import metrics
from stream.backoff import Backoff
from stream.clickhouse.client import connect
from stream.config import DeliverySettings, Settings
from stream.delivery.channels import Channels, KafkaChannel, WebhookChannel
from stream.delivery.jobs import Job, alert_job
from stream.delivery.offsets import OffsetTracker
from stream.delivery.policy import Answer, DeadLetter, Delivered, Retry, RetryPolicy, next_step
from stream.delivery.reports import ReportScheduler
from stream.delivery.schedule import owner
from stream.delivery.settled import Settled
from stream.delivery.store import SubscriptionStore
from stream.delivery.subscriptions import subscribers
from stream.errors import FinpulseError
from stream.kafka import compat as kafka_compat
from stream.kafka.security import client_options
from stream.logs import get_logger
from stream.records import Alert, Delivery, Subscription

log = get_logger(__name__)
SETTLED = ("delivered", "dead_letter", "cancelled")
SETTLED_LOOKBACK_S = 7 * 86_400  # how long a settled delivery is remembered (table and memory)


class SubscriberView:
    """The subscriptions as last read from the store."""

    def __init__(self, store: SubscriptionStore) -> None:
        self.store = store
        self.by_id: dict[str, Subscription] = {}
        self._stamp: frozenset[tuple[str, float]] = frozenset()

    async def refresh(self) -> None:
        subs = await asyncio.to_thread(self.store.all, include_deleted=True)
        self.by_id = {s.subscription_id: s for s in subs}
        stamp = frozenset((s.subscription_id, s.updated_at) for s in subs)
        if stamp != self._stamp:
            counts = {status: 0 for status in ("active", "paused", "deleted")}
            for s in subs:
                counts[s.status] = counts.get(s.status, 0) + 1
            for status, n in counts.items():
                metrics.SUBSCRIPTIONS.labels(status).set(n)
            log.info("subscriptions_loaded", **counts)
            self._stamp = stamp

    async def follow(self, every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.refresh()
            except (FinpulseError, DriverError, OSError, EOFError) as exc:
                # Keep delivering with the last view; a store outage must not stop alerts.
                log.warning("subscriptions_refresh_failed", error=" ".join(str(exc).split())[:300])

    def active(self) -> list[Subscription]:
        return [s for s in self.by_id.values() if s.status == "active"]


def settled_deliveries(settings: Settings) -> dict[str, float]:
    """Deliveries settled lately (from the table), with when (Unix seconds): not sent again when
    their alert is re-read."""
    client = connect(settings.clickhouse)
    try:
        rows = client.execute(
            "SELECT delivery_id, toUInt32(max(attempted_at)) FROM deliveries "
            "WHERE outcome IN %(settled)s AND attempted_at > now() - %(lookback)s "
            "GROUP BY delivery_id",
            {"settled": SETTLED, "lookback": SETTLED_LOOKBACK_S},
        )
    finally:
        client.disconnect()
    return {delivery_id: float(at) for delivery_id, at in rows}


class Deliverer:
    def __init__(
        self,
        settings: DeliverySettings,
        view: SubscriberView,
        producer: AIOKafkaProducer,
        channels: Channels,
        tracker: OffsetTracker,
        settled: Settled,
        deliveries_topic: str,
        deadletter_topic: str,
    ) -> None:
        self.settings = settings
        self.view = view
        self.producer = producer  # for the deliveries and dead-letter topics
        self.channels = channels
        self.tracker = tracker
        self.settled = settled
        self.deliveries_topic = deliveries_topic
        self.deadletter_topic = deadletter_topic
        self.policy = RetryPolicy(
            settings.max_attempts, Backoff(settings.backoff_initial_s, settings.backoff_max_s)
        )
        self.queues: dict[str, asyncio.Queue[Job]] = {}
        # One sender per active subscriber; senders and refusals leave the set when they end.
        self.tasks: set[asyncio.Task[None]] = set()

    def submit(self, job: Job) -> None:
        queue = self.queues.get(job.subscription_id)
        if queue is None:
            queue = self.queues[job.subscription_id] = asyncio.Queue(self.settings.backlog)
            sender = asyncio.create_task(self._sender(job.subscription_id, queue))
            self.tasks.add(sender)
            sender.add_done_callback(self.tasks.discard)
        try:
            queue.put_nowait(job)
        except asyncio.QueueFull:
            reason = f"backlog full: {self.settings.backlog} alerts wait for this subscriber"
            refusal = asyncio.create_task(self._refuse(job, reason))
            self.tasks.add(refusal)
            refusal.add_done_callback(self.tasks.discard)
            return
        metrics.DELIVERY_BACKLOG.inc()

    async def _sender(self, subscription_id: str, queue: asyncio.Queue[Job]) -> None:
        """Settle a subscriber's jobs in order. Idle for ``refresh_s`` with its subscription paused
        or deleted, it ends and its queue goes: only active ones take new jobs (``_dispatch``),
        and those queued when it stopped were cancelled one by one."""
        while True:
            try:
                job = await asyncio.wait_for(queue.get(), self.settings.refresh_s)
            except TimeoutError:
                sub = self.view.by_id.get(subscription_id)
                if (sub is None or sub.status != "active") and queue.empty():
                    if self.queues.get(subscription_id) is queue:
                        del self.queues[subscription_id]
                    return
                continue
            metrics.DELIVERY_BACKLOG.dec()
            await self.settle(job)

    async def settle(self, job: Job) -> None:
        """Attempt until delivered, dead-lettered or cancelled; then the alert is done for us."""
        attempt = 0
        while True:
            attempt += 1
            sub = self.view.by_id.get(job.subscription_id)
            if sub is None or sub.status != "active":
                status = sub.status if sub else "deleted"
                await self._record(job, sub, attempt, "cancelled", f"subscription {status}")
                break
            at = time.time()
            answer = await self.channels.of(sub).send(sub, job, attempt)
            metrics.DELIVERY_SECONDS.labels(sub.channel).observe(answer.duration_s)
            match next_step(answer, attempt, self.policy, now=time.time()):
                case Delivered():
                    await self._record(job, sub, attempt, "delivered", "", answer, at)
                    break
                case DeadLetter(reason=reason):
                    await self._record(job, sub, attempt, "dead_letter", reason, answer, at)
                    await self._dead_letter(job, reason, attempt)
                    break
                case Retry(delay_s=delay_s, reason=reason):
                    await self._record(job, sub, attempt, "retry", reason, answer, at,
                                       next_at=time.time() + delay_s)  # fmt: skip
                    await asyncio.sleep(delay_s)
        self.settled.add(job.delivery_id, time.time())
        self.tracker.done(job.partition, job.offset)

    async def _refuse(self, job: Job, reason: str) -> None:
        sub = self.view.by_id.get(job.subscription_id)
        await self._record(job, sub, 0, "dead_letter", reason)
        await self._dead_letter(job, reason, 0)
        self.settled.add(job.delivery_id, time.time())
        self.tracker.done(job.partition, job.offset)

    async def _record(
        self,
        job: Job,
        sub: Subscription | None,
        attempt: int,
        outcome: str,
        error: str,
        answer: Answer | None = None,
        at: float | None = None,
        next_at: float = 0.0,
    ) -> None:
        record = Delivery(
            delivery_id=job.delivery_id,
            alert_id=job.subject,
            subscription_id=job.subscription_id,
            channel=sub.channel if sub else "",
            target=sub.target if sub else "",
            attempt=attempt,
            outcome=outcome,
            status_code=answer.status_code if answer else 0,
            error=error,
            duration_ms=round(answer.duration_s * 1000, 3) if answer else 0.0,
            attempted_at=at if at is not None else time.time(),
            next_attempt_at=next_at,
        )
        metrics.DELIVERIES.labels(record.channel, outcome).inc()
        log_event = log.info if outcome in ("delivered", "cancelled") else log.warning
        shown = job.details or {}
        log_event(
            "delivery", outcome=outcome, subscription=job.subscription_id,
            **{job.kind: job.subject}, topic=shown.get("topic"), rule=shown.get("rule"),
            attempt=attempt, error=error or None,
        )  # fmt: skip
        await self.producer.send_and_wait(
            self.deliveries_topic, record.to_json(), key=job.subscription_id.encode()
        )

    async def _dead_letter(self, job: Job, reason: str, attempts: int) -> None:
        value = {
            "delivery_id": job.delivery_id,
            "subscription_id": job.subscription_id,
            "attempts": attempts,
            "reason": reason,
            "failed_at": time.time(),
            job.kind: job.details,
        }
        await self.producer.send_and_wait(
            self.deadletter_topic, json.dumps(value).encode(), key=job.delivery_id.encode()
        )

    async def close(self) -> None:
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, deliverer: Deliverer, settings: Settings) -> None:
        self.deliverer = deliverer
        self.settings = settings

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.deliverer.tracker.forget({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        # What another worker settled since we last looked must not be sent again.
        try:
            fresh = await asyncio.to_thread(settled_deliveries, self.settings)
        except (DriverError, OSError, EOFError) as exc:
            log.warning("settled_deliveries_unread", error=str(exc)[:300])
            return
        self.deliverer.settled.update(fresh, now_s=time.time())


async def _start(settings: Settings, view: SubscriberView) -> dict[str, float]:
    """Wait for ClickHouse: the first view of the subscriptions and the settled deliveries."""
    backoff = Backoff(initial_s=0.5, maximum_s=10.0)
    attempt = 0
    while True:
        attempt += 1
        try:
            await view.refresh()
            return await asyncio.to_thread(settled_deliveries, settings)
        except (FinpulseError, DriverError, OSError, EOFError) as exc:
            delay = backoff.delay(attempt)
            log.warning("delivery_waiting_for_clickhouse", error=str(exc)[:300],
                        delay_s=round(delay, 2))  # fmt: skip
            await asyncio.sleep(delay)


async def run(settings: Settings, alerts_topic: str, deliveries_topic: str,
              deadletter_topic: str) -> None:  # fmt: skip
    kafka = settings.kafka
    store = SubscriptionStore(settings.clickhouse)
    view = SubscriberView(store)
    settled = Settled(SETTLED_LOOKBACK_S)
    settled.update(await _start(settings, view), now_s=time.time())
    producer = AIOKafkaProducer(**client_options(kafka, client="delivery"), acks="all")
    http = httpx.AsyncClient(
        follow_redirects=False,
        limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
    )
    channels = Channels(
        webhook=WebhookChannel(http, settings.delivery.timeout_s),
        kafka=KafkaChannel(producer, settings.delivery.timeout_s),
    )
    tracker = OffsetTracker()
    deliverer = Deliverer(settings.delivery, view, producer, channels, tracker, settled,
                          deliveries_topic, deadletter_topic)  # fmt: skip
    consumer = AIOKafkaConsumer(
        **client_options(kafka, client="delivery"),
        group_id=f"{settings.pipeline.app_id}-delivery",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=int(kafka.session_timeout_s * 1000),
        heartbeat_interval_ms=int(kafka.heartbeat_interval_s * 1000),
        **kafka_compat.consumer_options(kafka.fetch_max_wait_ms),
    )
    consumer.subscribe([alerts_topic], listener=_Rebalance(deliverer, settings))
    await producer.start()
    await consumer.start()

    def owns(subscription_id: str) -> bool:
        partitions = len(consumer.partitions_for_topic(alerts_topic) or ())
        mine = {tp.partition for tp in consumer.assignment()}
        return owner(subscription_id, partitions) in mine

    scheduler = ReportScheduler(settings, view.active, settled, deliverer.submit, owns)
    follower = asyncio.create_task(view.follow(settings.delivery.refresh_s))
    reporter = asyncio.create_task(scheduler.follow(settings.delivery.refresh_s))
    log.info("delivery_started", topic=alerts_topic, subscriptions=len(view.active()))
    committed: dict[int, int] = {}
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, messages in batches.items():
                for m in messages:
                    _dispatch(deliverer, view, tp.partition, m.offset, m.value)
            offsets = tracker.committable()
            if offsets != committed:
                try:
                    await consumer.commit(
                        {TopicPartition(alerts_topic, p): o for p, o in offsets.items()}
                    )
                    committed = offsets
                except (CommitFailedError, KafkaError) as exc:
                    log.warning("delivery_commit_failed", error=str(exc)[:300])
    finally:
        for task in (follower, reporter):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await deliverer.close()
        await consumer.stop()
        await producer.stop()
        await http.aclose()
        store.close()


def _dispatch(
    deliverer: Deliverer, view: SubscriberView, partition: int, offset: int, value: bytes | None
) -> None:
    try:
        alert = Alert.from_json(value or b"")
    except (ValueError, TypeError) as exc:
        # Alerts are written by our own agent: a bad one is a bug to see, not a reason to stop.
        log.error("delivery_bad_alert", partition=partition, offset=offset, error=str(exc)[:300])
        deliverer.tracker.add(partition, offset, 0)
        return
    jobs = [alert_job(alert, sub, partition, offset) for sub in subscribers(view.active(), alert)]
    jobs = [job for job in jobs if job.delivery_id not in deliverer.settled]
    deliverer.tracker.add(partition, offset, len(jobs))
    for job in jobs:
        deliverer.submit(job)

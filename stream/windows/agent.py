"""Windows: per-topic contributions -> window states on ``sentiment.windows`` (and late texts on
``sentiment.late``). The logic is stream/windows/state.py; this module keeps its state in a faust
table (changelogged, so a restarted or rebalanced worker recovers it) and drives it from the
stream.

State per topic: one table entry per one-minute pane (``TOPIC\\x1fSTART``) and the clock up to
which windows were closed (``TOPIC\\x1f~closed``). Each message updates the entries of the
partition it came from, so a state change and the offset that caused it travel together.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import faust

from stream import metrics
from stream.config import PipelineSettings
from stream.kafka.app import json_table
from stream.kafka.topics import Topics, partition_for
from stream.logs import get_logger
from stream.records import LateRecord, Tick, TopicBatch, WindowRecord
from stream.windows.state import Pane, TopicWindows

log = get_logger(__name__)
SEP = "\x1f"
CLOSED = "~closed"


def load_states(items: Iterable[tuple[str, Any]], build: Any) -> dict[str, TopicWindows]:
    """Rebuild the topics' window states from table entries."""
    panes: dict[str, dict[int, Pane]] = {}
    closed: dict[str, float] = {}
    for key, value in items:
        topic, _, part = key.rpartition(SEP)
        if part == CLOSED:
            closed[topic] = float(value)
        elif value is not None:
            panes.setdefault(topic, {})[int(part)] = Pane.from_dict(value)
    return {
        topic: build(topic, panes.get(topic, {}), closed.get(topic, 0.0))
        for topic in set(panes) | set(closed)
    }


def register(
    app: faust.App, topics: Topics, settings: PipelineSettings, wall: Callable[[float], float]
) -> None:
    """``wall(now)``: the wall time the timer may close windows by (see score_agent.Progress)."""
    specs = settings.windows
    table = json_table(app, "window-panes", settings.partitions)
    states: dict[str, TopicWindows] | None = None
    # Per partition of the contributions topic: the latest event time seen, the wall time of its
    # latest batch (to tell a stream that stopped), and each scoring worker's watermark with the
    # wall time it came (a worker quiet for idle_close_s no longer holds the clock back).
    event_clock: dict[int, float] = {}
    last_batch: dict[int, float] = {}
    marks: dict[int, dict[str, tuple[float, float]]] = {}

    def clock_of(partition: int, now: float) -> float:
        """The partition's event-time clock: the lowest watermark of the scoring workers still
        sending; the latest event time seen once none is (or from senders without one)."""
        active = [
            mark
            for mark, seen in marks.get(partition, {}).values()
            if now - seen < settings.idle_close_s
        ]
        return min(active) if active else event_clock.get(partition, 0.0)

    started = 0.0  # when this worker's agent first ran (set below)

    def build(topic: str, panes: dict[int, Pane], closed_until: float) -> TopicWindows:
        return TopicWindows(
            topic, specs, lateness_s=settings.lateness_s, panes=panes, closed_until=closed_until
        )

    def current() -> dict[str, TopicWindows]:
        nonlocal states
        if states is None:
            states = load_states(((str(k), v) for k, v in table.items()), build)
            log.info("windows_state_loaded", topics=len(states))
        return states

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget(app: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal states
        states = None  # rebuilt from the table for the partitions this worker holds next

    async def emit(records: list[WindowRecord]) -> None:
        for record in records:
            await topics.windows.send(key=record.topic.encode(), value=record.to_json())
            metrics.WINDOWS.labels(str(record.final).lower()).inc()

    async def on_batch(partition: int, batch: TopicBatch) -> None:
        windows = current()
        tw = windows.get(batch.topic)
        if tw is None:
            tw = windows[batch.topic] = build(batch.topic, {}, 0.0)
        touched: set[int] = set()
        now = time.time()
        last_batch[partition] = now
        if batch.source:
            senders = marks.setdefault(partition, {})
            previous = senders.get(batch.source, (0.0, now))[0]
            senders[batch.source] = (max(previous, batch.watermark), now)
        for c in batch.contributions():
            event_clock[partition] = max(event_clock.get(partition, 0.0), c.published_at)
            outcome, pane = tw.add(c)
            metrics.RECORDS.labels("windows", outcome).inc()
            if outcome == "counted":
                touched.add(pane)
            elif outcome == "late":
                late = LateRecord(
                    batch.topic, c.event_id, c.published_at, pane, now, tw.closed_until
                )
                await topics.late.send(key=batch.topic.encode(), value=late.to_json())
        for pane in touched:
            table[f"{batch.topic}{SEP}{pane}"] = tw.panes[pane].to_dict()

    async def on_tick(partition: int, tick: Tick) -> None:
        now = time.time()
        clock = clock_of(partition, now)
        # A partition that has had no text for idle_close_s closes by wall time, so the last
        # windows of a stream that stops are emitted. The tick's wall time is held back while a
        # scoring batch is stuck (Triton down), and a restarted worker waits idle_close_s first,
        # so a backlog is never declared late by the clock on the wall.
        quiet_since = last_batch.get(partition, started or now)
        if settings.wall_clock_close and tick.wall - quiet_since >= settings.idle_close_s:
            clock = max(clock, tick.wall - settings.idle_close_s)
        for topic, tw in list(current().items()):
            if partition_for(topic, topics.partitions) != partition:
                continue
            closed, expired = tw.close(tw.clock(clock), now)
            await emit(closed)
            await emit(tw.running(now))
            if closed or expired:
                table[f"{topic}{SEP}{CLOSED}"] = tw.closed_until
            for pane in expired:
                del table[f"{topic}{SEP}{pane}"]

    @app.agent(topics.contributions, name="windows")
    async def windows(stream: faust.StreamT[bytes]) -> None:
        nonlocal started
        async for event in stream.events():
            started = started or time.time()
            data = json.loads(event.value)
            if data.get("kind") == "tick":
                await on_tick(event.message.partition, Tick.from_dict(data))
            else:
                await on_batch(event.message.partition, TopicBatch.from_dict(data))

    @app.timer(settings.emit_interval_s, on_leader=True)  # type: ignore[untyped-decorator]
    async def tick() -> None:
        value = Tick(wall(time.time())).to_json()
        for partition in range(topics.partitions):
            await topics.contributions.send(partition=partition, value=value)

"""Windows: per-topic contributions -> window states on ``sentiment.windows`` (and late texts on
``sentiment.late``). The logic is pure (stream/windows/state.py for the windows,
stream/windows/clock.py for the clock that closes them); this module keeps the window state in a
faust table (changelogged, so a restarted or rebalanced worker recovers it; key layout in
stream/windows/table_keys.py) and drives it from the stream.

Each message updates the entries of the partition it came from, so a state change and the offset
that caused it travel together. A batch writes one entry per pane it changed, holding only what
is new (ids once each), and a close one entry for its partition; a topic whose last pane expired
holds no state at all (a text for it later starts it again at its partition's clock).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import faust

from stream import metrics
from stream.config import PipelineSettings
from stream.kafka.app import json_table
from stream.kafka.table_store import MemoryBudget
from stream.kafka.topics import Topics, partition_for
from stream.logs import get_logger
from stream.records import LateRecord, Mark, Tick, TopicBatch, WindowRecord, loads
from stream.windows.clock import WindowClock
from stream.windows.panes import Pane, pane_start
from stream.windows.state import CLOCK_USED, PANE_CHANGED, TopicWindows
from stream.windows.table_keys import (
    CLOSED,
    SEP,
    closed_key,
    load_states,
    pane_key,
    pane_keys,
)

log = get_logger(__name__)


def register(
    app: faust.App,
    topics: Topics,
    settings: PipelineSettings,
    wall: Callable[[float], float],
    *,
    budget: MemoryBudget | None = None,
) -> None:
    """``wall(now)``: the wall time the timer may close windows by (see
    stream/scoring/progress.py, ``Progress.wall``); ``budget``: the worker's table memory, with
    tables on disk."""
    specs = settings.windows
    table = json_table(app, "window-panes", settings.partitions, budget)
    states: dict[str, TopicWindows] | None = None
    clocks: dict[int, float] = {}  # partition -> the clock its topics' windows were closed to
    running_s: dict[int, float] = {}  # partition -> when its running windows were last given
    clock = WindowClock(settings.idle_close_s, wall_clock_close=settings.wall_clock_close)

    def build(topic: str, panes: dict[int, Pane], closed_until: float) -> TopicWindows:
        return TopicWindows(
            topic,
            specs,
            lateness_s=settings.lateness_s,
            allowed_lateness_s=settings.allowed_lateness_s,
            panes=panes,
            closed_until=closed_until,
        )

    def current() -> dict[str, TopicWindows]:
        nonlocal states
        if states is None:
            items = ((str(k), v) for k, v in table.items())
            states, loaded = load_states(items, build, partition_of)
            clocks.clear()
            clocks.update(loaded)
            log.info("windows_state_loaded", topics=len(states))
        return states

    def partition_of(topic: str) -> int:
        return partition_for(topic, topics.partitions)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget(app: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal states
        states = None  # rebuilt from the table for the partitions this worker holds next

    async def emit(records: list[WindowRecord]) -> None:
        for record in records:
            await topics.windows.send(key=record.topic.encode(), value=record.to_json())
            metrics.WINDOWS.labels(str(record.final).lower()).inc()
            if record.amendments:
                metrics.WINDOWS_AMENDED.inc()

    async def on_batch(partition: int, batch: TopicBatch) -> None:
        windows = current()
        tw = windows.get(batch.topic)
        if tw is None:  # new, or expired: judged by its partition's clock like the others
            tw = windows[batch.topic] = build(batch.topic, {}, clocks.get(partition, 0.0))
        touched: set[int] = set()
        clock_used = False
        now = time.time()
        for c in batch.contributions():
            outcome, start = tw.add(c)
            metrics.RECORDS.labels("windows", outcome).inc()
            if outcome in PANE_CHANGED:
                touched.add(start)
            clock_used = clock_used or outcome in CLOCK_USED
            if outcome == "late":  # beyond the allowed lateness: kept in events only
                late = LateRecord(
                    batch.topic, c.event_id, c.published_at, start, now, tw.closed_until
                )
                await topics.late.send(key=batch.topic.encode(), value=late.to_json())
        if clock_used:
            # The clock an amendment or a late verdict was judged by goes first: a restart must
            # not judge the same text against an older clock (and reuse an amendment number).
            clocks[partition] = max(clocks.get(partition, 0.0), tw.closed_until)
            table[closed_key(partition)] = clocks[partition]
        for start in touched:
            changed = tw.panes[start]
            # The key before the delta: delta() counts the write, and an assignment evaluates
            # its value before its key (the key would be one past, never deleted at expiry).
            key = pane_key(batch.topic, start, changed.writes)
            table[key] = changed.delta()

    async def close(partition: int, close_to: float, now: float, *, running: bool) -> None:
        windows = current()
        # Running windows at most once a running_interval_s (only those that changed), so
        # ClickHouse gets rows in proportion to windows, not to ticks.
        running = running and now - running_s.get(partition, 0.0) >= settings.running_interval_s
        if running:
            running_s[partition] = now
        # The partition's watermark alone: a topic's own newest text must not close its windows
        # ahead of texts still upstream.
        clock = max(close_to, clocks.get(partition, 0.0))
        moved = False
        for topic, tw in list(windows.items()):
            if partition_of(topic) != partition:
                continue
            closed, expired = tw.close(max(clock, tw.closed_until), now)
            await emit(closed)
            if running:
                await emit(tw.running(now))
            moved = moved or bool(closed or expired)
            for start, pane in expired.items():
                for key in pane_keys(topic, start, pane):
                    table.pop(key, None)
            if not tw.panes:
                del windows[topic]  # quiet past every window's horizon: nothing left to keep
                table.pop(f"{topic}{SEP}{CLOSED}", None)  # an older release's clock of its own
        clocks[partition] = clock
        if moved:  # else nothing was given by it: a restart may start from the older one
            table[closed_key(partition)] = clock

    async def on_tick(partition: int, tick: Tick) -> None:
        await close(partition, clock.on_tick(partition, tick.wall), time.time(), running=True)

    # Windows end on whole minutes: a mark closes windows (without waiting for the next tick)
    # when the watermark less the close delay has passed a minute not passed before.
    closed_minute: dict[int, int] = {}

    async def on_mark(partition: int, mark: Mark) -> None:
        clock.on_mark(partition, mark)
        watermark_s = clock.event_time_s(partition)
        if not watermark_s:  # every source idle (the tick closes by wall time), or held
            return
        minute = pane_start(watermark_s - settings.lateness_s)
        if minute > closed_minute.get(partition, 0):
            closed_minute[partition] = minute
            await close(partition, watermark_s, time.time(), running=False)

    @app.agent(topics.contributions, name="windows")
    async def windows(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            data = loads(event.value)
            if data.get("kind") == "mark":
                await on_mark(event.message.partition, Mark.from_dict(data))
            elif data.get("kind") == "tick":
                await on_tick(event.message.partition, Tick.from_dict(data))
            else:
                await on_batch(event.message.partition, TopicBatch.from_dict(data))

    @app.timer(settings.emit_interval_s, on_leader=True)  # type: ignore[untyped-decorator]
    async def tick() -> None:
        value = Tick(wall(time.time())).to_json()
        for partition in range(topics.partitions):
            await topics.contributions.send(partition=partition, value=value)

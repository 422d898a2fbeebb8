"""The windows agent over an in-memory faust app: what its table holds as panes are written and
expire (the keys it writes are the keys it deletes)."""

from __future__ import annotations

import asyncio
from typing import Any

import faust

from stream.config import PipelineSettings
from stream.kafka.topics import declare
from stream.records import Mark, TopicBatch
from stream.windows import agent as window_agent
from stream.windows.table_keys import CLOSED

T0 = 1_760_000_040.0  # a whole minute


def table_after(messages: list[bytes], settings: PipelineSettings) -> dict[str, Any]:
    """The window table after the agent has read ``messages`` on partition 0 (every topic's)."""
    app = faust.App("windows-test", broker="kafka://127.0.0.1:1", store="memory://")
    topics = declare(app, settings)

    async def send(*args: Any, **kwargs: Any) -> None:
        return None

    for topic in (topics.windows, topics.late, topics.contributions):
        topic.send = send  # type: ignore[method-assign]
    window_agent.register(app, topics, settings, lambda now: now)

    async def deliver() -> None:
        async with app.agents["windows"].test_context() as agent:
            for value in messages:
                await agent.put(value, partition=0)

    asyncio.run(deliver())
    return dict(app.tables["window-panes"].items())


def batch(topic: str, at: float, *ids: str) -> bytes:
    items = [{"event_id": i, "published_at": at, "label": "neutral", "score": 0.0, "reach": 0.0}
             for i in ids]  # fmt: skip
    return TopicBatch(topic, items).to_json()


def mark(at: float) -> bytes:
    """The scoring stage's watermark: its one upstream partition has got to ``at``."""
    return Mark(stage="score", sender="w1", partitions={"text.enriched/0": [at, False]},
                totals={"text.enriched": 1}).to_json()  # fmt: skip


def test_panes_written_in_several_batches_leave_no_key_once_they_expire() -> None:
    settings = PipelineSettings(partitions=1, windows="60/60,900/60")
    # Two topics, panes written by one batch and by several (a delta per batch).
    messages = [batch("AAPL", T0 + 5, "a1"), batch("MSFT", T0 + 7, "m1")]
    messages += [batch("AAPL", T0 + 10, f"a{i}") for i in range(2, 6)]
    messages += [batch("AAPL", T0 + 70, "a6", "a7"), batch("AAPL", T0 + 75, "a8")]
    written = table_after(messages, settings)
    assert sum(key.startswith("AAPL") for key in written) == 7  # a delta per batch
    # The clock passes every window's end, lateness and allowed lateness: nothing is kept.
    horizon = 900 + settings.lateness_s + settings.allowed_lateness_s
    marks = [mark(T0 + 120 + settings.lateness_s), mark(T0 + 180 + horizon)]
    table = table_after(messages + marks, settings)
    assert [key for key in table if not key.startswith(CLOSED)] == [], table

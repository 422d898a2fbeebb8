"""faust's flow control, with the records its resume clears read again.

After a rebalance faust seeks the stream partitions to their committed offsets, then resumes flow
(``Recovery._resume_streams``), and resuming clears every stream queue: that clear is meant for
the records of the old generation. But the fetcher runs while the seek completes, so the records it
fetched from the committed offsets in between are in the queues, and the clear drops them too. The
consumer's position is past them, so this worker never reads them: their offsets are never acked
(the commit stays below them until the next restart), and the windows close without them. Seen
here as 50 records of a partition lost after a worker took over from a killed one.

``RewindingFlowControl`` keeps faust's clear and then seeks each stream partition back to the
first record of the current generation it dropped (records read twice are idempotent downstream;
a record is never lost).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mode.utils.queues import FlowControlEvent

from stream.logs import get_logger

log = get_logger(__name__)


def dropped_offsets(items: Iterable[Any], generation_id: int) -> dict[Any, int]:
    """The lowest offset of each partition among queued ``items`` (faust events) read in
    ``generation_id``; anything else in a queue (results, events of an older generation) is left
    out."""
    lowest: dict[Any, int] = {}
    for item in items:
        message = getattr(item, "message", None)
        if message is None or getattr(message, "generation_id", None) != generation_id:
            continue
        tp, offset = message.tp, message.offset
        if offset < lowest.get(tp, offset + 1):
            lowest[tp] = offset
    return lowest


class RewindingFlowControl(FlowControlEvent):
    """``FlowControlEvent`` whose ``resume`` rewinds, through ``rewind``, what its clear dropped
    (see the module's docstring). ``generation`` gives the consumer's current generation."""

    def __init__(
        self, *, generation: Callable[[], int], rewind: Callable[[dict[Any, int]], None], **kw: Any
    ) -> None:
        super().__init__(**kw)
        self._generation = generation
        self._rewind = rewind

    def resume(self) -> None:
        generation = self._generation()
        queued = [item for queue in self._queues for item in queue._queue]  # type: ignore[attr-defined]
        dropped = dropped_offsets(queued, generation)
        super().resume()  # clears the queues
        if dropped:
            self._rewind(dropped)


def install(app: Any) -> None:
    """Give ``app`` (a faust app, before its agents and tables make their queues) the rewinding
    flow control."""

    def rewind(dropped: dict[Any, int]) -> None:
        consumer = app.consumer
        changelogs = app.tables.changelog_topics  # a new set each call
        assigned = consumer.assignment()
        done = {}
        for tp, offset in dropped.items():
            if tp in assigned and tp.topic not in changelogs:
                consumer._thread.seek(tp, offset)  # synchronous: before the next fetch
                consumer._read_offset[tp] = offset or None  # as faust's own seek sets it
                done[f"{tp.topic}/{tp.partition}"] = offset
        if done:
            log.info("flow_resume_rewound", partitions=done)

    app.flow_control = RewindingFlowControl(
        generation=lambda: app.consumer_generation_id, rewind=rewind, loop=app.loop
    )

"""Resuming flow after a rebalance clears faust's stream queues; what it drops of the current
generation is read again (stream/kafka/flow.py)."""

from __future__ import annotations

from typing import Any

import faust
from faust.events import Event
from faust.types import TP
from faust.types.tuples import Message

from stream.kafka.flow import RewindingFlowControl, dropped_offsets, install


def event(app: faust.App, topic: str, partition: int, offset: int, generation: int) -> Event:
    message = Message(
        topic, partition, offset, 0.0, 0, {}, None, b"v", None, generation_id=generation
    )
    return Event(app, None, b"v", {}, message)


def app_with_queues() -> faust.App:
    return faust.App("flow-test", broker="kafka://127.0.0.1:1")


def test_the_lowest_offset_of_each_partition_of_the_current_generation_is_dropped() -> None:
    app = app_with_queues()
    items = [
        event(app, "t", 0, 12, 3),
        event(app, "t", 0, 10, 3),
        event(app, "t", 1, 7, 3),
        event(app, "t", 2, 1, 2),  # an older generation: faust's clear is for these
        "a result, not an event",
    ]
    assert dropped_offsets(items, 3) == {TP("t", 0): 10, TP("t", 1): 7}
    assert dropped_offsets(items, 4) == {}


def test_resume_clears_the_queues_then_rewinds_what_it_dropped() -> None:
    app = app_with_queues()
    rewound: list[dict[Any, int]] = []
    control = RewindingFlowControl(generation=lambda: 5, rewind=rewound.append)
    app.flow_control = control
    first = app.FlowControlQueue(maxsize=10, clear_on_resume=True)
    second = app.FlowControlQueue(maxsize=10, clear_on_resume=True)
    first.put_nowait(event(app, "t", 3, 40, 5))
    first.put_nowait(event(app, "t", 3, 41, 5))
    second.put_nowait(event(app, "u", 0, 9, 4))
    control.suspend()
    control.resume()
    assert first.empty() and second.empty()
    assert rewound == [{TP("t", 3): 40}]
    control.resume()  # nothing queued: nothing to rewind
    assert rewound == [{TP("t", 3): 40}]


def test_the_app_gets_the_rewinding_flow_control_for_its_queues() -> None:
    app = app_with_queues()
    install(app)
    assert isinstance(app.flow_control, RewindingFlowControl)
    channel = app.channel()
    assert channel.queue._flow_control is app.flow_control

"""Produce a batch of records with one record batch per target partition, not a send per record.

faust's ``topic.send`` costs tens of microseconds a record (its message objects, callbacks and
sensors, then aiokafka's own send); the agents produce whole batches (stream/ingest/agent.py,
stream/scoring/agent.py), so they hand aiokafka one ``BatchBuilder`` per partition instead,
through the faust app's own producer. The guarantees stay faust's: the batches are queued in the
producer that faust flushes before it commits offsets (at-least-once), behind the records sent
before them and ahead of those sent after (order per partition and so per key), and queuing waits
while the partition's previous batch is still unsent (back-pressure).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

import faust
from aiokafka.partitioner import murmur2

from stream.logs import get_logger

log = get_logger(__name__)

Record = tuple[bytes | None, bytes]  # key, value
Outgoing = tuple[bytes | None, bytes, int | None]  # key, value, partition (None: the key's)


def key_partition(key: bytes, partitions: int) -> int:
    """The partition a keyed send gets from Kafka's default partitioner (murmur2)."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


def by_partition(records: Iterable[Outgoing], partitions: int) -> dict[int, list[Record]]:
    """(key, value, partition) triples grouped by target partition, in order within each: the
    given partition, else the key's (``key_partition``). A record needs one or the other."""
    groups: dict[int, list[Record]] = {}
    for key, value, partition in records:
        if partition is None:
            if key is None:
                raise ValueError("a record without a key needs a partition")
            partition = key_partition(key, partitions)
        groups.setdefault(partition, []).append((key, value))
    return groups


async def send_batches(app: faust.App, topic: str, records: Sequence[Outgoing]) -> None:
    """Queue ``records`` (key, value, partition or None for the key's) on ``topic``; returns once
    they are queued, as ``topic.send`` does (see the module's docstring)."""
    if not records:
        return
    producer: Any = app.producer._ensure_producer()  # type: ignore[attr-defined]  # aiokafka's
    count = len(await producer.partitions_for(topic))
    queued = [
        _queue(producer, topic, partition, group)
        for partition, group in by_partition(records, count).items()
    ]
    await asyncio.gather(*queued)


async def _queue(producer: Any, topic: str, partition: int, records: list[Record]) -> None:
    batch = producer.create_batch()
    for key, value in records:
        if batch.append(key=key, value=value, timestamp=None) is not None:
            continue
        if batch.record_count():  # full: queue it and start the next
            _watch(await producer.send_batch(batch, topic, partition=partition), topic)
        batch = producer.create_batch()
        if batch.append(key=key, value=value, timestamp=None) is None:
            # Larger than a batch alone: aiokafka's send checks it against the request limit.
            _watch(await producer.send(topic, value, key=key, partition=partition), topic)
            batch = producer.create_batch()
    if batch.record_count():
        _watch(await producer.send_batch(batch, topic, partition=partition), topic)


def _watch(future: asyncio.Future[Any], topic: str) -> None:
    future.add_done_callback(lambda f: _delivered(f, topic))


def _delivered(future: asyncio.Future[Any], topic: str) -> None:
    # As faust does for a send that fails after the producer's retries: log it (the batch's
    # offsets are still committed by faust; a lost batch shows here).
    if not future.cancelled() and future.exception() is not None:
        log.warning("send_failed", topic=topic, error=str(future.exception()))

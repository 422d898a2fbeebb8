"""The broker: round trips, committed offsets, the highwater-from-fetch measure, librdkafka."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from stream.config import Settings
from stream.kafka.compat import fetch_highwaters
from tests.integration.kafka_admin import create_topic


async def test_produce_consume_round_trip_with_committed_offsets(
    settings: Settings, unique: str
) -> None:
    bootstrap = settings.kafka.bootstrap
    await create_topic(bootstrap, unique, 3)
    sent = {(f"k{i % 7}".encode(), f"value {i}".encode()) for i in range(300)}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in sorted(sent):
            await producer.send(unique, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        unique,
        bootstrap_servers=bootstrap,
        group_id=unique,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=2000,
    )
    await consumer.start()
    received: list[tuple[bytes, bytes, int]] = []
    try:
        async with asyncio.timeout(60):
            while len(received) < len(sent):
                batch = await consumer.getmany(timeout_ms=1000)
                for tp, records in batch.items():
                    received.extend((r.key, r.value, tp.partition) for r in records)
        await consumer.commit()
        committed = {p: await consumer.committed(TopicPartition(unique, p)) for p in range(3)}
    finally:
        await consumer.stop()

    assert {(k, v) for k, v, _ in received} == sent
    assert len(received) == len(sent)  # nothing twice
    # Same key, same partition: what keyed state (faust tables) relies on.
    partitions_by_key: dict[bytes, set[int]] = {}
    for key, _, partition in received:
        partitions_by_key.setdefault(key, set()).add(partition)
    assert all(len(p) == 1 for p in partitions_by_key.values())
    per_partition = {p: sum(1 for *_, q in received if q == p) for p in range(3)}
    assert committed == per_partition


async def test_fetch_highwaters_count_every_record_of_batched_produce(
    settings: Settings, unique: str
) -> None:
    """Batches are where Tansu's ListOffsets goes wrong; the Fetch high watermark must not."""
    bootstrap = settings.kafka.bootstrap
    await create_topic(bootstrap, unique, 2)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=50)
    await producer.start()
    try:
        # Unawaited sends within linger_ms go out as multi-record batches.
        futures = [await producer.send(unique, b"x", partition=i % 2) for i in range(101)]
        await asyncio.gather(*futures)
        await producer.send_and_wait(unique, b"y", partition=0)
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        tps = [
            TopicPartition(unique, 0),
            TopicPartition(unique, 1),
        ]
        starts = await consumer.beginning_offsets(tps)
        highwaters = await fetch_highwaters(consumer._client, tps, starts)
    finally:
        await consumer.stop()
    assert highwaters == {tps[0]: 52, tps[1]: 50}


def test_librdkafka_client_lists_topics_and_produces(settings: Settings, unique: str) -> None:
    """An external client (confluent-kafka, librdkafka 2.16) works against the broker."""
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.admin import NewTopic as CfNewTopic

    conf = {"bootstrap.servers": settings.kafka.bootstrap}
    admin = AdminClient(conf)
    admin.create_topics([CfNewTopic(unique, num_partitions=1, replication_factor=1)])[
        unique
    ].result(30)
    assert unique in admin.list_topics(timeout=10).topics

    producer = Producer({**conf, "acks": "all"})
    delivered: list[str] = []
    for i in range(10):
        producer.produce(
            unique, f"m{i}".encode(), on_delivery=lambda err, msg: delivered.append(str(err))
        )
    assert producer.flush(30) == 0
    assert delivered == ["None"] * 10

    consumer = Consumer({**conf, "group.id": unique, "auto.offset.reset": "earliest"})
    consumer.subscribe([unique])
    values: list[bytes] = []
    try:
        for _ in range(60):
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                values.append(msg.value())
            if len(values) == 10:
                break
    finally:
        consumer.close()
    assert values == [f"m{i}".encode() for i in range(10)]

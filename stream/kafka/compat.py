"""Named, switchable compatibility measures for Kafka-protocol brokers that are not Kafka.

highwater-from-fetch (setting ``kafka.highwater_from_fetch``, env
``FINPULSE_KAFKA_HIGHWATER_FROM_FETCH``): Tansu 0.6 answers ListOffsets(latest) with a wrong end
offset when records were produced in batches, so faust, which asks ListOffsets for a changelog's
end before recovering a table, stops recovery short and tables come back with counts missing. A
Fetch response carries the partition's true high watermark, so with the measure on the end
offsets are read from a small fetch at the partition's start. Apache Kafka and Redpanda answer
ListOffsets correctly: leave it off there (the default).

fetch-wait (setting ``kafka.fetch_max_wait_ms``, env ``FINPULSE_KAFKA_FETCH_MAX_WAIT_MS``): Tansu
0.6 does not answer a waiting fetch when records arrive, so every fetch of a quiet partition waits
out its max wait, which faust fixes at 1.5 s for the worker's consumer: measured here, a record
took 487 ms (median) from produce to a consumer waiting 1,500 ms, 110 ms at 500 ms, 19 ms at
100 ms. With the measure, the worker's consumer (and finpulse's own, ``consumer_options``) wait
that long at most. Kafka and Redpanda answer as records arrive: leave it off there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from aiokafka import AIOKafkaClient, TopicPartition
from aiokafka.errors import LeaderNotAvailableError, for_code
from aiokafka.protocol.fetch import FetchRequest
from faust.transport.drivers import aiokafka as faust_aiokafka

# A fetch that waits at most this long. Tansu returns no partitions for max_wait 0, so wait a
# little; min_bytes=0 lets Kafka answer at once.
_FETCH_MAX_WAIT_MS = 50
_FETCH_MAX_BYTES = 1

TRANSPORT_SCHEME = "kafka-highwater-from-fetch"


async def fetch_highwaters(
    client: AIOKafkaClient,
    partitions: Iterable[TopicPartition],
    start_offsets: Mapping[TopicPartition, int],
) -> dict[TopicPartition, int]:
    """Return each partition's high watermark (end offset) as a Fetch response reports it.

    ``start_offsets`` are offsets that exist (the log start): fetching there cannot be out of range.
    """
    by_leader: dict[int, list[TopicPartition]] = {}
    for tp in partitions:
        leader = client.cluster.leader_for_partition(tp)
        if leader is None or leader < 0:
            await client.force_metadata_update()
            leader = client.cluster.leader_for_partition(tp)
        if leader is None or leader < 0:
            raise LeaderNotAvailableError(f"no leader for {tp}")
        by_leader.setdefault(leader, []).append(tp)

    result: dict[TopicPartition, int] = {}
    for leader, tps in by_leader.items():
        topics: dict[str, list[tuple[int, int, int]]] = {}
        for tp in tps:
            topics.setdefault(tp.topic, []).append(
                (tp.partition, start_offsets.get(tp, 0), _FETCH_MAX_BYTES)
            )
        request = FetchRequest(_FETCH_MAX_WAIT_MS, 0, _FETCH_MAX_BYTES, 0, list(topics.items()))
        response: Any = await client.send(leader, request)
        for topic, parts in response.topics:
            for partition, error_code, highwater, *_ in parts:
                if error_code:
                    raise for_code(error_code)(f"fetch high watermark of {topic}[{partition}]")
                result[TopicPartition(topic, partition)] = highwater
    missing = [tp for tps in by_leader.values() for tp in tps if tp not in result]
    if missing:
        raise LeaderNotAvailableError(f"broker returned no high watermark for {missing}")
    return result


@dataclass
class Measures:
    highwater_from_fetch: bool = False
    fetch_max_wait_ms: int | None = None


# One Kafka configuration a process: the transport faust builds from a URL reads it from here.
MEASURES = Measures()


def consumer_options(fetch_max_wait_ms: int | None) -> dict[str, Any]:
    """Options for an ``AIOKafkaConsumer`` of finpulse's own under the fetch-wait measure."""
    return {} if fetch_max_wait_ms is None else {"fetch_max_wait_ms": fetch_max_wait_ms}


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        if MEASURES.fetch_max_wait_ms is not None:
            # faust passes a fixed 1,500 ms; the fetcher reads it from here when it starts.
            consumer._fetch_max_wait_ms = MEASURES.fetch_max_wait_ms
        return consumer

    async def _highwaters(self, partitions: list[Any]) -> Mapping[Any, int]:
        consumer = self._ensure_consumer()
        if self.consumer.in_transaction or not MEASURES.highwater_from_fetch:
            return await super()._highwaters(partitions)
        tps = [TopicPartition(tp.topic, tp.partition) for tp in partitions]
        starts = await consumer.beginning_offsets(tps)
        highwaters = await fetch_highwaters(consumer._client, tps, starts)
        return {tp: highwaters[TopicPartition(tp.topic, tp.partition)] for tp in partitions}


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class HighwaterFromFetchTransport(faust_aiokafka.Transport):
    """faust's aiokafka transport with the measures switched on in ``MEASURES``: end offsets read
    from Fetch instead of ListOffsets, and a shorter fetch wait."""

    Consumer: ClassVar[type[Any]] = _Consumer


def register(highwater_from_fetch: bool, fetch_max_wait_ms: int | None) -> None:
    """Make ``kafka-highwater-from-fetch://host:port`` a faust broker URL with these measures."""
    from faust.transport.drivers import TRANSPORTS

    MEASURES.highwater_from_fetch = highwater_from_fetch
    MEASURES.fetch_max_wait_ms = fetch_max_wait_ms
    TRANSPORTS.aliases[TRANSPORT_SCHEME] = f"{__name__}:HighwaterFromFetchTransport"

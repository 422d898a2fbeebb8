"""Named, switchable compatibility measures for Kafka-protocol brokers that are not Kafka.

highwater-from-fetch (setting ``kafka.highwater_from_fetch``, env
``FINPULSE_KAFKA_HIGHWATER_FROM_FETCH``): Tansu 0.6 answers ListOffsets(latest) with a wrong end
offset when records were produced in batches, so faust, which asks ListOffsets for a changelog's
end before recovering a table, stops recovery short and tables come back with counts missing. A
Fetch response carries the partition's true high watermark, so with the measure on the end
offsets are read from a small fetch at the partition's start. Apache Kafka and Redpanda answer
ListOffsets correctly: leave it off there (the default).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    async def _highwaters(self, partitions: list[Any]) -> Mapping[Any, int]:
        consumer = self._ensure_consumer()
        if self.consumer.in_transaction:
            return await super()._highwaters(partitions)
        tps = [TopicPartition(tp.topic, tp.partition) for tp in partitions]
        starts = await consumer.beginning_offsets(tps)
        highwaters = await fetch_highwaters(consumer._client, tps, starts)
        return {tp: highwaters[TopicPartition(tp.topic, tp.partition)] for tp in partitions}


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class HighwaterFromFetchTransport(faust_aiokafka.Transport):
    """faust's aiokafka transport, reading end offsets from Fetch instead of ListOffsets."""

    Consumer: ClassVar[type[Any]] = _Consumer


def register() -> None:
    """Make ``kafka-highwater-from-fetch://host:port`` a faust broker URL (idempotent)."""
    from faust.transport.drivers import TRANSPORTS

    TRANSPORTS.aliases[TRANSPORT_SCHEME] = f"{__name__}:HighwaterFromFetchTransport"

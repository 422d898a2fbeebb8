"""Build the faust app from settings. Wiring only: agents live in their own modules."""

from __future__ import annotations

from typing import Any

import faust
from faust.types import TableT

from stream.config import KafkaSettings
from stream.kafka import compat as kafka_compat
from stream.kafka import flow
from stream.kafka.security import faust_credentials
from stream.kafka.table_store import MemoryBudget, table_options


def broker_url(kafka: KafkaSettings) -> str:
    """faust broker URL(s) for the configured bootstrap servers and compatibility measures."""
    scheme = "kafka"
    if kafka.highwater_from_fetch or kafka.fetch_max_wait_ms is not None:
        kafka_compat.register(kafka.highwater_from_fetch, kafka.fetch_max_wait_ms)
        scheme = kafka_compat.TRANSPORT_SCHEME
    return ";".join(f"{scheme}://{host}" for host in kafka.bootstrap.split(","))


def create_app(app_id: str, kafka: KafkaSettings, **options: Any) -> faust.App:
    """A faust app on the configured broker; ``options`` are passed to faust as they are."""
    options.setdefault("broker_session_timeout", kafka.session_timeout_s)
    options.setdefault("broker_heartbeat_interval", kafka.heartbeat_interval_s)
    options.setdefault("broker_client_id", kafka.client_id)
    # Producers wait for all in-sync replicas; idempotent producers and transactions are not used
    # (effectively-once comes from idempotent keys downstream, see README.md).
    options.setdefault("producer_acks", -1)
    # faust sends each record as soon as it is produced (linger 0): a request per record costs
    # the worker and the broker more CPU than the records themselves. A few ms batch them.
    options.setdefault("producer_linger", kafka.producer_linger_ms / 1000)
    options.setdefault("broker_credentials", faust_credentials(kafka))
    app = faust.App(app_id, broker=broker_url(kafka), **options)
    flow.install(app)  # before the agents and tables make their queues
    return app


def json_table(
    app: faust.App, name: str, partitions: int, budget: MemoryBudget | None = None
) -> TableT[str, Any]:
    """A changelogged state table keyed by plain strings, with JSON values (our records' dicts);
    ``None`` for a missing key. Partitioned like the topics it is updated from; on disk within
    the worker's memory ``budget`` (``None`` with tables in memory)."""
    return app.Table(
        name,
        default=None,
        partitions=partitions,
        key_type=str,
        schema=faust.Schema(key_type=str, key_serializer="raw", value_serializer="json"),
        options=table_options(budget),
    )

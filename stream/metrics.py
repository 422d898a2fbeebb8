"""Prometheus metrics of the pipeline, per stage. ``serve(port)`` exposes /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RECORDS = Counter(
    "finpulse_records_total",
    "Records through each stage, by outcome",
    ["stage", "outcome"],
)
DEADLETTER = Counter(
    "finpulse_deadletter_total", "Records rejected at ingest, by reason", ["reason"]
)
BATCH_SECONDS = Histogram(
    "finpulse_stage_batch_seconds",
    "Time to process one batch, by stage",
    ["stage"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
LAG_SECONDS = Histogram(
    "finpulse_event_lag_seconds",
    "From publication (event time) to being written to ClickHouse",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
)
SCORING_RETRIES = Counter("finpulse_scoring_retries_total", "Triton calls retried after an error")
SCORING_UP = Gauge("finpulse_scoring_up", "1 while Triton answers, 0 during an outage")
SCORING_WATERMARK = Gauge(
    "finpulse_scoring_watermark_seconds",
    "Event time (unix s) this worker's marks let windows close to (0: held, or sources idle)",
)
SCORING_BEHIND = Gauge(
    "finpulse_scoring_partitions_behind", "Assigned text.enriched partitions with records waiting"
)
TABLE_MEMORY = Gauge(
    "finpulse_table_memory_bytes",
    "RocksDB memory of this worker's tables (block cache and memtables, within table_memory_mb)",
)
SOURCE_LAG = Gauge(
    "finpulse_source_event_lag_seconds",
    "Wall time minus the event time ingest has reached, per raw partition this worker reads",
    ["partition"],
)
SOURCE_IDLE = Gauge(
    "finpulse_source_idle",
    "1 while a raw partition is idle (nothing to read, quiet)",
    ["partition"],
)
SINK_ROWS = Counter("finpulse_sink_rows_total", "Rows written to ClickHouse", ["table"])
SINK_RETRIES = Counter("finpulse_sink_retries_total", "ClickHouse inserts retried", ["table"])
WINDOWS = Counter("finpulse_windows_emitted_total", "Window states emitted", ["final"])
WINDOWS_AMENDED = Counter(
    "finpulse_windows_amended_total",
    "Closed windows emitted again: texts within the allowed lateness came after they closed",
)
ALERTS = Counter("finpulse_alerts_total", "Alerts raised", ["rule", "kind", "severity"])
DELIVERIES = Counter(
    "finpulse_deliveries_total",
    "Attempts to deliver an alert, by channel and outcome",
    ["channel", "outcome"],
)
DELIVERY_SECONDS = Histogram(
    "finpulse_delivery_seconds",
    "Time one delivery attempt took, by channel",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DELIVERY_BACKLOG = Gauge("finpulse_delivery_backlog", "Alerts queued for their subscribers")
SUBSCRIPTIONS = Gauge("finpulse_subscriptions", "Subscriptions this worker knows, by status",
                      ["status"])  # fmt: skip


def serve(port: int) -> None:
    if port:
        start_http_server(port, addr="127.0.0.1")

"""A faust worker for the recovery test: counts events per key in 60 s tumbling windows.

Run as ``python -m faust -A tests.integration.faust_counter_app worker``; configured through the
environment: COUNTER_APP_ID, COUNTER_TOPIC, COUNTER_WEB_PORT, COUNTER_DATADIR and the
FINPULSE_KAFKA_* settings.
GET /counts/ returns {"key|window_start": count}.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from stream.config import load_settings
from stream.kafka.app import create_app

app = create_app(
    os.environ["COUNTER_APP_ID"],
    load_settings().kafka,
    store="memory://",
    datadir=os.environ["COUNTER_DATADIR"],
    web_host="127.0.0.1",
    web_port=int(os.environ["COUNTER_WEB_PORT"]),
    topic_partitions=2,
    broker_commit_interval=0.5,
    table_standby_replicas=0,
)
events = app.topic(os.environ["COUNTER_TOPIC"], key_type=str, value_type=bytes, partitions=2)
counts = (
    app.Table("counts", default=int, partitions=2)
    .tumbling(60, expires=timedelta(days=1))
    .relative_to_stream()
)


@app.agent(events)
async def count(stream: Any) -> None:
    async for key, _value in stream.items():
        counts[key] += 1


@app.page("/counts/")
async def get_counts(web: Any, request: Any) -> Any:
    data = {f"{key}|{int(window[0])}": value for (key, window), value in counts.table.data.items()}
    return web.json(data)

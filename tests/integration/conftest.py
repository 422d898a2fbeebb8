"""Integration tests run against the real servers of a stack started by ops/stack.

`./ops/test` starts a stack on its own ports and exports its settings (`./ops/stack env`); to run
these tests by hand: `./ops/stack up && eval "$(./ops/stack env)" && pytest tests/integration`.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from stream import health
from stream.config import Settings, load_settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    settings = load_settings()
    results = [
        asyncio.run(health.check_kafka(settings.kafka, 5)),
        health.check_clickhouse(settings.clickhouse, 5),
        health.check_triton(settings.triton, 5),
    ]
    down = [f"{r.service} at {r.address}: {r.detail}" for r in results if not r.ok]
    if down:
        pytest.fail(
            'integration tests need the local stack: ./ops/stack up && eval "$(./ops/stack env)"\n'
            + "\n".join(down),
            pytrace=False,
        )
    return settings


@pytest.fixture
def unique() -> str:
    """A short name unique to this test run, for topics, groups and databases."""
    return "t" + uuid.uuid4().hex[:10]

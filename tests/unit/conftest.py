"""Unit tests are of pure logic: the settings of a stack the shell happens to point at (``eval
"$(./ops/stack env)"``, as ./ops/test does) must not reach them."""

from __future__ import annotations

import os

import pytest

SECTIONS = ("KAFKA", "CLICKHOUSE", "TRITON", "PIPELINE", "ALERTS", "DELIVERY", "API")


@pytest.fixture(autouse=True)
def _no_stack_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name == "FINPULSE_CONFIG" or name.startswith(tuple(f"FINPULSE_{s}_" for s in SECTIONS)):
            monkeypatch.delenv(name)

"""The alerts agent over an in-memory faust app: amendments judged again, replays skipped."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import faust

from stream.alerts import agent as alert_agent
from stream.alerts import state_keys
from stream.alerts.rules import RULES
from stream.config import AlertSettings, PipelineSettings
from stream.records import WindowRecord

T0 = 1_760_000_000.0


def window(i: int, neg: int, neu: int, pos: int, amendments: int = 0) -> WindowRecord:
    n, score_sum, start = neg + neu + pos, 0.6 * pos - 0.8 * neg, T0 + i * 60
    emitted_at = start + 910 + 30 * amendments
    return WindowRecord("AAPL", start, 900, n, neg, neu, pos, score_sum, score_sum / n, 0.0, 0.0,
                        neg / n, True, emitted_at, ["wire:1"], amendments)  # fmt: skip


def alerts_of(
    records: list[WindowRecord],
    settings: AlertSettings | None = None,
    writes: list[str] | None = None,
    table_before: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """What the agent sends for these windows, and what its table holds after them; ``writes``
    receives the key of every table write; ``table_before``: what the table held at the start (a
    restart). One partition: every topic's state is on it."""
    app = faust.App("alerts-test", broker="kafka://127.0.0.1:1", store="memory://")
    windows, alerts = app.topic("windows", value_serializer="raw"), app.topic("alerts")
    sent: list[dict[str, Any]] = []

    async def send(key: bytes, value: bytes) -> None:
        sent.append(json.loads(value))

    alerts.send = send  # type: ignore[method-assign,assignment]
    pipeline = PipelineSettings(partitions=1)
    alert_agent.register(app, windows, alerts, pipeline, settings or AlertSettings())
    table = app.tables["alert-state"]
    on_key_set = table.on_key_set

    def counted(key: str, value: Any) -> None:
        if writes is not None:
            writes.append(key)
        on_key_set(key, value)

    table.on_key_set = counted  # type: ignore[method-assign]
    for key, value in (table_before or {}).items():
        table.data[key] = value  # as recovered from the changelog

    async def deliver() -> None:
        async with app.agents["alerts"].test_context() as agent:
            for w in records:
                await agent.put(w.to_json())

    asyncio.run(deliver())
    return sent, dict(table.items())


def test_an_amended_window_alerts_once_with_its_lateness_and_a_replay_is_skipped() -> None:
    calm = [window(i, 2 + i % 2, 8, 10) for i in range(10)]
    first, amended = window(10, 2, 4, 4), window(10, 12, 4, 4, amendments=1)  # negatives late
    later = [window(11, 2, 8, 10), window(12, 3, 8, 10)]
    sent, table = alerts_of([*calm, first, *later, amended, amended, window(13, 2, 8, 10)])
    got = [
        (a["rule"], a["kind"], a["window_start"] - T0, a["evidence"].get("amended")) for a in sent
    ]
    assert got == [
        ("negative_surge", "alert", 600.0, {"amendments": 1, "late_by_s": 40.0}),
        ("negative_surge", "resolution", 660.0, {"amendments": 0, "late_by_s": 130.0}),
    ]
    assert sent[0]["evidence"]["window"]["n_negative"] == 12  # the record that arrived, in full
    assert sent[1]["evidence"]["window"] == {"n": 20, "negative_share": 0.1}  # what was kept
    assert [key for key in table if "\x1f" not in key] == ["AAPL"]  # its head; the rest rows
    assert set(table["AAPL"]) == set(RULES)


def test_a_restarted_agent_goes_on_from_its_table_as_if_it_had_not_stopped() -> None:
    ws = [window(i, 2 + i % 2, 8, 10) for i in range(10)]
    ws += [window(10, 2, 4, 4), window(11, 2, 8, 10), window(10, 12, 4, 4, amendments=1)]
    ws += [window(i, 2, 8, 10) for i in range(12, 80)]
    ws += [window(80, 14, 4, 4), window(81, 2, 8, 10)]  # an alert past the cooldown
    sent, table = alerts_of(ws)
    assert [a["kind"] for a in sent] == ["alert", "resolution", "alert", "resolution"]
    # heads at the first window, the amendment, then every HEAD_EVERY: a restart replays rows
    for cut in (3, 11, 12, 31, 33, 44, 81, 82, 83):
        first, table_then = alerts_of(ws[:cut])
        then, table_after = alerts_of(ws[cut - 1 :], table_before=table_then)  # one replayed
        assert ids(first + then) == ids(sent) and table_after == table


def ids(alerts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(a["alert_id"], a["kind"]) for a in alerts]


def test_a_topic_quiet_longer_than_its_expiry_holds_no_alert_state() -> None:
    quiet = [dataclasses.replace(window(i, 2, 8, 10), topic="QUIET") for i in range(10)]
    busy = [window(i, 2 + i % 2, 8, 10) for i in range(200)]  # 200 minutes on
    settings = AlertSettings(topic_expiry_s=3600)
    _, table = alerts_of([*quiet, *busy[:100]], settings)
    assert {key.split("\x1f")[0] for key in table} == {"AAPL", "QUIET"}  # next look: at 120 min
    _, table = alerts_of([*quiet, *busy], settings)
    assert {key.split("\x1f")[0] for key in table} == {"AAPL"}
    _, table = alerts_of([*quiet, *busy], AlertSettings(topic_expiry_s=7 * 86_400))
    assert {key.split("\x1f")[0] for key in table} == {"AAPL", "QUIET"}


def test_a_window_writes_its_row_and_the_head_only_every_so_often() -> None:
    ws = [window(i, 2 + i % 2, 8, 10) for i in range(70)]
    once: list[str] = []
    alerts_of(ws, writes=once)
    heads = [i for i, key in enumerate(once) if "\x1f" not in key]
    rows = [key for key in once if "\x1f" in key]
    assert len(rows) == len(ws)  # every first window moves the states on: its row gives how
    every = state_keys.HEAD_EVERY
    assert len(heads) == -(-len(ws) // every)  # the first window's, then one every HEAD_EVERY
    assert heads == [(every + 1) * k for k in range(len(heads))]  # (a head, then its row)
    twice: list[str] = []
    alerts_of([*ws, *ws], writes=twice)  # the same windows again: a replay
    assert twice == once

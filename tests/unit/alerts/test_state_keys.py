"""The alert-state table as a head and rows: what is written reads back as the history it was,
through replays, amendments, crashes between writes and an older release's whole entries."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from stream.alerts import state_keys
from stream.alerts.history import History, judge
from stream.alerts.rules import RULES, Rule, RuleSettings
from stream.alerts.state_keys import Stored
from stream.records import WindowRecord
from tests.unit.alerts.test_history import PS, S, calm, deliveries, run, surge

KEY = state_keys.head_key("AAPL", "negative_surge")


def apply(table: dict[str, Any], puts: list[tuple[str, Any]], deletes: list[str]) -> None:
    for key, value in puts:
        table[key] = json.loads(json.dumps(value))  # as the changelog gives it back
    for key in deletes:
        table.pop(key, None)


def deliver(
    table: dict[str, Any], ws: list[WindowRecord], rule: Rule, s: RuleSettings = S
) -> Stored:
    """Judge ``ws`` as the agent does, writing to ``table``; what it holds of the history."""
    key = state_keys.head_key("AAPL", rule)
    stored = state_keys.load(table.items()).get(key) or Stored(History())
    for w in ws:
        after, _ = judge(stored.history, w, rule, s)
        if after is not stored.history:
            stored, puts, deletes = state_keys.writes(key, stored, after)
            apply(table, puts, deletes)
    return stored


@settings(max_examples=100, deadline=None)
@given(deliveries(), st.sampled_from(RULES))
def test_what_is_written_reads_back_as_the_history_after_every_window(
    case: tuple[list[WindowRecord], list[WindowRecord]], rule: Rule
) -> None:
    _, delivered = case
    key, table = state_keys.head_key("AAPL", rule), {}
    stored = Stored(History())
    for w in delivered:
        after, _ = judge(stored.history, w, rule, PS, horizon_s=10 * 60)  # rows leave too
        if after is stored.history:
            continue
        stored, puts, deletes = state_keys.writes(key, stored, after)
        apply(table, puts, deletes)
        assert state_keys.load(table.items())[key] == stored
        # Only the head and the windows kept: rows past the horizon are deleted.
        rows = {state_keys.row_key(key, e.window_start) for e in after.entries}
        assert set(table) == {key, *rows}


def test_a_window_writes_its_head_and_one_row_and_a_replay_writes_nothing() -> None:
    table: dict[str, Any] = {}
    stored = deliver(table, [calm(i) for i in range(20)], "negative_surge")
    after, _ = judge(stored.history, calm(20), "negative_surge", S)
    _, puts, deletes = state_keys.writes(KEY, stored, after)
    assert [k for k, _ in puts] == [KEY, state_keys.row_key(KEY, 1200.0)] and deletes == []
    assert judge(after, calm(20), "negative_surge", S)[0] is after  # nothing to write


def test_an_amendment_rewrites_only_its_own_row_and_the_head() -> None:
    table: dict[str, Any] = {}
    stored = deliver(table, [*(calm(i) for i in range(20))], "negative_surge")
    after, _ = judge(stored.history, surge(15, amendments=1), "negative_surge", S)
    _, puts, _ = state_keys.writes(KEY, stored, after)
    assert [k for k, _ in puts] == [KEY, state_keys.row_key(KEY, 900.0)]


def test_a_crash_after_the_head_leaves_a_history_that_a_replay_completes() -> None:
    ws = [*(calm(i) for i in range(12)), surge(12), calm(13)]
    whole: dict[str, Any] = {}
    expected = deliver(whole, ws, "negative_surge")
    table: dict[str, Any] = {}
    stored = deliver(table, ws[:12], "negative_surge")
    after, _ = judge(stored.history, ws[12], "negative_surge", S)
    _, puts, _ = state_keys.writes(KEY, stored, after)
    apply(table, puts[:1], [])  # the head, not the row: the worker died
    restarted = deliver(table, ws[12:], "negative_surge")  # its input again from the last commit
    assert restarted.history == expected.history and table == whole


def test_rows_left_by_a_crash_outside_the_history_are_deleted_at_its_next_write() -> None:
    table: dict[str, Any] = {}
    deliver(table, [calm(i) for i in range(5)], "negative_surge")
    table[state_keys.row_key(KEY, 9000.0)] = [20, 2, 0, 0]  # after the head's last window
    stored = state_keys.load(table.items())[KEY]
    assert [e.window_start for e in stored.history.entries] == [0, 60, 120, 180, 240]
    deliver(table, [calm(5)], "negative_surge")
    assert state_keys.row_key(KEY, 9000.0) not in table


def test_rows_without_a_head_load_as_an_empty_history_whose_keys_are_all_listed() -> None:
    rows = {state_keys.row_key(KEY, 60.0): [20, 2, 0, 0]}
    stored = state_keys.load(rows.items())[KEY]
    assert stored.history == History() and state_keys.every_key(KEY, stored) == [*rows, KEY]


def test_a_history_written_whole_by_an_older_release_is_split_into_rows_at_its_next_write() -> None:
    h, _ = run("negative_surge", [calm(i) for i in range(10)])
    table: dict[str, Any] = {KEY: json.loads(json.dumps(h.to_dict()))}
    loaded = state_keys.load(table.items())[KEY]
    assert loaded.history == h and loaded.head is None
    stored = deliver(table, [calm(10)], "negative_surge")
    assert state_keys.load(table.items())[KEY] == stored
    assert len(table) == 1 + len(stored.history.entries)
    assert "history" not in table[KEY]


def test_a_state_written_before_histories_loads_too() -> None:
    h, _ = run("negative_surge", [calm(i) for i in range(10)])
    table = {KEY: h.state.to_dict()}
    assert state_keys.load(table.items())[KEY].history.state == h.state

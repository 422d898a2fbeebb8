"""The alert-state table as a head a topic and a row a window kept: what is written reads back
as the histories they were, through replays, amendments, crashes between writes and an older
release's whole entries."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.alerts import state_keys
from stream.alerts.history import History, judge, judge_all
from stream.alerts.rules import RULES, RuleSettings
from stream.alerts.state_keys import Stored
from stream.records import WindowRecord
from tests.unit.alerts.test_history import PS, S, calm, deliveries, run, surge, window

TOPIC = "AAPL"


def apply(table: dict[str, Any], puts: list[tuple[str, Any]], deletes: list[str]) -> None:
    for key, value in puts:
        table[key] = json.loads(json.dumps(value))  # as the changelog gives it back
    for key in deletes:
        table.pop(key, None)


def step(
    table: dict[str, Any], stored: Stored, w: WindowRecord, s: RuleSettings, **kw: float
) -> Stored:
    """Judge ``w`` for every rule as the agent does, writing to ``table``."""
    after, _ = judge_all(stored.histories, w, RULES, s, **kw)
    if all(after[r] is stored.histories.get(r) for r in after):
        return stored
    stored, puts, deletes = state_keys.writes(TOPIC, stored, after, s, **kw)
    apply(table, puts, deletes)
    return stored


def load(table: dict[str, Any], s: RuleSettings = S, **kw: float) -> dict[str, Stored]:
    return state_keys.load(table.items(), lambda topic: s, **kw)


def deliver(table: dict[str, Any], ws: list[WindowRecord], s: RuleSettings = S) -> Stored:
    stored = load(table, s).get(TOPIC) or Stored()
    for w in ws:
        stored = step(table, stored, w, s)
    return stored


def same(a: Stored, b: Stored) -> bool:
    return dict(a.histories) == dict(b.histories) and (a.rows, a.head, a.since) == (
        b.rows,
        b.head,
        b.since,
    )


def kept(stored: Stored) -> set[float]:
    return {e.window_start for h in stored.histories.values() for e in h.entries}


@settings(max_examples=150, deadline=None)
@given(deliveries(), st.sampled_from([1, 2, 5, state_keys.HEAD_EVERY]))
def test_what_is_written_reads_back_as_the_histories_after_every_window(
    case: tuple[list[WindowRecord], list[WindowRecord]], every: int
) -> None:
    _, delivered = case
    table: dict[str, Any] = {}
    stored = Stored()
    for w in delivered:
        after, _ = judge_all(stored.histories, w, RULES, PS, horizon_s=600)
        if all(after[r] is stored.histories.get(r) for r in after):
            continue
        # rows leave the horizon too
        stored, puts, deletes = state_keys.writes(
            TOPIC, stored, after, PS, horizon_s=600, head_every=every
        )
        apply(table, puts, deletes)
        # A restart here would go on from the same histories, rebuilt from the head and rows.
        assert same(load(table, PS, horizon_s=600)[TOPIC], stored)
        assert stored.since < every
        # The head and the rows it is rebuilt from: once written, the windows some rule keeps.
        assert set(table) == {TOPIC, *(state_keys.row_key(TOPIC, t) for t in stored.rows)}
        assert kept(stored) <= stored.rows
        if stored.since == 0:
            assert stored.rows == kept(stored)


def test_a_window_writes_its_row_alone_until_a_head_is_due_and_a_replay_writes_nothing() -> None:
    table: dict[str, Any] = {}
    stored = deliver(table, [calm(i) for i in range(20)])
    assert stored.since == 19  # the first window wrote the head, the others their rows
    after = {r: judge(stored.histories[r], calm(20), r, S)[0] for r in RULES}
    _, puts, deletes = state_keys.writes(TOPIC, stored, after, S)
    assert [k for k, _ in puts] == [state_keys.row_key(TOPIC, 1200.0)] and deletes == []
    _, puts, deletes = state_keys.writes(TOPIC, stored, after, S, head_every=20)
    assert [k for k, _ in puts] == [TOPIC, state_keys.row_key(TOPIC, 1200.0)]
    assert all(judge(after[r], calm(20), r, S)[0] is after[r] for r in RULES)  # nothing to write


def test_an_alert_is_remembered_from_its_row() -> None:
    table: dict[str, Any] = {}
    stored = deliver(table, [*(calm(i) for i in range(12)), surge(12)])
    assert {kind for h in stored.histories.values() for _, kind in h.sent} == {"alert"}
    assert [k for k in table if "\x1f" not in k] == [TOPIC] and stored.since == 12
    assert same(load(table)[TOPIC], stored)


def test_an_amendment_rewrites_only_its_own_row_and_the_head() -> None:
    table: dict[str, Any] = {}
    stored = deliver(table, [calm(i) for i in range(20)])
    after = {r: judge(stored.histories[r], surge(15, amendments=1), r, S)[0] for r in RULES}
    _, puts, _ = state_keys.writes(TOPIC, stored, after, S)
    assert [k for k, _ in puts] == [TOPIC, state_keys.row_key(TOPIC, 900.0)]


def test_a_row_says_which_rules_keep_it() -> None:
    table: dict[str, Any] = {}
    deliver(table, [calm(0), window(1, 1, 1, 1), calm(2)])  # 3 texts: under min_count
    loaded = load(table)[TOPIC].histories
    assert [e.window_start for e in loaded["volume_spike"].entries] == [0, 60, 120]
    assert [e.window_start for e in loaded["negative_surge"].entries] == [0, 120]


def test_a_crash_after_the_head_leaves_histories_that_a_replay_completes() -> None:
    ws = [*(calm(i) for i in range(12)), surge(12), calm(13)]
    whole: dict[str, Any] = {}
    expected = deliver(whole, ws)
    table: dict[str, Any] = {}
    stored = deliver(table, ws[:12])
    after = {r: judge(stored.histories[r], ws[12], r, S)[0] for r in RULES}
    _, puts, _ = state_keys.writes(TOPIC, stored, after, S, head_every=1)
    assert [k for k, _ in puts] == [TOPIC, state_keys.row_key(TOPIC, 720.0)]
    apply(table, puts[:1], [])  # the head, not the row nor the deletes: the worker died
    restarted = deliver(table, ws[12:])  # its input again from the last commit
    assert dict(restarted.histories) == dict(expected.histories)
    assert {k: v for k, v in table.items() if k != TOPIC} == {
        k: v for k, v in whole.items() if k != TOPIC
    }


def test_rows_no_rule_keeps_stay_until_the_next_head_then_go() -> None:
    table: dict[str, Any] = {}
    stored = Stored()
    for i in range(state_keys.HEAD_EVERY + 1):
        stored = step(table, stored, calm(i), S, horizon_s=600)
        rows = {k for k in table if "\x1f" in k}
        if i < state_keys.HEAD_EVERY:  # the head of window 0 is rebuilt from all of them
            assert len(rows) == i + 1 and stored.since == i
        else:  # a head: the rows past the 10-minute horizon are deleted
            assert stored.since == 0 and len(rows) == len(kept(stored)) == 11
    assert same(load(table, horizon_s=600)[TOPIC], stored)


def test_rows_without_a_head_load_as_a_topic_with_nothing_judged_and_all_its_keys() -> None:
    rows = {state_keys.row_key(TOPIC, 60.0): [20, 2, 0, 0, 7]}
    stored = load(rows)[TOPIC]
    assert stored.last_window == -float("inf")
    assert state_keys.every_key(TOPIC, stored) == [*rows, TOPIC]


def test_histories_written_whole_by_an_older_release_are_replaced_at_the_next_write() -> None:
    table: dict[str, Any] = {}
    for rule in RULES:
        h, _ = run(rule, [calm(i) for i in range(10)])
        table[f"{TOPIC}\x1f{rule}"] = json.loads(json.dumps(h.to_dict()))
        assert load(table)[TOPIC].histories[rule] == h
    table[f"{TOPIC}\x1fvolume_spike"] = run("volume_spike", [calm(0)])[0].state.to_dict()
    stored = deliver(table, [calm(10)])  # the oldest form, a state alone, is read too
    assert same(load(table)[TOPIC], stored)
    assert set(table) == {TOPIC, *(state_keys.row_key(TOPIC, t) for t in kept(stored))}


@pytest.mark.parametrize("every", [1, state_keys.HEAD_EVERY])
def test_the_changelog_of_a_busy_topic_is_a_fraction_of_whole_histories(every: int) -> None:
    """What a topic's judged windows cost: rows and heads (a head every window, or when due)
    against a history written whole per rule (an older release), at the default settings over
    500 windows of 20 to 150 texts: a tenth with a head a window, a hundredth with rows alone."""
    import random

    rng, table = random.Random(7), {}
    stored, whole, parts = Stored(), 0, 0
    for i in range(500):
        w = window(i, rng.randint(2, 40), rng.randint(5, 60), rng.randint(2, 50))
        after = {r: judge(stored.histories.get(r) or History(), w, r, RuleSettings())[0]
                 for r in RULES}  # fmt: skip
        whole += sum(len(json.dumps(h.to_dict())) + len(TOPIC) + 16 for h in after.values())
        stored, puts, deletes = state_keys.writes(
            TOPIC, stored, after, RuleSettings(), head_every=every
        )
        parts += sum(len(k) + len(json.dumps(v)) for k, v in puts) + sum(map(len, deletes))
        apply(table, puts, deletes)
    assert parts * (10 if every == 1 else 100) < whole

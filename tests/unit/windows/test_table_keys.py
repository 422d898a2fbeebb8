from __future__ import annotations

import json
from typing import Any

from stream.windows.panes import Pane, id_digest, pane_start, parse_specs
from stream.windows.state import TopicWindows
from stream.windows.table_keys import closed_key, load_states, pane_key, pane_keys
from tests.unit.windows.texts import T0, c

SPECS = parse_specs("60/60,900/60")


def build(topic: str, panes: dict[int, Pane], closed: float) -> TopicWindows:
    return TopicWindows(
        topic, SPECS, lateness_s=10, allowed_lateness_s=3600, panes=panes, closed_until=closed
    )


class Table:
    """What the window agent keeps: a delta per changed pane per batch, a clock per partition."""

    def __init__(self) -> None:
        self.items: dict[str, Any] = {}

    def write(self, tw: TopicWindows, starts: set[int]) -> None:
        for start in starts:
            pane = tw.panes[start]
            key = pane_key(tw.topic, start, pane.writes)
            self.items[key] = json.loads(json.dumps(pane.delta()))

    def load(self) -> dict[str, TopicWindows]:
        return load_states(self.items.items(), build, lambda topic: 0)[0]


def test_keys_are_topic_pane_start_and_sequence_or_the_partition_clock() -> None:
    assert pane_key("AAPL", T0, 3) == f"AAPL\x1f{T0}\x1f3"
    assert closed_key(2) == "~closed\x1f2"


def test_state_rebuilt_from_persisted_deltas_gives_the_same_windows() -> None:
    live = build("X", {}, 0.0)
    table = Table()
    for i in range(50):
        _, start = live.add(c(i, T0 + i * 7.0, "negative" if i % 3 else "positive", -0.5))
        table.write(live, {start})
    first, _ = live.close(T0 + 200, now=0)
    table.items[closed_key(0)] = live.closed_until

    restored = table.load()["X"]
    assert restored.panes == live.panes
    assert restored.add(c(49, T0 + 49 * 7.0, "negative")) == ("repeat", pane_start(T0 + 343))
    rest_live, _ = live.close(T0 + 5000, now=0)
    rest_restored, _ = restored.close(T0 + 5000, now=0)
    assert [w.to_json() for w in rest_live] == [w.to_json() for w in rest_restored]
    assert not {(w.window_seconds, w.window_start) for w in first} & {
        (w.window_seconds, w.window_start) for w in rest_restored
    }


def test_a_delta_lost_with_a_crash_is_counted_again_from_the_replay() -> None:
    # A batch touched two panes; the worker stopped after writing the first one's delta. The
    # batch is read again: the first pane's texts are repeats, the second's are counted.
    live = build("X", {}, 0.0)
    table = Table()
    batch = [c(1, T0 + 5), c(2, T0 + 65)]
    for contribution in batch:
        live.add(contribution)
    table.write(live, {T0})
    restored = table.load()["X"]
    assert [restored.add(x)[0] for x in batch] == ["repeat", "counted"]
    assert {p: pane.n for p, pane in restored.panes.items()} == {T0: 1, T0 + 60: 1}


def test_the_partition_clock_closes_every_topic_of_the_partition() -> None:
    table = Table()
    tw = build("Y", {}, 0.0)
    tw.add(c(1, T0 + 5))
    table.write(tw, {T0})
    table.items[closed_key(0)] = T0 + 70
    table.items[pane_key("Z", T0, 0)] = None  # a deleted entry
    states, clocks = load_states(table.items.items(), build, lambda topic: 0)
    assert list(states) == ["Y"] and states["Y"].closed_until == T0 + 70 and clocks == {0: T0 + 70}


def test_entries_of_an_older_release_are_read_and_deleted_with_their_pane() -> None:
    whole = {
        "n_negative": 1, "n_neutral": 0, "n_positive": 0, "score_sum": -0.5, "reach_sum": 1.0,
        "reach_score_sum": -0.5, "ids": [f"{id_digest('a'):016x}"],
        "negatives": [[-0.5, "a"]],
    }  # fmt: skip
    items = {f"X\x1f{T0}": whole, "X\x1f~closed": T0 + 30}
    tw = load_states(items.items(), build, lambda topic: 0)[0]["X"]
    assert (tw.panes[T0].n, tw.closed_until) == (1, T0 + 30)
    tw.add(c(7, T0 + 9))
    assert list(pane_keys("X", T0, tw.panes[T0])) == [f"X\x1f{T0}"]  # no delta written yet
    tw.panes[T0].delta()
    assert list(pane_keys("X", T0, tw.panes[T0])) == [f"X\x1f{T0}", pane_key("X", T0, 0)]


def test_amendments_are_counted_on_from_the_persisted_deltas() -> None:
    live = build("X", {}, 0.0)
    table = Table()
    live.add(c(1, T0 + 5))
    table.write(live, {T0})
    live.close(T0 + 70, now=0)
    assert live.add(c(2, T0 + 6))[0] == "amended"
    table.write(live, {T0})
    live.close(T0 + 80, now=0)
    table.items[closed_key(0)] = live.closed_until

    restored = table.load()["X"]
    assert restored.add(c(3, T0 + 7))[0] == "amended"
    closed, _ = restored.close(T0 + 90, now=0)
    assert {(w.window_seconds, w.n, w.amendments) for w in closed} == {(60, 3, 2), (900, 3, 2)}

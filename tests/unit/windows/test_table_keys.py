from __future__ import annotations

from stream.windows.panes import Pane, pane_start, parse_specs
from stream.windows.state import TopicWindows
from stream.windows.table_keys import closed_key, load_states, pane_key
from tests.unit.windows.texts import T0, c


def test_keys_are_topic_and_pane_start_or_the_closed_mark() -> None:
    assert pane_key("AAPL", T0) == f"AAPL\x1f{T0}"
    assert closed_key("AAPL") == "AAPL\x1f~closed"


def test_state_rebuilt_from_persisted_panes_gives_the_same_windows() -> None:
    specs = parse_specs("60/60,900/60")
    live = TopicWindows("X", specs, lateness_s=10)
    for i in range(50):
        live.add(c(i, T0 + i * 7.0, "negative" if i % 3 else "positive", -0.5 if i % 3 else 0.5))
    first, _ = live.close(T0 + 200, now=0)
    # What the window agent persists: the panes and the clock windows were closed up to.
    items = [(pane_key("X", p), pane.to_dict()) for p, pane in live.panes.items()]
    items.append((closed_key("X"), live.closed_until))

    def build(topic: str, panes: dict[int, Pane], closed: float) -> TopicWindows:
        return TopicWindows(topic, specs, lateness_s=10, panes=panes, closed_until=closed)

    restored = load_states(items, build)["X"]
    assert restored.add(c(49, T0 + 49 * 7.0, "negative"))[1] == pane_start(T0 + 343)
    assert restored.add(c(49, T0 + 49 * 7.0, "negative"))[0] == "repeat"
    rest_live, _ = live.close(T0 + 5000, now=0)
    rest_restored, _ = restored.close(T0 + 5000, now=0)
    key = lambda w: (w.window_seconds, w.window_start, w.n, w.n_negative, round(w.score_sum, 6))  # noqa: E731
    assert sorted(map(key, rest_live)) == sorted(map(key, rest_restored))
    assert not {(w.window_seconds, w.window_start) for w in first} & {
        (w.window_seconds, w.window_start) for w in rest_restored
    }


def test_a_topic_with_only_a_closed_mark_is_rebuilt_empty() -> None:
    def build(topic: str, panes: dict[int, Pane], closed: float) -> TopicWindows:
        return TopicWindows(topic, panes=panes, closed_until=closed)

    items = [(closed_key("X"), T0 + 70), (pane_key("Y", T0), None)]  # None: a deleted pane
    states = load_states(items, build)
    assert list(states) == ["X"]
    assert (states["X"].panes, states["X"].closed_until) == ({}, T0 + 70)


def test_amendments_are_counted_on_from_the_persisted_panes() -> None:
    specs = parse_specs("60/60,900/60")

    def build(topic: str, panes: dict[int, Pane], closed: float) -> TopicWindows:
        return TopicWindows(
            topic, specs, lateness_s=10, allowed_lateness_s=3600, panes=panes, closed_until=closed
        )

    live = build("X", {}, 0.0)
    live.add(c(1, T0 + 5))
    live.close(T0 + 70, now=0)
    assert live.add(c(2, T0 + 6))[0] == "amended"
    live.close(T0 + 80, now=0)
    items = [(pane_key("X", p), pane.to_dict()) for p, pane in live.panes.items()]
    items.append((closed_key("X"), live.closed_until))

    restored = load_states(items, build)["X"]
    assert restored.add(c(3, T0 + 7))[0] == "amended"
    closed, _ = restored.close(T0 + 90, now=0)
    assert {(w.window_seconds, w.n, w.amendments) for w in closed} == {(60, 3, 2), (900, 3, 2)}

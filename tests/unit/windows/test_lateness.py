"""Allowed lateness: texts after their window closed, but not too long after, amend it."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.records import WindowRecord
from stream.windows.panes import DEFAULT_SPECS, Pane, parse_specs
from stream.windows.state import CLOCK_USED, PANE_CHANGED, TopicWindows
from tests.unit.windows.texts import T0, c

SPECS = parse_specs("60/60,300/60")
Step = tuple[Any, ...]
Window = tuple[int, int, int, int]  # length, start - T0, n, amendments


def add(text: int, offset_s: int, outcome: str) -> Step:
    return ("add", text, offset_s, outcome)


def close(clock_s: int, *emitted: Window) -> Step:
    """Close to T0 + clock_s; the final windows given. Lateness is 10 s: a minute [s, s + 60)
    closes at s + 70, a five-minute window at s + 310."""
    return ("close", clock_s, sorted(emitted))


def fives(first_s: int, last_s: int, n: int, amendments: int) -> list[Window]:
    return [(300, s, n, amendments) for s in range(first_s, last_s + 1, 60)]


ON_TIME = [add(1, 5, "counted"), close(70, (60, 0, 1, 0), (300, -240, 1, 0))]
AMENDED_ONCE = [*ON_TIME, add(2, 30, "amended"), close(80, (60, 0, 2, 1), (300, -240, 2, 1))]
CASES: dict[str, tuple[float, list[Step]]] = {  # allowed lateness, steps
    "on time": (600, ON_TIME),
    "late within allowed lateness amends the closed windows once": (600, AMENDED_ONCE),
    "amended twice": (
        600,
        [*AMENDED_ONCE, add(3, 40, "amended"), close(90, (60, 0, 3, 2), (300, -240, 3, 2))],
    ),
    "texts counted before the clock moves amend a window once": (
        600,
        [*ON_TIME, add(2, 30, "amended"), add(3, 40, "amended"),
         close(80, (60, 0, 3, 1), (300, -240, 3, 1))],
    ),
    "no amendment until the clock moves": (
        600,
        [*ON_TIME, add(2, 30, "amended"), close(70), close(71, (60, 0, 2, 1), (300, -240, 2, 1))],
    ),
    "late beyond allowed lateness is not counted, not even where a window is open": (
        60,
        [add(1, 5, "counted"), close(129, (60, 0, 1, 0), (300, -240, 1, 0)),
         close(131, (300, -180, 1, 0)), add(2, 30, "late"), add(1, 5, "repeat"),
         close(400, *fives(-120, 0, 1, 0))],
    ),
    "just within allowed lateness": (
        60,
        [add(1, 5, "counted"), close(129, (60, 0, 1, 0), (300, -240, 1, 0)),
         add(2, 30, "amended"), close(130, (60, 0, 2, 1), (300, -240, 2, 1), (300, -180, 2, 0))],
    ),
    "a repeat after the close is a repeat, not an amendment": (
        600,
        [*AMENDED_ONCE, add(1, 5, "repeat"), add(2, 30, "repeat"), close(90)],
    ),
    "a late text is included in the windows still open, with no amendment for them": (
        600,
        [*AMENDED_ONCE, close(400, *fives(-180, 0, 2, 0))],
    ),
    "windows of several lengths amended at once": (
        600,
        [add(1, 5, "counted"), close(400, (60, 0, 1, 0), *fives(-240, 0, 1, 0)),
         add(2, 10, "amended"), close(401, (60, 0, 2, 1), *fives(-240, 0, 2, 1)),
         add(3, 65, "amended"),
         close(402, (60, 60, 1, 1), *fives(-180, 0, 3, 2), (300, 60, 1, 1))],
    ),
    "a window empty when it closed is first given amended": (
        600,
        [add(1, 65, "counted"), close(70), add(2, 5, "amended"),
         close(80, (60, 0, 1, 1), (300, -240, 1, 1))],
    ),
    "no allowed lateness: late as before": (
        0,
        [*ON_TIME, add(2, 30, "late"), close(400, *fives(-180, 0, 1, 0))],
    ),
}  # fmt: skip


def _key(w: WindowRecord) -> Window:
    assert w.final
    return (w.window_seconds, int(w.window_start) - T0, w.n, w.amendments)


@pytest.mark.parametrize(("allowed_s", "steps"), CASES.values(), ids=CASES.keys())
def test_allowed_lateness(allowed_s: float, steps: list[Step]) -> None:
    tw = TopicWindows("X", SPECS, lateness_s=10, allowed_lateness_s=allowed_s)
    for step in steps:
        if step[0] == "add":
            _, text, offset_s, outcome = step
            assert tw.add(c(text, T0 + offset_s)) == (outcome, T0 + offset_s // 60 * 60), step
        else:
            _, clock_s, emitted = step
            closed, _ = tw.close(T0 + clock_s, now=0)
            assert sorted(map(_key, closed)) == emitted, step


def test_amendments_number_on_after_a_restart_from_the_persisted_panes() -> None:
    tw = TopicWindows("X", SPECS, lateness_s=10, allowed_lateness_s=600)
    tw.add(c(1, T0 + 5))
    tw.close(T0 + 70, now=0)
    tw.add(c(2, T0 + 30))
    tw.close(T0 + 80, now=0)
    tw.add(c(3, T0 + 40))  # persisted with its pane; the worker stops before the next close

    stored = {p: [(0, json.loads(json.dumps(pane.delta())))] for p, pane in tw.panes.items()}
    panes = {p: Pane.from_deltas(deltas) for p, deltas in stored.items()}
    again = TopicWindows(
        "X", SPECS, lateness_s=10, allowed_lateness_s=600, panes=panes, closed_until=tw.closed_until
    )
    closed, _ = again.close(T0 + 90, now=0)
    assert sorted(map(_key, closed)) == [(60, 0, 3, 2), (300, -240, 3, 2)]


def test_panes_are_kept_while_a_window_can_still_be_amended() -> None:
    tw = TopicWindows("X", SPECS, lateness_s=10, allowed_lateness_s=600)
    tw.add(c(1, T0 + 5))
    assert tw.close(T0 + 909, now=0)[1] == {}
    assert tw.add(c(2, T0 + 6))[0] == "late"  # its minute closed at T0 + 70, 600 s ago and more
    # [T0, T0 + 300) closed at T0 + 310: a text in its last minute still amends it, so the pane
    # of its first minute is kept until T0 + 910.
    assert tw.add(c(3, T0 + 245))[0] == "amended"
    closed, expired = tw.close(T0 + 910, now=0)
    assert (300, 0, 2, 1) in map(_key, closed) and list(expired) == [T0]


def test_a_delta_carries_an_amendment_clock_once() -> None:
    tw = TopicWindows("X", SPECS, lateness_s=10, allowed_lateness_s=600)
    tw.add(c(1, T0 + 5))
    assert len(tw.panes[T0].delta()) == 8  # sums, ids, evidence: no amendment clocks
    tw.close(T0 + 70, now=0)
    tw.add(c(2, T0 + 6))
    tw.add(c(3, T0 + 7))
    assert tw.panes[T0].delta()[8] == [T0 + 70]
    tw.add(c(4, T0 + 8))
    assert len(tw.panes[T0].delta()) == 8
    assert {"counted", "amended"} == PANE_CHANGED


def _state_per_topic(texts_per_minute: int, allowed_s: float) -> tuple[int, float]:
    """Panes held and JSON bytes written per pane (a delta per text, the most there can be) for a
    topic with texts every minute for 8 hours."""
    tw = TopicWindows("X", DEFAULT_SPECS, lateness_s=10, allowed_lateness_s=allowed_s)
    written: dict[int, int] = defaultdict(int)
    for minute in range(8 * 60):
        for k in range(texts_per_minute):
            label = ("negative", "neutral", "positive")[(minute + k) % 3]
            score = 0.123456789 * (k % 7 - 3)
            _, start = tw.add(c(minute * 100 + k, T0 + minute * 60 + k, label, score, 1e4))
            written[start] += len(json.dumps(tw.panes[start].delta(), separators=(",", ":")))
        tw.close(T0 + minute * 60 + 59, now=0)
    sizes = [written[p] for p in tw.panes]
    return len(sizes), sum(sizes) / len(sizes)


@pytest.mark.parametrize(
    ("texts_per_minute", "allowed_s", "panes", "max_bytes"),
    [
        (1, 0, 60, 150),
        (1, 6 * 3600, 420, 150),
        (10, 6 * 3600, 420, 1100),
    ],
)
def test_state_a_topic_holds(
    texts_per_minute: int, allowed_s: float, panes: int, max_bytes: int
) -> None:
    # The numbers in stream/windows/state.py's docstring.
    held, bytes_per_pane = _state_per_topic(texts_per_minute, allowed_s)
    assert held == panes and bytes_per_pane <= max_bytes


def _bytes_per_text(texts: int) -> float:
    pane = Pane()
    total = 0
    for k in range(texts):
        label = ("negative", "neutral", "positive")[k % 3]
        pane.add(c(k, T0 + k % 60, label, 0.123456789 * (k % 7 - 3), 1e4))
        total += len(json.dumps(pane.delta(), separators=(",", ":")))
    return total / texts


def test_a_pane_changelog_costs_the_same_per_text_however_big_the_pane() -> None:
    # A write per text: the worst case (a batch's texts of one topic and minute share a write).
    # Written whole, a pane of k texts cost about k * k / 2 ids; as deltas, k ids.
    small, big = _bytes_per_text(10), _bytes_per_text(2000)
    assert big <= small * 1.15


# Property tests: texts spread over an hour, arriving in any order with repeats, clock moves (and
# restarts from what the agent persists) between them; checked against a batch count.

LABELS = ("negative", "neutral", "positive")
texts = st.lists(
    st.tuples(st.integers(0, 3599), st.sampled_from(LABELS), st.integers(-100, 100)),
    min_size=1,
    max_size=60,
)


@st.composite
def arrivals(draw: st.DrawFn) -> tuple[list[tuple[int, str, int]], list[tuple[str, int]]]:
    """Texts (seconds after T0, label, score in hundredths) and the steps: ("add", text),
    ("close", wall seconds after T0) or ("restart", 0)."""
    spread = draw(texts)
    repeats = draw(st.lists(st.integers(0, len(spread) - 1), max_size=20))
    order = draw(st.permutations([("add", i) for i in [*range(len(spread)), *repeats]]))
    steps: list[tuple[str, int]] = []
    for step in order:
        steps.extend(draw(st.lists(st.tuples(st.just("close"), st.integers(0, 3600)), max_size=2)))
        if draw(st.integers(0, 9)) == 0:
            steps.append(("restart", 0))
        steps.append(step)
    return spread, steps


def _batch(spread: list[tuple[int, str, int]], ids: set[int]) -> dict[tuple[int, int], Any]:
    """Per (length, start): counts per label and score sum, from the texts in ``ids``."""
    out: dict[tuple[int, int], Any] = defaultdict(lambda: [Counter(), 0])
    for i in ids:
        offset_s, label, score = spread[i]
        ts = T0 + offset_s
        for spec in DEFAULT_SPECS:
            start = int(ts // spec.step_s) * spec.step_s
            while start + spec.size_s > ts:
                out[(spec.size_s, start)][0][label] += 1
                out[(spec.size_s, start)][1] += score
                start -= spec.step_s
    return {k: (dict(counts), total) for k, (counts, total) in out.items()}


def _run(
    spread: list[tuple[int, str, int]], steps: list[tuple[str, int]], allowed_s: float
) -> tuple[dict[int, list[str]], list[WindowRecord]]:
    """Drive a topic's windows as the agent does, persisting what it must (stream/windows/state.py)
    and restarting from that; the outcomes per text and every final window given."""

    def build(panes: dict[int, Pane], closed_until: float) -> TopicWindows:
        return TopicWindows(
            "X", lateness_s=10, allowed_lateness_s=allowed_s, panes=panes, closed_until=closed_until
        )

    tw = build({}, 0.0)
    stored: dict[int, list[tuple[int, Any]]] = {}
    stored_closed = 0.0
    outcomes: dict[int, list[str]] = defaultdict(list)
    finals: list[WindowRecord] = []
    for verb, arg in [*steps, ("close", 30_000)]:
        if verb == "add":
            offset_s, label, score = spread[arg]
            outcome, pane = tw.add(c(arg, T0 + offset_s, label, score / 100))
            outcomes[arg].append(outcome)
            if outcome in CLOCK_USED:
                stored_closed = tw.closed_until
            if outcome in PANE_CHANGED:
                seq = tw.panes[pane].writes
                delta = json.loads(json.dumps(tw.panes[pane].delta()))
                stored.setdefault(pane, []).append((seq, delta))
        elif verb == "close":
            closed, expired = tw.close(max(T0 + arg, tw.closed_until), now=0)
            finals += closed
            if closed or expired:
                stored_closed = tw.closed_until
            for pane in expired:
                del stored[pane]
        else:
            tw = build({p: Pane.from_deltas(d) for p, d in stored.items()}, stored_closed)
    return outcomes, finals


def _last_finals(finals: list[WindowRecord]) -> dict[tuple[int, int], Any]:
    """The last final state of each window, after checking that amendments only grow and that a
    window given twice with the same count is the same."""
    seen: dict[tuple[int, int, int], tuple[int, int, int, float]] = {}
    last: dict[tuple[int, int], WindowRecord] = {}
    for w in finals:
        key = (w.window_seconds, int(w.window_start))
        if key in last:
            assert w.amendments >= last[key].amendments
        state = (w.n_negative, w.n_neutral, w.n_positive, round(w.score_sum, 6))
        assert seen.setdefault((*key, w.amendments), state) == state
        last[key] = w
    return {
        key: (
            {
                k: v
                for k, v in zip(LABELS, (w.n_negative, w.n_neutral, w.n_positive), strict=True)
                if v
            },
            round(w.score_sum * 100),
        )
        for key, w in last.items()
    }


@settings(max_examples=150, deadline=None)
@given(arrivals())
def test_with_lateness_allowed_over_the_spread_windows_end_as_a_batch_count(
    case: tuple[list[tuple[int, str, int]], list[tuple[str, int]]],
) -> None:
    spread, steps = case
    outcomes, finals = _run(spread, steps, allowed_s=2 * 3600)
    assert all(o[0] in PANE_CHANGED and set(o[1:]) <= {"repeat"} for o in outcomes.values())
    assert _last_finals(finals) == _batch(spread, set(range(len(spread))))


@settings(max_examples=150, deadline=None)
@given(arrivals(), st.sampled_from([0, 60, 300, 900, 1800]))
def test_every_text_is_counted_in_its_windows_or_reported_late_never_both(
    case: tuple[list[tuple[int, str, int]], list[tuple[str, int]]], allowed_s: int
) -> None:
    spread, steps = case
    outcomes, finals = _run(spread, steps, allowed_s=allowed_s)
    counted = {i for i, o in outcomes.items() if o[0] in PANE_CHANGED}
    late = {i for i, o in outcomes.items() if set(o) == {"late"}}
    assert counted | late == set(range(len(spread))) and not counted & late
    assert all(set(outcomes[i][1:]) <= {"repeat"} for i in counted)
    assert _last_finals(finals) == _batch(spread, counted)


@pytest.mark.parametrize(
    ("closed_until_s", "emitted"),
    [
        (70, [(60, 0, 2, 1), (300, -240, 2, 1)]),  # the minute had closed: amended once
        (65, [(60, 0, 2, 0), (300, -240, 2, 0)]),  # it had not: plainly counted
    ],
)
def test_a_pane_persisted_after_a_clock_that_was_not_counts_as_at_the_persisted_clock(
    closed_until_s: float, emitted: list[tuple[int, int, int, int]]
) -> None:
    pane = Pane()
    pane.add(c(1, T0 + 5))
    pane.add(c(2, T0 + 6))
    pane.amended_at(T0 + 200)  # text 2, at a clock the worker stopped before persisting
    tw = TopicWindows(
        "X", SPECS, lateness_s=10, allowed_lateness_s=600, panes={T0: pane},
        closed_until=T0 + closed_until_s,
    )  # fmt: skip
    closed, _ = tw.close(T0 + 80, now=0)
    assert sorted(map(_key, closed)) == emitted

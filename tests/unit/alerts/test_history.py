"""Windows judged again when amended: the same decisions and baselines as data in order."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.alerts.agent import alert_id, to_alert
from stream.alerts.history import Finding, History, expired, judge, row
from stream.alerts.rules import RULES, Decision, Rule, RuleSettings, RuleState, evaluate
from stream.records import WindowRecord

S = RuleSettings(min_count=10, warmup=6, warning_z=3.0, critical_z=5.0, cooldown_s=3600)
STEP_S, SIZE_S = 60, 900  # 15-minute windows hopping every minute


def window(i: int, neg: int, neu: int, pos: int, *, amendments: int = 0) -> WindowRecord:
    """Window ``i`` of texts scoring -0.8 (negative), 0 and +0.6 (positive)."""
    n = neg + neu + pos
    score_sum = 0.6 * pos - 0.8 * neg
    start = float(i * STEP_S)
    return WindowRecord("AAPL", start, SIZE_S, n, neg, neu, pos, score_sum, score_sum / n if n else
                        0.0, 0.0, 0.0, neg / n if n else 0.0, True, start + SIZE_S + 10 + 30 *
                        amendments, [f"wire:{i}"], amendments)  # fmt: skip


def calm(i: int) -> WindowRecord:
    return window(i, 2 + i % 2, 8, 10)  # a share around 0.12, score around +0.2


def surge(i: int, **kw: int) -> WindowRecord:
    return window(i, 12, 4, 4, **kw)  # share 0.6, score -0.36


def in_order(
    rule: Rule, ws: list[WindowRecord], s: RuleSettings = S
) -> tuple[list[tuple[float, Decision]], RuleState]:
    """What evaluate alone gives, window after window: the decisions and the last state."""
    state, out = RuleState(), []
    for w in ws:
        d = evaluate(rule, state, w, s, now=w.window_start + w.window_seconds)
        state.last_window = w.window_start
        if d is not None:
            out.append((w.window_start, d))
    return out, state


Reported = list[tuple[WindowRecord, list[Finding]]]


def run(
    rule: Rule, ws: list[WindowRecord], s: RuleSettings = S, *, horizon_s: float = 6 * 3600.0
) -> tuple[History, Reported]:
    """Deliver ``ws`` in this order: the last history, and what each delivery reported."""
    h, reported = History(), []
    for w in ws:
        h, findings = judge(h, w, rule, s, horizon_s=horizon_s)
        reported.append((w, findings))
    return h, reported


def reports(reported: Reported) -> list[tuple[float, str]]:
    """What was reported, in order: (window start, kind), which make the alert id."""
    return [(f.window.window_start, f.decision.kind) for _, fs in reported for f in fs]


def standing(h: History, rule: Rule, s: RuleSettings = S) -> list[tuple[float, Decision]]:
    """The decisions the history's windows make now, judged in order from its base."""
    state, out = dataclasses.replace(h.base, baseline=dataclasses.replace(h.base.baseline)), []
    for e in h.entries:
        d = evaluate(rule, state, e, s, now=e.window_end)
        if d is not None:
            out.append((e.window_start, d))
    return out


def series() -> list[WindowRecord]:
    bright = [window(i, 1, 4, 15) for i in range(10)]  # share 0.05, score +0.41
    ws = [*bright, surge(10), surge(11), window(12, 18, 1, 1), window(13, 18, 1, 1)]  # critical
    ws += [window(i, 1, 4, 15) for i in range(14, 20)]
    ws += [window(20, 2, 8, 80), window(21, 1, 2, 2)]  # a volume spike; too few texts to judge
    return ws + [window(i, 1, 4, 15) for i in range(22, 25)]


@pytest.mark.parametrize("rule", RULES)
def test_windows_in_order_give_the_decisions_of_evaluate(rule: Rule) -> None:
    expected, state = in_order(rule, series())
    h, reported = run(rule, series())
    assert expected, "the series should make this rule decide something"
    assert reports(reported) == [(start, d.kind) for start, d in expected]
    assert standing(h, rule) == expected and h.state == state
    assert all(f.amended is None for _, fs in reported for f in fs)


def test_an_amended_surge_alerts_as_in_order_and_says_it_was_amended() -> None:
    # Window 10 is first seen with half its texts (its negatives came late), then in full.
    truth = [calm(i) for i in range(10)] + [surge(10)] + [calm(i) for i in range(11, 14)]
    late = [*truth[:10], window(10, 2, 4, 4), *truth[11:13], surge(10, amendments=1), truth[13]]
    expected, state = in_order("negative_surge", truth)
    assert [(start, d.kind) for start, d in expected] == [(600.0, "alert"), (660.0, "resolution")]
    h, reported = run("negative_surge", late)
    assert h.state == state and standing(h, "negative_surge") == expected
    assert reports(reported) == [(600.0, "alert"), (660.0, "resolution")]
    # The alert comes with the amendment; the resolution on window 11, judged again, with the next
    # window to arrive (13), not before: later windows may be amended next.
    assert [(w.window_start, w.amendments) for w, rs in reported if rs] == [(600.0, 1), (780.0, 0)]
    before = run("negative_surge", late[:-2])[0]
    h1, [found] = judge(before, late[-2], "negative_surge", S)
    assert found.amended == {"amendments": 1, "late_by_s": late[-2].emitted_at - (600 + SIZE_S)}
    alert = to_alert(late[-2], found, now=0.0)
    assert alert.evidence["amended"] == found.amended and alert.window_start == 600.0
    assert alert.evidence["window"]["n"] == 20 and alert.evidence["most_negative"] == ["wire:10"]
    _, [resolved] = judge(h1, late[-1], "negative_surge", S)
    assert resolved.window.window_start == 660.0 and resolved.amended is not None
    assert resolved.amended["amendments"] == 0  # window 11 itself was not amended
    evidence = to_alert(late[-1], resolved, now=0.0).evidence
    assert evidence["window"] == {"n": 21, "negative_share": 3 / 21} and evidence["amended"]
    assert to_alert(late[-1], resolved, now=0.0).alert_id == alert_id(
        "AAPL", "negative_surge", "resolution", calm(11)
    )


def test_a_decision_on_a_later_window_that_an_amendment_of_it_withdraws_is_never_reported() -> None:
    # Windows 10 and 11 both surge, both first seen without their negatives. Judging 11 again after
    # 10's amendment, on its first version, ends the condition there; 11's own amendment, next,
    # says it goes on: that resolution is not reported. Window 12 resolves it.
    truth = [calm(i) for i in range(10)] + [surge(10), surge(11), calm(12)]
    late = [*truth[:10], window(10, 2, 4, 4), window(11, 1, 4, 5)]
    late += [surge(10, amendments=1), surge(11, amendments=1), truth[12]]
    expected, state = in_order("negative_surge", truth)
    waits = run("negative_surge", late[:13])[0].waiting
    assert [(e.window_start, d.kind) for e, d in waits] == [(660.0, "resolution")]
    h, reported = run("negative_surge", late)
    assert reports(reported) == [(start, d.kind) for start, d in expected]
    assert reports(reported) == [(600.0, "alert"), (720.0, "resolution")]
    assert h.state == state


def test_an_alert_already_sent_is_not_sent_again_and_one_withdrawn_is_not_retracted() -> None:
    ws = [calm(i) for i in range(10)] + [surge(10), calm(11)]
    h, reported = run("negative_surge", ws)
    assert reports(reported) == [(600.0, "alert"), (660.0, "resolution")]
    # More negatives: still the same alert on window 10, and its resolution on 11.
    h1, found = judge(h, window(10, 16, 4, 4, amendments=1), "negative_surge", S)
    kinds = [d.kind for _, d in standing(h1, "negative_surge")]
    assert found == [] and kinds == ["alert", "resolution"]
    # Many more neutral texts: no surge after all. Nothing is sent (no retraction yet), and the
    # baselines go on as if window 10 had been calm.
    diluted = window(10, 12, 100, 4, amendments=2)
    h2, found = judge(h1, diluted, "negative_surge", S)
    assert found == [] and standing(h2, "negative_surge") == []
    assert h2.state == in_order("negative_surge", [*ws[:10], diluted, ws[11]])[1]
    # Back to a surge (a third version): that alert was sent already.
    assert judge(h2, surge(10, amendments=3), "negative_surge", S)[1] == []


@pytest.mark.parametrize("rule", RULES)
def test_a_replay_changes_nothing(rule: Rule) -> None:
    ws = series()
    h, _ = run(rule, [*ws[:13], surge(10, amendments=1)])
    for w in (ws[5], ws[12], surge(10, amendments=1), surge(10)):
        assert judge(h, w, rule, S) == (h, [])


def test_an_amendment_that_leaves_the_figures_read_as_they_were_is_only_recorded() -> None:
    ws = [calm(i) for i in range(12)]
    h, _ = run("volume_spike", ws)
    same = dataclasses.replace(ws[5], amendments=1, reach_sum=3.0)  # a reach the rule does not read
    h1, found = judge(h, same, "volume_spike", S)
    assert found == [] and h1.state == h.state and h1.entries[5].amendments == 1
    assert judge(h1, same, "volume_spike", S) == (h1, [])


def test_a_window_first_read_by_an_amendment_is_judged_in_its_place() -> None:
    # Window 10 first came with 4 texts: under min_count, not read (nor kept) by the surge rule.
    truth = [calm(i) for i in range(10)] + [surge(10), calm(11), calm(12)]
    h, reported = run("negative_surge", [*truth[:10], window(10, 0, 2, 2), *truth[11:]])
    assert len(h.entries) == 12 and reports(reported) == []
    h, found = judge(h, surge(10, amendments=1), "negative_surge", S)
    assert [(f.window.window_start, f.decision.kind) for f in found] == [(600.0, "alert")]
    assert h.state == in_order("negative_surge", truth)[1]


def test_the_history_forgets_windows_past_the_horizon() -> None:
    ws = [calm(i) for i in range(40)]
    h, _ = run("negative_surge", ws, horizon_s=10 * STEP_S)
    assert [e.window_start for e in h.entries] == [i * 60.0 for i in range(29, 40)]
    assert h.base.baseline == in_order("negative_surge", ws[:29])[1].baseline
    assert h.base.last_window == 28 * 60.0
    for old in (surge(28, amendments=1), surge(20, amendments=1)):
        assert judge(h, old, "negative_surge", S, horizon_s=10 * STEP_S) == (h, [])
    h1, found = judge(h, surge(29, amendments=1), "negative_surge", S, horizon_s=10 * STEP_S)
    assert h1 != h and [f.decision.kind for f in found] == ["alert"]


def test_a_history_round_trips_through_json() -> None:
    late = [*[calm(i) for i in range(10)], window(10, 2, 4, 4), calm(11)]
    for rule in RULES:
        h, _ = run(rule, [*late, surge(10, amendments=1)])
        assert History.from_dict(json.loads(json.dumps(h.to_dict()))) == h
    h, _ = run("negative_surge", [*late, surge(10, amendments=1)])
    assert h.waiting and h.sent and any(e.amendments for e in h.entries)
    # The window the resolution waits on arrives (amended, what the rule reads unchanged): due.
    again = dataclasses.replace(calm(11), amendments=1, reach_sum=2.0)
    h, [due] = judge(h, again, "negative_surge", S)
    got = (due.window.window_start, due.window.amendments, due.decision.kind)
    assert got == (660.0, 1, "resolution")
    assert h.waiting == () and History.from_dict(json.loads(json.dumps(h.to_dict()))) == h
    assert History.from_dict(History().to_dict()) == History()


def test_a_state_stored_before_histories_reads_as_a_history_that_judges_on() -> None:
    h, _ = run("negative_surge", [calm(i) for i in range(12)])
    old = History.from_dict(h.state.to_dict())  # what the table held before histories
    assert old.state == h.state and old.entries == ()
    assert judge(old, surge(11, amendments=1), "negative_surge", S) == (old, [])  # too late
    on_old, on_new = (judge(x, surge(12), "negative_surge", S)[0] for x in (old, h))
    assert on_old.state == on_new.state
    assert RuleState.from_dict(h.to_dict()) == h.state  # and the old reader reads the new form


@pytest.mark.parametrize(("rule", "most"), [("negative_surge", 6_000), ("volume_spike", 4_000),
                                            ("sentiment_reversal", 12_000)])  # fmt: skip
def test_a_history_at_the_default_settings_stays_small(rule: Rule, most: int) -> None:
    """Six hours of 15-minute windows hopping every minute, of a busy topic (150 texts or so)."""
    import random

    rng = random.Random(7)
    h = History()
    for i in range(500):
        neg, neu, pos = rng.randint(2, 40), rng.randint(5, 60), rng.randint(2, 50)
        w = window(1_760_000_000 // STEP_S + i, neg, neu, pos)
        w = dataclasses.replace(w, score_mean=w.score_mean + rng.uniform(-0.01, 0.01))
        h, _ = judge(h, w, rule, RuleSettings())
    assert len(h.entries) == 361
    assert len(json.dumps(h.to_dict())) < most  # the whole history, as an older release wrote it
    assert len(json.dumps(h.head())) < 500  # the head, and a row per window, as now stored
    assert max(len(json.dumps(row(e))) for e in h.entries) < 40


def test_histories_whose_last_window_is_older_than_the_expiry_are_expired() -> None:
    h, _ = run("volume_spike", [calm(i) for i in range(3)])  # last window at 120 s
    stored = [("old", h.state.last_window), ("fresh", 3000.0)]
    assert expired(stored, newest_start_s=3000.0, expiry_s=2880.0) == []
    assert expired(stored, newest_start_s=3000.0, expiry_s=2879.0) == ["old"]
    assert expired([("none", History().state.last_window)], newest_start_s=0, expiry_s=1e9) == [
        "none"  # rows without a head (a crash while dropping a topic): nothing judged
    ]


# -- any windows, any amendments that add texts ------------------------------------------------

PS = RuleSettings(min_count=10, warmup=3, warning_z=2.0, critical_z=3.5, cooldown_s=5 * STEP_S)
MOODS = {"calm": (4, 10, 12), "surge": (20, 6, 4), "quiet": (2, 4, 4), "busy": (12, 30, 40)}


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[WindowRecord], list[WindowRecord]]:
    """Windows in order (their final versions), and the same windows as they might come: each first
    as a random part of its texts, then amended (added to) one or two times, a few windows later;
    some records delivered twice."""
    count = draw(st.integers(5, 40))
    truth, queue = [], []
    for i in range(count):
        most = MOODS[draw(st.sampled_from(["calm", "calm", "calm", "surge", "quiet", "busy"]))]
        final = [draw(st.integers(0, m)) for m in most]
        versions = [[draw(st.integers(0, c)) for c in final]]
        if draw(st.booleans()):
            versions.append(
                [draw(st.integers(a, c)) for a, c in zip(versions[0], final, strict=True)]
            )
        versions.append(final)
        at = i
        for k, counts in enumerate(
            v for j, v in enumerate(versions) if j == 0 or v != versions[j - 1]
        ):
            if sum(counts):  # no texts, no window
                queue.append((at, k, window(i, *counts, amendments=k)))
            at += draw(st.integers(0, 6))
        if sum(final):
            truth.append(window(i, *final, amendments=0))
    queue.sort(key=lambda x: (x[0], x[1]))
    delivered = []
    for _, _, w in queue:
        delivered += [w, w] if draw(st.integers(0, 9)) == 0 else [w]
    flush = calm(count)  # one more window, so that nothing still waits
    return [*truth, flush], [*delivered, flush]


@settings(max_examples=150, deadline=None)
@given(deliveries(), st.sampled_from(RULES))
def test_windows_amended_by_added_texts_end_as_windows_in_order(
    case: tuple[list[WindowRecord], list[WindowRecord]], rule: Rule
) -> None:
    truth, delivered = case
    expected, state = in_order(rule, truth, PS)
    h, reported = run(rule, delivered, PS)
    assert h.state == state  # the same baselines, condition, cooldown
    assert standing(h, rule, PS) == expected and h.waiting == ()
    sent = reports(reported)
    assert len(sent) == len(set(sent))  # nothing reported twice
    # Every alert of the in-order run is reported, and any reported once the windows up to its
    # own were complete is one of them. The others came from first versions and were withdrawn
    # by their amendments (there are no retractions yet).
    right = {(start, d.kind) for start, d in expected}
    assert right <= set(sent)
    final = {w.window_start: (w.n_negative, w.n_neutral, w.n_positive) for w in truth}
    complete_at: dict[float, int] = {}
    for j, (w, _) in enumerate(reported):
        if (w.n_negative, w.n_neutral, w.n_positive) == final[w.window_start]:
            complete_at.setdefault(w.window_start, j)
    for j, (_, findings) in enumerate(reported):
        for f in findings:
            start = f.window.window_start
            if all(at <= j for s, at in complete_at.items() if s <= start):
                assert (start, f.decision.kind) in right

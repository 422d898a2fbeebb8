from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import pytest

from stream.alerts.rules import RuleSettings, RuleState, evaluate
from stream.ingest.validation import Invalid, parse_post
from stream.replay import Planned, ReplayOptions, plan

NEWS = [f"Company {i} reports operating profit up {i} %" for i in range(50)]
SOCIAL = [f"$TSLA post number {i} looks bullish" for i in range(50)]
START = 1_800_000_000.0


def test_plan_is_reproducible_and_paced() -> None:
    options = ReplayOptions(count=500, rate=100, seed=3)
    a, b = plan(NEWS, SOCIAL, options, START), plan(NEWS, SOCIAL, options, START)
    assert a == b and len(a) == 500
    assert a[-1].at_s == pytest.approx(4.99)
    assert plan(NEWS, SOCIAL, ReplayOptions(count=500, seed=4), START) != a


def test_plan_mixes_every_kind_and_each_is_what_it_says() -> None:
    options = ReplayOptions(count=2_000, rate=0, seed=5, repeat_share=0.05, malformed_share=0.05)
    records = plan(NEWS, SOCIAL, options, START)
    kinds = {
        k: [r for r in records if r.kind == k]
        for k in ("valid", "repeat", "near_repeat", "malformed")
    }
    assert all(kinds.values()), {k: len(v) for k, v in kinds.items()}
    for r in kinds["malformed"]:
        with pytest.raises(Invalid):
            parse_post(r.value, now=START)
    valid = {}
    for r in kinds["valid"] + kinds["near_repeat"]:
        post = parse_post(r.value, now=START)
        valid[(post.source, post.id)] = post
        assert abs(post.published_at - (START + r.at_s)) <= 2.0
    assert len(valid) == len(kinds["valid"]) + len(kinds["near_repeat"])  # ids unique
    for r in kinds["repeat"]:
        post = parse_post(r.value, now=START)
        assert (post.source, post.id) in valid  # an exact copy of one sent before
    texts = {p.text for p in valid.values()}
    for r in kinds["near_repeat"]:
        assert json.loads(r.value)["text"] in texts
    bursts = sum(
        p.text.startswith("$") and not p.text.startswith("$TSLA post") for p in valid.values()
    )
    assert bursts >= options.burst_size


@dataclass(frozen=True)
class _Window:
    n: int
    negative_share: float
    score_mean: float


CALM_TEXTS = [f"calm text {i}" for i in range(40)]
GRIM_TEXTS = [f"grim text {i}" for i in range(10)]
DEMO = ReplayOptions(count=2400, rate=150, span_s=7200, turn="AAPL", turn_s=720)


def _windows(records: list[Planned], ticker: str, start: float) -> list[_Window]:
    """15-minute windows hopping by the minute over the ticker's posts, labelled perfectly: a
    grim text is negative, the first third of the calm ones too (a mixed baseline)."""
    posts = []
    for r in records:
        if r.kind != "malformed" and r.record and r.record["text"].startswith(f"${ticker} "):
            ts = datetime.fromisoformat(r.record["published_at"]).timestamp()
            text = r.record["text"].removeprefix(f"${ticker} ")
            negative = text in GRIM_TEXTS or text in CALM_TEXTS[:13]
            posts.append((ts, -1.0 if negative else 0.5))
    out = []
    for begin in range(int(start - DEMO.span_s), int(start) - 900 + 1, 60):
        scores = [s for ts, s in posts if begin <= ts < begin + 900]
        if scores:
            negative = sum(s < 0 for s in scores) / len(scores)
            out.append(_Window(len(scores), negative, sum(scores) / len(scores)))
    return out


def test_a_backfill_spans_the_hours_before_the_start_in_order() -> None:
    start = 1_700_000_000.0
    records = plan(CALM_TEXTS, CALM_TEXTS, DEMO, start, negative_texts=GRIM_TEXTS)
    times = [datetime.fromisoformat(r.record["published_at"]).timestamp()
             for r in records if r.record and r.kind == "valid"]  # fmt: skip
    assert start - DEMO.span_s - 2 <= min(times) < start - DEMO.span_s + 60
    assert start - 60 < max(times) <= start
    assert records[-1].at_s == pytest.approx((DEMO.count - 1) / DEMO.rate)


def test_the_demo_turn_raises_a_negative_surge_under_the_default_rules_and_only_at_the_end() -> (
    None
):
    start = 1_700_000_000.0
    # As `finpulse replay` plans it with the data at hand: Chinese forum posts mixed in.
    chinese = [f"今天又跌了，第{i}天" for i in range(50)]
    records = plan(CALM_TEXTS, CALM_TEXTS, DEMO, start, negative_texts=GRIM_TEXTS,
                   chinese_texts=chinese)  # fmt: skip
    settings, state, found = RuleSettings(), RuleState(), []
    for i, w in enumerate(_windows(records, "AAPL", start)):
        assert w.n >= settings.min_count  # every window is judged
        decision = evaluate("negative_surge", state, w, settings, now=float(i * 60))
        if decision is not None:
            found.append((i, decision.kind))
    windows = len(_windows(records, "AAPL", start))
    assert found and found[0][1] == "alert", found
    assert found[0][0] >= windows - (DEMO.turn_s + 900) / 60  # within the turn


def test_plan_mixes_in_chinese_forum_posts_without_a_language() -> None:
    chinese = [f"今天又跌了，第{i}天" for i in range(50)]
    records = plan(NEWS, SOCIAL, ReplayOptions(count=1_000, seed=6), START, chinese_texts=chinese)
    posts = [json.loads(r.value) for r in records if r.kind == "valid"]
    forum = [p for p in posts if p["source"] in ("guba", "xueqiu")]
    assert 50 < len(forum) < 200  # about a fifth of the social half
    assert all("lang" not in p and "今天又跌了" in p["text"] for p in forum)
    assert any(p["text"].startswith(("贵州茅台 ", "茅台 ", "腾讯 ")) for p in forum)

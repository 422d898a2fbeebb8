from __future__ import annotations

import json

import pytest

from stream.ingest.validation import Invalid, parse_post
from stream.replay import ReplayOptions, plan

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


def test_plan_mixes_in_chinese_forum_posts_without_a_language() -> None:
    chinese = [f"今天又跌了，第{i}天" for i in range(50)]
    records = plan(NEWS, SOCIAL, ReplayOptions(count=1_000, seed=6), START, chinese_texts=chinese)
    posts = [json.loads(r.value) for r in records if r.kind == "valid"]
    forum = [p for p in posts if p["source"] in ("guba", "xueqiu")]
    assert 50 < len(forum) < 200  # about a fifth of the social half
    assert all("lang" not in p and "今天又跌了" in p["text"] for p in forum)
    assert any(p["text"].startswith(("贵州茅台 ", "茅台 ", "腾讯 ")) for p in forum)

"""Chinese text at ingest: language, topics (names, aliases, codes, themes), personal data."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream.ingest.language import detect
from stream.ingest.pii import luhn_valid, redact, resident_id_valid
from stream.ingest.topic_extraction import (
    TopicExtractor,
    canonical_code,
    load_dictionary,
)

EXTRACTOR = TopicExtractor(load_dictionary())


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("公司利润大幅下降，股价暴跌", "zh"),
        ("茅台", "zh"),
        ("600519 涨停", "zh"),
        ("NVDA财报beat了，明天all in", "zh"),
        ("$TSLA 特斯拉 yyds", "zh"),
        ("騰訊控股公佈業績，股價上升", "zh"),  # traditional
        ("AAPL 苹果公司 earnings beat，利好", "zh"),
        ("今日は株価が上がった", "ja"),
        ("Kweichow Moutai (贵州茅台) shares rose 3% on Monday after results", "en"),
        ("Tencent 腾讯 shares rose on Monday after strong quarterly results", "en"),
    ],
)
def test_language_of_short_chinese_posts(text: str, code: str) -> None:
    found = detect(text)
    assert (found.code, found.confident) == (code, True)


@pytest.mark.parametrize(
    ("text", "topics"),
    [
        ("今天茅台涨停了", ["600519.SH"]),
        ("贵州茅台600519业绩超预期", ["600519.SH", "theme:earnings"]),
        ("600519.SS 又跌了", ["600519.SH"]),
        ("600519.SH 又跌了", ["600519.SH"]),
        ("Kweichow Moutai shares fell", ["600519.SH"]),
        ("000001.SZ 被立案调查", ["000001.SZ", "theme:legal"]),
        ("平安银行被处罚", ["000001.SZ", "theme:legal"]),
        ("腾讯00700回购", ["0700.HK", "theme:buybacks"]),
        ("0700.HK 騰訊控股公佈業績", ["0700.HK", "theme:earnings"]),
        ("Tencent results beat", ["0700.HK"]),
        ("宁德时代和比亚迪谁更强", ["002594.SZ", "300750.SZ"]),
        ("比亚迪 1211.HK 和 BYD", ["002594.SZ"]),
        ("招商银行降息", ["600036.SH", "theme:rates"]),
        ("苹果公司裁员", ["AAPL", "theme:layoffs"]),
        ("买Apple股票", ["AAPL"]),
        ("阿里巴巴 9988.HK $BABA", ["BABA"]),
        ("并购重组是利好", ["theme:mergers"]),
        ("央行加息，利率上行", ["theme:rates"]),
        ("未知公司 123456.SZ 涨停", ["123456.SZ"]),  # a suffixed code is a code, listed or not
    ],
)
def test_chinese_topics(text: str, topics: list[str]) -> None:
    assert EXTRACTOR.topics(text) == topics


@pytest.mark.parametrize(
    "text",
    [
        "茅台镇的风景很好",  # a town: jieba knows 茅台镇 as one word
        "苹果汁很好喝",  # fruit: only 苹果公司 is Apple
        "成交额123456元，涨幅5%",  # a bare number is a code only when it is listed
        "2024年营收增长",
    ],
)
def test_no_company_inside_unrelated_words_or_numbers(text: str) -> None:
    assert [t for t in EXTRACTOR.topics(text) if not t.startswith("theme:")] == []


def test_one_topic_per_company_across_languages() -> None:
    texts = ["贵州茅台大涨", "茅台跌停", "600519", "600519.SS", "Moutai rallies"]
    assert {tuple(EXTRACTOR.topics(t)) for t in texts} == {("600519.SH",)}
    assert EXTRACTOR.topics("苹果公司") == EXTRACTOR.topics("$AAPL") == ["AAPL"]


def test_provider_codes_are_read_in_canonical_form() -> None:
    assert EXTRACTOR.topics("", ["600519.ss", "00700", "AAPL"]) == ["0700.HK", "600519.SH", "AAPL"]


@pytest.mark.parametrize(
    ("code", "canonical"),
    [
        ("600519", "600519.SH"),
        ("600519.SS", "600519.SH"),
        ("600519.sh", "600519.SH"),
        ("000001.SZ", "000001.SZ"),
        ("300750", "300750.SZ"),
        ("00700", "0700.HK"),
        ("700.HK", "0700.HK"),
        ("9988.HK", "9988.HK"),
        ("123", None),
        ("AAPL", None),
        ("600519.NY", None),
        ("00000", None),
    ],
)
def test_canonical_code(code: str, canonical: str | None) -> None:
    assert canonical_code(code) == canonical


@pytest.mark.parametrize(
    ("text", "expected", "count"),
    [
        ("我的电话13812345678，有事联系", "我的电话[phone]，有事联系", 1),
        ("电话 +86 138-1234-5678", "电话 [phone]", 1),
        ("手机8613912345678", "手机[phone]", 1),
        ("身份证号11010519491231002X请保密", "身份证号[id]请保密", 1),
        ("身份证号11010519491231002x", "身份证号[id]", 1),
        ("身份证11010519491231002Y", "身份证11010519491231002Y", 0),  # wrong check digit
        ("卡号4111111111111111转账", "卡号[card]转账", 1),
        ("卡号6212 2612 0200 9371 759", "卡号[card]", 1),
        ("卡号4111111111111112", "卡号4111111111111112", 0),  # fails Luhn
        ("贵州茅台600519涨停，成交额123456789元", "贵州茅台600519涨停，成交额123456789元", 0),
        ("2024年营收12345678901元", "2024年营收12345678901元", 0),  # not a mobile (12...)
    ],
)
def test_chinese_personal_data_is_redacted(text: str, expected: str, count: int) -> None:
    assert redact(text) == (expected, count)


def _id_with_check(body: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


@given(
    region=st.integers(110000, 659999),
    year=st.integers(1930, 2019),
    month=st.integers(1, 12),
    day=st.integers(1, 28),
    sequence=st.integers(0, 999),
)
def test_every_resident_id_with_its_check_digit_is_redacted(
    region: int, year: int, month: int, day: int, sequence: int
) -> None:
    number = _id_with_check(f"{region}{year}{month:02d}{day:02d}{sequence:03d}")
    assert resident_id_valid(number)
    assert redact(f"证件{number}号") == ("证件[id]号", 1)


@given(st.text(alphabet="0123456789", min_size=15, max_size=18))
def test_luhn_check_digit_completes_any_prefix(prefix: str) -> None:
    check = next(d for d in "0123456789" if luhn_valid(prefix + d))
    assert [d for d in "0123456789" if luhn_valid(prefix + d)] == [check]

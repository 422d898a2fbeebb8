from __future__ import annotations

import pytest

from stream.ingest.enrich import enrich
from stream.ingest.language import _identifier, classify, detect
from stream.ingest.normalize import content_hash, normalize_text
from stream.ingest.pii import Redaction, redact
from stream.ingest.topic_extraction import (
    Dictionary,
    TopicExtractor,
    _theme_pattern,
    load_dictionary,
)
from stream.records import Post
from stream.scoring.dedupe import Story, judge


def test_normalize_text() -> None:
    assert normalize_text("  Profit\u200b rose\n\t40 %\u0007 ") == "Profit rose 40 %"
    assert normalize_text("ﬁnance ①") == "finance 1"  # NFKC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AAPL \u202ebuy\u202c now", "AAPL buy now"),  # right-to-left override
        ("\u2066$TSLA\u2069 \u2067up\u2069 \u2068x\u2069", "$TSLA up x"),  # isolates
        ("\u202a\u202b\u202dmixed\u202c", "mixed"),  # embeddings, left-to-right override
        ("price\u200e 5\u200f%\u061c", "price 5%"),  # marks (LRM, RLM, Arabic letter mark)
        ("أرباح آبل ارتفعت", "أرباح آبل ارتفعت"),  # Arabic letters untouched
        ("\u05e8\u05d5\u05d5\u05d7 \u202bAAPL\u202c", "\u05e8\u05d5\u05d5\u05d7 AAPL"),  # Hebrew
    ],
)
def test_normalize_drops_bidirectional_controls_but_keeps_right_to_left_text(
    text: str, expected: str
) -> None:
    assert normalize_text(text) == expected


def test_content_hash_ignores_case_punctuation_links_and_spacing() -> None:
    a = content_hash("Apple beats estimates! https://t.co/abc")
    assert a == content_hash("APPLE  beats estimates https://other.example/x")
    assert a != content_hash("Apple misses estimates")
    assert 0 <= a < 2**63


@pytest.mark.parametrize(
    ("text", "expected", "count"),
    [
        ("mail john.doe+x@example.co.uk now", "mail [email] now", 1),
        ("call +1 (415) 555-0134 today", "call [phone] today", 1),
        ("ring 020 7946 0958", "ring [phone]", 1),
        ("EPS 1.23, revenue up 12.5%, $1,234.56", "EPS 1.23, revenue up 12.5%, $1,234.56", 0),
        ("on 2024-01-02 and 12/31/2024", "on 2024-01-02 and 12/31/2024", 0),
        ("12 500 000 shares in 2019 2020", "12 500 000 shares in 2019 2020", 0),
    ],
)
def test_redaction(text: str, expected: str, count: int) -> None:
    assert redact(text) == (expected, count)


def test_redaction_is_configurable() -> None:
    text = "a@b.com 020 7946 0958"
    assert redact(text, Redaction(emails=False)) == ("a@b.com [phone]", 1)
    assert redact(text, Redaction(emails=False, phones=False)) == (text, 0)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Profit rose 40 % in the third quarter", "en"),
        ("Deutsche Bank cuts to Hold", "en"),  # short headlines are not German
        ("$GM: Deutsche Bank cuts to Hold https://t.co/x", "en"),
        ("Der Gewinn stieg im dritten Quartal um 40 Prozent", "de"),
        ("Le bénéfice a augmenté de 40 % au troisième trimestre", "fr"),
        ("公司利润大幅下降，股价暴跌", "zh"),
        ("決算発表で株価が上昇した", "ja"),
        ("Прибыль компании выросла на 40 процентов за квартал", "ru"),
    ],
)
def test_language(text: str, code: str) -> None:
    assert detect(text).code == code


@pytest.mark.parametrize(
    "text",
    [
        "Der Gewinn stieg im dritten Quartal um 40 Prozent",
        "Le bénéfice a augmenté de 40 % au troisième trimestre",
        "El beneficio aumentó un 40 % en el tercer trimestre",
        "Прибыль компании выросла на 40 процентов за квартал",
        "Kurs akcji spadł po publikacji wyników",
        "Operating profit rose to EUR 13.1 mn from EUR 8.7 mn",
        "公司利润大幅下降，股价暴跌",
        "x",
    ],
)
def test_classify_over_present_features_is_langids_own(text: str) -> None:
    # Same model, same answer: only the zero features are left out of the sums.
    code, probability = _identifier().classify(text)
    ours = classify(text)
    assert ours[0] == code and ours[1] == pytest.approx(probability, rel=1e-9, abs=1e-12)


def test_language_defaults_when_unsure() -> None:
    found = detect("$AAPL 40 %")
    assert found == type(found)("en", False)


def test_topics_from_cashtags_provider_tickers_names_and_themes() -> None:
    x = TopicExtractor(load_dictionary())
    assert x.topics("$aapl beats estimates, Apple Inc raises dividend") == [
        "AAPL",
        "theme:dividends",
        "theme:earnings",
    ]
    assert x.topics("Coca-Cola lays off 2,000 workers", ["ko", "PEP"]) == [
        "KO",
        "PEP",
        "theme:layoffs",
    ]
    # Capitalised keywords match as written only; names are case-sensitive.
    assert x.topics("fed up with apple pie, sec 3") == []
    assert x.topics("The SEC sues Tesla; the Fed holds rates") == [
        "TSLA",
        "theme:legal",
        "theme:rates",
    ]
    assert x.topics("$BRK.B and US$5 and a$b") == ["BRK.B"]


def test_topics_dictionary_is_replaceable(tmp_path: object) -> None:
    x = TopicExtractor(Dictionary(names={"Acme Corp": "ACME"}, themes={"space": ["rocket"]}))
    assert x.topics("Acme Corp launches a Rocket") == ["ACME", "theme:space"]


def _post(**changes: object) -> Post:
    base = dict(id="1", source="x", published_at=1000.0, text="Mail me: a@b.com. $TSLA up")
    return Post(**{**base, **changes})  # type: ignore[arg-type]


def test_enrich_redacts_social_but_not_news_by_default() -> None:
    x = TopicExtractor(load_dictionary())
    social = enrich(_post(), source_topic="social.raw", partition=1, offset=5, now=2000.0,
                    social=True, extractor=x)  # fmt: skip
    news = enrich(_post(), source_topic="news.raw", partition=1, offset=5, now=2000.0,
                  social=False, extractor=x)  # fmt: skip
    assert social.text == "Mail me: [email]. $TSLA up" and social.redactions == 1
    assert news.text == "Mail me: a@b.com. $TSLA up" and news.redactions == 0
    assert social.event_id == "x:1" and social.topics == ["TSLA"]
    assert (social.kafka_partition, social.kafka_offset) == (1, 5)


def test_provider_language_is_trusted() -> None:
    x = TopicExtractor(load_dictionary())
    e = enrich(_post(lang="de"), source_topic="s", partition=0, offset=0, now=0.0,
               social=False, extractor=x)  # fmt: skip
    assert (e.lang, e.lang_detected) == ("de", False)


def test_dedupe_verdicts() -> None:
    x = TopicExtractor(load_dictionary())
    first = enrich(_post(), source_topic="s", partition=0, offset=1, now=0.0, social=False,
                   extractor=x)  # fmt: skip
    story = Story.of(first)
    assert judge(None, first, horizon_s=60) == "new"
    assert judge(story, first, horizon_s=60) == "replay"  # same record read again
    again = enrich(_post(), source_topic="s", partition=0, offset=9, now=0.0, social=False,
                   extractor=x)  # fmt: skip
    assert judge(story, again, horizon_s=60) == "repeat"
    other = enrich(_post(source="y"), source_topic="s", partition=0, offset=9, now=0.0,
                   social=False, extractor=x)  # fmt: skip
    assert judge(story, other, horizon_s=60) == "near_repeat"
    later = enrich(_post(source="y", published_at=5000.0), source_topic="s", partition=0,
                   offset=9, now=0.0, social=False, extractor=x)  # fmt: skip
    assert judge(story, later, horizon_s=60) == "new"
    # an exact repeat of the near-repeat is a repeat too, not another near-repeat
    story.add_copy(other)
    other_again = enrich(_post(source="y"), source_topic="s", partition=1, offset=10, now=0.0,
                         social=False, extractor=x)  # fmt: skip
    assert judge(story, other_again, horizon_s=60) == "repeat"
    assert judge(story, other, horizon_s=60) == "replay"


THEME_WORDS = ["dividend", "rate cut", "SEC", "Chapter 11", "kospi"]


@pytest.mark.parametrize(
    "text",
    [
        "Dividend raised", "DIVIDEND", "D\u0130V\u0130DEND", "d\u0131v\u0131dend", "the \u017fec",
        "KOSPI up", "\u212aOSPI",
        "Kospi", "rate cuts", "a RATE CUT", "SEC probe", "sec probe", "Chapter 11 filing",
        "chapter 11", "nothing here", "dividends", "re-dividend", "pre dividend-x",
    ],
)  # fmt: skip
def test_theme_found_exactly_when_its_regex_matches(text: str) -> None:
    # The substring test before each theme's regex must never hide a match.
    extractor = TopicExtractor(Dictionary(names={}, themes={"t": THEME_WORDS}))
    pattern = _theme_pattern(THEME_WORDS)
    assert pattern is not None
    assert ("theme:t" in extractor.topics(text)) == bool(pattern.search(text))


def test_every_theme_keyword_is_found_past_the_word_test() -> None:
    # The word test before each theme's regex may only skip texts the regex cannot match: every
    # keyword of the shipped dictionary, at word edges in any context, still finds its theme.
    dictionary = load_dictionary()
    x = TopicExtractor(dictionary)
    for theme, words in dictionary.themes.items():
        for word in words:
            if not word.isascii():
                continue
            forms = [word, word.upper()] if word == word.lower() else [word]
            for form in forms:
                for text in (form, f"Shares fell, {form}.", f"({form}) hit $AAPL", f"x\n{form}!"):
                    assert f"theme:{theme}" in x.topics(text), (theme, text)

from pathlib import Path

import pytest

from stream.errors import ConfigError
from stream.sentiment import data
from stream.sentiment.data import Example


def _pb(text: str, label: int, agreement: int) -> Example:
    return Example(text, label, data.PHRASEBANK, agreement)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Profit  rose\t40 %", "profit rose 40 %"),
        ("  \uff21\uff22\uff23 Corp ", "abc corp"),  # full-width letters
        ("Straße", "strasse"),
    ],
)
def test_normalise(text: str, key: str) -> None:
    assert data.normalise(text) == key


def test_deduplicate_keeps_highest_agreement_copy() -> None:
    rows = [_pb("Sales fell .", 0, 66), _pb("sales  fell .", 0, 100), _pb("Other", 1, 50)]
    kept = data.deduplicate(rows)
    assert sorted((e.text, e.agreement) for e in kept) == [("Other", 50), ("sales  fell .", 100)]


def test_deduplicate_drops_copies_that_disagree_at_top_agreement() -> None:
    rows = [_pb("Shares moved", 0, 75), _pb("shares moved", 2, 75), _pb("Shares moved", 1, 50)]
    assert data.deduplicate(rows) == []


def test_split_is_stratified_deterministic_and_disjoint() -> None:
    rows = [_pb(f"sentence {i}", i % 3, 100 if i % 2 else 66) for i in range(600)]
    first = data.split(rows, 0.2, seed=1)
    again = data.split(rows, 0.2, seed=1)
    other = data.split(rows, 0.2, seed=2)
    assert first == again
    assert first.validation != other.validation
    assert len(first.validation) == 120
    assert not {e.text for e in first.train} & {e.text for e in first.validation}
    for label in range(3):
        for agreement in (66, 100):
            n = sum(1 for e in first.validation if e.label == label and e.agreement == agreement)
            assert n == 20


def test_training_subset_filters_phrasebank_only() -> None:
    rows = [_pb("a", 0, 50), _pb("b", 0, 66), Example("c", 1, data.TWEETS, 100)]
    assert [e.text for e in data.training_subset(rows, 66)] == ["b", "c"]


def test_load_reads_both_files(tmp_path: Path) -> None:
    (tmp_path / "financial_phrasebank").mkdir()
    (tmp_path / "twitter_financial_news").mkdir()
    (tmp_path / "financial_phrasebank" / "sentences.csv").write_text(
        "sentence,label,agreement\nProfit rose,positive,100\nBad row,unknown,100\n"
    )
    (tmp_path / "twitter_financial_news" / "train.csv").write_text(
        'text,label\n"$X falls, again",negative\n'
    )
    assert data.load(tmp_path) == [
        Example("Profit rose", 2, data.PHRASEBANK, 100),
        Example("$X falls, again", 0, data.TWEETS, 100),
    ]


def test_load_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sentences\.csv not found"):
        data.load(tmp_path)


def test_read_eval_csv_rejects_unknown_labels(tmp_path: Path) -> None:
    path = tmp_path / "eval.csv"
    path.write_text("text,label\nfine,positive\nodd,bullish\n")
    with pytest.raises(ConfigError, match=r"eval.csv:3"):
        data.read_eval_csv(path)

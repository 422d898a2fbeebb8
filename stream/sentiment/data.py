"""Labelled data: loading, de-duplication and a fixed-seed validation split (pure, no torch).

Three sets (README of the data folder), in English: Financial PhraseBank
(``financial_phrasebank/sentences.csv``: sentence, label, agreement) and Twitter financial news
(``twitter_financial_news/train.csv``: text, label); in Chinese: FinFE (``finfe/train.csv``:
text, label), stock-forum posts. Sentences are de-duplicated on normalised text before
splitting, so no text sits in both the training and the validation split.
"""

from __future__ import annotations

import csv
import json
import random
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stream.errors import ConfigError
from stream.sentiment.labels import LABEL_IDS

PHRASEBANK = "phrasebank"
TWEETS = "tweets"
FINFE = "finfe"
_FILES = {  # in the order the split draws them (a set added later leaves earlier splits alone)
    PHRASEBANK: Path("financial_phrasebank") / "sentences.csv",
    TWEETS: Path("twitter_financial_news") / "train.csv",
    FINFE: Path("finfe") / "train.csv",
}
LANGUAGES = {PHRASEBANK: "en", TWEETS: "en", FINFE: "zh"}  # ISO 639-1 of each set's texts


@dataclass(frozen=True)
class Example:
    text: str
    label: int
    dataset: str
    agreement: int  # PhraseBank annotator agreement in per cent; 100 for the others (one label)


@dataclass(frozen=True)
class Split:
    train: list[Example]
    validation: list[Example]


def normalise(text: str) -> str:
    """The key for de-duplication: NFKC, case-folded, whitespace collapsed."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()


def load(data_dir: Path, datasets: tuple[str, ...] = (PHRASEBANK, TWEETS)) -> list[Example]:
    examples: list[Example] = []
    for name in datasets:
        if name not in _FILES:
            raise ConfigError(f"unknown data set {name!r}; known: {sorted(_FILES)}")
        path = data_dir / _FILES[name]
        if not path.is_file():
            raise ConfigError(
                f"{path} not found: pass the folder that holds financial_phrasebank/, "
                "twitter_financial_news/ and finfe/ (see README.md, 'Labelled data')"
            )
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                text = (row.get("sentence") or row.get("text") or "").strip()
                label = row["label"].strip()
                if not text or label not in LABEL_IDS:
                    continue
                agreement = int(row.get("agreement") or 100)
                examples.append(Example(text, LABEL_IDS[label], name, agreement))
    return examples


def deduplicate(examples: list[Example]) -> list[Example]:
    """One example per normalised text: the one with the highest agreement; texts whose copies
    disagree at that agreement level are dropped as ambiguous."""
    groups: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        groups[normalise(example.text)].append(example)
    kept: list[Example] = []
    for copies in groups.values():
        best = max(c.agreement for c in copies)
        top = [c for c in copies if c.agreement == best]
        if len({c.label for c in top}) == 1:
            kept.append(top[0])
    return kept


def split(examples: list[Example], validation_fraction: float, seed: int) -> Split:
    """Stratified by (data set, agreement, label), so each split keeps the mix of the whole.
    Strata are drawn in the order of ``_FILES``, so adding a set keeps the others' splits."""
    strata: dict[tuple[str, int, int], list[Example]] = defaultdict(list)
    for example in examples:
        strata[(example.dataset, example.agreement, example.label)].append(example)
    rng = random.Random(seed)
    train: list[Example] = []
    validation: list[Example] = []
    order = list(_FILES)
    for key in sorted(strata, key=lambda k: (order.index(k[0]), k[1], k[2])):
        group = sorted(strata[key], key=lambda e: e.text)
        rng.shuffle(group)
        n_val = round(len(group) * validation_fraction)
        validation.extend(group[:n_val])
        train.extend(group[n_val:])
    return Split(train, validation)


def training_subset(examples: list[Example], min_agreement: int) -> list[Example]:
    """PhraseBank sentences below ``min_agreement`` are left out of training (label noise)."""
    return [e for e in examples if e.dataset != PHRASEBANK or e.agreement >= min_agreement]


def read_eval_csv(path: Path) -> list[tuple[str, int]]:
    """A CSV with columns text (or sentence) and label, as `finpulse model eval` takes."""
    rows: list[tuple[str, int]] = []
    with path.open(encoding="utf-8", newline="") as f:
        try:
            for line, row in enumerate(csv.DictReader(f), start=2):
                text = row.get("text") if row.get("text") is not None else row.get("sentence")
                label = (row.get("label") or "").strip()
                if text is None or label not in LABEL_IDS:
                    raise ConfigError(
                        f"{path}:{line}: expected columns text,label with label in "
                        f"{sorted(LABEL_IDS)}"
                    )
                rows.append((text, LABEL_IDS[label]))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ConfigError(f"{path}: not a UTF-8 CSV with columns text,label ({exc})") from None
    return rows


def read_run_result(run: Path) -> dict[str, Any]:
    """The ``metrics.json`` a training run writes (its settings, data counts and figures)."""
    path = run / "metrics.json"
    if not path.is_file():
        raise ConfigError(
            f"{path} not found: {run} is not a training run; pass output folders of "
            "`finpulse model train`"
        )
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def read_validation_slices(folder: Path) -> dict[str, list[tuple[str, int]]]:
    """The ``validation_<slice>.csv`` files a training run writes, by slice name."""
    return {
        path.stem.removeprefix("validation_"): read_eval_csv(path)
        for path in sorted(folder.glob("validation_*.csv"))
    }

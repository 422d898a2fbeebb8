"""Language identification (pure, in-process: langid.py's bundled model, no downloads).

Short headlines fool character n-gram models ("Deutsche Bank cuts to Hold" is not German), and
the model we serve covers English, so a text counts as another language only on clear evidence:
a non-Latin script, or a confident langid answer on a text with enough words and no English
function words. Otherwise it is English, flagged as not detected with confidence.

Chinese forum posts mix in Latin words, tickers and six-digit codes ("NVDA财报beat了"), so a text
with Chinese characters is Chinese when they are at least as many as its Latin words (a Chinese
character carries about a word): simplified and traditional alike, and kana anywhere makes it
Japanese. An English sentence quoting a Chinese name stays English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np
from langid.langid import LanguageIdentifier, model

_NOISE = re.compile(r"https?://\S+|\$[A-Za-z][A-Za-z.]*|[@#]\w+|\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[^\W\d_]+")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")
_ENGLISH_WORDS = (  # common English function words that are rare in other languages' text
    "the to of and for on at with by from are was be its it this that after over up than has have "
    "will says said into amid about aren isn not more most why how what who we you our their "
    "his her they there which would could should been being were after before amid against "
    "reports results shares stock quarterly quarter profit buys sells raises cuts declares becomes "
    "despite emitted"
)
_ENGLISH = frozenset(_ENGLISH_WORDS.split())
# Scripts that decide the question without a model: (first code point, last, language).
_SCRIPTS = (
    (0x3040, 0x30FF, "ja"),
    (0xAC00, 0xD7AF, "ko"),
    (0x4E00, 0x9FFF, "zh"),  # CJK ideographs: simplified and traditional Chinese (and kanji)
    (0x3400, 0x4DBF, "zh"),  # extension A
    (0xF900, 0xFAFF, "zh"),  # compatibility ideographs
    (0x20000, 0x2FA1F, "zh"),  # extensions B and later
    (0x0400, 0x04FF, None),  # Cyrillic: ru, uk, bg ... ask the model
    (0x0600, 0x06FF, "ar"),
)


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1
    confident: bool


@cache
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_modelstring(model, norm_probs=True)


def detect(text: str, *, default: str = "en", min_probability: float = 0.999) -> Language:
    clean = _NOISE.sub(" ", text)
    letters = [c for c in clean if c.isalpha()]
    if not letters:
        return Language(default, False)
    # An ASCII text has no letter of the scripts below: skip counting them letter by letter.
    script = None if clean.isascii() else _script(letters) or _chinese(clean, letters)
    if script is not None:
        return Language(script, True)
    words = _WORD.findall(clean.casefold())
    english = sum(w in _ENGLISH for w in words)
    if english >= 2 or (english and len(words) < 12):
        return Language("en", True)
    code, probability = classify(clean)
    if probability >= min_probability and len(words) >= 4:
        return Language(code, True)
    return Language(default, False)


def classify(text: str) -> tuple[str, float]:
    """langid's ``classify``, computed over the features the text has: langid multiplies its
    whole feature vector (7,480 counts, nearly all zero, as integers) by the model's matrix, which
    numpy does without BLAS, 2.5 ms a text; the rows of the features present give the same sums.
    """
    identifier = _identifier()
    features = identifier.instance2fv(text)
    present = np.flatnonzero(features)
    scores = features[present].astype(np.float64) @ identifier.nb_ptc[present] + identifier.nb_pc
    probabilities = identifier.norm_probs(scores)
    best = int(np.argmax(probabilities))
    return str(identifier.nb_classes[best]), float(probabilities[best])


def _script(letters: list[str]) -> str | None:
    counts: dict[str, int] = {}
    for c in letters:
        point = ord(c)
        for first, last, code in _SCRIPTS:
            if first <= point <= last:
                key = code or "?"
                counts[key] = counts.get(key, 0) + 1
                break
    if not counts:
        return None
    code, count = max(counts.items(), key=lambda kv: kv[1])
    if count * 3 < len(letters):
        return None
    if "ja" in counts and code == "zh":  # kana anywhere means Japanese
        return "ja"
    return None if code == "?" else code


def _chinese(clean: str, letters: list[str]) -> str | None:
    """ "zh" when Chinese characters are at least as many as the Latin words (and two or more)."""
    counts = {code: 0 for _, _, code in _SCRIPTS if code}
    for c in letters:
        point = ord(c)
        for first, last, code in _SCRIPTS:
            if code and first <= point <= last:
                counts[code] += 1
                break
    han = counts["zh"]
    if han < 2 or counts["ja"] or counts["ko"]:
        return None
    return "zh" if han >= len(_LATIN_WORD.findall(clean)) else None

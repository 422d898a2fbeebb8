"""Topic extraction (pure): which tickers and themes a text is about.

A ticker's topic is its upper-case symbol (``AAPL``), found as a cashtag (``$AAPL``), in the
provider's ``tickers`` field, or by a company name or alias from the dictionary; a theme's topic
is ``theme:<name>`` (``theme:earnings``), found by its keywords. One text can have several.

Chinese text has no spaces between words, so Chinese names and keywords are matched against the
words of a segmentation (jieba's dictionary, without its guesser for unknown words, plus every
Chinese name and keyword of ours): ``茅台`` is found in ``今天茅台涨停`` but not in ``茅台镇``
(a town), which jieba knows as a word of its own. A-share and Hong Kong codes (``600519``,
``600519.SS``, ``000001.SZ``, ``0700.HK``, ``00700``) are read in one canonical form
(``600519.SH``, ``0700.HK``); a company listed under a code in the dictionary has one topic
whichever name, alias or code a text uses, in any language.
"""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from stream.errors import ConfigError

# Data files ship inside the package (read through importlib.resources, also from a wheel).
DEFAULT_DICTIONARY = Path(str(files("stream.ingest").joinpath("data", "topics.toml")))
CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z]{1,6}(?:\.[A-Za-z]{1,2})?)(?![\w])")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
# Codes: an exchange suffix makes any number of the right length a code; a bare number is one
# only when the dictionary lists it (prices and amounts are numbers too).
_SUFFIXED = re.compile(
    r"(?<![\w.])(\d{6})\.(SH|SS|SZ|BJ)(?![\w])|(?<![\w.])(\d{1,5})\.HK(?![\w])", re.IGNORECASE
)
_BARE = re.compile(r"(?<![\d.])(\d{5,6})(?![\d]|\.\d)")
# Both patterns open with a look-behind, which makes re try them at every position; most texts
# hold no run of five digits and no digit followed by a dot, which these find at C speed.
_MAY_BE_SUFFIXED = re.compile(r"\d\.")
_MAY_BE_BARE = re.compile(r"\d{5}")
_A_SHARE_BOARDS = {"6": "SH", "9": "SH", "0": "SZ", "2": "SZ", "3": "SZ", "4": "BJ", "8": "BJ"}


@dataclass(frozen=True)
class Dictionary:
    names: dict[str, str]  # company name or alias -> ticker
    themes: dict[str, list[str]]  # theme -> keywords
    codes: dict[str, str] | None = None  # canonical exchange code -> ticker


def canonical_code(code: str) -> str | None:
    """``600519``, ``600519.SS`` -> ``600519.SH``; ``00700``, ``700.hk`` -> ``0700.HK``; None
    for anything else. A bare six-digit number is an A-share code of the board its first digit
    names; a bare five-digit one a Hong Kong code."""
    number, _, suffix = code.strip().upper().partition(".")
    if not number.isdigit() or not number.isascii():
        return None
    if suffix == "HK" or (not suffix and len(number) == 5):
        return f"{int(number):04d}.HK" if len(number) <= 5 and int(number) > 0 else None
    if len(number) != 6:
        return None
    board = _A_SHARE_BOARDS.get(number[0])
    if suffix in ("SH", "SS"):
        suffix = "SH"
    elif suffix == "" and board is not None:
        suffix = board
    return f"{number}.{suffix}" if suffix in ("SH", "SZ", "BJ") else None


def load_dictionary(path: Path = DEFAULT_DICTIONARY) -> Dictionary:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"topic dictionary {path}: {exc}") from None
    names: dict[str, str] = {}
    codes: dict[str, str] = {}
    for ticker, entry in data.get("tickers", {}).items():
        topic = ticker.upper()
        for name in entry.get("names", []):
            if name in names and names[name] != topic:
                raise ConfigError(f"topic dictionary {path}: {name!r} names two tickers")
            names[name] = topic
        listed = [topic] if canonical_code(topic) else []
        for code in listed + list(entry.get("codes", [])):
            canonical = canonical_code(code)
            if canonical is None:
                raise ConfigError(
                    f"topic dictionary {path}: {ticker}: {code!r} is not an exchange code "
                    "(600519.SH, 000001.SZ, 0700.HK)"
                )
            if codes.get(canonical, topic) != topic:
                raise ConfigError(f"topic dictionary {path}: {code!r} is the code of two tickers")
            codes[canonical] = topic
    themes = {
        theme: list(entry.get("keywords", [])) for theme, entry in data.get("themes", {}).items()
    }
    return Dictionary(names=names, themes=themes, codes=codes)


def _alternation(words: list[str]) -> str:
    # Longest first, so "Apple Inc" wins over "Apple"; word edges that also work for "Coca-Cola".
    ordered = sorted(set(words), key=len, reverse=True)
    return r"(?<![\w-])(" + "|".join(re.escape(w) for w in ordered) + r")(?![\w-])"


def _theme_pattern(words: list[str]) -> re.Pattern[str] | None:
    # Lower-case keywords match in any case; ones written with capitals ("SEC", "Fed",
    # "Chapter 11") match only as written, so "sec" and "fed up" are not themes.
    exact = [w for w in words if w != w.lower()]
    loose = [w for w in words if w == w.lower()]
    parts = []
    if loose:
        parts.append("(?i:" + _alternation(loose) + ")")
    if exact:
        parts.append(_alternation(exact))
    return re.compile("|".join(parts)) if parts else None


# A theme's regex scans the whole text (about 5 us a theme); a test on the text's words first
# finds most texts it cannot match. A keyword matches at word edges, so the text holds, as a whole
# word, the keyword's leading run of word characters ("rate" of "rate hike", "m" of "m&a"): the
# texts' words are a set made once, and each theme's leading runs a set, so the test is one set
# intersection a theme. Exact for ASCII keywords: the letters that match an ASCII letter in any
# case are its two cases and these four, each made that letter here (then lower()).
_ASCII_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})
_RUN = re.compile(r"\w+")
_Hint = tuple[frozenset[str], frozenset[str]]  # leading runs: (any case, as written)


def _hint(words: list[str]) -> _Hint | None:
    """The leading runs one of which a text must hold as a word for a theme's regex to match:
    of its lower-case keywords in the folded text, of its capitalised ones as written (None: no
    such test, for keywords that are not ASCII or do not start with a word character)."""
    if not words or not all(w and w.isascii() and _RUN.match(w) for w in words):
        return None
    runs = {w: m.group() for w in words if (m := _RUN.match(w))}
    return (
        frozenset(runs[w] for w in words if w == w.lower()),
        frozenset(runs[w] for w in words if w != w.lower()),
    )


def _may_match(hint: _Hint | None, words: set[str], folded_words: set[str]) -> bool:
    if hint is None:
        return True
    loose, exact = hint
    return not loose.isdisjoint(folded_words) or not exact.isdisjoint(words)


@cache
def _jieba() -> Any:
    """jieba's tokenizer with its own dictionary (loaded once per process, about a second)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


class Segmenter:
    """Chinese words of a text: jieba's dictionary plus ``words`` (each kept whole when it
    stands alone, as jieba's ``suggest_freq`` does, so jieba's longer words still win)."""

    def __init__(self, words: set[str]) -> None:
        base = _jieba()
        self._tokenizer = base.__class__()
        self._tokenizer.FREQ = dict(base.FREQ)
        self._tokenizer.total = base.total
        self._tokenizer.initialized = True
        for word in sorted(words):
            if word not in self._tokenizer.FREQ:
                self._tokenizer.add_word(word, freq=self._tokenizer.suggest_freq(word))

    def words(self, text: str) -> set[str]:
        return {w for w in self._tokenizer.cut(text, HMM=False) if HAN.search(w)}


def _han_free(text: str) -> str:
    """The text with Chinese characters made spaces, so Latin names and keywords inside Chinese
    text ("买Apple股票") have word edges; a text without any is unchanged."""
    return HAN.sub(" ", text) if HAN.search(text) else text


class TopicExtractor:
    def __init__(self, dictionary: Dictionary) -> None:
        latin = [n for n in dictionary.names if not HAN.search(n)]
        self._tickers = dictionary.names
        self._codes = dictionary.codes or {}
        self._names = re.compile(_alternation(latin)) if latin else None
        self._themes: list[tuple[str, re.Pattern[str] | None, frozenset[str], _Hint | None]] = []
        chinese = {n for n in dictionary.names if HAN.search(n)}
        for theme, words in sorted(dictionary.themes.items()):
            han = frozenset(w for w in words if HAN.search(w))
            pattern = _theme_pattern([w for w in words if not HAN.search(w)])
            if pattern is not None or han:
                latin_words = [w for w in words if not HAN.search(w)]
                self._themes.append((f"theme:{theme}", pattern, han, _hint(latin_words)))
            chinese |= han
        self._chinese_names = {n: t for n, t in dictionary.names.items() if n in chinese}
        self._segmenter = Segmenter(chinese) if chinese else None

    def topics(self, text: str, tickers: list[str] | tuple[str, ...] = ()) -> list[str]:
        """Sorted, de-duplicated topics of a text; ``tickers`` are the provider's tags."""
        found = {self._code_topic(t) or t.upper() for t in tickers}
        found.update(m.upper() for m in CASHTAG.findall(text))
        found.update(self._codes_in(text))
        latin = _han_free(text)
        if self._names is not None:
            found.update(self._tickers[m] for m in self._names.findall(latin))
        words: set[str] = set()
        if self._segmenter is not None and HAN.search(text):
            words = self._segmenter.words(text)
            found.update(self._chinese_names[w] for w in words if w in self._chinese_names)
        runs = set(_RUN.findall(latin))
        folded_runs = set(_RUN.findall(latin.translate(_ASCII_FOLD).lower()))
        for theme, pattern, han, hint in self._themes:
            if not han.isdisjoint(words) or (
                pattern is not None
                and _may_match(hint, runs, folded_runs)
                and pattern.search(latin)
            ):
                found.add(theme)
        return sorted(found)

    def _code_topic(self, code: str) -> str | None:
        canonical = canonical_code(code)
        return None if canonical is None else self._codes.get(canonical, canonical)

    def _codes_in(self, text: str) -> set[str]:
        found: set[str] = set()
        if _MAY_BE_SUFFIXED.search(text):
            for match in _SUFFIXED.finditer(text):
                topic = self._code_topic(match.group())
                if topic is not None:
                    found.add(topic)
            text = _SUFFIXED.sub(" ", text)
        if not self._codes or not _MAY_BE_BARE.search(text):
            return found
        for match in _BARE.finditer(text):
            canonical = canonical_code(match.group(1))
            if canonical in self._codes:  # a bare number is a code only when it is listed
                found.add(self._codes[canonical])
        return found

"""Topic extraction (pure): which tickers and themes a text is about.

A ticker's topic is its upper-case symbol (``AAPL``), found as a cashtag (``$AAPL``), in the
provider's ``tickers`` field, or by a company name or alias from the dictionary; a theme's topic
is ``theme:<name>`` (``theme:earnings``), found by its keywords. One text can have several.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from stream.errors import ConfigError

# Data files ship inside the package (read through importlib.resources, also from a wheel).
DEFAULT_DICTIONARY = Path(str(files("stream.ingest").joinpath("data", "topics.toml")))
CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z]{1,6}(?:\.[A-Za-z]{1,2})?)(?![\w])")


@dataclass(frozen=True)
class Dictionary:
    names: dict[str, str]  # company name or alias -> ticker
    themes: dict[str, list[str]]  # theme -> keywords


def load_dictionary(path: Path = DEFAULT_DICTIONARY) -> Dictionary:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"topic dictionary {path}: {exc}") from None
    names: dict[str, str] = {}
    for ticker, entry in data.get("tickers", {}).items():
        for name in entry.get("names", []):
            if name in names and names[name] != ticker.upper():
                raise ConfigError(f"topic dictionary {path}: {name!r} names two tickers")
            names[name] = ticker.upper()
    themes = {
        theme: list(entry.get("keywords", [])) for theme, entry in data.get("themes", {}).items()
    }
    return Dictionary(names=names, themes=themes)


def _alternation(words: list[str]) -> str:
    # Longest first, so "Apple Inc" wins over "Apple"; word edges that also work for "Coca-Cola".
    ordered = sorted(set(words), key=len, reverse=True)
    return r"(?<![\w-])(" + "|".join(re.escape(w) for w in ordered) + r")(?![\w-])"


def _theme_pattern(words: list[str]) -> re.Pattern[str]:
    # Lower-case keywords match in any case; ones written with capitals ("SEC", "Fed",
    # "Chapter 11") match only as written, so "sec" and "fed up" are not themes.
    exact = [w for w in words if w != w.lower()]
    loose = [w for w in words if w == w.lower()]
    parts = []
    if loose:
        parts.append("(?i:" + _alternation(loose) + ")")
    if exact:
        parts.append(_alternation(exact))
    return re.compile("|".join(parts))


class TopicExtractor:
    def __init__(self, dictionary: Dictionary) -> None:
        self._tickers = dictionary.names
        self._names = re.compile(_alternation(list(dictionary.names))) if dictionary.names else None
        self._themes = [
            (f"theme:{theme}", _theme_pattern(words))
            for theme, words in sorted(dictionary.themes.items())
            if words
        ]

    def topics(self, text: str, tickers: list[str] | tuple[str, ...] = ()) -> list[str]:
        """Sorted, de-duplicated topics of a text; ``tickers`` are the provider's tags."""
        found = {t.upper() for t in tickers}
        found.update(m.upper() for m in CASHTAG.findall(text))
        if self._names is not None:
            found.update(self._tickers[m] for m in self._names.findall(text))
        found.update(theme for theme, pattern in self._themes if pattern.search(text))
        return sorted(found)

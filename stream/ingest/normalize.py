"""Text normalisation and the content hash used to find repeats of a story (pure)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200d\u2028\u2029\ufeff]")
# Unicode's Bidi_Control characters: direction marks, embeddings, overrides and isolates. Kept,
# they make a dashboard render stored text reordered ("Trojan Source"); the letters of Arabic or
# Hebrew carry their own direction and need none of them, so they are dropped, not spaced.
_BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACE = re.compile(r"\s+")
_LINK = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")


def normalize_text(text: str) -> str:
    """NFKC, no control, zero-width or bidirectional control characters, runs of whitespace as
    one space, trimmed."""
    text = unicodedata.normalize("NFKC", text)
    text = _BIDI.sub("", text)
    text = _CONTROL.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def content_hash(text: str) -> int:
    """A 63-bit hash of the words of a text: case, punctuation, links and spacing do not count,
    so the same story from two feeds (one with a tracking link, one in capitals) hashes alike."""
    words = _WORD.findall(_LINK.sub(" ", text).casefold())
    digest = hashlib.blake2b(" ".join(words).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1  # fits ClickHouse UInt64 and JSON integers

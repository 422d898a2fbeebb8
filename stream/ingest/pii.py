"""Redaction of personal data (e-mail addresses, phone numbers) before anything is stored (pure).

Conservative on purpose: a phone number needs 8 to 15 digits with phone-like separators, so
prices, percentages, years and tickers are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
PHONE = re.compile(
    r"(?<![\w$€£.])"  # not part of a word, a price or a decimal
    r"(?:\+\d{1,3}[\s.-]?)?"  # country code
    r"(?:\(\d{1,4}\)[\s.-]?)?"  # area code in brackets
    r"\d{2,8}(?:[\s.-]\d{2,8}){1,4}"  # groups
    r"(?![\w%])"
)
# Dates and amounts with thousands separators look like phone numbers to the pattern above.
NOT_PHONE = re.compile(
    r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}|\d{1,3}(?:[ .]\d{3})+"
)


@dataclass(frozen=True)
class Redaction:
    emails: bool = True
    phones: bool = True


def redact(text: str, rules: Redaction = Redaction()) -> tuple[str, int]:
    """The text with personal data replaced by ``[email]`` / ``[phone]``, and the count replaced."""
    count = 0
    if rules.emails:
        text, n = EMAIL.subn("[email]", text)
        count += n
    if rules.phones:
        phones = 0

        def replace(match: re.Match[str]) -> str:
            nonlocal phones
            digits = sum(c.isdigit() for c in match.group())
            found = match.group()
            two_words = found.count(" ") == 1 and not re.search(r"[-.+()]", found)  # "2019 2020"
            if 8 <= digits <= 15 and not two_words and not NOT_PHONE.fullmatch(found):
                phones += 1
                return "[phone]"
            return match.group()

        text = PHONE.sub(replace, text)
        count += phones
    return text, count

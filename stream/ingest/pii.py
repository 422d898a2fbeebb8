"""Redaction of personal data (e-mail addresses, phone numbers, Chinese resident ID numbers,
bank card numbers) before anything is stored (pure).

Conservative on purpose: a phone number needs 8 to 15 digits with phone-like separators, so
prices, percentages, years and tickers are left alone. Chinese text has no spaces around numbers,
so its own forms are matched by digit edges and checked: a mainland mobile number is 11 digits
from 13 to 19 (optionally +86, grouped 3-4-4); a resident ID number is 18 characters whose last is
the ISO 7064 check of the other 17 (GB 11643) and whose middle is a date; a bank card number is
16 to 19 digits that pass the Luhn check. Six-digit stock codes and amounts pass all of these.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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


MOBILE_CN = re.compile(r"(?<![\d+])(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)")
RESIDENT_ID = re.compile(
    r"(?<!\d)\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dXx])"
)
BANK_CARD = re.compile(r"(?<!\d)\d{4}(?:[\s-]?\d{4}){3}(?:[\s-]?\d{1,3})?(?!\d)")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def resident_id_valid(number: str) -> bool:
    """The GB 11643 check character of an 18-character Chinese resident ID number."""
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


@dataclass(frozen=True)
class Redaction:
    emails: bool = True
    phones: bool = True  # mainland mobile numbers too
    ids: bool = True  # Chinese resident ID numbers
    cards: bool = True  # bank card numbers


def redact(text: str, rules: Redaction = Redaction()) -> tuple[str, int]:
    """The text with personal data replaced by ``[email]`` / ``[phone]`` / ``[id]`` / ``[card]``,
    and the count replaced."""
    count = 0
    if rules.emails:
        text, n = EMAIL.subn("[email]", text)
        count += n
    # IDs before cards and phones: 18 digits can pass Luhn, and hold 11 that look like a mobile.
    if rules.ids:
        text, n = _checked(RESIDENT_ID, text, "[id]", resident_id_valid)
        count += n
    if rules.cards:
        text, n = _checked(BANK_CARD, text, "[card]", lambda found: luhn_valid(_digits(found)))
        count += n
    if rules.phones:
        text, n = MOBILE_CN.subn("[phone]", text)
        count += n
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


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def _checked(
    pattern: re.Pattern[str], text: str, placeholder: str, valid: Callable[[str], bool]
) -> tuple[str, int]:
    """``pattern``'s matches that pass ``valid`` replaced by ``placeholder``, and their count."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        if valid(match.group()):
            count += 1
            return placeholder
        return match.group()

    return pattern.sub(replace, text), count

"""Plain values of the outbound payloads: texts fit to Basware's sizes, names per language,
bank account numbers and tax rates; no Odoo needed, so a test needs no database."""

import re

BASE_LANG = "en_US"
LANGUAGE_MAX = 10
TRANSLATION_MIN = 2
TRANSLATION_MAX = 2000
# Fills a name Basware finds too short (translations need two characters at least).
SHORT_NAME_PAD = "_"
# Basware requires validity dates that Odoo does not have on payment terms and analytic
# accounts: valid from long ago until far ahead (well within .NET's DateTime range).
VALID_FROM = "2000-01-01T00:00:00Z"
VALID_UNTIL = "2999-12-31T00:00:00Z"
# Master data set on the company is also usable in its organization units below it.
INHERIT_TO_UNITS = True
EMPTY_VALUES = (None, "", [], {})

IBAN_SHAPE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
IBAN_CHECK_MODULUS = 97
IBAN_CHECK_REMAINDER = 1


def fit(value, size):
    """The stripped text cut to ``size``; None when empty, so that :func:`compact` drops it."""
    return (value or "").strip()[:size] or None


def whole(value, size):
    """The stripped text when it fits in ``size``, else None: an identifier is never cut."""
    text = (value or "").strip()
    return text if 0 < len(text) <= size else None


def compact(values):
    """``values`` without empty ones: Basware checks the length of what is sent, even ""."""
    return {key: value for key, value in values.items() if value not in EMPTY_VALUES}


def basware_language(code):
    """Basware's language tag of an Odoo language code: en_US -> en-US."""
    return code.replace("_", "-")[:LANGUAGE_MAX]


def ordered_languages(installed):
    """en_US first (Basware asks for it on every name), then the others in a stable order."""
    return [BASE_LANG, *sorted(code for code in installed if code != BASE_LANG)]


def translation_item(language, text, prefix=""):
    """A LanguageTranslationEntity; a name shorter than Basware's minimum gets ``prefix``
    (the record's code) in front."""
    text = (text or "").strip()
    if len(text) < TRANSLATION_MIN:
        text = f"{prefix} {text}".strip().ljust(TRANSLATION_MIN, SHORT_NAME_PAD)
    return {"language": basware_language(language), "translation": text[:TRANSLATION_MAX]}


def is_iban(number):
    """Whether a sanitized account number is an IBAN (shape and mod-97 check digits); checked here
    as this addon does not depend on base_iban.
    """
    if not IBAN_SHAPE.match(number):
        return False
    rotated = number[4:] + number[:4]
    digits = "".join(str(int(char, 36)) for char in rotated)
    return int(digits) % IBAN_CHECK_MODULUS == IBAN_CHECK_REMAINDER


def split_charge(parts):
    """(charged, self-assessed) of signed tax parts. Their sum is charged; what a negative part
    cancels of a positive one is self-assessed (reverse charge: +100 %/-100 %, or +21 %/-21 % in
    a group); a leftover negative part (a withholding) lowers the charge."""
    positive = sum(part for part in parts if part > 0)
    negative = -sum(part for part in parts if part < 0)
    return positive - negative, min(positive, negative)

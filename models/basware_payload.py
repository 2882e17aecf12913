"""Shared pieces of the master-data payloads: names per language, compact values, fixed dates.

The payload builders are pure functions of a record and a backend: they read, never write,
and give the same JSON for the same data whatever the caller's language, so the payload
hash of an unchanged record stays the same.
"""

from odoo.exceptions import UserError

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


def language_codes(env):
    """en_US first (Basware asks for it on every name), then the installed languages."""
    installed = sorted(code for code, _name in env["res.lang"].get_installed())
    return [BASE_LANG, *(code for code in installed if code != BASE_LANG)]


def in_base_lang(record):
    """``record`` read in en_US: one-language names must not follow the caller's language."""
    return record.with_context(lang=BASE_LANG)


def translations(record, field_name, prefix=""):
    """LanguageTranslationEntity items of a translated field, one per language.

    Each language is read on the record's prefetch set, one query per language for a
    whole batch. A name shorter than Basware's minimum gets ``prefix`` (the code) in front.
    """
    items = []
    for code in language_codes(record.env):
        text = (record.with_context(lang=code)[field_name] or "").strip()
        if len(text) < TRANSLATION_MIN:
            text = f"{prefix} {text}".strip().ljust(TRANSLATION_MIN, SHORT_NAME_PAD)
        items.append({"language": basware_language(code), "translation": text[:TRANSLATION_MAX]})
    return items


class RecordRefused(UserError):
    """A record Basware cannot take as it is (a code too long, taxes the API cannot
    carry): a payload builder raises it, the record is not sent, and its binding is
    rejected with this message, naming the record and the field."""

"""What the exchange queue stores of a payload: JSON text, readable, and never a credential.

Pure Python: payloads are masked and written here, the ORM only stores the text.
"""

import functools
import json
import re

REDACTED = "***"
SENSITIVE_KEY_PARTS = ("secret", "password", "token", "authorization", "apikey", "api_key")
# Values that are credentials whatever their key: bearer headers and JSON web tokens.
SENSITIVE_VALUE = re.compile(
    r"^\s*((bearer|basic)\s+[\w.~+/-]{16,}=*|eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*)\s*$",
    re.IGNORECASE,
)
# How every SENSITIVE_VALUE begins (its alternatives, without the spaces before them).
SENSITIVE_VALUE_STARTS = ("bearer", "basic", "eyj")
# A JSON text without any of these words (in lower case) holds nothing redact() would
# mask: letters are never escaped in JSON, so a secret-looking key or value shows one.
SENSITIVE_WORDS = re.compile("|".join(map(re.escape, SENSITIVE_KEY_PARTS + SENSITIVE_VALUE_STARTS)))
# The letters that case-insensitive matching or str.lower() takes for ASCII ones:
# İ ı ſ and the Kelvin sign.
ASCII_LOOKALIKES = re.compile("[\u0130\u0131\u017f\u212a]")


@functools.lru_cache(maxsize=4096)
def _is_sensitive_key(key):
    # Cached: payloads repeat the same few hundred keys over thousands of records.
    return any(part in str(key).lower() for part in SENSITIVE_KEY_PARTS)


def redact(value):
    """Return a copy of a JSON-like value with secret-looking keys and values masked."""
    if isinstance(value, dict):
        return {
            key: REDACTED if _is_sensitive_key(key) else redact(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str) and SENSITIVE_VALUE.match(value):
        return REDACTED
    return value


def names_secret_word(text):
    """Whether ``text`` shows, in any case, a word that redact() looks for."""
    if SENSITIVE_WORDS.search(text.lower()):
        return True
    return not text.isascii() and bool(ASCII_LOOKALIKES.search(text))


def holds_secrets(text, value=None):
    """Whether redact() would mask something in the JSON ``text`` (``value``: its decoding, if at
    hand). A text naming no secret-looking word, the usual case, is never walked.
    """
    if not names_secret_word(text):
        return False
    if value is None:
        value = json.loads(text)
    return redact(value) != value


_dumps = functools.partial(json.dumps, sort_keys=True, ensure_ascii=False, default=str)


def json_text(value):
    """JSON with sorted keys, one entry of a top-level list or object per line: readable
    in the exchange form, and written by json's fast encoder (which cannot indent)."""
    if isinstance(value, list) and value:
        brackets, entries = "[]", [_dumps(item) for item in value]
    elif isinstance(value, dict) and value and all(isinstance(key, str) for key in value):
        brackets, entries = "{}", [f"{_dumps(key)}: {_dumps(value[key])}" for key in sorted(value)]
    else:
        return _dumps(value)
    return f"{brackets[0]}\n" + ",\n".join(entries) + f"\n{brackets[1]}"


def to_json_text(value, redacted=False):
    """The stored text of a payload; ``redacted``: the caller already masked it."""
    if value is None or value == "":
        return False
    text = json_text(value)
    if not redacted and holds_secrets(text, value):
        text = json_text(redact(value))
    return text

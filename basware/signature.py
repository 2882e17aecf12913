"""HMAC-SHA256 signatures of Basware push notifications, keyed with the webhookAuthenticationToken.

The encoding is not published, so hex (any case) and base64 (standard or URL-safe) are accepted,
with or without ``sha256=``."""

import base64
import binascii
import hashlib
import hmac
import string

DEFAULT_SIGNATURE_HEADER = "X-BWAPI-Signature-256"
SIGNATURE_PREFIX = "sha256="
DIGEST_SIZE = hashlib.sha256().digest_size
HEX_DIGITS = frozenset(string.hexdigits)


def _digest(body, secret):
    if isinstance(body, str):
        body = body.encode("utf-8")
    return hmac.new(secret.encode("utf-8"), body or b"", hashlib.sha256).digest()


def sign_body(body, secret):
    """Hex HMAC-SHA256 of the raw body keyed with the webhook secret."""
    return _digest(body, secret).hex()


def _strip_prefix(value):
    value = value.strip()
    if value[: len(SIGNATURE_PREFIX)].lower() == SIGNATURE_PREFIX:
        value = value[len(SIGNATURE_PREFIX) :].strip()
    return value


def _decode_hex(value):
    if len(value) != DIGEST_SIZE * 2 or not HEX_DIGITS.issuperset(value):
        return None
    return bytes.fromhex(value)


def _decode_base64(value):
    padded = value + "=" * (-len(value) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decode(padded.encode("ascii"))
        except (ValueError, binascii.Error):
            continue
        if len(raw) == DIGEST_SIZE:
            return raw
    return None


def candidate_digests(header_value):
    """The digests a signature header value can stand for (hex first, then base64)."""
    value = _strip_prefix(header_value)
    candidates = [_decode_hex(value)]
    # 64 hex characters also decode as base64 (to 48 bytes): only keep 32-byte results.
    candidates.append(_decode_base64(value) if value.isascii() else None)
    return [digest for digest in candidates if digest is not None]


def verify_signature(body, header_value, secret):
    """True when ``header_value`` is the HMAC-SHA256 of ``body`` keyed with ``secret``. Fails
    closed: no secret, or a missing or unreadable header, means False.
    """
    if not secret or not header_value or not isinstance(header_value, str):
        return False
    expected = _digest(body, secret)
    matched = False
    for digest in candidate_digests(header_value):
        # Compare every candidate so the time taken does not depend on which one matches.
        matched |= hmac.compare_digest(expected, digest)
    return matched

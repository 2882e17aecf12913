"""Symmetric encryption of the secrets a Basware backend keeps in the database.

Secrets are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key that never
enters the database: the Odoo server option ``basware_encryption_key``, or the
environment variable ``BASWARE_ENCRYPTION_KEY`` when the option is not set.
Several comma-separated keys rotate the key: the first one encrypts, all of them decrypt,
and :func:`rotate` rewrites a token under the first one.

This module has no ORM logic; the backend turns its exceptions into translated user errors.
"""

import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from odoo.tools import config

KEY_OPTION = "basware_encryption_key"
KEY_ENV_VAR = "BASWARE_ENCRYPTION_KEY"


class EncryptionKeyError(Exception):
    """The encryption key is missing or cannot be used. Never carries key material."""


class MissingKeyError(EncryptionKeyError):
    """No key is configured."""


class MalformedKeyError(EncryptionKeyError):
    """A configured key is not 32 url-safe base64-encoded bytes."""


class UndecryptableError(EncryptionKeyError):
    """The ciphertext does not verify under any configured key (key changed or data altered)."""


def generate_key():
    """Return a new random key, as text, to put in the server configuration."""
    return Fernet.generate_key().decode()


def configured_keys():
    """Return the configured keys (the first one encrypts), possibly an empty list."""
    raw = config.get(KEY_OPTION) or os.environ.get(KEY_ENV_VAR) or ""
    return [key.strip() for key in str(raw).split(",") if key.strip()]


def _cipher():
    keys = configured_keys()
    if not keys:
        raise MissingKeyError()
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        # binascii.Error is a ValueError; never chain it, its message may quote the key
        raise MalformedKeyError() from None


def encrypt(plaintext):
    """Encrypt a text; return the Fernet token as text."""
    return _cipher().encrypt(plaintext.encode()).decode()


def decrypt(token):
    """Decrypt a Fernet token made by :func:`encrypt`; return the text."""
    cipher = _cipher()
    try:
        return cipher.decrypt(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableError() from None


def check_keys():
    """Raise MissingKeyError or MalformedKeyError when the configured keys cannot be used."""
    _cipher()


def rotate(token):
    """Re-encrypt a token made under any configured key with the first one; return the text."""
    cipher = _cipher()
    try:
        return cipher.rotate(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableError() from None

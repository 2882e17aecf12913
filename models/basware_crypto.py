"""Encryption of a backend's secrets: Fernet, under keys never stored in the database, from the
first set of: option ``basware_encryption_key``, env ``BASWARE_ENCRYPTION_KEY``, the file
``<data_dir>/basware_connector/encryption.key`` (for Odoo.sh). Of several keys (comma- or, in
the file, line-separated) the first encrypts, all decrypt. In models/: it reads Odoo's config."""

import os
import stat

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from odoo.tools import config

KEY_OPTION = "basware_encryption_key"
KEY_ENV_VAR = "BASWARE_ENCRYPTION_KEY"
# Under Odoo's data directory, which outlives databases and is not part of their dumps.
KEY_FILE_FOLDER = "basware_connector"
KEY_FILE_NAME = "encryption.key"
SOURCE_OPTION = "option"
SOURCE_ENV_VAR = "environment"
SOURCE_FILE = "file"
KEY_FILE_UNREADABLE = "unreadable"
KEY_FILE_OPEN_TO_OTHERS = "open_to_others"


class EncryptionKeyError(Exception):
    """The encryption key is missing or cannot be used. Never carries key material."""


class MissingKeyError(EncryptionKeyError):
    """No key is configured."""


class MalformedKeyError(EncryptionKeyError):
    """A configured key is not 32 url-safe base64-encoded bytes; ``source`` says where it is."""

    def __init__(self, source=None):
        super().__init__(source)
        self.source = source


class UndecryptableError(EncryptionKeyError):
    """The ciphertext does not verify under any configured key (key changed or data altered)."""


class KeyFileError(EncryptionKeyError):
    """The key file exists but is not used: it cannot be read, or users other than the
    server's owner and group may read it (a key anyone on the machine reads protects nothing)."""

    def __init__(self, path, reason):
        super().__init__(path, reason)
        self.path = path
        self.reason = reason


def generate_key():
    """Return a new random key, as text, to put in the server configuration."""
    return Fernet.generate_key().decode()


def key_file_path():
    """Where the key file is looked for: a folder of this addon in Odoo's data directory."""
    return os.path.join(config["data_dir"], KEY_FILE_FOLDER, KEY_FILE_NAME)


def _split_keys(raw):
    return [key.strip() for key in str(raw).split(",") if key.strip()]


def _read_key_file(path):
    """The text of the key file, or None when there is none."""
    try:
        with open(path, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise KeyFileError(path, KEY_FILE_UNREADABLE)
            if mode & stat.S_IRWXO:
                raise KeyFileError(path, KEY_FILE_OPEN_TO_OTHERS)
            content = handle.read()
    except FileNotFoundError:
        return None
    except OSError:
        raise KeyFileError(path, KEY_FILE_UNREADABLE) from None
    try:
        return content.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError(path, KEY_FILE_UNREADABLE) from None


def configured_source():
    """Return ``(source, keys)`` of the first key source that is set, or ``(None, [])``."""
    option = config.get(KEY_OPTION)
    if option:
        return SOURCE_OPTION, _split_keys(option)
    variable = os.environ.get(KEY_ENV_VAR)
    if variable:
        return SOURCE_ENV_VAR, _split_keys(variable)
    text = _read_key_file(key_file_path())
    if text is not None:
        return SOURCE_FILE, _split_keys(text.replace("\n", ","))
    return None, []


def configured_keys():
    """Return the configured keys (the first one encrypts), possibly an empty list."""
    return configured_source()[1]


def _cipher():
    source, keys = configured_source()
    if not keys:
        raise MissingKeyError()
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        # binascii.Error is a ValueError; never chain it, its message may quote the key
        raise MalformedKeyError(source) from None


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
    """Raise an EncryptionKeyError when the configured keys cannot be used."""
    _cipher()


def rotate(token):
    """Re-encrypt a token made under any configured key with the first one; return the text."""
    cipher = _cipher()
    try:
        return cipher.rotate(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableError() from None

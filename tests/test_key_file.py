import os
import tempfile
from contextlib import contextmanager
from unittest.mock import patch

from cryptography.fernet import Fernet

from odoo.tests import tagged
from odoo.tests.common import BaseCase
from odoo.tools import config

from ..models import basware_crypto
from ..models.basware_backend import BackendPaused
from .common import CLIENT_SECRET, BaswareBackendCase, encryption_key

SECRET = "client-secret-\u00e9-42"
OWNER_ONLY = 0o600


@contextmanager
def key_file(content, mode=OWNER_ONLY):
    """Run with a data directory holding ``content`` as the key file (None: no file), and
    neither the server option nor the environment variable set."""
    with tempfile.TemporaryDirectory() as data_dir, encryption_key(None):
        folder = os.path.join(data_dir, basware_crypto.KEY_FILE_FOLDER)
        os.mkdir(folder)
        path = os.path.join(folder, basware_crypto.KEY_FILE_NAME)
        if content is not None:
            with open(path, "w", encoding="ascii") as handle:
                handle.write(content)
            os.chmod(path, mode)
        with patch.dict(config.options.maps[0], {"data_dir": data_dir}):
            yield path


def decrypt_with(key, token):
    return Fernet(key.encode()).decrypt(token.encode()).decode()


class TestKeyFile(BaseCase):
    """The key file in Odoo's data directory, the last key source, without a database."""

    def test_key_file_is_used_when_nothing_else_is_set(self):
        key = basware_crypto.generate_key()
        with key_file(key + "\n") as path:
            self.assertEqual(basware_crypto.key_file_path(), path)
            self.assertEqual(
                basware_crypto.configured_source(), (basware_crypto.SOURCE_FILE, [key])
            )
            token = basware_crypto.encrypt(SECRET)
            self.assertEqual(basware_crypto.decrypt(token), SECRET)
        self.assertEqual(decrypt_with(key, token), SECRET)

    def test_option_then_environment_variable_come_first(self):
        file_key, option_key, variable_key = (basware_crypto.generate_key() for _i in range(3))
        with key_file(file_key):
            os.environ[basware_crypto.KEY_ENV_VAR] = variable_key
            self.assertEqual(basware_crypto.configured_keys(), [variable_key])
            with patch.dict(config.options.maps[0], {basware_crypto.KEY_OPTION: option_key}):
                self.assertEqual(basware_crypto.configured_keys(), [option_key])
            del os.environ[basware_crypto.KEY_ENV_VAR]
            self.assertEqual(basware_crypto.configured_keys(), [file_key])

    def test_rotation_with_commas_or_lines(self):
        old_key, new_key = basware_crypto.generate_key(), basware_crypto.generate_key()
        with key_file(old_key):
            old_token = basware_crypto.encrypt(SECRET)
        for content in (f"{new_key},{old_key}", f"{new_key}\n{old_key}\n"):
            with self.subTest(content=content.replace(new_key, "NEW").replace(old_key, "OLD")):
                with key_file(content):
                    self.assertEqual(basware_crypto.decrypt(old_token), SECRET)
                    new_token = basware_crypto.rotate(old_token)
                self.assertEqual(decrypt_with(new_key, new_token), SECRET)

    def test_no_file_is_no_key(self):
        with key_file(None), self.assertRaises(basware_crypto.MissingKeyError):
            basware_crypto.encrypt(SECRET)

    def test_file_others_can_read_is_refused(self):
        key = basware_crypto.generate_key()
        with (
            key_file(key, mode=0o644) as path,
            self.assertRaises(basware_crypto.KeyFileError) as caught,
        ):
            basware_crypto.encrypt(SECRET)
        self.assertEqual(caught.exception.reason, basware_crypto.KEY_FILE_OPEN_TO_OTHERS)
        self.assertEqual(caught.exception.path, path)
        self.assertNotIn(key, str(caught.exception))

    def test_group_readable_file_is_used(self):
        key = basware_crypto.generate_key()
        with key_file(key, mode=0o640):
            self.assertEqual(basware_crypto.configured_keys(), [key])

    def test_unreadable_file_is_a_key_file_error(self):
        with key_file(None) as path:
            os.mkdir(path)
            with self.assertRaises(basware_crypto.KeyFileError) as caught:
                basware_crypto.check_keys()
        self.assertEqual(caught.exception.reason, basware_crypto.KEY_FILE_UNREADABLE)

    def test_malformed_key_in_file_names_the_file(self):
        bad_key = "not-a-fernet-key-but-a-password"
        with key_file(bad_key), self.assertRaises(basware_crypto.MalformedKeyError) as caught:
            basware_crypto.encrypt(SECRET)
        self.assertEqual(caught.exception.source, basware_crypto.SOURCE_FILE)
        self.assertNotIn(bad_key, str(caught.exception))
        self.assertIsNone(caught.exception.__cause__)


@tagged("post_install", "-at_install")
class TestBackendKeyFile(BaswareBackendCase):
    """A backend whose key comes from the key file runs, and says what is wrong with it."""

    def _pause_reason(self):
        self.backend.invalidate_recordset(["pause_reason"])
        return self.backend.pause_reason

    def test_backend_runs_on_the_key_file(self):
        with key_file(self.encryption_key):
            self.assertFalse(self._pause_reason())
            self.assertEqual(self.backend._get_client_secret(), CLIENT_SECRET)

    def test_missing_key_names_the_three_sources(self):
        with key_file(None) as path:
            reason = self._pause_reason()
        for source in (basware_crypto.KEY_OPTION, basware_crypto.KEY_ENV_VAR, path):
            self.assertIn(source, reason)

    def test_key_file_others_can_read_pauses(self):
        with key_file(self.encryption_key, mode=0o604) as path:
            reason = self._pause_reason()
            self.assertIn(path, reason)
            self.assertIn("chmod 600", reason)
            with self.assertRaises(BackendPaused):
                self.backend._get_client()
        self.assertNotIn(self.encryption_key, reason)

    def test_malformed_key_file_is_named(self):
        with key_file("short-key") as path:
            reason = self._pause_reason()
        self.assertIn(f"The key file {path} is not a valid key", reason)

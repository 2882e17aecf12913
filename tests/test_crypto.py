import os

from cryptography.fernet import Fernet

from odoo.tests.common import BaseCase

from ..models import basware_crypto
from .common import encryption_key

SECRET = "client-secret-\u00e9-42"


class TestCrypto(BaseCase):
    """The encryption helpers alone, without a database."""

    def test_round_trip_hides_plaintext(self):
        with encryption_key(basware_crypto.generate_key()):
            token = basware_crypto.encrypt(SECRET)
            self.assertNotIn("client-secret", token)
            self.assertNotEqual(basware_crypto.encrypt(SECRET), token, "random IV per call")
            self.assertEqual(basware_crypto.decrypt(token), SECRET)

    def test_missing_key(self):
        with encryption_key(None), self.assertRaises(basware_crypto.MissingKeyError):
            basware_crypto.encrypt(SECRET)

    def test_malformed_key_is_not_quoted(self):
        bad_key = "not-a-fernet-key-but-a-password"
        with encryption_key(bad_key), self.assertRaises(basware_crypto.MalformedKeyError) as caught:
            basware_crypto.encrypt(SECRET)
        self.assertNotIn(bad_key, str(caught.exception))
        self.assertIsNone(caught.exception.__cause__)

    def test_other_key_cannot_decrypt(self):
        with encryption_key(basware_crypto.generate_key()):
            token = basware_crypto.encrypt(SECRET)
        other_key = basware_crypto.generate_key()
        with encryption_key(other_key), self.assertRaises(basware_crypto.UndecryptableError):
            basware_crypto.decrypt(token)

    def test_key_rotation(self):
        old_key, new_key = basware_crypto.generate_key(), basware_crypto.generate_key()
        with encryption_key(old_key):
            old_token = basware_crypto.encrypt(SECRET)
        with encryption_key(f"{new_key}, {old_key}"):
            self.assertEqual(basware_crypto.decrypt(old_token), SECRET)
            new_token = basware_crypto.encrypt(SECRET)
        # the first key encrypts
        self.assertEqual(Fernet(new_key.encode()).decrypt(new_token.encode()).decode(), SECRET)

    def test_environment_variable_fallback(self):
        key = basware_crypto.generate_key()
        with encryption_key(None):
            os.environ[basware_crypto.KEY_ENV_VAR] = key
            self.assertEqual(basware_crypto.configured_keys(), [key])
            token = basware_crypto.encrypt(SECRET)
        self.assertEqual(Fernet(key.encode()).decrypt(token.encode()).decode(), SECRET)

    def test_rotate_moves_a_token_to_the_first_key(self):
        old_key, new_key = basware_crypto.generate_key(), basware_crypto.generate_key()
        with encryption_key(old_key):
            old_token = basware_crypto.encrypt(SECRET)
        with encryption_key(f"{new_key},{old_key}"):
            new_token = basware_crypto.rotate(old_token)
        self.assertEqual(Fernet(new_key.encode()).decrypt(new_token.encode()).decode(), SECRET)
        with encryption_key(new_key), self.assertRaises(basware_crypto.UndecryptableError):
            basware_crypto.rotate(old_token)

    def test_check_keys(self):
        with encryption_key(basware_crypto.generate_key()):
            basware_crypto.check_keys()
        with encryption_key(None), self.assertRaises(basware_crypto.MissingKeyError):
            basware_crypto.check_keys()
        with encryption_key("not-a-key"), self.assertRaises(basware_crypto.MalformedKeyError):
            basware_crypto.check_keys()

import time

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..models import basware_crypto
from ..models.basware_backend import BackendPaused
from .common import CLIENT_SECRET, WEBHOOK_SECRET, BaswareBackendCase, encryption_key

MANAGER_GROUPS = "base.group_user,basware_connector.group_basware_manager"


@tagged("post_install", "-at_install")
class TestKeyRotation(BaswareBackendCase):
    """Rotate the key: new key first, re-encrypt, then drop the old key."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.archived = cls.env["basware.backend"].create(
            {
                "name": "Tenant archived",
                "client_id": "archived",
                "client_secret": "archived-client-secret",
                "active": False,
            }
        )

    def test_reencrypt_all_then_drop_the_old_key(self):
        store = self.backend._get_token_store()
        store.save({"access_token": "cached.token.value", "expires_at": time.time() + 3600})
        old_ciphertext = self.raw_column(self.backend, "client_secret_encrypted")
        new_key = basware_crypto.generate_key()

        with encryption_key(f"{new_key},{self.encryption_key}"):
            self.env["basware.backend"]._reencrypt_all_secrets()

        self.assertNotEqual(
            self.raw_column(self.backend, "client_secret_encrypted"), old_ciphertext
        )
        self.assertIsNone(self.raw_column(self.backend, "token_encrypted"))
        with encryption_key(new_key):
            self.assertFalse(self.backend._get_pause_reason())
            self.assertEqual(self.backend._get_client_secret(), CLIENT_SECRET)
            self.assertEqual(self.backend._get_webhook_secret(), WEBHOOK_SECRET)
            self.assertEqual(self.archived._get_client_secret(), "archived-client-secret")
        with encryption_key(self.encryption_key), self.assertRaises(BackendPaused):
            self.backend._get_client_secret()
        self.assertIn("re-encrypted", " ".join(self.backend.message_ids.mapped("body")))

    def test_secret_of_an_unknown_key_stops_the_run(self):
        new_key = basware_crypto.generate_key()
        with encryption_key(basware_crypto.generate_key()):
            self.archived.client_secret = "under a lost key"
        before = self.raw_column(self.backend, "client_secret_encrypted")
        with (
            encryption_key(f"{new_key},{self.encryption_key}"),
            self.assertRaises(UserError) as caught,
            self.env.cr.savepoint(),
        ):
            self.env["basware.backend"]._reencrypt_all_secrets()
        message = str(caught.exception)
        self.assertIn("Tenant archived", message)
        self.assertIn("cannot decrypt", message)
        self.assertNotIn(new_key, message)
        self.assertEqual(self.raw_column(self.backend, "client_secret_encrypted"), before)

    def test_button_is_for_administrators(self):
        manager = self._new_user("bw_rotation_manager", MANAGER_GROUPS)
        with self.assertRaises(AccessError):
            self.backend.with_user(manager).action_reencrypt_secrets()
        new_key = basware_crypto.generate_key()
        admin = self.env.ref("base.user_admin")
        with encryption_key(f"{new_key},{self.encryption_key}"):
            action = self.backend.with_user(admin).action_reencrypt_secrets()
        self.assertEqual(action["params"]["type"], "success")
        with encryption_key(new_key):
            self.assertEqual(self.backend._get_client_secret(), CLIENT_SECRET)
        arch = self.env["basware.backend"].get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn("action_reencrypt_secrets", arch)
        manager_arch = (
            self.env["basware.backend"]
            .with_user(manager)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        self.assertNotIn("action_reencrypt_secrets", manager_arch)

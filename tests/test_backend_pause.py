from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import SQL

from ..models import basware_crypto
from ..models.basware_backend import BackendPaused
from .common import CLIENT_SECRET, WEBHOOK_SECRET, BaswareBackendCase, encryption_key

UNDECRYPTABLE_PREFIX = "The encryption key cannot decrypt the stored secrets: "


@tagged("post_install", "-at_install")
class TestBackendPause(BaswareBackendCase):
    """Trouble an administrator fixes pauses the backend; it never destroys anything."""

    def _pause_reason(self):
        # the field is computed on each read: forget what this transaction already read
        self.backend.invalidate_recordset(["pause_reason"])
        return self.backend.pause_reason

    def _assert_paused(self, *fragments):
        reason = self._pause_reason()
        self.assertTrue(reason)
        self.assertEqual(self.backend._get_pause_reason(), reason)
        for fragment in fragments:
            self.assertIn(fragment, reason)
        with self.assertRaises(BackendPaused) as caught:
            self.backend._get_client()
        self.assertEqual(str(caught.exception), reason)
        self.assertNotIn(CLIENT_SECRET, reason)
        self.assertNotIn(WEBHOOK_SECRET, reason)
        return reason

    def test_configured_backend_runs(self):
        self.assertFalse(self._pause_reason())
        self.assertFalse(self.backend._get_pause_reason())
        self.backend._get_client()

    def test_missing_key_pauses(self):
        with encryption_key(None):
            self._assert_paused("no encryption key is configured", "basware_encryption_key")
        self.assertFalse(self._pause_reason(), "the banner goes once the key is back")

    def test_malformed_key_pauses_without_quoting_it(self):
        bad_key = "this-is-no-fernet-key"
        with encryption_key(bad_key):
            reason = self._assert_paused("not a valid key")
        self.assertNotIn(bad_key, reason)

    def test_other_key_pauses_until_the_old_one_is_back(self):
        new_key = basware_crypto.generate_key()
        with encryption_key(new_key):
            reason = self._assert_paused("the key was changed", "comma-separated")
            self.assertTrue(reason.startswith(UNDECRYPTABLE_PREFIX), reason)
        self.assertNotIn(new_key, reason)
        self.assertNotIn(self.encryption_key, reason)
        with encryption_key(f"{new_key},{self.encryption_key}"):
            self.assertFalse(self._pause_reason())
            self.assertEqual(self.backend._get_client().config.client_secret, CLIENT_SECRET)
        # nothing was cleared meanwhile
        self.assertTrue(self.backend.client_secret_set)
        self.assertTrue(self.backend.webhook_secret_set)

    def test_undecryptable_webhook_secret_alone_pauses(self):
        with encryption_key(basware_crypto.generate_key()):
            foreign = basware_crypto.encrypt("secret of another key")
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE basware_backend SET webhook_secret_encrypted = %s WHERE id = %s",
                foreign,
                self.backend.id,
            )
        )
        self.backend.invalidate_recordset()
        self._assert_paused(UNDECRYPTABLE_PREFIX)

    def test_incomplete_backend_fails_instead(self):
        backend = self.env["basware.backend"].create({"name": "Without credentials"})
        self.assertFalse(backend.pause_reason)
        with self.assertRaises(UserError) as caught:
            backend._get_client()
        self.assertNotIsInstance(caught.exception, BackendPaused)
        self.assertIn("incomplete", str(caught.exception))

    def test_archived_backend_pauses(self):
        self.backend.action_archive()
        self._assert_paused("archived", self.backend.name)
        self.backend.action_unarchive()
        self.assertFalse(self._pause_reason())

    def test_pause_reason_is_a_banner_never_stored(self):
        self.assertFalse(self.backend._fields["pause_reason"].store)
        arch = self.env["basware.backend"].get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn(
            '<div class="alert alert-warning" role="alert" invisible="not pause_reason">', arch
        )
        self.assertIn('name="pause_reason"', arch)

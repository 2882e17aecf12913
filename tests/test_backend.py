import json
import time
from datetime import datetime

from psycopg2 import IntegrityError

from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, TransactionCase, tagged
from odoo.tools import SQL, mute_logger

from ..basware import BaswareClient, TokenStore, constants
from ..models import basware_crypto
from ..models.basware_backend import MAX_RETRY_DELAY, BackendPaused
from ..models.basware_backend_credentials import TokenLockTimeout
from .common import CLIENT_SECRET, WEBHOOK_SECRET, BaswareBackendCase, encryption_key

PRODUCTION_URL = "https://api.basware.com"
TEST_URL = "https://test-api.basware.com"


@tagged("post_install", "-at_install")
class TestBackendConfiguration(BaswareBackendCase):
    def _new_backend(self, **values):
        values.setdefault("name", "Backend %s" % len(values))
        return self.env["basware.backend"].create(values)

    def test_default_urls_per_region_and_environment(self):
        cases = {
            ("eu", "production"): PRODUCTION_URL,
            ("eu", "test"): TEST_URL,
            # no regional host is published: the EU hosts stay the editable default
            ("us", "production"): PRODUCTION_URL,
            ("ca", "test"): TEST_URL,
        }
        for (region, environment), url in cases.items():
            with self.subTest(region=region, environment=environment):
                backend = self._new_backend(
                    name=f"{region}-{environment}", region=region, environment=environment
                )
                self.assertEqual(backend.api_url, url)
                self.assertEqual(backend.token_url, url + "/v1/tokens")
                self.assertIn("vendors.write", backend.scope)
                self.assertEqual(backend.signature_header, "X-BWAPI-Signature-256")

    def test_urls_follow_environment_in_form_but_stay_editable(self):
        form = Form(self.env["basware.backend"])
        form.name = "Form backend"
        form.environment = "production"
        self.assertEqual(form.api_url, PRODUCTION_URL)
        form.environment = "test"
        self.assertEqual(form.token_url, TEST_URL + "/v1/tokens")
        form.api_url = "https://basware.example.com"
        self.assertEqual(form.token_url, "https://basware.example.com/v1/tokens")
        form.token_url = "https://login.example.com/v1/tokens"
        backend = form.save()
        self.assertEqual(backend.api_url, "https://basware.example.com")
        self.assertEqual(backend.token_url, "https://login.example.com/v1/tokens")

    def test_urls_must_be_https_unless_loopback(self):
        for url in ("http://api.basware.com", "ftp://127.0.0.1", "api.basware.com"):
            with self.subTest(url=url), self.assertRaises(ValidationError), self.env.cr.savepoint():
                self.backend.api_url = url
        for url in ("http://127.0.0.1:8900", "http://localhost:8900", "http://[::1]:8900"):
            with self.subTest(url=url):
                self.backend.write({"api_url": url, "token_url": url + "/v1/tokens"})
        with self.assertRaises(ValidationError):
            self.backend.token_url = "http://evil.example.com/v1/tokens"

    def test_url_rules_name_the_field_and_the_reason(self):
        cases = [
            ("https://169.254.10.1", "link-local address"),
            ("https://[fe80::1]", "link-local address"),
            ("https://metadata.google.internal", "instance-metadata service"),
            ("https://100.100.100.200", "instance-metadata service"),
            ("https://10.1.2.3", "private or reserved network"),
            ("https://192.168.0.10:8443", "private or reserved network"),
            ("https://user:password@api.basware.com", "user name or password"),
            ("https://api.basware.com/v1\ttokens", "control characters"),
            ("https://api.basware.com/v1 tokens", "control characters"),
            ("http://api.basware.com", "plain http:// is only accepted"),
            ("ftp://api.basware.com", "must be an https:// URL."),
            ("api.basware.com", "must be an https:// URL."),
            ("https://", "complete URL with a host"),
        ]
        for url, fragment in cases:
            for field_name, label in (("api_url", "API URL"), ("token_url", "Token URL")):
                with (
                    self.subTest(url=url, field=field_name),
                    self.assertRaises(ValidationError) as caught,
                    self.env.cr.savepoint(),
                ):
                    self.backend.write({field_name: url})
                message = str(caught.exception)
                self.assertIn(label, message)
                self.assertIn(fragment, message)
        # the local sandbox stays reachable
        self.backend.write(
            {"api_url": "http://127.0.0.1:8900", "token_url": "http://localhost:8900/v1/tokens"}
        )

    @mute_logger("odoo.sql_db")
    def test_name_unique_per_company(self):
        other_company = self.env["res.company"].create({"name": "Other Co"})
        self._new_backend(name=self.backend.name, company_id=other_company.id)
        with self.assertRaises(IntegrityError), self.env.cr.savepoint():
            self._new_backend(name=self.backend.name, company_id=self.company.id)

    @mute_logger("odoo.sql_db")
    def test_retry_settings_checked(self):
        self.assertEqual(
            (
                self.backend.exchange_max_attempts,
                self.backend.exchange_retry_base,
                self.backend.exchange_retry_max,
                self.backend.exchange_batch_size,
            ),
            (5, 60, 3600, 50),
        )
        savepoint = self.env.cr.savepoint
        for values in ({"exchange_max_attempts": 0}, {"exchange_retry_max": 10}):
            with self.subTest(values=values), self.assertRaises(IntegrityError), savepoint():
                self.backend.write(values)

    @mute_logger("odoo.sql_db")
    def test_transport_and_retry_settings_bounded(self):
        limits = {
            "connect_timeout": constants.MAX_CONNECT_TIMEOUT,
            "read_timeout": constants.MAX_READ_TIMEOUT,
            "request_max_attempts": constants.MAX_HTTP_ATTEMPTS,
            "exchange_retry_max": MAX_RETRY_DELAY,
        }
        backends = self.env["basware.backend"]
        for field_name, limit in limits.items():
            with self.subTest(field=field_name):
                self.backend.write({field_name: limit})
                with self.assertRaises(IntegrityError) as caught, self.env.cr.savepoint():
                    self.backend.write({field_name: limit + 1})
                message = backends._sql_error_to_message(caught.exception)
                self.assertIn(str(limit), message)
        message = backends._sql_error_to_message(caught.exception)
        self.assertIn("604800 seconds (7 days)", message)

    def test_empty_recordset_write(self):
        self.assertTrue(self.env["basware.backend"].browse().write({"client_id": "nobody"}))

    def test_backend_with_exchanges_is_archived_not_deleted(self):
        self.env["basware.exchange"]._enqueue(self.backend, "vendor", "outbound")
        with self.assertRaises(UserError) as caught:
            self.backend.unlink()
        self.assertIn("Archive the backend instead", str(caught.exception))
        self.backend.action_archive()
        self.assertFalse(self.backend.active)
        self.assertEqual(self.backend.exchange_count, 1)
        # without exchanges there is no audit trail to lose
        spare = self._new_backend(name="Spare")
        spare.unlink()
        self.assertFalse(spare.exists())

    def test_copy_drops_secrets_and_renames(self):
        duplicate = self.backend.copy()
        self.assertEqual(duplicate.name, "Basware Test (copy)")
        self.assertTrue(self.backend.client_secret_set)
        self.assertFalse(duplicate.client_secret_set)
        self.assertFalse(duplicate.webhook_secret_set)
        self.assertFalse(duplicate._get_client_secret())

    def test_sync_interval(self):
        self.assertTrue(self.backend._is_sync_due())
        self.backend.last_sync_date = datetime(2026, 1, 1, 12, 0)
        self.assertFalse(self.backend._is_sync_due(now=datetime(2026, 1, 1, 12, 14)))
        self.assertTrue(self.backend._is_sync_due(now=datetime(2026, 1, 1, 12, 15)))

    def test_archived_backend_is_not_found_for_its_company(self):
        domain = [("company_id", "=", self.company.id)]
        self.assertEqual(self.env["basware.backend"].search(domain), self.backend)
        self.backend.active = False
        self.assertFalse(self.env["basware.backend"].search(domain))

    def test_exchange_smart_button(self):
        exchange_model = self.env["basware.exchange"]
        exchanges = exchange_model._enqueue(self.backend, "vendor", "outbound")
        exchanges |= exchange_model._enqueue(self.backend, "account", "outbound")
        other = self._new_backend(name="Other backend")
        exchange_model._enqueue(other, "vendor", "outbound")
        self.backend.invalidate_recordset(["exchange_count"])
        self.assertEqual(self.backend.exchange_count, 2)
        action = self.backend.action_view_exchanges()
        self.assertEqual(action["res_model"], "basware.exchange")
        self.assertEqual(exchange_model.search(action["domain"]), exchanges)


@tagged("post_install", "-at_install")
class TestBackendSecrets(BaswareBackendCase):
    def test_no_plaintext_in_database(self):
        row = self.raw_backend_row(self.backend)
        self.assertNotIn(CLIENT_SECRET, row)
        self.assertNotIn(WEBHOOK_SECRET, row)
        ciphertext = self.raw_column(self.backend, "client_secret_encrypted")
        self.assertTrue(ciphertext)
        self.assertEqual(basware_crypto.decrypt(ciphertext), CLIENT_SECRET)
        self.assertEqual(
            basware_crypto.decrypt(self.raw_column(self.backend, "webhook_secret_encrypted")),
            WEBHOOK_SECRET,
        )

    def test_secret_is_write_only(self):
        self.assertFalse(self.backend.client_secret)
        self.assertFalse(self.backend.read(["client_secret"])[0]["client_secret"])
        self.assertTrue(self.backend.client_secret_set)
        self.assertEqual(self.backend._get_client_secret(), CLIENT_SECRET)
        self.assertEqual(self.backend._get_webhook_secret(), WEBHOOK_SECRET)

    def test_form_save_does_not_echo_secret(self):
        result = self.backend.web_save(
            {"client_secret": "typed-in-form"},
            specification={"client_secret": {}, "client_secret_set": {}},
        )
        self.assertEqual(
            result, [{"id": self.backend.id, "client_secret": False, "client_secret_set": True}]
        )
        self.assertEqual(self.backend._get_client_secret(), "typed-in-form")

    def test_secret_replaced_and_cleared(self):
        self.backend.client_secret = "second-secret"
        self.assertEqual(self.backend._get_client_secret(), "second-secret")
        self.assertNotIn("second-secret", self.raw_backend_row(self.backend))
        self.backend.write({"webhook_secret": False})
        self.assertFalse(self.backend.webhook_secret_set)
        self.assertFalse(self.backend._get_webhook_secret())
        # the chatter names the field, never the value
        bodies = " ".join(self.backend.message_ids.mapped("body"))
        self.assertIn("Client Secret changed", bodies)
        self.assertIn("Webhook Secret removed", bodies)
        self.assertNotIn("second-secret", bodies)

    def test_no_removal_logged_when_nothing_was_stored(self):
        backend = self.env["basware.backend"].create(
            {"name": "Fresh", "client_secret": "fresh-secret", "webhook_secret": False}
        )
        backend.write({"webhook_secret": False})
        bodies = " ".join(backend.message_ids.mapped("body"))
        self.assertIn("Client Secret changed", bodies)
        self.assertNotIn("removed", bodies)

    def test_saving_without_key_is_a_clear_error(self):
        with encryption_key(None), self.assertRaises(UserError) as caught:
            self.backend.client_secret = "new-secret"
        self.assertIn("basware_encryption_key", str(caught.exception))
        self.assertNotIn("new-secret", str(caught.exception))

    def test_malformed_key_is_a_clear_error(self):
        with encryption_key("short-key"), self.assertRaises(UserError) as caught:
            self.backend.client_secret = "new-secret"
        self.assertIn("not a valid key", str(caught.exception))
        self.assertNotIn("short-key", str(caught.exception))

    def test_changed_key_is_a_clear_error(self):
        with encryption_key(basware_crypto.generate_key()):
            with self.assertRaises(BackendPaused) as caught:
                self.backend._get_client_secret()
            self.assertIn("the key was changed", str(caught.exception))
            with self.assertRaises(BackendPaused):
                self.backend._get_client()
        # putting the old key after a new one keeps the stored secrets readable
        with encryption_key(f"{basware_crypto.generate_key()},{self.encryption_key}"):
            self.assertEqual(self.backend._get_client_secret(), CLIENT_SECRET)


@tagged("post_install", "-at_install")
class TestTokenLockAcrossWorkers(TransactionCase):
    """Two real transactions on a committed backend: the refresh lock serializes them."""

    def test_second_worker_waits_for_the_refresh_then_reads_the_new_token(self):
        key = basware_crypto.generate_key()
        self.enterContext(encryption_key(key))
        with self.env.registry.cursor() as cr:
            backend_id = self.env(cr=cr)["basware.backend"].create({"name": "Lock"}).id
        self.addCleanup(self._drop_committed_backend, backend_id)
        backends = self.env["basware.backend"]
        worker_a = backends.browse(backend_id)._get_token_store()
        worker_b = (
            backends.with_context(basware_token_lock_timeout_ms=200)
            .browse(backend_id)
            ._get_token_store()
        )
        token = {"access_token": "renewed.by.a", "expires_at": time.time() + 3600}
        with worker_a.locked():
            worker_a.save(token)
            with self.assertRaises(TokenLockTimeout), worker_b.locked():
                self.fail("worker B must not get the lock while A renews the token")
            self.assertIsNone(worker_b.load(), "A's token is not visible before A commits")
        with worker_b.locked():
            self.assertEqual(worker_b.load()["access_token"], "renewed.by.a")

    def _drop_committed_backend(self, backend_id):
        with self.env.registry.cursor() as cr:
            self.env(cr=cr)["basware.backend"].browse(backend_id).unlink()


@tagged("post_install", "-at_install")
class TestBackendTokenStore(BaswareBackendCase):
    def _token(self, access_token="header.payload.signature"):
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "scope": "vendors.read",
            "expires_at": time.time() + 3600,
            "claims": {"bwcid": "TENANT-1"},
        }

    def test_token_saved_encrypted(self):
        store = self.backend._get_token_store()
        self.assertIsInstance(store, TokenStore)
        self.assertIsNone(store.load())
        store.save(self._token())
        self.assertNotIn("header.payload.signature", self.raw_backend_row(self.backend))
        self.assertEqual(store.load()["claims"], {"bwcid": "TENANT-1"})

    def test_reload_under_lock_reads_the_database(self):
        store = self.backend._get_token_store()
        store.save(self._token("first.token.value"))
        self.assertEqual(store.load()["access_token"], "first.token.value")
        # another worker refreshed meanwhile (simulated past the ORM cache)
        ciphertext = basware_crypto.encrypt(json.dumps(self._token("second.token.value")))
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE basware_backend SET token_encrypted = %s WHERE id = %s",
                ciphertext,
                self.backend.id,
            )
        )
        with store.locked():
            self.assertEqual(store.load()["access_token"], "second.token.value")

    def test_unreadable_token_is_ignored(self):
        store = self.backend._get_token_store()
        store.save(self._token())
        with encryption_key(basware_crypto.generate_key()):
            self.assertIsNone(store.load())

    def test_credential_change_drops_cached_token(self):
        store = self.backend._get_token_store()
        store.save(self._token())
        self.backend.client_id = "another-client"
        self.assertIsNone(store.load())
        store.save(self._token())
        self.backend.client_secret = "another-secret"
        self.assertIsNone(store.load())
        store.save(self._token())
        self.backend.exchange_batch_size = 20
        self.assertIsNotNone(store.load(), "unrelated settings keep the token")


@tagged("post_install", "-at_install")
class TestBackendClient(BaswareBackendCase):
    def test_client_built_from_backend(self):
        client = self.backend._get_client(max_attempts=2)
        self.assertIsInstance(client, BaswareClient)
        config = client.config
        self.assertEqual(config.api_url, self.backend.api_url)
        self.assertEqual(config.token_url, self.backend.token_url)
        self.assertEqual(config.client_id, "sandbox")
        self.assertEqual(config.client_secret, CLIENT_SECRET)
        self.assertEqual(config.max_attempts, 2)
        self.assertEqual((config.connect_timeout, config.read_timeout), (5.0, 30.0))
        self.assertNotIn(CLIENT_SECRET, repr(config))

    def test_incomplete_backend(self):
        backend = self.env["basware.backend"].create({"name": "Empty"})
        with self.assertRaises(UserError) as caught:
            backend._get_client()
        self.assertIn("Client ID", str(caught.exception))
        self.assertIn("Client Secret", str(caught.exception))

    def test_neutralized_database_blocks_production(self):
        self.env["ir.config_parameter"].sudo().set_param("database.is_neutralized", "True")
        self.backend._get_client()  # test environments stay usable
        self.backend.write({"environment": "production", "client_secret": CLIENT_SECRET})
        with self.assertRaises(UserError) as caught:
            self.backend._get_client()
        self.assertIn("neutralized", str(caught.exception))


@tagged("post_install", "-at_install")
class TestBackendViewsAndSettings(BaswareBackendCase):
    def test_views_load(self):
        views = self.env["basware.backend"].get_views(
            [(False, "list"), (False, "form"), (False, "search")]
        )
        form_arch = views["views"]["form"]["arch"]
        self.assertIn("action_test_connection", form_arch)
        self.assertIn("action_reencrypt_secrets", form_arch)
        self.assertIn('name="pause_reason"', form_arch)
        self.assertIn('name="client_secret"', form_arch)
        settings_arch = self.env["res.config.settings"].get_views([(False, "form")])
        self.assertIn("basware_exchange_retention_days", settings_arch["views"]["form"]["arch"])

    def test_retention_setting(self):
        settings = self.env["res.config.settings"].create({})
        self.assertEqual(settings.basware_exchange_retention_days, 90)
        settings.basware_exchange_retention_days = 30
        settings.execute()
        param = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("basware_connector.exchange_retention_days")
        )
        self.assertEqual(param, "30")
        self.assertEqual(self.env["basware.exchange"]._retention_days(), 30)

    def test_retention_setting_bounded(self):
        settings_model = self.env["res.config.settings"]
        for days in (0, -1, 3651, 10**6):
            with self.subTest(days=days), self.assertRaises(ValidationError):
                settings_model.create({"basware_exchange_retention_days": days})
        settings_model.create({"basware_exchange_retention_days": 3650}).execute()
        self.assertEqual(self.env["basware.exchange"]._retention_days(), 3650)

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from ..models import basware_crypto
from .common import CLIENT_ID, CLIENT_SECRET, UNUSED_LOCAL_URL, BaswareSandboxCase, encryption_key

TOKEN_PATH = "/v1/tokens"
LOCK_TIMEOUT_MESSAGE = "Another worker is renewing the Basware access token; try again in a moment."


@tagged("post_install", "-at_install")
class TestConnection(BaswareSandboxCase):
    """The "Test connection" button against the local sandbox, over real HTTP."""

    def _assert_test_fails(self, *expected_fragments):
        """The test ran and failed: a sticky notification, and the outcome on the backend."""
        params = self.backend.action_test_connection()["params"]
        self.assertEqual(
            (params["title"], params["type"], params["sticky"]),
            ("Connection test failed", "danger", True),
        )
        message = params["message"]
        for fragment in (*expected_fragments, f"client ID {CLIENT_ID}"):
            self.assertIn(fragment, message)
        self.assertNotIn(CLIENT_SECRET, message)
        self.assertFalse(self.backend.last_connection_test_ok)
        self.assertEqual(self.backend.last_connection_test_message, message)
        self.assertTrue(self.backend.last_connection_test_date)
        return message

    def _assert_test_refused(self, *expected_fragments):
        """The backend may not connect at all: an error, and no test recorded."""
        with self.assertRaises(UserError) as caught:
            self.backend.action_test_connection()
        message = str(caught.exception)
        for fragment in expected_fragments:
            self.assertIn(fragment, message)
        self.assertFalse(self.backend.last_connection_test_date)
        return message

    def _token_calls(self):
        return [entry for entry in self.sandbox.requests if entry["path"] == TOKEN_PATH]

    def test_success_shows_tenant_and_caches_token(self):
        action = self.backend.action_test_connection()
        self.assertEqual(action["tag"], "display_notification")
        params = action["params"]
        self.assertEqual((params["type"], params["sticky"]), ("success", False))
        self.assertIn("SANDBOX-TEST", params["message"])
        self.assertTrue(self.backend.last_connection_test_ok)
        self.assertEqual(self.backend.last_connection_test_message, params["message"])
        token = self.backend._get_token_store().load()
        self.assertEqual(token["claims"]["bwcid"], "SANDBOX-TEST")
        self.assertNotIn(token["access_token"], self.raw_backend_row(self.backend))
        # the queue's client reuses the cached token: no second token request
        with self.backend._get_client() as client:
            client.request("GET", "/v1/requestStatus", expected=(200, 404))
        self.assertEqual(len(self._token_calls()), 1)

    def test_wrong_secret(self):
        self.backend.client_secret = "not-the-sandbox-secret"
        message = self._assert_test_fails("rejected the credentials", "sandbox")
        self.assertNotIn("not-the-sandbox-secret", message)

    def test_unknown_scope(self):
        self.backend.scope = "vendors.read vendors.fly"
        self._assert_test_fails("refused the requested scopes", "vendors.fly")

    def test_scope_missing_for_the_call(self):
        # a valid token that may not read request statuses: Basware answers 403
        self.backend.scope = "vendors.read"
        self._assert_test_fails("refused the requested scopes")

    def test_unreachable_host(self):
        self.backend.api_url = UNUSED_LOCAL_URL
        self.assertEqual(self.backend.token_url, UNUSED_LOCAL_URL + TOKEN_PATH)
        self._assert_test_fails("Could not reach", UNUSED_LOCAL_URL)

    def test_environment_mismatch(self):
        # same server, other host name: the token's issuer is not the API host
        self.backend.api_url = self.sandbox.url.replace("127.0.0.1", "localhost")
        self.backend.token_url = self.sandbox.token_url
        self._assert_test_fails("another region or environment")

    def test_issuer_check_can_be_configured(self):
        self.backend.api_url = self.sandbox.url.replace("127.0.0.1", "localhost")
        self.backend.token_url = self.sandbox.token_url
        # the issuer Basware really uses for this tenant
        self.backend.token_issuer = self.sandbox.url
        self.assertEqual(self.backend.action_test_connection()["params"]["type"], "success")
        self.backend.write({"token_issuer": False, "check_token_issuer": False})
        self.assertEqual(self.backend.action_test_connection()["params"]["type"], "success")
        self.backend.check_token_issuer = True
        self._assert_test_fails("another region or environment")

    def test_archived_backend_is_not_tested(self):
        self.backend.action_archive()
        self._assert_test_refused("archived", "Unarchive")
        self.assertFalse(self.sandbox.requests, "nothing reaches Basware")


@tagged("post_install", "-at_install")
class TestConnectionWhileAnotherWorkerRenews(TransactionCase):
    """Real transactions: another worker holds the backend's token lock."""

    def test_lock_timeout_is_explained(self):
        self.enterContext(encryption_key(basware_crypto.generate_key()))
        registry = self.env.registry
        with registry.cursor() as cr:
            env = self.env(cr=cr, context={"tracking_disable": True})
            backend_id = (
                env["basware.backend"]
                .create(
                    {
                        "name": "Token being renewed",
                        "api_url": UNUSED_LOCAL_URL,
                        "client_id": CLIENT_ID,
                        "client_secret": CLIENT_SECRET,
                    }
                )
                .id
            )
        self.addCleanup(self._drop_committed_backend, backend_id)
        with registry.cursor() as other_worker, registry.cursor() as cr:
            other_worker.execute(
                SQL("SELECT id FROM basware_backend WHERE id = %s FOR UPDATE", backend_id)
            )
            env = self.env(cr=cr, context={"basware_token_lock_timeout_ms": 100})
            params = env["basware.backend"].browse(backend_id).action_test_connection()["params"]
        self.assertEqual(params["title"], "Connection test failed")
        self.assertEqual(params["message"], f"{LOCK_TIMEOUT_MESSAGE} (client ID {CLIENT_ID})")

    def _drop_committed_backend(self, backend_id):
        with self.env.registry.cursor() as cr:
            self.env(cr=cr)["basware.backend"].browse(backend_id).unlink()

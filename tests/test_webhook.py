"""The webhook controller over real HTTP: Odoo answers, the sandbox subscribes and pushes."""

import hashlib
import hmac
import json
import uuid

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import SQL, mute_logger

from .common import CLIENT_ID, CLIENT_SECRET, WEBHOOK_SECRET, run_now, start_key_and_sandbox

ROUTE = "/basware/webhook/"
SIGNATURE_HEADER = "X-BWAPI-Signature-256"
MAX_BODY_PARAM = "basware_connector.webhook_max_body_bytes"
UNVERIFIED_PING_PARAM = "basware_connector.webhook_accept_unverified_connection_test"
IMPORT_CRON = "basware_connector.ir_cron_basware_import_documents"
WEBHOOK_LOGGERS = (
    "odoo.addons.basware_connector.controllers.main",
    "odoo.addons.basware_connector.models.basware_backend_webhook",
)


def sign(body, secret=WEBHOOK_SECRET):
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notification(task_type="AccountingDocuments", **values):
    """A NotificationPayload as Basware posts it."""
    payload = {
        "taskId": str(uuid.uuid4()),
        "taskStatus": "New",
        "taskType": task_type,
        "taskSubType": "WaitingForTransfer",
        "documentId": uuid.uuid4().hex,
        "expirationTime": "2030-01-01T00:00:00Z",
    }
    payload.update(values)
    return payload


def encode(payload):
    return json.dumps(payload, separators=(",", ":")).encode()


# One active backend per tenant and company code: another backend has its own code.
OTHER_CODE = "C200"


@tagged("post_install", "-at_install")
class WebhookCase(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = start_key_and_sandbox(cls)
        cls.backend = cls._backend("Webhook")
        cls.cron = cls.env.ref(IMPORT_CRON)

    @classmethod
    def _backend(cls, name, **values):
        return cls.env["basware.backend"].create(
            {
                "name": name,
                "environment": "test",
                "api_url": cls.sandbox.url,
                "token_url": cls.sandbox.token_url,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "webhook_secret": WEBHOOK_SECRET,
                "basware_company_code": "C100",
                **values,
            }
        )

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    def path(self, backend=None):
        return ROUTE + (backend or self.backend).webhook_token

    def post(self, body, signature=None, path=None, headers=None):
        """POST a raw body; ``signature`` None signs it with the webhook secret, False sends
        no signature header."""
        headers = {"Content-Type": "application/json", **(headers or {})}
        if signature is None:
            signature = sign(body)
        if signature:
            headers[SIGNATURE_HEADER] = signature
        with mute_logger(*WEBHOOK_LOGGERS):
            return self.url_open(path or self.path(), data=body, headers=headers)

    def exchanges(self, backend=None):
        return self.env["basware.exchange"].search(
            [
                ("backend_id", "=", (backend or self.backend).id),
                ("kind", "=", "webhook_notification"),
            ]
        )

    def triggers(self):
        return self.env["ir.cron.trigger"].search_count([("cron_id", "=", self.cron.id)])

    def assertRefused(self, response, status):
        self.assertEqual(response.status_code, status, response.text)
        self.assertFalse(self.exchanges())


class TestWebhookController(WebhookCase):
    def test_signed_notification_is_stored_and_wakes_the_import(self):
        self.env.cr.execute(SQL("DELETE FROM ir_cron_trigger WHERE cron_id = %s", self.cron.id))
        payload = notification()
        response = self.post(encode(payload))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json(), payload)
        exchange = self.exchanges()
        self.assertEqual(len(exchange), 1)
        self.assertEqual(exchange.direction, "inbound")
        self.assertEqual(exchange.state, "pending")
        self.assertEqual(exchange.dedup_key, f"task:{payload['taskId']}")
        self.assertEqual(exchange.external_code, payload["documentId"])
        self.assertEqual(json.loads(exchange.request_payload), payload)
        self.assertEqual(self.triggers(), 1)
        # The next notifications of the burst count on the trigger waiting.
        self.assertEqual(self.post(encode(notification())).status_code, 200)
        self.assertEqual(len(self.exchanges()), 2)
        self.assertEqual(self.triggers(), 1)

    def test_stored_notification_runs_as_done_on_the_queue(self):
        payload = notification()
        self.post(encode(payload))
        exchange = self.exchanges()
        run_now(exchange)
        self.assertEqual(exchange.state, "done", exchange.error_message)
        self.assertEqual(json.loads(exchange.response_payload)["documentId"], payload["documentId"])

    def test_duplicate_task_is_answered_and_stored_once(self):
        body = encode(notification())
        first = self.post(body)
        triggers = self.triggers()
        second = self.post(body)
        self.assertEqual((first.status_code, second.status_code), (200, 200))
        self.assertEqual(len(self.exchanges()), 1)
        self.assertEqual(self.triggers(), triggers)

    def test_basware_misspelled_task_type_is_stored(self):
        # Basware's own example says "AccoutingDocuments".
        response = self.post(encode(notification("AccoutingDocuments")))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(len(self.exchanges()), 1)

    def test_connection_test_is_answered_and_not_stored(self):
        triggers = self.triggers()
        response = self.post(encode(notification("ConnectionTest", documentId="ConnectionTest")))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertFalse(self.exchanges())
        self.assertEqual(self.triggers(), triggers)

    def test_other_task_types_are_answered_and_ignored(self):
        response = self.post(encode(notification("RequestStatus", taskSubType="Error")))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertFalse(
            self.env["basware.exchange"].search([("backend_id", "=", self.backend.id)])
        )

    def test_tampered_body_is_refused(self):
        body = encode(notification())
        tampered = body.replace(b"WaitingForTransfer", b"WaitingForTransfeR")
        self.assertRefused(self.post(tampered, signature=sign(body)), 401)

    def test_missing_signature_is_refused(self):
        self.assertRefused(self.post(encode(notification()), signature=False), 401)

    def test_signature_with_another_secret_is_refused(self):
        body = encode(notification())
        self.assertRefused(self.post(body, signature=sign(body, "another-secret")), 401)

    def test_backend_without_webhook_secret_refuses_everything(self):
        self.backend.webhook_secret = False
        body = encode(notification())
        self.assertRefused(self.post(body), 401)
        self.assertRefused(self.post(body, signature=sign(body, "")), 401)

    def test_refusals_look_the_same_and_log_no_secret_or_signature(self):
        body = encode(notification())
        bad_signature = sign(body, "another-secret")
        logger = "odoo.addons.basware_connector.models.basware_backend_webhook"
        with self.assertLogs(logger, "INFO") as logs:
            wrong = self.url_open(self.path(), data=body, headers={SIGNATURE_HEADER: bad_signature})
        missing = self.post(body, signature=False)
        self.assertEqual((wrong.status_code, missing.status_code), (401, 401))
        self.assertEqual(wrong.content, missing.content)
        text = "\n".join(logs.output)
        self.assertIn("does not match (64 characters, a SHA-256 digest)", text)
        for secret in (bad_signature, WEBHOOK_SECRET, self.backend.webhook_token):
            self.assertNotIn(secret, text)

    def test_signature_header_is_configurable(self):
        self.backend.signature_header = "X-Signature"
        body = encode(notification())
        self.assertRefused(self.post(body), 401)
        response = self.post(body, signature=False, headers={"X-Signature": "sha256=" + sign(body)})
        self.assertEqual(response.status_code, 200, response.text)

    def test_oversize_body_is_refused_before_anything_else(self):
        self.env["ir.config_parameter"].set_param(MAX_BODY_PARAM, "1024")
        body = encode(notification(padding="x" * 2048))
        self.assertRefused(self.post(body), 413)
        # Size comes first: an unknown token or a bad signature changes nothing.
        self.assertRefused(self.post(body, path=ROUTE + "x" * 43), 413)
        self.assertRefused(self.post(body, signature=False), 413)
        self.assertEqual(self.post(encode(notification())).status_code, 200)

    def test_oversize_chunked_body_is_refused(self):
        self.env["ir.config_parameter"].set_param(MAX_BODY_PARAM, "1024")
        body = encode(notification(padding="x" * 4096))
        chunks = (body[start : start + 512] for start in range(0, len(body), 512))
        self.assertRefused(self.post(chunks, signature=sign(body)), 413)

    def test_unknown_token_is_not_found(self):
        body = encode(notification())
        for token in ("x" * 43, "short", self.backend.webhook_token[:-1] + "!"):
            self.assertRefused(self.post(body, path=ROUTE + token), 404)

    def test_archived_backend_is_not_found(self):
        self.backend.active = False
        self.assertRefused(self.post(encode(notification())), 404)

    def test_token_is_checked_before_the_signature(self):
        self.assertRefused(self.post(b"{}", signature=False, path=ROUTE + "y" * 43), 404)

    def test_signature_is_checked_before_the_json(self):
        self.assertRefused(self.post(b"{not json", signature="0" * 64), 401)

    def test_malformed_notification_is_a_bad_request(self):
        for body in (b"{not json", b"[1, 2]", b'"text"', b"[" * 100000, b"\xff\xfe{"):
            self.assertRefused(self.post(body), 400)
        no_task = notification()
        del no_task["taskId"]
        self.assertRefused(self.post(encode(no_task)), 400)

    def test_get_is_not_a_notification(self):
        with mute_logger("odoo.http", "werkzeug"):
            response = self.url_open(self.path())
        self.assertIn(response.status_code, (404, 405))
        self.assertFalse(self.exchanges())

    def test_unverified_connection_test_only_when_allowed(self):
        ping = encode(notification("ConnectionTest"))
        self.assertRefused(self.post(ping, signature=False), 401)
        self.env["ir.config_parameter"].set_param(UNVERIFIED_PING_PARAM, "True")
        self.assertEqual(self.post(ping, signature=False).status_code, 200)
        # Only the ping: a real notification still needs its signature.
        self.assertRefused(self.post(encode(notification()), signature=False), 401)

    def test_each_backend_verifies_with_its_own_secret(self):
        other = self._backend(
            "Other", webhook_secret="other-secret", basware_company_code=OTHER_CODE
        )
        body = encode(notification())
        self.assertRefused(self.post(body, path=self.path(other)), 401)
        response = self.post(body, signature=sign(body, "other-secret"), path=self.path(other))
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(len(self.exchanges(other)), 1)


class TestWebhookToken(WebhookCase):
    def test_each_backend_gets_its_own_unguessable_token(self):
        other = self._backend("Other", basware_company_code=OTHER_CODE)
        copy = self.backend.copy()
        tokens = {self.backend.webhook_token, other.webhook_token, copy.webhook_token}
        self.assertEqual(len(tokens), 3)
        self.assertTrue(all(len(token) >= 43 for token in tokens))
        self.assertEqual(self.backend.webhook_url, self.base_url() + self.path())

    def test_existing_backends_get_distinct_tokens_on_update(self):
        other = self._backend("Other", basware_company_code=OTHER_CODE)
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE basware_backend SET webhook_token = NULL WHERE id IN %s",
                (self.backend.id, other.id),
            )
        )
        self.env["basware.backend"].init()
        self.env.invalidate_all()
        self.assertTrue(self.backend.webhook_token)
        self.assertTrue(other.webhook_token)
        self.assertNotEqual(self.backend.webhook_token, other.webhook_token)

    def test_regenerated_token_retires_the_old_url(self):
        old_path = self.path()
        self.backend.action_regenerate_webhook_token()
        self.assertNotEqual(self.path(), old_path)
        body = encode(notification())
        self.assertRefused(self.post(body, path=old_path), 404)
        self.assertEqual(self.post(body).status_code, 200)

    def test_token_and_url_are_for_managers_only(self):
        user = new_test_user(
            self.env, login="bw_webhook_user", groups="basware_connector.group_basware_user"
        )
        backend = self.backend.with_user(user)
        self.assertTrue(backend.name)
        for field_name in ("webhook_token", "webhook_url"):
            with self.assertRaises(AccessError):
                backend.read([field_name])
        for action in (
            backend.action_regenerate_webhook_token,
            backend.action_subscribe_webhooks,
            backend.action_unsubscribe_webhooks,
        ):
            with self.assertRaises(AccessError):
                action()


class TestWebhookSubscription(WebhookCase):
    def subscribe(self, backend=None):
        # Basware calls the webhook back while it subscribes: let that request in, and let
        # it see this test's writes.
        self.env.flush_all()
        with self.allow_requests(all_requests=True), mute_logger(*WEBHOOK_LOGGERS):
            action = (backend or self.backend).action_subscribe_webhooks()
        self.env.invalidate_all()
        return action

    def unsubscribe(self, backend=None):
        return (backend or self.backend).action_unsubscribe_webhooks()

    def subscriptions(self):
        return self.sandbox.received("subscriptions")

    def test_subscribe_then_a_pushed_notification_is_stored(self):
        action = self.subscribe()
        self.assertEqual(action["params"]["type"], "success")
        [subscription] = self.subscriptions()
        self.assertEqual(subscription["taskType"], "AccountingDocuments")
        self.assertEqual(subscription["taskSubType"], "WaitingForTransfer")
        self.assertEqual(subscription["subscriptionType"], "Webhook")
        self.assertEqual(subscription["notificationWebhookURL"], self.backend.webhook_url)
        self.assertEqual(subscription["webhookAuthenticationToken"], WEBHOOK_SECRET)
        # Basware's ConnectionTest reached Odoo, was answered 200 and stored nothing.
        [ping] = self.sandbox.webhook_deliveries
        self.assertEqual((ping["taskType"], ping["status"]), ("ConnectionTest", 200))
        self.assertFalse(self.exchanges())

        self.env.flush_all()
        with self.allow_requests(all_requests=True), mute_logger(*WEBHOOK_LOGGERS):
            document = self.sandbox.approve_invoice()
            self.sandbox.wait_webhooks()
        self.env.invalidate_all()
        pushed = self.sandbox.webhook_deliveries[-1]
        self.assertEqual((pushed["documentId"], pushed["status"]), (document["invoiceId"], 200))
        exchange = self.exchanges()
        self.assertEqual(exchange.dedup_key, f"task:{pushed['taskId']}")
        self.assertEqual(exchange.external_code, document["invoiceId"])

    def test_a_notification_delivered_twice_is_stored_once(self):
        self.subscribe()
        self.sandbox.set_faults(duplicate_webhooks=True)
        self.addCleanup(self.sandbox.clear_faults)
        self.env.flush_all()
        with self.allow_requests(all_requests=True), mute_logger(*WEBHOOK_LOGGERS):
            document = self.sandbox.approve_invoice()
            self.sandbox.wait_webhooks()
        self.env.invalidate_all()
        deliveries = [
            d for d in self.sandbox.webhook_deliveries if d["taskType"] != "ConnectionTest"
        ]
        self.assertEqual([d["status"] for d in deliveries], [200, 200])
        self.assertEqual(len({d["taskId"] for d in deliveries}), 1)
        self.assertEqual(self.exchanges().mapped("external_code"), [document["invoiceId"]])

    def test_subscribe_needs_a_webhook_secret(self):
        self.backend.webhook_secret = False
        with self.assertRaisesRegex(UserError, "webhook secret"):
            self.subscribe()
        self.assertFalse(self.subscriptions())

    def test_subscribe_explains_a_failed_connection_test(self):
        # Odoo looks for the signature in another header: the ConnectionTest gets 401.
        self.backend.signature_header = "X-Elsewhere"
        with self.assertRaisesRegex(UserError, "test notification") as caught:
            self.subscribe()
        self.assertNotIn(WEBHOOK_SECRET, str(caught.exception))
        self.assertFalse(self.subscriptions())

    def test_subscribe_refuses_a_url_basware_cannot_reach(self):
        backend = self._backend("Remote", api_url="https://test-api.basware.com")
        with self.assertRaisesRegex(UserError, "public https://"):
            backend.action_subscribe_webhooks()

    def test_unsubscribe_removes_the_subscription(self):
        self.subscribe()
        action = self.unsubscribe()
        self.assertEqual(action["params"]["type"], "success")
        self.assertFalse(self.subscriptions())
        self.assertEqual(self.unsubscribe()["params"]["type"], "info")

    def test_unsubscribe_leaves_another_systems_subscription(self):
        other = self._backend("Other", basware_company_code=OTHER_CODE)
        self.subscribe()
        self.subscribe(other)
        with self.assertRaisesRegex(UserError, "another URL"):
            self.unsubscribe()
        [subscription] = self.subscriptions()
        self.assertEqual(subscription["notificationWebhookURL"], other.webhook_url)

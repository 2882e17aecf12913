"""The sandbox's push notifications: subscriptions, ConnectionTest, signed task notifications."""

import hashlib
import hmac
import json
import threading
import time

from werkzeug.datastructures import Headers
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from .common import matching_order
from .test_sandbox import SandboxCase, vendor

SECRET = "whsec-sandbox-test-9d2c"
SIGNATURE_HEADER = "X-BWAPI-Signature-256"


class Receiver:
    """A tiny webhook endpoint on a free port that records what it gets."""

    def __init__(self):
        self.calls = []
        self.status = 200
        self.delay = 0.0
        self._received = threading.Condition()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/basware/webhook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _app(self, environ, start_response):
        request = Request(environ)
        time.sleep(self.delay)
        with self._received:
            self.calls.append((Headers(request.headers), request.get_data()))
            self._received.notify_all()
        return Response("ok", status=self.status)(environ, start_response)

    def wait_for(self, count, timeout=5.0):
        with self._received:
            self._received.wait_for(lambda: len(self.calls) >= count, timeout)
        return [json.loads(body) for _headers, body in self.calls]

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def expected_signature(body, secret=SECRET):
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookCase(SandboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.receiver = Receiver()
        cls.addClassCleanup(cls.receiver.stop)

    def setUp(self):
        super().setUp()
        self.receiver.calls.clear()
        self.receiver.status = 200
        self.receiver.delay = 0.0

    def subscription(self, **values):
        record = {
            "taskType": "AccountingDocuments",
            "taskSubType": "WaitingForTransfer",
            "subscriptionType": "Webhook",
            "notificationWebhookURL": self.receiver.url,
            "webhookAuthenticationToken": SECRET,
        }
        return {k: v for k, v in {**record, **values}.items() if v is not None}

    def subscribe(self, **values):
        response = self.api("POST", "/v1/subscriptions", json=[self.subscription(**values)])
        self.assertEqual(response.status_code, 200, response.text)
        return response


class TestSandboxSubscriptions(WebhookCase):
    def test_subscribe_sends_a_signed_connection_test(self):
        response = self.subscribe()
        self.assertEqual(response.json()[0]["taskType"], "AccountingDocuments")
        self.assertTrue(response.json()[0]["lastUpdated"])
        [(headers, body)] = self.receiver.calls
        self.assertTrue(hmac.compare_digest(headers[SIGNATURE_HEADER], expected_signature(body)))
        payload = json.loads(body)
        self.assertEqual(payload["taskType"], "ConnectionTest")
        for field in ("taskId", "taskStatus", "documentId", "expirationTime"):
            self.assertTrue(payload[field], field)
        listed = self.api("GET", "/v1/subscriptions?taskType=AccountingDocuments").json()
        self.assertEqual(len(listed["subscriptions"]), 1)

    def test_subscribe_fails_when_the_endpoint_does_not_answer_200(self):
        self.receiver.status = 500
        response = self.api("POST", "/v1/subscriptions", json=[self.subscription()])
        self.assertEqual(response.status_code, 400)
        self.assertTrue(response.json()["hasError"])
        self.assertIn("ConnectionTest", response.json()["errorMessages"][0]["message"])
        self.assertEqual(len(self.receiver.calls), 1)
        self.assertEqual(self.api("GET", "/v1/subscriptions").status_code, 404)

    def test_subscription_schema(self):
        cases = {
            "webhookAuthenticationToken: field is required": {"webhookAuthenticationToken": None},
            "taskType: 'Invoices' is not one of": {"taskType": "Invoices"},
            "notificationWebhookURL: longer than 2083": {
                "notificationWebhookURL": self.receiver.url + "?" + "x" * 2083
            },
            "subscriptionType: 'Email' is not one of": {"subscriptionType": "Email"},
        }
        for message, change in cases.items():
            response = self.api("POST", "/v1/subscriptions", json=[self.subscription(**change)])
            self.assertEqual(response.status_code, 400, message)
            messages = [e["message"] for e in response.json()["errorMessages"]]
            self.assertTrue(any(message in m for m in messages), messages)
        self.assertEqual(self.receiver.calls, [])
        token = self.get_token("subscriptions.read").json()["access_token"]
        response = self.api("POST", "/v1/subscriptions", token=token, json=[self.subscription()])
        self.assertEqual(response.status_code, 403)

    def test_delete_subscriptions(self):
        self.subscribe()
        self.subscribe(taskType="RequestStatus", taskSubType="Error")
        path = "/v1/subscriptions?lastUpdated=2000-01-01&taskType=All&taskSubType=Error"
        response = self.api("DELETE", path)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["numberOfRecordsDeleted"], 1)
        remaining = self.api("GET", "/v1/subscriptions").json()["subscriptions"]
        self.assertEqual([s["taskType"] for s in remaining], ["AccountingDocuments"])
        self.assertEqual(self.api("DELETE", "/v1/subscriptions?taskType=All").status_code, 422)


class TestSandboxNotifications(WebhookCase):
    def test_approval_pushes_a_signed_notification(self):
        self.subscribe()
        doc = self.srv.approve_invoice()
        calls = self.receiver.wait_for(2)
        self.assertEqual(len(calls), 2)
        notification = calls[1]
        self.assertEqual(notification["taskType"], "AccountingDocuments")
        self.assertEqual(notification["taskSubType"], "WaitingForTransfer")
        self.assertEqual(notification["taskStatus"], "New")
        self.assertEqual(notification["documentId"], doc["invoiceId"])
        headers, body = self.receiver.calls[1]
        self.assertEqual(headers[SIGNATURE_HEADER], expected_signature(body))
        self.assertNotEqual(headers[SIGNATURE_HEADER], expected_signature(body, "other"))
        tasks = self.api("GET", f"/v1/tasks?documentId={doc['invoiceId']}").json()["taskStatus"]
        self.assertEqual([t["taskId"] for t in tasks], [notification["taskId"]])
        task = self.api("GET", f"/v1/tasks/{notification['taskId']}")
        self.assertEqual(task.status_code, 200)
        self.assertEqual(self.api("GET", "/v1/tasks/unknown").status_code, 404)

    def test_no_push_without_a_matching_subscription(self):
        self.subscribe(taskSubType="WaitingForPrebook")
        self.srv.approve_invoice()
        self.srv.wait_webhooks()
        self.assertEqual(len(self.receiver.calls), 1)  # the ConnectionTest only
        self.assertEqual(self.api("GET", "/v1/tasks").status_code, 404)

    def test_duplicate_delivery_fault(self):
        self.subscribe(taskSubType="All")
        self.srv.set_faults(duplicate_webhooks=True)
        self.srv.approve_invoice()
        calls = self.receiver.wait_for(3)
        self.assertEqual(len(calls), 3)
        self.assertEqual(calls[1], calls[2])

    def test_push_does_not_block_the_caller(self):
        self.subscribe()
        self.receiver.delay = 1.5
        started = time.monotonic()
        self.srv.approve_invoice()
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertEqual(len(self.receiver.wait_for(2)), 2)

    def test_request_status_notification(self):
        self.subscribe(taskType="RequestStatus", taskSubType=None)
        order = matching_order("PO1", "NOPE")
        self.post_ok("/v1/vendors", [vendor("V1")])  # Success: not pushed (default: Error)
        failed = self.post_ok("/v1/matchingOrders", [order])
        calls = self.receiver.wait_for(2)
        self.srv.wait_webhooks()
        self.assertEqual(len(self.receiver.calls), 2)
        self.assertEqual(calls[1]["taskType"], "RequestStatus")
        self.assertEqual(calls[1]["taskSubType"], "Error")
        self.assertEqual(calls[1]["documentId"], failed.headers["x-amzn-RequestId"])


class TestSandboxWebhookSecret(WebhookCase):
    server_kwargs = {"webhook_secret": "server-wide-secret"}  # noqa: RUF012

    def test_server_secret_signs_instead_of_the_subscription_token(self):
        self.subscribe()
        [(headers, body)] = self.receiver.calls
        self.assertEqual(headers[SIGNATURE_HEADER], expected_signature(body, "server-wide-secret"))
        self.assertNotEqual(headers[SIGNATURE_HEADER], expected_signature(body))

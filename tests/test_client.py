"""The Basware client against the local sandbox, over real HTTP on loopback (no database)."""

import base64
import json
import logging
import socket
import threading
import time
import uuid

from odoo.tests.common import BaseCase

from ..basware import BaswareClient, ClientConfig, MemoryTokenStore, errors
from ..basware import constants as bw
from ..basware.client import bulk_limit, chunk_records
from ..basware.request_status import parse_request_statuses
from ..sandbox import DROP, SandboxServer
from .common import post_records, vendor

CLIENT_ID = "client-tests"
CLIENT_SECRET = "cs-client-tests-4e8b1f"
VENDORS = bw.VENDORS_PATH
LOGGER = "odoo.addons.basware_connector.basware"


def accounting_documents(client, **filters):
    """The accounting documents of every page, as the inbound import reads them."""
    return [doc for page in client.iter_accounting_document_pages(**filters) for doc in page]


def closed_port():
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RecordingSleep:
    """Records the waits instead of sleeping (only where real time is not the point)."""

    def __init__(self):
        self.calls = []

    def __call__(self, seconds):
        self.calls.append(seconds)


class ShiftedClock:
    """Wall clock moved by ``offset`` seconds: the client's view of time only."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self):
        return time.time() + self.offset


class TestClientSandbox(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = SandboxServer(port=0, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        cls.sandbox.start()

    @classmethod
    def tearDownClass(cls):
        cls.sandbox.close()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    # helpers ----------------------------------------------------------------------------

    def make_client(self, store=None, sleep=time.sleep, clock=time.time, **overrides):
        values = {
            "api_url": self.sandbox.url,
            "token_url": self.sandbox.token_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "max_attempts": 4,
            "backoff_base": 0.05,
            "backoff_max": 0.5,
            "deadline": 30.0,
        }
        values.update(overrides)
        client = BaswareClient(ClientConfig(**values), store, sleep=sleep, clock=clock)
        self.addCleanup(client.close)
        return client

    def calls(self, path=None, method=None):
        return [
            entry
            for entry in self.sandbox.requests
            if (path is None or entry["path"] == path)
            and (method is None or entry["method"] == method)
        ]

    def token_calls(self):
        return self.calls(bw.TOKEN_PATH, "POST")

    # tokens -----------------------------------------------------------------------------

    def test_token_fetch(self):
        store = MemoryTokenStore()
        client = self.make_client(store)
        response = client.request("GET", VENDORS, expected=(200, 404))
        self.assertEqual(response.status, 404)
        [token_call] = self.token_calls()
        self.assertEqual(token_call["auth_scheme"], "Basic")
        self.assertEqual(token_call["status"], 200)
        token = store.load()
        self.assertTrue(token["access_token"])
        self.assertEqual(token["token_type"], "Bearer")
        self.assertAlmostEqual(token["expires_at"] - time.time(), 3600, delta=30)
        self.assertEqual(client.token_claims["iss"], self.sandbox.url)
        self.assertTrue(client.token_claims["bwcid"])
        [api_call] = self.calls(VENDORS)
        self.assertEqual(api_call["auth_scheme"], "Bearer")
        # The token is reused by the next call.
        client.request("GET", VENDORS, expected=(200, 404))
        self.assertEqual(len(self.token_calls()), 1)

    def test_early_refresh(self):
        self.sandbox.set_faults(token_lifetime=200)
        clock = ShiftedClock()
        client = self.make_client(clock=clock)
        client.request("GET", VENDORS, expected=(200, 404))
        first = client.token_store.load()["access_token"]
        clock.offset = 100  # 100 s left, more than the 60 s margin: kept
        client.request("GET", VENDORS, expected=(200, 404))
        self.assertEqual(len(self.token_calls()), 1)
        clock.offset = 145  # 55 s left: renewed before it expires
        client.request("GET", VENDORS, expected=(200, 404))
        self.assertEqual(len(self.token_calls()), 2)
        self.assertNotEqual(client.token_store.load()["access_token"], first)
        self.assertEqual([c["status"] for c in self.calls(VENDORS)], [404, 404, 404])

    def test_expired_token_gets_one_new_token_and_one_retry(self):
        self.sandbox.set_faults(token_lifetime=2)
        frozen = time.time()
        # The client's clock stands still: it believes the token is fresh, Basware does not.
        client = self.make_client(clock=lambda: frozen)
        client.request("GET", VENDORS, expected=(200, 404))
        time.sleep(2.2)
        response = client.request("GET", VENDORS, expected=(200, 404))
        self.assertEqual(response.status, 404)
        self.assertEqual(len(self.token_calls()), 2)
        self.assertEqual([c["status"] for c in self.calls(VENDORS)], [404, 401, 404])

    def test_second_401_raises_auth_error(self):
        client = self.make_client()
        self.sandbox.fail_next(401, count=5, path_prefix=VENDORS)
        with self.assertRaises(errors.BaswareAuthError) as caught:
            client.request("GET", VENDORS)
        self.assertEqual(len(self.token_calls()), 2, "one token, then exactly one new token")
        self.assertEqual([c["status"] for c in self.calls(VENDORS)], [401, 401])
        self.assertEqual(caught.exception.status, 401)
        self.assertNotIn(CLIENT_SECRET, str(caught.exception))

    def test_wrong_secret(self):
        client = self.make_client(client_secret="not-the-secret", sleep=RecordingSleep())
        with self.assertRaises(errors.BaswareAuthError) as caught:
            client.request("GET", VENDORS)
        self.assertIs(type(caught.exception), errors.BaswareAuthError)
        self.assertIn("wrong client id or secret", str(caught.exception))
        self.assertNotIn("not-the-secret", str(caught.exception))
        self.assertNotIn("not-the-secret", json.dumps(caught.exception.to_dict()))
        self.assertEqual(len(self.token_calls()), 1, "credentials errors are not retried")
        self.assertEqual(self.calls(VENDORS), [])

    def test_non_ascii_secret(self):
        secret = "s\u20accret-\u00fc"
        with SandboxServer(port=0, client_id=CLIENT_ID, client_secret=secret) as other:
            client = self.make_client(
                api_url=other.url, token_url=other.token_url, client_secret=secret
            )
            self.assertEqual(client.request("GET", VENDORS, expected=(200, 404)).status, 404)

    def test_bad_scope(self):
        client = self.make_client(scope="vendors.read vendors.fly")
        with self.assertRaises(errors.BaswareScopeError) as caught:
            client.request("GET", VENDORS)
        self.assertIn("vendors.fly", str(caught.exception))
        self.assertEqual(caught.exception.code, "invalid_scope")

    def test_missing_scope_on_api_call(self):
        client = self.make_client(scope="vendors.read")
        with self.assertRaises(errors.BaswareScopeError) as caught:
            post_records(client, VENDORS, [vendor(1)])
        self.assertEqual(caught.exception.status, 403)
        self.assertIn("vendors.write", str(caught.exception))

    def test_unreachable_host(self):
        port = closed_port()
        sleep = RecordingSleep()
        client = self.make_client(
            api_url=f"http://127.0.0.1:{port}", token_url="", max_attempts=2, sleep=sleep
        )
        with self.assertRaises(errors.BaswareConnectionError) as caught:
            client.request("GET", VENDORS)
        self.assertIs(type(caught.exception), errors.BaswareConnectionError)
        self.assertIn("unreachable", str(caught.exception))
        self.assertTrue(caught.exception.retryable)
        self.assertEqual(len(sleep.calls), 1, "retried once before giving up")

    def test_tls_error_is_not_retried(self):
        # An https URL on the plain-HTTP sandbox port fails the TLS handshake.
        sleep = RecordingSleep()
        client = self.make_client(
            api_url=self.sandbox.url.replace("http://", "https://"), token_url="", sleep=sleep
        )
        with self.assertRaises(errors.BaswareTLSError) as caught:
            client.request("GET", VENDORS)
        self.assertFalse(caught.exception.retryable)
        self.assertEqual(sleep.calls, [])

    def other_host_url(self):
        """The sandbox under another host name: its tokens' issuer is not the API host."""
        return self.sandbox.url.replace("127.0.0.1", "localhost")

    def test_issuer_mismatch_fails_the_connection_test(self):
        client = self.make_client(api_url=self.other_host_url())
        with self.assertRaises(errors.BaswareEnvironmentMismatch) as caught:
            client.test_connection()
        message = str(caught.exception)
        self.assertIn("issued by 127.0.0.1", message)
        self.assertIn("points to localhost", message)
        self.assertNotIn(CLIENT_SECRET, message)
        self.assertNotIn(client.token_store.load()["access_token"], message)
        self.assertEqual(self.calls(bw.REQUEST_STATUSES_PATH), [], "no read call after it")

    def test_issuer_mismatch_does_not_block_calls(self):
        store = MemoryTokenStore()
        client = self.make_client(store, api_url=self.other_host_url())
        with self.assertLogs(LOGGER, level=logging.INFO) as logs:
            response = client.request("GET", VENDORS, expected=(200, 404))
        self.assertEqual(response.status, 404)
        self.assertEqual(store.load()["claims"]["iss"], self.sandbox.url, "the token is kept")
        self.assertTrue(
            [line for line in logs.output if "127.0.0.1" in line and "localhost" in line],
            "the mismatch is logged",
        )
        client.request("GET", VENDORS, expected=(200, 404))
        self.assertEqual(len(self.token_calls()), 1)

    def test_issuer_check_disabled(self):
        client = self.make_client(api_url=self.other_host_url(), expected_issuer="")
        result = client.test_connection()
        self.assertEqual(result["issuer"], self.sandbox.url)

    def test_explicit_expected_issuer(self):
        client = self.make_client(api_url=self.other_host_url(), expected_issuer=self.sandbox.url)
        self.assertEqual(client.test_connection()["issuer"], self.sandbox.url)
        # As for a test tenant whose tokens would name the production host as issuer.
        strict = self.make_client(expected_issuer="https://api.basware.com")
        with self.assertRaises(errors.BaswareEnvironmentMismatch) as caught:
            strict.test_connection()
        self.assertIn("expected issuer api.basware.com", str(caught.exception))

    def test_concurrent_workers_share_one_token_fetch(self):
        self.sandbox.set_faults(latency=0.3)
        store = MemoryTokenStore()
        clients = [self.make_client(store) for _i in range(3)]
        barrier = threading.Barrier(len(clients))
        failures = []

        def work(client):
            barrier.wait()
            try:
                client.request("GET", VENDORS, expected=(200, 404))
            except errors.BaswareError as exc:  # reported by the assertion below
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(client,)) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertEqual(failures, [])
        self.assertEqual(len(self.token_calls()), 1)
        self.assertEqual(len(self.calls(VENDORS)), 3)

    def test_test_connection(self):
        client = self.make_client()
        result = client.test_connection()
        self.assertTrue(result["ok"])
        self.assertEqual(result["issuer"], self.sandbox.url)
        self.assertEqual(result["tenant"], client.token_claims["bwcid"])
        self.assertIn(result["status"], (200, 404))
        self.assertEqual(len(self.token_calls()), 1)

    # request ids and logging --------------------------------------------------------------

    def test_request_ids(self):
        client = self.make_client()
        post_records(client, VENDORS, [vendor(1)])
        client.request("GET", VENDORS)
        client.request("GET", VENDORS)
        logged = [entry["request_id"] for entry in self.sandbox.requests]
        self.assertEqual(len(logged), 4)  # token, POST, GET, GET
        self.assertEqual(len(set(logged)), 4)
        for value in logged:
            self.assertEqual(uuid.UUID(value).version, 4)
        last = client.last_response
        self.assertEqual(last.request_id, logged[-1])
        self.assertEqual(last.status, 200)

    def test_last_response_belongs_to_the_last_call(self):
        client = self.make_client(max_attempts=1)
        post_records(client, VENDORS, [vendor(1)])
        self.assertEqual(client.last_response.path, VENDORS)
        # A call without an answer leaves no answer behind, not the previous call's.
        self.sandbox.fail_next(DROP, count=1, path_prefix=VENDORS)
        with self.assertRaises(errors.BaswareConnectionError):
            client.request("GET", VENDORS)
        self.assertIsNone(client.last_response)
        # An error answer is the call's answer.
        with self.assertRaises(errors.BaswareNotFoundError) as caught:
            client.request("GET", bw.ACCOUNTS_PATH)
        self.assertEqual(client.last_response.status, 404)
        self.assertEqual(client.last_response.request_id, caught.exception.request_id)

    def test_amzn_request_id_is_kept(self):
        client = self.make_client()
        [response] = post_records(client, VENDORS, [vendor(1)])
        self.assertTrue(response.amzn_request_id)
        self.assertEqual(response.amzn_request_id, response.headers["X-AMZN-REQUESTID"])
        self.assertIs(client.last_response, response)
        self.assertNotEqual(response.amzn_request_id, response.request_id)

    def test_logs_carry_ids_but_no_secrets(self):
        client = self.make_client()
        # A number: Odoo renames level 25 "INFO", so the name would not mean 20.
        with self.assertLogs(LOGGER, level=logging.INFO) as logs:
            [response] = post_records(client, VENDORS, [vendor(1)])
        text = "\n".join(logs.output)
        token = client.token_store.load()["access_token"]
        self.assertIn(response.request_id, text)
        self.assertIn(response.amzn_request_id, text)
        self.assertIn("POST /v1/vendors -> 200", text)
        self.assertNotIn(CLIENT_SECRET, text)
        self.assertNotIn(token, text)
        self.assertNotIn(base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode(), text)

    # lists --------------------------------------------------------------------------------

    def test_pagination_across_redirected_pages(self):
        seeded = self.sandbox.seed_accounting_documents(7)
        client = self.make_client()
        documents = accounting_documents(client, page_size=3)
        self.assertEqual(len(documents), 7)
        self.assertEqual(len({doc["invoiceId"] for doc in documents}), 7)
        self.assertEqual(
            {doc["invoiceId"] for doc in documents}, {doc["invoiceId"] for doc in seeded}
        )
        api_calls = self.calls(bw.ACCOUNTING_DOCUMENTS_PATH)
        self.assertEqual(len(api_calls), 3)
        queries = [call["query"] for call in api_calls]
        self.assertEqual(queries[0], {"ProcessingStatus": "WaitingForTransfer", "pageSize": "3"})
        self.assertEqual(queries, [queries[0]] * 3, "same query parameters on every page")
        tokens = [call["headers"].get(bw.HEADER_CONTINUATION_TOKEN) for call in api_calls]
        self.assertIsNone(tokens[0])
        self.assertTrue(tokens[1] and tokens[2])
        self.assertNotEqual(tokens[1], tokens[2])

    def test_redirect_followed_without_authorization(self):
        self.sandbox.seed_accounting_documents(2)
        client = self.make_client()
        documents = accounting_documents(client)
        self.assertEqual(len(documents), 2)
        first, second = self.sandbox.requests[-2:]
        self.assertEqual((first["path"], first["status"]), (bw.ACCOUNTING_DOCUMENTS_PATH, 302))
        self.assertTrue(first["authorization"])
        self.assertNotEqual(second["path"], bw.ACCOUNTING_DOCUMENTS_PATH)
        self.assertEqual(second["status"], 200)
        self.assertFalse(second["authorization"])
        self.assertTrue(client.last_response.redirected)
        self.assertTrue(client.last_response.amzn_request_id)

    def test_pagination_of_master_data(self):
        client = self.make_client()
        post_records(client, VENDORS, [vendor(i) for i in range(250)])
        pages = list(client.iter_pages(VENDORS, params={"companyCode": "C100"}, page_size=100))
        self.assertEqual([len(page) for page in pages], [100, 100, 50])
        codes = [record["externalCode"] for page in pages for record in page]
        self.assertEqual(codes, [vendor(i)["externalCode"] for i in range(250)])
        queries = [call["query"] for call in self.calls(VENDORS, "GET")]
        self.assertEqual(queries, [{"companyCode": "C100", "pageSize": "100"}] * 3)

    def test_not_found_list_is_empty(self):
        client = self.make_client()
        self.assertEqual(list(client.iter_items(bw.ACCOUNTS_PATH)), [])
        self.assertEqual(client.last_response.status, 404)
        self.assertEqual(accounting_documents(client), [])
        self.assertEqual(client.list_subscriptions(), [])

    # bulk POST ----------------------------------------------------------------------------

    def test_chunking_450_vendors(self):
        client = self.make_client()
        responses = post_records(client, VENDORS, [vendor(i) for i in range(450)])
        self.assertEqual([len(r.data) for r in responses], [200, 200, 50])
        self.assertEqual(len(self.calls(VENDORS, "POST")), 3)
        self.assertEqual(len(self.sandbox.received("vendors")), 450)
        self.assertEqual(len({r.amzn_request_id for r in responses}), 3)

    def test_chunk_records_450_vendors(self):
        records = [vendor(i) for i in range(450)]
        parts = [chunk for chunk, _body in chunk_records(records, bulk_limit(VENDORS))]
        self.assertEqual([len(part) for part in parts], [200, 200, 50])
        self.assertEqual([r for part in parts for r in part], records, "order kept")

    def test_post_encoded_too_many_sends_nothing(self):
        client = self.make_client()
        with self.assertRaises(errors.BaswareValidationError) as caught:
            client.post_encoded(VENDORS, json.dumps([vendor(i) for i in range(201)]))
        self.assertIn("chunk_records", str(caught.exception))
        self.assertFalse(caught.exception.retryable)
        self.assertEqual(self.sandbox.requests, [], "not even a token request")
        with self.assertRaises(errors.BaswareValidationError):
            client.post_encoded(VENDORS, "[]")
        self.assertEqual(self.sandbox.requests, [])

    def test_post_records_makes_one_post(self):
        client = self.make_client()
        [response] = post_records(client, VENDORS, [vendor(i) for i in range(200)])
        [call] = self.calls(VENDORS, "POST")
        self.assertEqual(call["request_id"], response.request_id)
        self.assertEqual(response.status, 200)
        self.assertEqual(len(response.data), 200)
        self.assertTrue(response.amzn_request_id)
        self.assertEqual(response.amzn_request_id, response.headers[bw.HEADER_AMZN_REQUEST_ID])
        self.assertEqual(len(self.sandbox.received("vendors")), 200)
        status = client.get_request_status(response.amzn_request_id)
        self.assertEqual(len(status.items), 200)

    def test_post_records_to_a_list(self):
        client = self.make_client()
        item = {
            "externalCode": "D1",
            "text_1": "Dept 1",
            "companies": [{"companyCode": "C100", "active": True}],
        }
        path = "/v1/lists/ACC_LIST_3"
        self.assertEqual(len(chunk_records([item] * 501, bulk_limit(path))), 2, "500 per list POST")
        [response] = post_records(client, path, [item])
        self.assertEqual(response.status, 200)
        self.assertEqual(len(self.calls(path, "POST")), 1)
        self.sandbox.clear_requests()
        for unknown in ("/v1/lists/ACC_LIST_36", "/v1/lists/"):
            with self.subTest(path=unknown), self.assertRaises(errors.BaswareConfigError):
                client.post_encoded(unknown, json.dumps([item]))
        self.assertEqual(self.sandbox.requests, [])

    def test_chunking_matching_order_lines_by_100(self):
        client = self.make_client()
        lines = [
            {
                "externalCode": f"L-{i}",
                "orderExternalCode": "PO-1",
                "lineNumber": str(i),
                "quantity": 1,
                "matchingMode": "Standard",
            }
            for i in range(230)
        ]
        responses = post_records(client, bw.MATCHING_ORDER_LINES_PATH, lines)
        self.assertEqual([len(r.data) for r in responses], [100, 100, 30])

    def test_validation_error_is_surfaced_not_retried(self):
        client = self.make_client()
        bad = vendor(1, vendorCode="X" * 26)
        with self.assertRaises(errors.BaswareValidationError) as caught:
            post_records(client, VENDORS, [vendor(0), bad])
        error = caught.exception
        self.assertEqual(error.status, 400)
        self.assertFalse(error.retryable)
        self.assertEqual(error.code, "SCHEMA_VALIDATION_ERROR")
        self.assertEqual(error.external_code, bad["externalCode"])
        basware_message = error.errors[0]["message"]
        self.assertIn("vendorCode", basware_message)
        self.assertIn(basware_message, str(error))
        [call] = self.calls(VENDORS, "POST")
        self.assertEqual(error.request_id, call["request_id"])
        self.assertTrue(error.amzn_request_id)
        self.assertEqual(error.to_dict()["errors"][0]["message"], basware_message)
        self.assertEqual(self.sandbox.received("vendors"), [])

    # retries ------------------------------------------------------------------------------

    def test_429_retry_after_waits(self):
        client = self.make_client()
        client.request("GET", VENDORS, expected=(200, 404))  # token first
        self.sandbox.fail_next(429, count=1, retry_after=2, path_prefix=VENDORS)
        started = time.monotonic()
        response = client.request("GET", VENDORS, expected=(200, 404))
        elapsed = time.monotonic() - started
        self.assertEqual(response.status, 404)
        self.assertGreaterEqual(elapsed, 2.0)
        self.assertEqual([c["status"] for c in self.calls(VENDORS)], [404, 429, 404])

    def test_retry_after_overrides_backoff(self):
        sleep = RecordingSleep()
        client = self.make_client(sleep=sleep)
        self.sandbox.fail_next(429, count=1, retry_after=7, path_prefix=VENDORS)
        client.request("GET", VENDORS, expected=(200, 404))
        self.assertEqual(sleep.calls, [7.0])

    def test_5xx_retried_then_clear_error(self):
        sleep = RecordingSleep()
        client = self.make_client(sleep=sleep, max_attempts=3, backoff_base=1.0, backoff_max=60)
        self.sandbox.fail_next(503, count=10, path_prefix=VENDORS)
        with self.assertRaises(errors.BaswareServerError) as caught:
            client.request("GET", VENDORS)
        self.assertEqual([c["status"] for c in self.calls(VENDORS)], [503, 503, 503])
        self.assertIn("3 attempts", str(caught.exception))
        self.assertIn("503", str(caught.exception))
        self.assertTrue(caught.exception.retryable)
        self.assertEqual(len(sleep.calls), 2)
        self.assertTrue(0.5 <= sleep.calls[0] <= 1.0 <= sleep.calls[1] <= 2.0, sleep.calls)

    def test_5xx_recovers(self):
        client = self.make_client()
        self.sandbox.fail_next(502, count=1, path_prefix=VENDORS)
        self.sandbox.fail_next(504, count=1, path_prefix=VENDORS)
        [response] = post_records(client, VENDORS, [vendor(1)])
        self.assertEqual(response.status, 200)
        self.assertEqual([c["status"] for c in self.calls(VENDORS)], [502, 504, 200])
        self.assertEqual(len(self.sandbox.received("vendors")), 1)

    def test_500_is_not_retried(self):
        sleep = RecordingSleep()
        client = self.make_client(sleep=sleep)
        self.sandbox.fail_next(500, count=1, path_prefix=VENDORS)
        with self.assertRaises(errors.BaswareServerError):
            client.request("GET", VENDORS)
        self.assertEqual(len(self.calls(VENDORS)), 1)
        self.assertEqual(sleep.calls, [])

    def test_deadline_is_not_slept_past(self):
        sleep = RecordingSleep()
        client = self.make_client(sleep=sleep, deadline=5.0)
        self.sandbox.fail_next(429, count=1, retry_after=10, path_prefix=VENDORS)
        with self.assertRaises(errors.BaswareRateLimitError) as caught:
            client.request("GET", VENDORS)
        self.assertEqual(sleep.calls, [])
        self.assertIn("deadline", str(caught.exception))
        self.assertEqual(caught.exception.retry_after, 10.0)

    def test_one_deadline_for_the_whole_call(self):
        deadline, read_timeout = 3.0, 0.25
        # The token endpoint eats two seconds of the deadline, then the API keeps failing.
        self.sandbox.fail_next(503, count=2, retry_after=1, path_prefix=bw.TOKEN_PATH)
        self.sandbox.set_faults(rate_5xx=1.0)
        client = self.make_client(
            deadline=deadline,
            backoff_base=1.0,
            backoff_max=60.0,
            max_attempts=bw.MAX_HTTP_ATTEMPTS,
            read_timeout=read_timeout,
        )
        started = time.monotonic()
        with self.assertRaises(errors.BaswareServerError) as caught:
            client.request("GET", VENDORS)
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, 2.0, "the token endpoint's Retry-After was honoured")
        # one in-flight request may finish past the deadline; a restarted deadline would
        # add whole seconds (about 4.3 s here)
        self.assertLess(elapsed, deadline + read_timeout + 0.5)
        self.assertIn("deadline", str(caught.exception))
        self.assertEqual([c["status"] for c in self.token_calls()], [503, 503, 200])
        self.assertTrue(self.calls(VENDORS))
        self.assertEqual({c["status"] for c in self.calls(VENDORS)}, {503})

    def test_attempt_under_way_is_cut_at_the_deadline(self):
        # Token and API answers take 0.6 s each: the API's 401 would come after the deadline.
        self.sandbox.set_faults(latency=0.6)
        self.sandbox.fail_next(401, count=1, path_prefix=VENDORS)
        client = self.make_client(deadline=1.0, read_timeout=1.0)
        started = time.monotonic()
        with self.assertRaises(errors.BaswareConnectionError) as caught:
            client.request("GET", VENDORS, expected=(200, 404))
        self.assertLess(time.monotonic() - started, 1.5)
        self.assertIn("did not complete within the call deadline of 1 s", str(caught.exception))
        self.assertTrue(caught.exception.retryable)
        self.assertEqual(len(self.token_calls()), 1, "no new token after the deadline")
        self.assertEqual(len(self.calls(VENDORS)), 1)

    def test_nothing_starts_after_the_deadline(self):
        clock = ShiftedClock()

        def oversleep(seconds):
            # A suspended worker wakes up late: past the call's deadline.
            clock.offset += seconds + 10

        client = self.make_client(sleep=oversleep, clock=clock, deadline=5.0)
        self.sandbox.fail_next(503, count=1, retry_after=1, path_prefix=VENDORS)
        with self.assertRaises(errors.BaswareConnectionError) as caught:
            client.request("GET", VENDORS, expected=(200, 404))
        self.assertIn("not sent", str(caught.exception))
        self.assertIn("deadline", str(caught.exception))
        self.assertTrue(caught.exception.retryable)
        self.assertEqual([c["status"] for c in self.calls(VENDORS)], [503])

    def test_dropped_connection_retried(self):
        client = self.make_client()
        self.sandbox.fail_next(DROP, count=1, path_prefix=VENDORS)
        [response] = post_records(client, VENDORS, [vendor(1)])
        self.assertEqual(response.status, 200)
        statuses = [c["status"] for c in self.calls(VENDORS)]
        self.assertEqual(statuses, ["dropped", 200])

    def test_dropped_connection_final_error(self):
        client = self.make_client(max_attempts=2)
        self.sandbox.fail_next(DROP, count=2, path_prefix=VENDORS)
        with self.assertRaises(errors.BaswareConnectionError) as caught:
            client.request("GET", VENDORS)
        self.assertIn("2 attempts", str(caught.exception))

    def test_read_timeout(self):
        self.sandbox.set_faults(latency=1.5)
        client = self.make_client(read_timeout=0.5, max_attempts=1)
        started = time.monotonic()
        with self.assertRaises(errors.BaswareConnectionError) as caught:
            client.request("GET", VENDORS)
        self.assertLess(time.monotonic() - started, 1.4)
        self.assertIn("timed out", str(caught.exception))

    # invoices -----------------------------------------------------------------------------

    def test_acknowledge_twice(self):
        self.sandbox.approve_invoice(invoice_id="INV-ACK-1")
        client = self.make_client()
        [document] = accounting_documents(client)
        self.assertEqual(document["invoiceId"], "INV-ACK-1")
        self.assertTrue(client.acknowledge_accounting_document("INV-ACK-1"))
        self.assertFalse(client.acknowledge_accounting_document("INV-ACK-1"))
        self.assertEqual(client.last_response.status, 405)
        fetched = client.get_accounting_document("INV-ACK-1")
        self.assertEqual(fetched["processingStatus"], "TransferInProgress")
        self.assertEqual(accounting_documents(client), [])
        with self.assertRaises(errors.BaswareNotFoundError):
            client.acknowledge_accounting_document("INV-UNKNOWN")
        self.assertIsNone(client.get_accounting_document("INV-UNKNOWN"))

    def test_transfer_response(self):
        self.sandbox.approve_invoice(invoice_id="INV-TR-1")
        client = self.make_client()
        client.acknowledge_accounting_document("INV-TR-1")
        response = client.post_transfer_response(
            "INV-TR-1",
            {"success": True, "responseMessage": "Booked", "paymentBlock": False},
        )
        self.assertEqual(response.status, 200)
        self.assertEqual(len(response.data["externalCode"]), 36, "a new uuid per response")
        document = client.get_accounting_document("INV-TR-1")
        self.assertEqual(document["processingStatus"], "Transferred")
        status = client.get_request_status(response.amzn_request_id)
        self.assertEqual(status.items[0].parent_external_code, "INV-TR-1")

    # request status -----------------------------------------------------------------------

    def test_request_status_after_identical_resend(self):
        client = self.make_client()
        records = [vendor(1), vendor(2)]
        [first] = post_records(client, VENDORS, records)
        status = client.get_request_status(first.amzn_request_id)
        self.assertEqual(status.request_id, first.amzn_request_id)
        self.assertEqual(status.status, "Success")
        self.assertTrue(status.is_final)
        self.assertEqual(status.entity_type, "Vendor")
        self.assertEqual(
            {code: item.status for code, item in status.by_external_code().items()},
            {"V-00001": "Success", "V-00002": "Success"},
        )
        [second] = post_records(client, VENDORS, records)
        again = client.get_request_status(second.amzn_request_id)
        items = again.by_external_code()
        self.assertEqual({item.status for item in items.values()}, {"NotProcessed"})
        self.assertTrue(all(item.is_not_processed and item.is_success for item in items.values()))
        self.assertFalse(again.has_errors)

        ids = [first.amzn_request_id, second.amzn_request_id]
        self.assertTrue(client.acknowledge_request_status(ids))
        self.assertEqual(client.get_request_status(ids[0]).status, "AcknowledgedSuccess")
        self.assertFalse(client.acknowledge_request_status(ids), "already acknowledged: 405")

    def test_request_status_item_errors(self):
        client = self.make_client()
        order = {
            "externalCode": "PO-1",
            "orderNumber": "PO-1",
            "sourceSystem": "ODOO",
            "companyCode": "C100",
            "organizationElementCode": "C100",
            "currencyCode": "EUR",
            "supplierCode": "NO-SUCH-VENDOR",
        }
        [response] = post_records(client, bw.MATCHING_ORDERS_PATH, [order])
        status = client.get_request_status(response.amzn_request_id)
        self.assertEqual(status.status, "Error")
        self.assertTrue(status.has_errors)
        item = status.by_external_code()["PO-1"]
        self.assertTrue(item.is_error)
        self.assertEqual(len(item.error_messages), 1)
        self.assertIn("NO-SUCH-VENDOR", item.error_messages[0])
        self.assertEqual(item.messages[0].category, "DataValidation")
        listed = parse_request_statuses(
            list(client.iter_items(bw.REQUEST_STATUSES_PATH, {"status": "Error"}))
        )
        self.assertIn(response.amzn_request_id, [s.request_id for s in listed])

    def test_unknown_request_status(self):
        client = self.make_client()
        status = client.get_request_status(str(uuid.uuid4()))
        self.assertEqual(status.status, bw.RS_UNKNOWN)
        self.assertTrue(status.is_pending)

import base64
import email.utils
import json
import random

import requests

from odoo.tests.common import BaseCase

from ..basware import ClientConfig, MemoryTokenStore, RequestStatus, decode_jwt_claims, errors, urls
from ..basware import constants as bw
from ..basware.auth import check_environment, issuer_mismatch, refresh_margin, response_body
from ..basware.client import chunk_records, clean_params, required_scope
from ..basware.request_status import parse_request_statuses
from ..basware.retry import backoff_delay, parse_retry_after
from .common import vendor

SECRET = "cs-units-9d1e4b7c"


def _b64url(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def make_jwt(claims):
    return f"{_b64url({'alg': 'RS256', 'typ': 'at+jwt'})}.{_b64url(claims)}.c2lnbmF0dXJl"


class TestBackoff(BaseCase):
    def test_grows_exponentially_without_jitter(self):
        delays = [backoff_delay(n, 0.5, 1000, jitter=False) for n in range(1, 7)]
        self.assertEqual(delays, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0])

    def test_capped(self):
        self.assertEqual(backoff_delay(20, 1.0, 60.0, jitter=False), 60.0)
        self.assertEqual(backoff_delay(10_000, 1.0, 60.0, jitter=False), 60.0)

    def test_jitter_bounds(self):
        # Equal jitter: between half and all of the exponential bound.
        self.assertEqual(backoff_delay(4, 1.0, 60.0, rng=lambda: 0.0), 4.0)
        self.assertAlmostEqual(backoff_delay(4, 1.0, 60.0, rng=lambda: 1.0), 8.0)
        rng = random.Random(7).random
        for attempt in range(1, 30):
            bound = min(60.0, 2.0 ** (attempt - 1))
            delay = backoff_delay(attempt, 1.0, 60.0, rng=rng)
            with self.subTest(attempt=attempt):
                self.assertGreaterEqual(delay, bound / 2)
                self.assertLessEqual(delay, bound)
                self.assertLessEqual(delay, 60.0)

    def test_jitter_spreads_values(self):
        rng = random.Random(1).random
        values = {round(backoff_delay(5, 1.0, 60.0, rng=rng), 6) for _ in range(20)}
        self.assertGreater(len(values), 10)

    def test_jittered_growth_over_attempts(self):
        rng = random.Random(3).random
        lows = [backoff_delay(n, 1.0, 1000.0, rng=lambda: 0.0) for n in range(1, 6)]
        self.assertEqual(lows, [0.5, 1.0, 2.0, 4.0, 8.0])
        # Any jittered delay of attempt n+2 exceeds any of attempt n.
        for attempt in range(1, 6):
            self.assertGreater(
                backoff_delay(attempt + 2, 1.0, 1000.0, rng=rng),
                backoff_delay(attempt, 1.0, 1000.0, rng=rng),
            )


class TestRetryAfter(BaseCase):
    def test_seconds(self):
        self.assertEqual(parse_retry_after("2"), 2.0)
        self.assertEqual(parse_retry_after(" 1.5 "), 1.5)
        self.assertEqual(parse_retry_after("0"), 0.0)
        self.assertEqual(parse_retry_after("-3"), 0.0)

    def test_unreadable(self):
        for value in (None, "", "soon", "nan", "inf"):
            with self.subTest(value=value):
                self.assertIsNone(parse_retry_after(value))

    def test_http_date(self):
        now = 1_800_000_000.0
        future = email.utils.formatdate(now + 30, usegmt=True)
        self.assertEqual(parse_retry_after(future, now=now), 30.0)
        past = email.utils.formatdate(now - 30, usegmt=True)
        self.assertEqual(parse_retry_after(past, now=now), 0.0)
        self.assertEqual(parse_retry_after("Fri, 15 Jan 2027 08:00:00 GMT", now=0), 1800000000.0)


class TestTokenHelpers(BaseCase):
    def test_decode_jwt_claims(self):
        claims = {"iss": "https://api.basware.com", "bwcid": "020779-TEST1", "exp": 1637908613}
        self.assertEqual(decode_jwt_claims(make_jwt(claims)), claims)
        for garbage in (None, "", "abc", "a.%%%.c", "a." + _b64url(["list"]) + ".c"):
            with self.subTest(garbage=garbage):
                self.assertEqual(decode_jwt_claims(garbage), {})

    def test_refresh_margin(self):
        self.assertEqual(refresh_margin(3600, 0.2), 720.0)
        self.assertEqual(refresh_margin(300, 0.1), 60.0)  # at least a minute
        self.assertEqual(refresh_margin(80, 0.2), 40.0)  # but at most half the lifetime

    def test_environment_check(self):
        check_environment({"iss": "https://api.basware.com"}, "https://api.basware.com")
        check_environment({"iss": "https://API.basware.com/"}, "https://api.basware.com/v1")
        check_environment({}, "https://api.basware.com")
        production_token = {"iss": "https://api.basware.com", "bwcid": "020779-PROD"}
        with self.assertRaises(errors.BaswareEnvironmentMismatch) as caught:
            check_environment(production_token, "https://test-api.basware.com")
        self.assertIn("issued by api.basware.com for tenant 020779-PROD", str(caught.exception))
        self.assertIn("points to test-api.basware.com", str(caught.exception))

    def test_environment_check_expected_issuer(self):
        production_token = {"iss": "https://api.basware.com", "bwcid": "020779-TEST1"}
        test_api = "https://test-api.basware.com"
        check_environment(production_token, test_api, expected_issuer="")
        check_environment(production_token, test_api, expected_issuer="https://api.basware.com")
        check_environment(production_token, test_api, expected_issuer="api.basware.com")
        with self.assertRaises(errors.BaswareEnvironmentMismatch) as caught:
            check_environment(production_token, "https://api.basware.com", test_api)
        self.assertIn("expected issuer test-api.basware.com", str(caught.exception))
        self.assertIsNone(issuer_mismatch(production_token, test_api, ""))
        self.assertIn("test-api.basware.com", issuer_mismatch(production_token, test_api))

    def test_memory_store(self):
        store = MemoryTokenStore()
        self.assertIsNone(store.load())
        store.save({"access_token": "abc"})
        loaded = store.load()
        loaded["access_token"] = "changed"
        self.assertEqual(store.load(), {"access_token": "abc"}, "load returns a copy")
        with store.locked():
            self.assertFalse(store.locked().acquire(blocking=False))
        self.assertNotIn("abc", repr(store))


class TestConfig(BaseCase):
    def test_repr_hides_secret(self):
        config = ClientConfig("https://api.basware.com/", client_id="cid", client_secret=SECRET)
        self.assertNotIn(SECRET, repr(config))
        self.assertEqual(config.api_url, "https://api.basware.com")
        self.assertEqual(config.token_url, "https://api.basware.com/v1/tokens")
        self.assertEqual(config.timeout, (5.0, 30.0))

    def test_validate_names_missing_settings(self):
        with self.assertRaises(errors.BaswareConfigError) as caught:
            ClientConfig("https://api.basware.com", client_id="cid").validate()
        self.assertIn("client_secret", str(caught.exception))
        with self.assertRaises(errors.BaswareConfigError):
            ClientConfig("ftp://api.basware.com", client_id="a", client_secret="b").validate()
        ClientConfig("https://api.basware.com", client_id="a", client_secret="b").validate()

    def test_validate_bounds(self):
        def config(**values):
            return ClientConfig(
                "https://api.basware.com", client_id="a", client_secret="b", **values
            )

        config(
            connect_timeout=bw.MAX_CONNECT_TIMEOUT,
            read_timeout=bw.MAX_READ_TIMEOUT,
            max_attempts=bw.MAX_HTTP_ATTEMPTS,
        ).validate()
        refused = {
            "connect_timeout": (0, -1, bw.MAX_CONNECT_TIMEOUT + 1, float("nan")),
            "read_timeout": (0, bw.MAX_READ_TIMEOUT + 0.5, float("inf")),
            "max_attempts": (0, bw.MAX_HTTP_ATTEMPTS + 1),
            "deadline": (0, -5),
        }
        for name, values in refused.items():
            for value in values:
                with self.subTest(name=name, value=value):
                    with self.assertRaises(errors.BaswareConfigError) as caught:
                        config(**{name: value}).validate()
                    self.assertIn(name, str(caught.exception))

    def test_validate_urls(self):
        secret_url = "https://user:pw-9f3@api.basware.com/?sig=abc"
        refused = {
            "api_url": (
                "http://api.basware.com",
                "https://169.254.169.254",
                "https://10.1.2.3",
                secret_url,
            ),
            "token_url": ("http://login.example.com/v1/tokens", "https://[::ffff:a9fe:a9fe]/t"),
        }
        for name, values in refused.items():
            for value in values:
                with self.subTest(name=name, value=value):
                    values = {"api_url": "https://api.basware.com", name: value}
                    config = ClientConfig(client_id="a", client_secret="b", **values)
                    with self.assertRaises(errors.BaswareConfigError) as caught:
                        config.validate()
                    message = str(caught.exception)
                    self.assertIn(name, message)
                    self.assertIn(urls.MESSAGES[urls.url_problem(value)], message)
                    self.assertNotIn("pw-9f3", message)
                    self.assertNotIn("sig=abc", message)
        # Loopback stays open to plain http: the local sandbox and the tests use it.
        ClientConfig("http://127.0.0.1:8900", client_id="a", client_secret="b").validate()
        ClientConfig("http://localhost:8900", client_id="a", client_secret="b").validate()

    def test_expected_issuer(self):
        config = ClientConfig("https://api.basware.com", client_id="a", client_secret="b")
        self.assertIsNone(config.expected_issuer, "None: the API URL's scheme and host")
        config = ClientConfig("https://x", expected_issuer=" https://api.basware.com ")
        self.assertEqual(config.expected_issuer, "https://api.basware.com")
        self.assertEqual(ClientConfig("https://x", expected_issuer="").expected_issuer, "")

    def test_default_scope_is_minimal_and_space_separated(self):
        scopes = bw.DEFAULT_SCOPE.split(" ")
        self.assertIn("accountingDocuments.write", scopes)
        self.assertIn("requestStatus.read", scopes)
        self.assertFalse([s for s in scopes if s.endswith(".delete") and "subscriptions" not in s])


ERROR_BODY = {
    "requestId": "fbc082a2-65a4-469c-b230-d84a252f18fc",
    "hasErrors": True,
    "errors": [
        {
            "externalCode": "V-1",
            "type": "VALIDATION",
            "code": "SCHEMA_VALIDATION_ERROR",
            "message": "vendorCode: length must be at most 25",
            "info": None,
        },
        {"externalCode": "V-2", "type": "VALIDATION", "code": "SCHEMA_VALIDATION_ERROR"},
    ],
}


class TestErrors(BaseCase):
    def test_response_entity_list(self):
        error = errors.error_from_response(
            400, ERROR_BODY, method="POST", path="/v1/vendors", request_id="ours"
        )
        self.assertIs(type(error), errors.BaswareValidationError)
        self.assertFalse(error.retryable)
        self.assertEqual(error.code, "SCHEMA_VALIDATION_ERROR")
        self.assertEqual(error.external_code, "V-1")
        self.assertEqual(error.amzn_request_id, ERROR_BODY["requestId"])
        self.assertIn("vendorCode: length must be at most 25", str(error))
        self.assertIn("(+1 more)", str(error))
        stored = json.loads(json.dumps(error.to_dict()))
        self.assertEqual(stored["type"], "BaswareValidationError")
        self.assertEqual(stored["status"], 400)
        self.assertEqual(stored["request_id"], "ours")
        self.assertEqual(len(stored["errors"]), 2)

    def test_status_classes(self):
        expected = {
            401: errors.BaswareAuthError,
            403: errors.BaswareScopeError,
            404: errors.BaswareNotFoundError,
            405: errors.BaswareConflictError,
            409: errors.BaswareConflictError,
            422: errors.BaswareValidationError,
            429: errors.BaswareRateLimitError,
            500: errors.BaswareServerError,
            503: errors.BaswareServerError,
            418: errors.BaswareError,
        }
        for status, cls in expected.items():
            with self.subTest(status=status):
                self.assertIs(type(errors.error_from_response(status, None)), cls)
        self.assertTrue(errors.BaswareRateLimitError.retryable)
        self.assertTrue(errors.BaswareServerError.retryable)
        self.assertTrue(errors.BaswareConnectionError.retryable)
        self.assertFalse(errors.BaswareTLSError.retryable)
        self.assertTrue(issubclass(errors.BaswareTLSError, errors.BaswareConnectionError))
        self.assertTrue(errors.BaswareRequestPending.retryable)

    def test_response_body(self):
        def response(status, content):
            answer = requests.Response()
            answer.status_code, answer._content = status, content
            return answer

        self.assertEqual(response_body(response(200, b'{"a": 1}')), {"a": 1})
        self.assertIsNone(response_body(response(200, b"")))
        self.assertIsNone(response_body(response(200, b"<html>ok</html>")))
        page = b"<html>Bad gateway</html>" + b" " * 500
        self.assertEqual(response_body(response(502, page)), {"message": page[:200].decode()})
        oauth = response_body(response(401, b'{"error": "invalid_client"}'))
        self.assertEqual(errors.parse_error_body(oauth)[0]["code"], "invalid_client")

    def test_other_error_bodies(self):
        oauth = errors.parse_error_body({"error": "invalid_scope", "error_description": "x.y"})
        self.assertEqual(oauth[0]["code"], "invalid_scope")
        self.assertEqual(oauth[0]["message"], "x.y")
        fastapi = errors.parse_error_body(
            {"detail": [{"loc": ["body", "scope"], "msg": "field required", "type": "missing"}]}
        )
        self.assertEqual(fastapi[0]["message"], "body.scope: field required")
        push = errors.parse_error_body({"errorMessages": [{"code": "C", "message": "M"}]})
        self.assertEqual((push[0]["code"], push[0]["message"]), ("C", "M"))
        self.assertEqual(errors.parse_error_body("text"), [])


class TestChunking(BaseCase):
    def test_count_limit(self):
        chunks = chunk_records([vendor(i) for i in range(450)], 200)
        self.assertEqual([len(records) for records, _body in chunks], [200, 200, 50])
        decoded = [json.loads(body) for _records, body in chunks]
        self.assertEqual([v["externalCode"] for chunk in decoded for v in chunk][449], "V-00449")

    def test_size_limit(self):
        records = [vendor(i, description="x" * 1000) for i in range(30)]
        one = len(json.dumps(records[0], separators=(",", ":")).encode())
        max_bytes = one * 10
        chunks = chunk_records(records, 500, max_bytes=max_bytes)
        self.assertGreater(len(chunks), 3)
        self.assertEqual(sum(len(r) for r, _b in chunks), 30)
        for _records, body in chunks:
            self.assertLessEqual(len(body), max_bytes)
            json.loads(body)

    def test_real_limit_is_six_megabytes(self):
        records = [vendor(i, description="é" * 20_000) for i in range(200)]
        chunks = chunk_records(records, 200)
        self.assertGreater(len(chunks), 1, "200 records of ~40 kB exceed 6 MB")
        for _records, body in chunks:
            self.assertLess(len(body), 6_000_001)

    def test_oversized_record(self):
        with self.assertRaises(errors.BaswareValidationError) as caught:
            chunk_records([vendor(1, description="x" * 200)], 10, max_bytes=100)
        self.assertEqual(caught.exception.external_code, "V-00001")

    def test_helpers(self):
        self.assertEqual(
            clean_params({"a": None, "b": True, "c": False, "d": 3}),
            {"b": "true", "c": "false", "d": 3},
        )
        self.assertEqual(required_scope("POST", "/v1/vendors"), "vendors.write")
        self.assertEqual(required_scope("GET", "/v1/requestStatus/x"), "requestStatus.read")
        self.assertEqual(required_scope("DELETE", "/v1/subscriptions"), "subscriptions.delete")


STATUS_BODY = {
    "requestStatus": [
        {
            "requestId": "06ca6901-f728-489b-a827-704f5048858c",
            "entityType": "Vendor",
            "requestStatus": "Error",
            "lastUpdated": "2026-01-01T10:00:00Z",
            "systems": [
                {
                    "system": "P2P",
                    "systemStatus": "Error",
                    "items": [
                        {"externalCode": "V-1", "status": "Success", "errors": []},
                        {"externalCode": "V-2", "status": "NotProcessed"},
                        {
                            "externalCode": "V-3",
                            "status": "Error",
                            "errors": [
                                {
                                    "type": "Error",
                                    "message": "Record skipped due to wrong CompanyCode",
                                    "category": "DataValidation",
                                },
                                {"type": "Warning", "message": "w", "category": "Unknown"},
                            ],
                        },
                    ],
                }
            ],
        }
    ]
}


class TestRequestStatusParsing(BaseCase):
    def test_parse(self):
        [status] = parse_request_statuses(STATUS_BODY)
        self.assertIsInstance(status, RequestStatus)
        self.assertEqual(status.entity_type, "Vendor")
        self.assertTrue(status.is_final)
        self.assertTrue(status.has_errors)
        items = status.by_external_code()
        self.assertEqual(sorted(items), ["V-1", "V-2", "V-3"])
        self.assertTrue(items["V-1"].is_success)
        self.assertTrue(items["V-2"].is_not_processed)
        self.assertTrue(items["V-2"].is_success)
        self.assertTrue(items["V-3"].is_error)
        self.assertEqual(items["V-3"].system, "P2P")
        self.assertEqual(items["V-3"].error_messages, ["Record skipped due to wrong CompanyCode"])
        self.assertEqual(items["V-3"].warning_messages, ["w"])
        self.assertEqual(json.loads(json.dumps(status.to_dict()))["items"][2]["status"], "Error")

    def test_unknown_and_empty(self):
        self.assertEqual(parse_request_statuses(None), [])
        unknown = RequestStatus.unknown("abc")
        self.assertTrue(unknown.is_pending)
        self.assertFalse(unknown.has_errors)
        self.assertEqual(unknown.items, [])

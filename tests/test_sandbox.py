"""The local Basware sandbox: tokens, master data validation, requestStatus, paging, faults.

DB-free: a SandboxServer on a free loopback port, driven with requests.
"""

import base64
import email.utils
import json
import time
import uuid

import requests

from odoo.tests.common import BaseCase

from ..sandbox import SandboxServer
from .common import matching_order

TIMEOUT = 10
SCOPES = (
    "vendors.read vendors.write vendors.delete accounts.read accounts.write costCenters.read "
    "costCenters.write lists.read lists.write projects.read projects.write taxCodes.write "
    "matchingOrders.read matchingOrders.write matchingOrderLines.read matchingOrderLines.write "
    "accountingDocuments.read accountingDocuments.write requestStatus.read requestStatus.write "
    "subscriptions.read subscriptions.write subscriptions.delete tasks.read"
)
CONTINUATION_OUT = "X-amz-meta-continuationToken"


def vendor(code="V1", **values):
    record = {
        "externalCode": code,
        "vendorCode": f"{code}-CODE",
        "name": f"Vendor {code}",
        "companies": [{"companyCode": "C100"}],
    }
    return {**record, **values}


def decode_part(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


class SandboxCase(BaseCase):
    """Starts one sandbox per class; every test starts from an empty, fault-free sandbox."""

    server_kwargs = {}  # noqa: RUF012 - read-only per class

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.srv = SandboxServer(port=0, **cls.server_kwargs)
        cls.srv.start()
        cls.addClassCleanup(cls.srv.close)
        cls.token = cls.get_token(SCOPES).json()["access_token"]

    def setUp(self):
        super().setUp()
        self.srv.reset()

    @classmethod
    def get_token(cls, scope, auth=("sandbox", "sandbox"), grant_type="client_credentials"):
        data = {"grant_type": grant_type, "scope": scope}
        return requests.post(
            cls.srv.token_url,
            auth=auth,
            data={k: v for k, v in data.items() if v is not None},
            timeout=TIMEOUT,
        )

    def api(self, method, path, token=None, headers=None, **kwargs):
        """One API call with the class token (token=False: without Authorization)."""
        headers = dict(headers or {})
        if token is not False:
            headers["Authorization"] = f"Bearer {token or self.token}"
        kwargs.setdefault("allow_redirects", False)
        return requests.request(
            method, self.srv.url + path, headers=headers, timeout=TIMEOUT, **kwargs
        )

    def post_ok(self, path, records):
        response = self.api("POST", path, json=records)
        self.assertEqual(response.status_code, 200, response.text)
        return response

    def request_status(self, response):
        request_id = response.headers["x-amzn-RequestId"]
        status = self.api("GET", f"/v1/requestStatus/{request_id}")
        self.assertEqual(status.status_code, 200, status.text)
        return status.json()["requestStatus"][0]

    def assertValidationError(self, response, message_part, external_code=None):
        self.assertEqual(response.status_code, 400, response.text)
        body = response.json()
        self.assertTrue(body["hasErrors"])
        self.assertTrue(body["requestId"])
        messages = [e["message"] for e in body["errors"]]
        self.assertTrue(any(message_part in m for m in messages), messages)
        for err in body["errors"]:
            self.assertEqual((err["type"], err["code"]), ("VALIDATION", "SCHEMA_VALIDATION_ERROR"))
        if external_code:
            self.assertIn(external_code, [e["externalCode"] for e in body["errors"]])


class TestSandboxTokens(SandboxCase):
    def test_token_is_jwt_shaped_with_basware_claims(self):
        response = self.get_token("vendors.read accounts.write")
        self.assertEqual(response.status_code, 200, response.text)
        body = response.json()
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["scope"], "vendors.read accounts.write")
        self.assertEqual(body["expires_in"], 3600)
        header, claims, signature = body["access_token"].split(".")
        self.assertTrue(signature)
        self.assertEqual(decode_part(header)["typ"], "at+jwt")
        claims = decode_part(claims)
        self.assertEqual(claims["iss"], self.srv.url)
        self.assertEqual(claims["aud"], "OpenAPI")
        self.assertEqual(claims["bwcid"], "SANDBOX-TEST")
        self.assertEqual(claims["scope"], "vendors.read accounts.write")
        self.assertEqual(claims["exp"] - claims["iat"], 3600)
        self.assertTrue(claims["jti"])

    def test_scope_and_grant_type_are_required(self):
        for missing in ("scope", "grant_type"):
            kwargs = {"scope": "vendors.read"}
            kwargs[missing] = None
            response = self.get_token(**kwargs)
            self.assertEqual(response.status_code, 400, missing)
            self.assertEqual(response.json()["error"], "invalid_request")
            self.assertIn(missing, response.json()["error_description"])

    def test_wrong_credentials_are_invalid_client(self):
        for auth in (("sandbox", "wrong"), ("someone", "sandbox"), None):
            response = self.get_token("vendors.read", auth=auth)
            self.assertEqual(response.status_code, 401, auth)
            self.assertEqual(response.json(), {"error": "invalid_client"})

    def test_unknown_scope_and_grant(self):
        response = self.get_token("vendors.read vendors.fly")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "invalid_scope")
        response = self.get_token("vendors.read", grant_type="password")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "unsupported_grant_type")

    def test_api_needs_a_valid_bearer_token(self):
        self.assertEqual(self.api("GET", "/v1/vendors", token=False).status_code, 401)
        self.assertEqual(self.api("GET", "/v1/vendors", token="not-a-token").status_code, 401)
        header, claims, signature = self.token.split(".")
        forged = decode_part(claims) | {"scope": SCOPES + " users.write"}
        forged_part = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
        forged_token = f"{header}.{forged_part}.{signature}"
        self.assertEqual(self.api("GET", "/v1/vendors", token=forged_token).status_code, 401)
        basic = {"Authorization": "Basic " + base64.b64encode(b"sandbox:sandbox").decode()}
        response = self.api("GET", "/v1/vendors", token=False, headers=basic)
        self.assertEqual(response.status_code, 401)
        # The same call with the real token passes authentication (404: no vendors yet).
        self.assertEqual(self.api("GET", "/v1/vendors").status_code, 404)

    def test_token_expires(self):
        self.srv.set_faults(token_lifetime=1)
        response = self.get_token("vendors.read")
        self.assertEqual(response.json()["expires_in"], 1)
        token = response.json()["access_token"]
        self.assertEqual(self.api("GET", "/v1/vendors", token=token).status_code, 404)
        time.sleep(1.1)
        self.assertEqual(self.api("GET", "/v1/vendors", token=token).status_code, 401)

    def test_missing_scope_is_403_security_error(self):
        token = self.get_token("vendors.read").json()["access_token"]
        response = self.api("POST", "/v1/vendors", token=token, json=[vendor()])
        self.assertEqual(response.status_code, 403)
        error = response.json()["errors"][0]
        self.assertEqual(error["type"], "SECURITY")
        self.assertIn("vendors.write", error["message"])
        self.assertEqual(self.srv.received("vendors"), [])


class TestSandboxMasterData(SandboxCase):
    def test_valid_vendors_are_echoed_and_stored(self):
        records = [vendor("V1"), vendor("V2", paymentTerms={"paymentTermCode": "NET30"})]
        response = self.post_ok("/v1/vendors", records)
        self.assertEqual(response.json(), records)
        self.assertEqual(uuid.UUID(response.headers["x-amzn-RequestId"]).version, 4)
        stored = self.srv.received("vendors")
        self.assertEqual([v["externalCode"] for v in stored], ["V1", "V2"])
        self.assertTrue(stored[0]["lastUpdated"])
        status = self.request_status(response)
        self.assertEqual(status["requestStatus"], "Success")
        self.assertEqual(status["entityType"], "Vendor")
        items = status["systems"][0]["items"]
        self.assertEqual(
            [(i["externalCode"], i["status"]) for i in items],
            [("V1", "Success"), ("V2", "Success")],
        )

    def test_missing_required_field(self):
        record = vendor("V1")
        del record["name"]
        response = self.api("POST", "/v1/vendors", json=[record])
        self.assertValidationError(response, "[0].name: field is required", "V1")
        self.assertEqual(self.srv.received("vendors"), [])

    def test_nested_required_field(self):
        record = vendor("V1", companies=[{"inheritToChildUnits": True}])
        response = self.api("POST", "/v1/vendors", json=[record])
        self.assertValidationError(response, "[0].companies[0].companyCode: field is required")

    def test_overlong_code(self):
        response = self.api("POST", "/v1/vendors", json=[vendor("V1", vendorCode="X" * 26)])
        self.assertValidationError(response, "[0].vendorCode: longer than 25 characters")
        response = self.api("POST", "/v1/vendors", json=[vendor("V" * 37)])
        self.assertValidationError(response, "externalCode: longer than 36 characters")
        self.post_ok("/v1/vendors", [vendor("V1", vendorCode="X" * 25)])

    def test_wrong_enum_type_and_unknown_field(self):
        address = {"externalCode": "A1", "name": "Main", "addressType": "Moon"}
        response = self.api("POST", "/v1/vendors", json=[vendor(addresses=[address])])
        self.assertValidationError(response, "[0].addresses[0].addressType: 'Moon' is not one of")
        response = self.api("POST", "/v1/vendors", json=[vendor(name=42)])
        self.assertValidationError(response, "[0].name: expected string, got integer")
        response = self.api("POST", "/v1/vendors", json=[vendor(nickname="Acme")])
        self.assertValidationError(response, "[0].nickname: unknown field")
        response = self.api("POST", "/v1/vendors", json=[vendor(name=None)])
        self.assertValidationError(response, "[0].name: must not be null")

    def test_body_must_be_a_json_array(self):
        response = self.api("POST", "/v1/vendors", json=vendor())
        self.assertValidationError(response, "expected a JSON array")
        response = self.api(
            "POST", "/v1/vendors", data=b"[{", headers={"Content-Type": "application/json"}
        )
        self.assertValidationError(response, "invalid JSON")

    def test_bulk_limits(self):
        response = self.api("POST", "/v1/vendors", json=[vendor(f"V{i}") for i in range(201)])
        self.assertValidationError(response, "201 items, at most 200")
        self.assertEqual(self.srv.received("vendors"), [])
        self.post_ok("/v1/vendors", [vendor(f"V{i}") for i in range(200)])
        self.assertEqual(len(self.srv.received("vendors")), 200)
        line = {
            "externalCode": "L",
            "orderExternalCode": "O",
            "lineNumber": "1",
            "quantity": 1,
            "matchingMode": "Standard",
        }
        lines = [{**line, "externalCode": f"L{i}"} for i in range(101)]
        response = self.api("POST", "/v1/matchingOrderLines", json=lines)
        self.assertValidationError(response, "101 items, at most 100")

    def test_request_size_limit(self):
        big = [vendor(f"V{i}", description="d" * 250) for i in range(200)]
        padding = " " * (6 * 1024 * 1024)
        response = self.api(
            "POST",
            "/v1/vendors",
            data=json.dumps(big) + padding,
            headers={"Content-Type": "application/json"},
        )
        self.assertValidationError(response, "bytes are allowed per request")
        self.post_ok("/v1/vendors", big)

    def test_identical_resend_is_not_processed(self):
        self.post_ok("/v1/vendors", [vendor("V1")])
        first_stamp = self.srv.received("vendors")[0]["lastUpdated"]
        again = self.post_ok("/v1/vendors", [vendor("V1"), vendor("V2")])
        items = self.request_status(again)["systems"][0]["items"]
        self.assertEqual([i["status"] for i in items], ["NotProcessed", "Success"])
        self.assertEqual(self.srv.received("vendors")[0]["lastUpdated"], first_stamp)
        changed = self.post_ok("/v1/vendors", [vendor("V1", name="Renamed")])
        self.assertEqual(
            self.request_status(changed)["systems"][0]["items"][0]["status"], "Success"
        )
        self.assertEqual(self.srv.received("vendors")[0]["name"], "Renamed")

    def test_business_errors_come_back_in_request_status(self):
        order = matching_order("PO1", "NOPE")
        response = self.post_ok("/v1/matchingOrders", [order])
        status = self.request_status(response)
        self.assertEqual(status["requestStatus"], "Error")
        item = status["systems"][0]["items"][0]
        self.assertEqual(item["status"], "Error")
        self.assertIn("NOPE", item["errors"][0]["message"])
        listed = self.api("GET", "/v1/requestStatus")  # Basware's default filter: Error
        self.assertEqual(
            [s["requestId"] for s in listed.json()["requestStatus"]], [status["requestId"]]
        )
        # Re-sent unchanged after the vendor exists: processed again, not NotProcessed.
        self.post_ok("/v1/vendors", [vendor("V1", vendorCode="NOPE")])
        again = self.post_ok("/v1/matchingOrders", [order])
        self.assertEqual(self.request_status(again)["requestStatus"], "Success")

    def test_request_status_acknowledge(self):
        ok = self.post_ok("/v1/vendors", [vendor("V1")]).headers["x-amzn-RequestId"]
        path = "/v1/requestStatus/acknowledge"
        self.assertEqual(self.api("POST", path, json={"requestIds": [ok]}).status_code, 200)
        status = self.api("GET", f"/v1/requestStatus/{ok}").json()["requestStatus"][0]
        self.assertEqual(status["requestStatus"], "AcknowledgedSuccess")
        self.assertEqual(status["systems"][0]["systemStatus"], "AcknowledgedSuccess")
        self.assertEqual(self.api("POST", path, json={"requestIds": [ok]}).status_code, 405)
        unknown = {"requestIds": [str(uuid.uuid4())]}
        self.assertEqual(self.api("POST", path, json=unknown).status_code, 404)
        self.assertEqual(self.api("POST", path, json={"ids": [ok]}).status_code, 400)
        self.assertEqual(self.api("GET", f"/v1/requestStatus/{uuid.uuid4()}").status_code, 404)

    def test_request_status_in_progress_while_processing(self):
        self.srv.set_faults(processing_delay=0.6)
        response = self.post_ok("/v1/vendors", [vendor("V1")])
        self.assertEqual(self.request_status(response)["requestStatus"], "InProgress")
        time.sleep(0.7)
        self.assertEqual(self.request_status(response)["requestStatus"], "Success")

    def test_get_one_and_patch(self):
        self.post_ok("/v1/vendors", [vendor("V1")])
        self.assertEqual(self.api("GET", "/v1/vendors/V1").json()["name"], "Vendor V1")
        self.assertEqual(self.api("GET", "/v1/vendors/NOPE").status_code, 404)
        response = self.api("PATCH", "/v1/vendors/V1", json={"name": "Patched"})
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["vendorCode"], "V1-CODE")
        self.assertEqual(self.srv.received("vendors")[0]["name"], "Patched")
        self.assertEqual(self.request_status(response)["operationType"], "PATCH")
        response = self.api("PATCH", "/v1/vendors/V1", json={"name": "N" * 251})
        self.assertValidationError(response, "name: longer than 250 characters")
        self.assertEqual(self.api("PATCH", "/v1/vendors/NOPE", json={}).status_code, 404)

    def test_patch_order_line_merges_goods_receipts(self):
        self.post_ok("/v1/vendors", [vendor("V1")])
        self.post_ok(
            "/v1/matchingOrders",
            [matching_order("PO1", "V1-CODE")],
        )
        gr1 = {"externalCode": "GR1", "goodsReceiptNumber": "WH/IN/1", "quantity": 2}
        self.post_ok(
            "/v1/matchingOrderLines",
            [
                {
                    "externalCode": "PO1-1",
                    "orderExternalCode": "PO1",
                    "lineNumber": "1",
                    "quantity": 5,
                    "matchingMode": "Standard",
                    "goodsReceipts": [gr1],
                }
            ],
        )
        gr2 = {"externalCode": "GR2", "goodsReceiptNumber": "WH/IN/2", "quantity": 3}
        response = self.api(
            "PATCH",
            "/v1/matchingOrderLines/PO1-1",
            json={"goodsReceipts": [gr2, {**gr1, "quantity": 1}]},
        )
        self.assertEqual(response.status_code, 200, response.text)
        receipts = {g["externalCode"]: g["quantity"] for g in response.json()["goodsReceipts"]}
        self.assertEqual(receipts, {"GR1": 1, "GR2": 3})
        response = self.api(
            "PATCH",
            "/v1/matchingOrderLines/PO1-1",
            json={"goodsReceipts": [{"externalCode": "GR3"}]},
        )
        self.assertValidationError(
            response, "goodsReceipts[2].goodsReceiptNumber: field is required"
        )

    def test_lists_projects_and_wrappers(self):
        item = {
            "externalCode": "D1",
            "text_1": "Dept 1",
            "companies": [{"companyCode": "C100", "active": True}],
        }
        self.post_ok("/v1/lists/ACC_LIST_3", [item])
        listed = self.api("GET", "/v1/lists/ACC_LIST_3").json()
        self.assertEqual([i["externalCode"] for i in listed["listItems"]], ["D1"])
        self.assertEqual(self.api("GET", "/v1/lists/ACC_LIST_4").status_code, 404)
        response = self.api("POST", "/v1/lists/ACC_LIST_36", json=[item])
        self.assertEqual(response.status_code, 400)
        status = self.request_status(self.post_ok("/v1/lists/INV_LIST_20", [item]))
        self.assertEqual(
            (status["entityType"], status["genericListKey"]), ("GenericList", "INV_LIST_20")
        )
        project = {
            "externalCode": "P1",
            "projectCode": "P1",
            "projectName": "Project 1",
            "validFrom": "2025-01-01",
            "validUntil": "2030-12-31T00:00:00Z",
            "companies": [{"companyCode": "C100", "active": True}],
        }
        self.post_ok("/v2/projects", [project])
        self.assertEqual(self.api("GET", "/v2/projects").json()["projects"][0]["projectCode"], "P1")
        bad_date = {**project, "validFrom": "first of May"}
        response = self.api("POST", "/v2/projects", json=[bad_date])
        self.assertValidationError(response, "validFrom: 'first of May' is not a valid date-time")

    def test_get_filters(self):
        self.post_ok(
            "/v1/vendors", [vendor("V1"), vendor("V2", companies=[{"companyCode": "C200"}])]
        )
        listed = self.api("GET", "/v1/vendors?companyCode=C200").json()["vendorEntities"]
        self.assertEqual([v["externalCode"] for v in listed], ["V2"])
        future = "2999-01-01T00:00:00Z"
        self.assertEqual(self.api("GET", f"/v1/vendors?lastUpdated={future}").status_code, 404)
        self.assertEqual(self.api("GET", "/v1/vendors?lastUpdated=soon").status_code, 400)

    def test_delete_removes_from_api_layer(self):
        self.post_ok("/v1/vendors", [vendor("V1"), vendor("V2")])
        response = self.api("DELETE", "/v1/vendors", json={"externalCode": "V1"})
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual([v["externalCode"] for v in self.srv.received("vendors")], ["V2"])


class TestSandboxPaging(SandboxCase):
    def test_continuation_tokens(self):
        self.post_ok("/v1/vendors", [vendor(f"V{i}") for i in range(5)])
        seen, token, pages = [], None, 0
        while True:
            headers = {"x-amz-meta-continuationtoken": token} if token else {}
            response = self.api("GET", "/v1/vendors?pageSize=2", headers=headers)
            self.assertEqual(response.status_code, 200, response.text)
            seen += [v["externalCode"] for v in response.json()["vendorEntities"]]
            pages += 1
            token = response.headers.get(CONTINUATION_OUT)
            if not token:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(seen, [f"V{i}" for i in range(5)])

    def test_token_needs_the_same_query(self):
        self.post_ok("/v1/vendors", [vendor(f"V{i}") for i in range(3)])
        token = self.api("GET", "/v1/vendors?pageSize=2").headers[CONTINUATION_OUT]
        header = {"X-Amz-Meta-ContinuationToken": token}  # header names are case-insensitive
        response = self.api("GET", "/v1/vendors?pageSize=2&companyCode=C100", headers=header)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["errors"][0]["code"], "PARAMETER_VALIDATION_ERROR")
        response = self.api(
            "GET", "/v1/vendors?pageSize=2", headers={"x-amz-meta-continuationtoken": "made-up"}
        )
        self.assertEqual(response.status_code, 400)
        response = self.api("GET", "/v1/vendors?pageSize=2", headers=header)
        self.assertEqual([v["externalCode"] for v in response.json()["vendorEntities"]], ["V2"])

    def test_page_size_range(self):
        self.post_ok("/v1/vendors", [vendor("V1")])
        self.assertEqual(self.api("GET", "/v1/vendors?pageSize=500").status_code, 200)
        for size in ("501", "0", "many"):
            self.assertEqual(self.api("GET", f"/v1/vendors?pageSize={size}").status_code, 400)
        self.assertEqual(self.api("GET", "/v1/matchingOrderLines?pageSize=101").status_code, 400)


class TestSandboxFaults(SandboxCase):
    def test_fail_next_429_with_retry_after(self):
        self.srv.fail_next(429, count=2, retry_after=7)
        for _attempt in range(2):
            response = self.api("GET", "/v1/vendors")
            self.assertEqual(response.status_code, 429)
            self.assertEqual(response.headers["Retry-After"], "7")
        self.assertEqual(self.api("GET", "/v1/vendors").status_code, 404)

    def assertBaswareError(self, response, status, err_type, code):
        """A ResponseEntityList with one error, named by the response's x-amzn-RequestId."""
        self.assertEqual(response.status_code, status, response.text)
        body = response.json()
        self.assertEqual(set(body), {"requestId", "hasErrors", "errors"})
        self.assertEqual(body["requestId"], response.headers["x-amzn-RequestId"])
        self.assertIs(body["hasErrors"], True)
        [error] = body["errors"]
        self.assertEqual(set(error), {"externalCode", "type", "code", "message", "info"})
        self.assertEqual((error["type"], error["code"]), (err_type, code))
        self.assertTrue(error["message"])
        return error

    def test_fault_bodies_look_like_basware(self):
        self.srv.fail_next(429, retry_after=2)
        error = self.assertBaswareError(
            self.api("GET", "/v1/vendors"), 429, "TECHNICAL", "UNEXPECTED_ERROR"
        )
        self.assertIn("Too many requests", error["message"])
        messages = {}
        for status in (500, 502, 503, 504):
            self.srv.fail_next(status)
            response = self.api("POST", "/v1/vendors", json=[vendor()])
            error = self.assertBaswareError(response, status, "TECHNICAL", "UNEXPECTED_ERROR")
            self.assertNotIn("Retry-After", response.headers)
            messages[status] = error["message"]
        self.assertEqual(len(set(messages.values())), 4, messages)
        self.srv.fail_next(409)
        self.assertBaswareError(self.api("GET", "/v1/vendors"), 409, "BUSINESS", "CONFLICT_IN_POST")
        # 401 has no schema in the spec: the same answer as a real refused token.
        real = self.api("GET", "/v1/vendors", token=False)
        self.srv.fail_next(401)
        injected = self.api("GET", "/v1/vendors")
        self.assertEqual((injected.status_code, injected.json()), (401, real.json()))
        self.assertEqual(injected.headers["WWW-Authenticate"], "Bearer")
        self.srv.fail_next(404)
        response = self.api("GET", "/v1/vendors")
        self.assertEqual((response.status_code, response.content), (404, b""))
        self.assertEqual(self.srv.received("vendors"), [])

    def test_storage_faults_look_like_s3(self):
        self.srv.seed_accounting_documents(1)
        self.srv.fail_next(503, path_prefix="/_storage")
        redirect = self.api("GET", "/v1/accountingDocuments?processingStatus=WaitingForTransfer")
        self.assertEqual(redirect.status_code, 302)
        response = requests.get(redirect.headers["Location"], timeout=TIMEOUT)
        self.assertEqual(response.status_code, 503)
        self.assertIn("<Code>SlowDown</Code>", response.text)
        self.assertNotIn("x-amzn-RequestId", response.headers)

    def test_faults_spare_the_token_endpoint(self):
        self.srv.fail_next(503)
        self.srv.fail_next(429, path_prefix="/v1")  # a prefix of the API, not the token
        self.srv.set_faults(rate_5xx=1.0, status_5xx=502)
        for _attempt in range(3):
            self.assertEqual(self.get_token("vendors.read").status_code, 200)
        self.assertEqual(self.api("GET", "/v1/vendors").status_code, 503)
        self.assertEqual(self.api("GET", "/v1/vendors").status_code, 429)
        self.assertEqual(self.api("GET", "/v1/vendors").status_code, 502)
        self.srv.set_faults(rate_5xx=0.0, drop_rate=1.0, rate_429=1.0)
        self.assertEqual(self.get_token("vendors.read").status_code, 200)

    def test_token_endpoint_faults_when_named(self):
        self.srv.fail_next(503, count=2, path_prefix="/v1/tokens")
        self.srv.fail_next(429, retry_after=4, path_prefix="/v1/tokens")
        self.assertEqual(self.api("GET", "/v1/vendors").status_code, 404)
        self.assertEqual(self.get_token("vendors.read").status_code, 503)
        self.assertEqual(self.get_token("vendors.read").status_code, 503)
        throttled = self.get_token("vendors.read")
        self.assertEqual(throttled.status_code, 429)
        self.assertEqual(throttled.headers["Retry-After"], "4")
        self.assertEqual(self.get_token("vendors.read").status_code, 200)
        self.srv.fail_next("drop", path_prefix="/v1/tokens")
        with self.assertRaises(requests.ConnectionError):
            self.get_token("vendors.read")

    def test_retry_after_seconds_round_up(self):
        for asked, sent in ((0.2, "1"), (2.5, "3"), (3, "3"), (0, "0")):
            self.srv.fail_next(429, retry_after=asked)
            response = self.api("GET", "/v1/vendors")
            self.assertEqual(response.headers["Retry-After"], sent, asked)
        self.srv.set_faults(rate_429=1.0, retry_after=1.01)
        self.assertEqual(self.api("GET", "/v1/vendors").headers["Retry-After"], "2")

    def test_retry_after_as_http_date(self):
        def retry_at(response):
            self.assertEqual(response.status_code, 429)
            value = response.headers["Retry-After"]
            self.assertTrue(value.endswith(" GMT"), value)
            return email.utils.parsedate_to_datetime(value).timestamp()

        self.srv.set_faults(retry_after_format="date", retry_after=5)
        self.srv.fail_next(429)
        before = time.time()
        moment = retry_at(self.api("GET", "/v1/vendors"))
        self.assertTrue(before + 5 <= moment <= time.time() + 6, (before, moment))
        self.srv.fail_next(429, retry_after=0.3)
        before = time.time()
        moment = retry_at(self.api("GET", "/v1/vendors"))
        self.assertTrue(before + 0.3 <= moment <= time.time() + 1.3, (before, moment))
        # Per call, and back to seconds.
        self.srv.set_faults(retry_after_format="seconds")
        self.srv.fail_next(429, retry_after=2, retry_after_format="date")
        self.assertGreaterEqual(retry_at(self.api("GET", "/v1/vendors")), before + 2)
        self.srv.fail_next(429, retry_after=2)
        self.assertEqual(self.api("GET", "/v1/vendors").headers["Retry-After"], "2")
        with self.assertRaises(ValueError):
            self.srv.set_faults(retry_after_format="minutes")
        with self.assertRaises(ValueError):
            self.srv.fail_next(429, retry_after_format="minutes")
        bad = requests.post(
            self.srv.url + "/_sandbox/faults", json={"retry_after_format": "x"}, timeout=TIMEOUT
        )
        self.assertEqual(bad.status_code, 400)

    def test_fail_next_5xx_on_a_path_only(self):
        self.srv.fail_next(503, path_prefix="/v1/vendors")
        self.assertEqual(self.get_token("vendors.read").status_code, 200)
        self.assertEqual(self.api("GET", "/v1/accounts").status_code, 404)
        self.assertEqual(self.api("POST", "/v1/vendors", json=[vendor()]).status_code, 503)
        self.assertEqual(self.srv.received("vendors"), [])
        self.post_ok("/v1/vendors", [vendor()])

    def test_dropped_connection(self):
        self.srv.fail_next("drop")
        with self.assertRaises(requests.ConnectionError):
            self.api("POST", "/v1/vendors", json=[vendor()])
        self.assertEqual(self.srv.requests[-1]["status"], "dropped")
        self.assertEqual(self.srv.received("vendors"), [])
        self.post_ok("/v1/vendors", [vendor()])

    def test_seeded_shares_are_reproducible(self):
        def run(seed):
            self.srv.set_faults(rate_429=0.3, rate_5xx=0.3, status_5xx=502, seed=seed)
            return [self.api("GET", "/v1/vendors").status_code for _i in range(30)]

        first = run(42)
        self.assertEqual(set(first), {404, 429, 502})
        self.assertEqual(run(42), first)
        self.assertNotEqual(run(7), first)

    def test_latency(self):
        self.srv.set_faults(latency=0.4)
        started = time.monotonic()
        self.api("GET", "/v1/vendors")
        self.assertGreaterEqual(time.monotonic() - started, 0.4)

    def test_faults_over_operator_http(self):
        url = self.srv.url + "/_sandbox/faults"
        response = requests.post(url, json={"rate_5xx": 1.0, "status_5xx": 502}, timeout=TIMEOUT)
        self.assertEqual(response.json()["rate_5xx"], 1.0)
        self.assertEqual(self.api("GET", "/v1/vendors").status_code, 502)
        requests.post(url, json={"clear": True}, timeout=TIMEOUT)
        self.assertEqual(self.api("GET", "/v1/vendors").status_code, 404)
        body = {"status": 429, "count": 1, "retry_after": 3}
        requests.post(self.srv.url + "/_sandbox/fail_next", json=body, timeout=TIMEOUT)
        self.assertEqual(self.api("GET", "/v1/vendors").headers.get("Retry-After"), "3")
        bad = requests.post(url, json={"rate_of_doom": 1}, timeout=TIMEOUT)
        self.assertEqual(bad.status_code, 400)

    def test_request_log(self):
        request_id = str(uuid.uuid4())
        self.api("GET", "/v1/vendors?pageSize=5", headers={"X-BW-REQUEST-ID": request_id})
        self.api("GET", "/v1/vendors", token=False)
        logged, anonymous = self.srv.requests[-2:]
        self.assertEqual((logged["method"], logged["path"]), ("GET", "/v1/vendors"))
        self.assertEqual(logged["query"], {"pageSize": "5"})
        self.assertEqual(logged["request_id"], request_id)
        self.assertTrue(logged["authorization"])
        self.assertEqual(logged["status"], 404)
        self.assertFalse(anonymous["authorization"])
        self.assertEqual(anonymous["status"], 401)
        self.assertNotIn("Authorization", logged["headers"])


class TestSandboxRequestIds(SandboxCase):
    def assertRequestId(self, response):
        value = response.headers.get("x-amzn-RequestId")
        self.assertTrue(value, f"{response.request.method} {response.url}: no x-amzn-RequestId")
        self.assertEqual(uuid.UUID(value).version, 4)
        return value

    def test_successful_gets_carry_a_request_id(self):
        posted = self.post_ok("/v1/vendors", [vendor("V1")])
        seen = {self.assertRequestId(posted)}
        for path in (
            "/v1/vendors",
            "/v1/vendors/V1",
            f"/v1/requestStatus/{posted.headers['x-amzn-RequestId']}",
        ):
            response = self.api("GET", path)
            self.assertEqual(response.status_code, 200, response.text)
            seen.add(self.assertRequestId(response))
        self.assertEqual(len(seen), 4, "a new id per call")
        self.assertRequestId(self.api("GET", "/v1/vendors/nope"))
        self.assertRequestId(self.api("GET", "/v1/vendors", token=False))

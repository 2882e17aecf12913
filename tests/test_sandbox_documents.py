"""The sandbox's accountingDocuments: 302 to storage, paging, acknowledge, ERP responses."""

import os
import tempfile
import uuid
from urllib.parse import urlsplit

import requests

from ..sandbox import SandboxServer
from ..sandbox.validation import Validator
from .test_sandbox import CONTINUATION_OUT, TIMEOUT, SandboxCase, vendor

DOCUMENTS = "/v1/accountingDocuments"
WAITING = f"{DOCUMENTS}?processingStatus=WaitingForTransfer"


def transfer_response(success=True, **values):
    response = {
        "externalCode": uuid.uuid4().hex,
        "success": success,
        "responseMessage": "Booked in Odoo" if success else "Vendor not found",
        "paymentBlock": False,
    }
    return {**response, **values}


class SandboxDocumentCase(SandboxCase):
    def fetch_page(self, path, token=None):
        """GET via the 302: (documents, next continuation token, the 302 response)."""
        headers = {"x-amz-meta-continuationtoken": token} if token else {}
        redirect = self.api("GET", path, headers=headers)
        self.assertEqual(redirect.status_code, 302, redirect.text)
        page = requests.get(redirect.headers["Location"], timeout=TIMEOUT)
        self.assertEqual(page.status_code, 200, page.text)
        return page.json()["accountingDocuments"], page.headers.get(CONTINUATION_OUT), redirect

    def acknowledged(self, count=1):
        docs = self.srv.seed_accounting_documents(count)
        for doc in docs:
            response = self.api("POST", f"{DOCUMENTS}/{doc['invoiceId']}/acknowledge")
            self.assertEqual(response.status_code, 200, response.text)
        return docs

    def fetch_document(self, invoice_id):
        """GET one via its 302, followed without Authorization as Basware requires."""
        redirect = self.api("GET", f"{DOCUMENTS}/{invoice_id}")
        self.assertEqual(redirect.status_code, 302, redirect.text)
        final = requests.get(redirect.headers["Location"], timeout=TIMEOUT)
        self.assertEqual(final.status_code, 200, final.text)
        [document] = final.json()["accountingDocuments"]
        return document

    def status_of(self, invoice_id):
        return self.fetch_document(invoice_id)["processingStatus"]


class TestSandboxDocumentList(SandboxDocumentCase):
    def test_list_redirects_to_storage_on_the_same_server(self):
        [doc] = self.srv.seed_accounting_documents(1)
        documents, token, redirect = self.fetch_page(WAITING)
        location = urlsplit(redirect.headers["Location"])
        self.assertEqual(f"{location.scheme}://{location.netloc}", self.srv.url)
        self.assertTrue(location.path.startswith("/_storage/"))
        self.assertTrue(redirect.headers["x-amzn-RequestId"])
        self.assertEqual([d["invoiceId"] for d in documents], [doc["invoiceId"]])
        self.assertIsNone(token)
        self.assertEqual(documents[0]["processingStatus"], "WaitingForTransfer")

    def test_storage_rejects_authorization(self):
        self.srv.seed_accounting_documents(1)
        redirect = self.api("GET", WAITING)
        location = redirect.headers["Location"]
        refused = requests.get(
            location, headers={"Authorization": f"Bearer {self.token}"}, timeout=TIMEOUT
        )
        self.assertEqual(refused.status_code, 400)
        self.assertIn("InvalidArgument", refused.text)
        # requests keeps Authorization on a same-host redirect: a client must not rely on it.
        followed = self.api("GET", WAITING, allow_redirects=True)
        self.assertEqual(followed.status_code, 400)
        # The refused attempt did not use up the signed URL.
        self.assertEqual(requests.get(location, timeout=TIMEOUT).status_code, 200)

    def test_storage_url_is_signed_and_single_use(self):
        self.srv.seed_accounting_documents(1)
        location = self.api("GET", WAITING).headers["Location"]
        self.assertEqual(requests.get(location, timeout=TIMEOUT).status_code, 200)
        self.assertEqual(requests.get(location, timeout=TIMEOUT).status_code, 403)
        tampered = self.api("GET", WAITING).headers["Location"].replace("key=", "key=x")
        self.assertEqual(requests.get(tampered, timeout=TIMEOUT).status_code, 403)

    def test_pages_with_continuation_tokens_on_the_final_response(self):
        seeded = {d["invoiceId"] for d in self.srv.seed_accounting_documents(5)}
        seen, token, pages = [], None, 0
        while True:
            documents, token, redirect = self.fetch_page(f"{WAITING}&pageSize=2", token)
            self.assertNotIn(CONTINUATION_OUT, redirect.headers)
            # Acknowledging while paging must not make later pages skip documents.
            for doc in documents:
                self.api("POST", f"{DOCUMENTS}/{doc['invoiceId']}/acknowledge")
            seen += [d["invoiceId"] for d in documents]
            pages += 1
            if not token:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(len(seen), 5)
        self.assertEqual(set(seen), seeded)
        self.assertEqual(self.api("GET", WAITING).status_code, 404)

    def test_filters_and_parameter_spelling(self):
        self.srv.seed_accounting_documents(2, company_code="C100")
        self.srv.seed_accounting_documents(1, company_code="C200")
        documents, _token, _redirect = self.fetch_page(
            f"{DOCUMENTS}?ProcessingStatus=WaitingForTransfer&companyCode=C200"
        )
        self.assertEqual([d["companyCode"] for d in documents], ["C200"])
        self.assertEqual(self.api("GET", f"{WAITING}&companyCode=C300").status_code, 404)
        self.assertEqual(
            self.api("GET", f"{WAITING}&p2pProcessingMode=InvoiceEnrichment").status_code, 404
        )
        response = self.api("GET", f"{DOCUMENTS}?processingStatus=Approved")
        self.assertEqual(response.status_code, 400)
        self.assertIn("processingStatus", response.json()["errors"][0]["message"])
        self.assertEqual(self.api("GET", f"{WAITING}&pageSize=101").status_code, 400)
        self.assertEqual(self.api("GET", WAITING, token=False).status_code, 401)

    def test_get_one_redirects_to_an_accounting_document_response(self):
        [doc] = self.srv.seed_accounting_documents(1)
        redirect = self.api("GET", f"{DOCUMENTS}/{doc['invoiceId']}")
        self.assertEqual(redirect.status_code, 302, redirect.text)
        self.assertTrue(redirect.headers["x-amzn-RequestId"])
        location = redirect.headers["Location"]
        self.assertTrue(urlsplit(location).path.startswith("/_storage/"))
        # The follow-up must not carry Authorization, as for the list.
        refused = requests.get(
            location, headers={"Authorization": f"Bearer {self.token}"}, timeout=TIMEOUT
        )
        self.assertEqual(refused.status_code, 400)
        final = requests.get(location, timeout=TIMEOUT)
        self.assertEqual(final.status_code, 200, final.text)
        body = final.json()
        # AccountingDocumentResponse: required "accountingDocuments", nothing else.
        self.assertEqual(list(body), ["accountingDocuments"])
        [fetched] = body["accountingDocuments"]
        self.assertEqual(fetched["invoiceId"], doc["invoiceId"])
        self.assertEqual(fetched["grossSum"], doc["grossSum"])
        self.assertEqual(Validator().errors(fetched, "AccountingDocumentEntity"), [])
        self.assertNotIn(CONTINUATION_OUT, final.headers)
        unknown = self.api("GET", f"{DOCUMENTS}/nope")
        self.assertEqual(unknown.status_code, 404)
        self.assertNotIn("Location", unknown.headers)
        self.assertEqual(
            self.api("GET", f"{DOCUMENTS}/{doc['invoiceId']}", token=False).status_code, 401
        )

    def test_attachment(self):
        [doc] = self.srv.seed_accounting_documents(1)
        attachment = doc["attachments"][0]
        response = self.api(
            "GET", f"{DOCUMENTS}/{doc['invoiceId']}/attachments/{attachment['externalCode']}"
        )
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.content.startswith(b"%PDF"))
        self.assertIn(attachment["filename"], response.headers["Content-Disposition"])
        response = self.api("GET", f"{DOCUMENTS}/{doc['invoiceId']}/attachments/nope")
        self.assertEqual(response.status_code, 404)


class TestSandboxDocumentResponses(SandboxDocumentCase):
    def test_acknowledge_once(self):
        [doc] = self.srv.seed_accounting_documents(1)
        path = f"{DOCUMENTS}/{doc['invoiceId']}/acknowledge"
        self.assertEqual(self.api("POST", path).status_code, 200)
        self.assertEqual(self.status_of(doc["invoiceId"]), "TransferInProgress")
        second = self.api("POST", path)
        self.assertEqual(second.status_code, 405)
        self.assertEqual(second.json()["errors"][0]["code"], "METHOD_NOT_ALLOWED")
        self.assertEqual(self.api("POST", f"{DOCUMENTS}/nope/acknowledge").status_code, 404)
        token = self.get_token("accountingDocuments.read").json()["access_token"]
        [other] = self.srv.seed_accounting_documents(1)
        response = self.api("POST", f"{DOCUMENTS}/{other['invoiceId']}/acknowledge", token=token)
        self.assertEqual(response.status_code, 403)

    def test_successful_transfer_response(self):
        [doc] = self.acknowledged()
        path = f"{DOCUMENTS}/{doc['invoiceId']}/transferResponses"
        body = transfer_response(voucherNumber1="BILL/2025/0001", transferDate="2025-05-01")
        response = self.api("POST", path, json=body)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json(), body)
        stored = self.fetch_document(doc["invoiceId"])
        self.assertEqual(stored["processingStatus"], "Transferred")
        self.assertEqual(stored["voucherNumber1"], "BILL/2025/0001")
        self.assertEqual(stored["transferResponses"], [body])
        status = self.request_status(response)
        self.assertEqual(status["entityType"], "TransferResponse")
        self.assertEqual(status["systems"][0]["items"][0]["parentExternalCode"], doc["invoiceId"])
        # Transferred is final: another response is refused.
        refused = self.api("POST", path, json=transfer_response())
        self.assertEqual(refused.status_code, 400)
        self.assertEqual(refused.json()["errors"][0]["type"], "BUSINESS")
        self.assertEqual(self.status_of(doc["invoiceId"]), "Transferred")

    def test_failed_transfer_then_retry_with_a_new_code(self):
        [doc] = self.acknowledged()
        path = f"{DOCUMENTS}/{doc['invoiceId']}/transferResponses"
        failure = transfer_response(success=False)
        self.assertEqual(self.api("POST", path, json=failure).status_code, 200)
        self.assertEqual(self.status_of(doc["invoiceId"]), "TransferFailed")
        reused = transfer_response(externalCode=failure["externalCode"])
        response = self.api("POST", path, json=reused)
        self.assertEqual(response.status_code, 400)
        self.assertIn("externalCode", response.json()["errors"][0]["message"])
        self.assertEqual(self.api("POST", path, json=transfer_response()).status_code, 200)
        self.assertEqual(self.status_of(doc["invoiceId"]), "Transferred")
        self.assertEqual(len(self.srv.received("transferResponses")), 2)

    def test_transfer_response_schema(self):
        [doc] = self.acknowledged()
        path = f"{DOCUMENTS}/{doc['invoiceId']}/transferResponses"
        body = transfer_response()
        del body["responseMessage"]
        self.assertValidationError(
            self.api("POST", path, json=body), "responseMessage: field is required"
        )
        long_message = transfer_response(responseMessage="m" * 251)
        self.assertValidationError(
            self.api("POST", path, json=long_message), "responseMessage: longer than 250 characters"
        )
        self.assertValidationError(
            self.api("POST", path, json=transfer_response(voucher="1")), "voucher: unknown field"
        )
        self.assertValidationError(
            self.api("POST", path, json=transfer_response(success="yes")),
            "success: expected boolean",
        )
        self.assertEqual(self.status_of(doc["invoiceId"]), "TransferInProgress")
        self.assertEqual(
            self.api(
                "POST", f"{DOCUMENTS}/nope/transferResponses", json=transfer_response()
            ).status_code,
            404,
        )
        # An array of responses is accepted too.
        response = self.api("POST", path, json=[transfer_response()])
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.status_of(doc["invoiceId"]), "Transferred")

    def test_payment_response(self):
        [doc] = self.acknowledged()
        path = f"{DOCUMENTS}/{doc['invoiceId']}/paymentResponses"
        payment = {
            "externalCode": uuid.uuid4().hex,
            "success": True,
            "paymentBlock": False,
            "paidTotal": doc["grossSum"],
            "paymentDate": "2025-06-01T00:00:00Z",
        }
        self.assertEqual(self.api("POST", path, json=payment).status_code, 400)
        self.api(
            "POST", f"{DOCUMENTS}/{doc['invoiceId']}/transferResponses", json=transfer_response()
        )
        self.assertEqual(self.api("POST", path, json=payment).status_code, 200)
        self.assertEqual(self.status_of(doc["invoiceId"]), "Paid")
        self.assertEqual(self.srv.received("paymentResponses")[0]["invoiceId"], doc["invoiceId"])


class TestSandboxPrebook(SandboxDocumentCase):
    def prebook(self, invoice_id, body, status=200):
        response = self.api("POST", f"{DOCUMENTS}/{invoice_id}/prebookResponses", json=body)
        self.assertEqual(response.status_code, status, response.text)
        return response

    def test_prebook_failed_then_prebooked(self):
        doc = self.srv.approve_invoice(prebook=True)
        invoice_id = doc["invoiceId"]
        self.assertEqual(doc["processingStatus"], "WaitingForPrebook")
        [listed], _token, _redirect = self.fetch_page(
            f"{DOCUMENTS}?processingStatus=WaitingForPrebook"
        )
        self.assertEqual(listed["invoiceId"], invoice_id)
        self.assertEqual(self.api("GET", WAITING).status_code, 404)
        ack = f"{DOCUMENTS}/{invoice_id}/acknowledge"
        self.assertEqual(self.api("POST", ack).status_code, 200)
        self.assertEqual(self.status_of(invoice_id), "PrebookInProgress")
        self.assertEqual(self.api("POST", ack).status_code, 405)

        failure = transfer_response(success=False, voucherNumber1="NOT-SAVED")
        self.prebook(invoice_id, failure)
        stored = self.fetch_document(invoice_id)
        self.assertEqual(stored["processingStatus"], "PrebookFailed")
        self.assertNotIn("voucherNumber1", stored)
        self.assertEqual(stored["prebookResponses"], [failure])

        success = transfer_response(
            voucherNumber1="PRE/0001", paymentBlock=True, prebookDate="2025-05-01T00:00:00Z"
        )
        response = self.prebook(invoice_id, success)
        self.assertEqual(response.json(), success)
        stored = self.fetch_document(invoice_id)
        self.assertEqual(stored["processingStatus"], "Prebooked")
        self.assertEqual((stored["voucherNumber1"], stored["paymentBlock"]), ("PRE/0001", True))
        self.assertEqual(stored["prebookResponses"], [failure, success])
        status = self.request_status(response)
        self.assertEqual(status["entityType"], "PrebookResponse")
        self.assertEqual(status["systems"][0]["items"][0]["parentExternalCode"], invoice_id)
        self.assertEqual(
            [r["externalCode"] for r in self.srv.received("prebookResponses")],
            [failure["externalCode"], success["externalCode"]],
        )

        # Prebooked: another prebook response is a 409, a transfer response is not yet due.
        conflict = self.prebook(invoice_id, transfer_response(), status=409)
        [error] = conflict.json()["errors"]
        self.assertEqual((error["type"], error["code"]), ("BUSINESS", "CONFLICT_IN_POST"))
        self.assertIn("already prebooked", error["message"])
        transfer = f"{DOCUMENTS}/{invoice_id}/transferResponses"
        self.assertEqual(self.api("POST", transfer, json=transfer_response()).status_code, 400)
        # Approved in P2P: offered for transfer.
        self.srv.retransfer(invoice_id)
        self.assertEqual(self.api("POST", transfer, json=transfer_response()).status_code, 200)
        self.assertEqual(self.status_of(invoice_id), "Transferred")

    def test_prebook_response_schema_and_conflicts(self):
        doc = self.srv.approve_invoice(prebook=True)
        invoice_id = doc["invoiceId"]
        path = f"{DOCUMENTS}/{invoice_id}/prebookResponses"
        body = transfer_response()
        del body["paymentBlock"]
        self.assertValidationError(
            self.api("POST", path, json=body), "paymentBlock: field is required"
        )
        self.assertValidationError(
            self.api("POST", path, json=transfer_response(transferDate="2025-05-01")),
            "transferDate: unknown field",
        )
        self.prebook("nope", transfer_response(), status=404)
        first = transfer_response(success=False)
        self.prebook(invoice_id, first)
        reused = self.prebook(
            invoice_id, transfer_response(externalCode=first["externalCode"]), 409
        )
        self.assertEqual(reused.json()["errors"][0]["code"], "CONFLICT_IN_POST")
        self.assertEqual(self.status_of(invoice_id), "PrebookFailed")
        # An invoice waiting for transfer is not in the prebook phase.
        [waiting] = self.srv.seed_accounting_documents(1)
        self.prebook(waiting["invoiceId"], transfer_response(), status=409)
        self.assertEqual(self.status_of(waiting["invoiceId"]), "WaitingForTransfer")
        read_only = self.get_token("accountingDocuments.read").json()["access_token"]
        response = self.api("POST", path, json=transfer_response(), token=read_only)
        self.assertEqual(response.status_code, 403)


class TestSandboxOperator(SandboxDocumentCase):
    def push_purchase(self):
        self.post_ok("/v1/vendors", [vendor("V1", paymentTerms={"paymentTermCode": "NET30"})])
        self.post_ok(
            "/v1/accounts",
            [
                {
                    "externalCode": "A600",
                    "accountCode": "600000",
                    "accountNames": [{"translation": "Purchases", "language": "en-US"}],
                    "companies": [{"companyCode": "C100", "inherit": False, "active": True}],
                }
            ],
        )
        self.post_ok(
            "/v1/costCenters",
            [
                {
                    "externalCode": "CC1",
                    "costCenterCode": "CC-1",
                    "costCenterNames": [{"translation": "Ops", "language": "en-US"}],
                    "companies": [{"companyCode": "C100", "active": True}],
                }
            ],
        )
        self.post_ok(
            "/v1/matchingOrders",
            [
                {
                    "externalCode": "PO1",
                    "orderNumber": "P00001",
                    "sourceSystem": "ODOO",
                    "companyCode": "C100",
                    "organizationElementCode": "C100",
                    "currencyCode": "USD",
                    "supplierCode": "V1-CODE",
                }
            ],
        )
        coding = {
            "externalCode": "PO1-1-C",
            "rowIndex": 0,
            "allocatedQuantity": 4,
            "accountCode": "600000",
            "costCenterCode": "CC-1",
        }
        receipt = {"externalCode": "GR1", "goodsReceiptNumber": "WH/IN/00001", "quantity": 4}
        self.post_ok(
            "/v1/matchingOrderLines",
            [
                {
                    "externalCode": "PO1-1",
                    "orderExternalCode": "PO1",
                    "lineNumber": "1",
                    "quantity": 4,
                    "netPrice": 25.0,
                    "netSum": 100.0,
                    "taxPercent": 10.0,
                    "matchingMode": "Standard",
                    "orderLineCoding": [coding],
                    "goodsReceipts": [receipt],
                },
                {
                    "externalCode": "PO1-2",
                    "orderExternalCode": "PO1",
                    "lineNumber": "2",
                    "quantity": 1,
                    "netSum": 50.0,
                    "matchingMode": "Standard",
                },
            ],
        )

    def test_approve_invoice_from_received_purchase_order(self):
        self.push_purchase()
        doc = self.srv.approve_invoice(order="PO1", tax_percent=0.0)
        self.assertEqual(doc["processingStatus"], "WaitingForTransfer")
        self.assertEqual(
            (doc["supplierCode"], doc["companyCode"], doc["currencyCode"]),
            ("V1-CODE", "C100", "USD"),
        )
        self.assertEqual(doc["paymentTermCode"], "NET30")
        self.assertEqual(doc["orderNumbers"], ["P00001"])
        first, second = doc["codingRows"]
        self.assertEqual((first["orderNumber"], first["orderLineNumber"]), ("P00001", "1"))
        self.assertEqual((first["accountCode"], first["costCenterCode"]), ("600000", "CC-1"))
        self.assertEqual(first["goodsReceiptNumber"], "WH/IN/00001")
        self.assertEqual((first["netTotal"], first["taxSum"]), (100.0, 10.0))
        self.assertEqual(second["netTotal"], 50.0)
        self.assertEqual((doc["netSum"], doc["taxSum1"], doc["grossSum"]), (150.0, 10.0, 160.0))
        documents, _token, _redirect = self.fetch_page(WAITING)
        self.assertEqual(documents, [doc])

    def test_approve_invoice_on_account_and_cost_center(self):
        self.push_purchase()
        doc = self.srv.approve_invoice(
            vendor="V1", net_amount=200.0, tax_percent=24.0, invoice_number="INV-77"
        )
        [row] = doc["codingRows"]
        self.assertEqual((row["accountCode"], row["costCenterCode"]), ("600000", "CC-1"))
        self.assertEqual((doc["netSum"], doc["taxSum1"], doc["grossSum"]), (200.0, 48.0, 248.0))
        self.assertEqual(doc["invoiceNumber"], "INV-77")
        credit = self.srv.approve_invoice(vendor="V1-CODE", net_amount=10.0, credit_note=True)
        self.assertEqual(credit["grossSum"], -12.4)
        with self.assertRaises(ValueError):
            self.srv.approve_invoice(vendor="unknown")
        with self.assertRaises(ValueError):
            self.srv.approve_invoice(order_lines=["nope"])
        with self.assertRaises(ValueError):  # the document itself must fit Basware's schema
            self.srv.approve_invoice(invoice_number="N" * 101)

    def test_operator_http_commands(self):
        base = self.srv.url + "/_sandbox"
        self.post_ok("/v1/vendors", [vendor("V1")])
        response = requests.post(
            f"{base}/approve", json={"vendor": "V1", "net_amount": 10}, timeout=TIMEOUT
        )
        self.assertEqual(response.status_code, 200, response.text)
        invoice_id = response.json()["invoiceId"]
        self.assertEqual(response.json()["supplierCode"], "V1-CODE")
        bad = requests.post(f"{base}/approve", json={"vendor": "nobody"}, timeout=TIMEOUT)
        self.assertEqual(bad.status_code, 400)
        received = requests.get(f"{base}/received/accountingDocuments", timeout=TIMEOUT).json()
        self.assertEqual([d["invoiceId"] for d in received], [invoice_id])
        seeded = requests.post(f"{base}/seed", json={"count": 3}, timeout=TIMEOUT).json()
        self.assertEqual(len(seeded), 3)
        self.api("POST", f"{DOCUMENTS}/{invoice_id}/acknowledge")
        requests.post(f"{base}/retransfer/{invoice_id}", timeout=TIMEOUT)
        self.assertEqual(self.status_of(invoice_id), "WaitingForTransfer")
        self.assertEqual(requests.post(f"{base}/reset", timeout=TIMEOUT).status_code, 200)
        self.assertEqual(self.srv.received("accountingDocuments"), [])
        self.assertEqual(self.srv.received("vendors"), [])


class TestSandboxPersistence(SandboxCase):
    def test_state_survives_a_restart_until_reset(self):
        handle, path = tempfile.mkstemp(suffix=".sqlite3")
        os.close(handle)
        self.addCleanup(os.remove, path)
        with SandboxServer(port=0, db_path=path) as first:
            token = requests.post(
                first.token_url,
                auth=("sandbox", "sandbox"),
                data={"grant_type": "client_credentials", "scope": "vendors.write"},
                timeout=TIMEOUT,
            ).json()["access_token"]
            response = requests.post(
                first.url + "/v1/vendors",
                json=[vendor("V1")],
                headers={"Authorization": f"Bearer {token}"},
                timeout=TIMEOUT,
            )
            self.assertEqual(response.status_code, 200)
            first.approve_invoice()
        with SandboxServer(port=0, db_path=path) as second:
            self.assertEqual([v["externalCode"] for v in second.received("vendors")], ["V1"])
            self.assertEqual(len(second.received("accountingDocuments")), 1)
            second.reset()
        with SandboxServer(port=0, db_path=path) as third:
            self.assertEqual(third.received("vendors"), [])

"""The inbound flow against the sandbox over HTTP: pull, inbox, acknowledge, import, answer.

Invoices are approved by the sandbox operator as a Basware user would; the backend pulls
them, Odoo books them, and Basware shows them transferred with the bills' numbers.
"""

import json
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..basware import constants as bw
from ..models import basware_backend_inbound
from ..models import basware_exchange as queue
from ..sandbox.validation import Validator
from .inbound_common import (
    COMPANY_CODE,
    DOCUMENTS_PATH,
    QUEUE_LOGGER,
    InboundCase,
    basware_document,
    calls,
    transfer_responses,
)

INBOUND_LOGGER = "odoo.addons.basware_connector.models.basware_backend_inbound"


@tagged("post_install", "-at_install")
class TestPullAndImport(InboundCase):
    def test_approved_invoices_become_posted_bills_and_basware_shows_them_transferred(self):
        first = self.approve(net=100.0, invoice_number="INV-1")
        second = self.approve(net=250.0, invoice_number="INV-2")
        credit = self.approve(net=40.0, invoice_number="CN-1", credit_note=True)

        result = self.import_documents()

        self.assertEqual(result["params"]["type"], "success", result["params"]["message"])
        self.assertIn("3 invoice(s) received", result["params"]["message"])
        for document, move_type, total in (
            (first, "in_invoice", 124.0),
            (second, "in_invoice", 310.0),
            (credit, "in_refund", 49.6),
        ):
            invoice_id = document["invoiceId"]
            bill = self.bills_of(invoice_id)
            self.assertEqual(len(bill), 1)
            self.assertEqual((bill.state, bill.move_type), ("posted", move_type))
            self.assertAlmostEqual(bill.amount_total, total)
            self.assertEqual(bill.ref, document["invoiceNumber"])
            self.assertEqual(bill.message_main_attachment_id.name, f"{bill.ref}.pdf")
            self.assertTrue(bill.message_main_attachment_id.raw.startswith(b"%PDF"))
            self.assertTransferredAs(invoice_id, bill)
            [response] = transfer_responses(self.sandbox, invoice_id)
            self.assertTrue(response["success"])
            self.assertEqual(response["voucherNumber1"], bill.name)
            self.assertIn(bill.name, response["responseMessage"])
            exchange = self.import_exchange(invoice_id)
            self.assertEqual(exchange.state, queue.STATE_DONE)
            self.assertTrue(exchange.acknowledged)
            self.assertEqual(exchange.child_ids.kind, queue.KIND_TRANSFER_RESPONSE)
            self.assertEqual(exchange.child_ids.state, queue.STATE_DONE)

    def test_list_asks_for_the_backends_waiting_invoices_and_acknowledges_before_answering(self):
        document = self.approve()
        self.approve(company_code="C200")

        self.import_documents()

        [listing] = [
            e
            for e in calls(self.sandbox, "GET", DOCUMENTS_PATH)
            if not e["query"].get("key") and e["path"] == DOCUMENTS_PATH
        ]
        query = {key.lower(): value for key, value in listing["query"].items()}
        self.assertEqual(query["processingstatus"], bw.PS_WAITING_FOR_TRANSFER)
        self.assertEqual(query["companycode"], COMPANY_CODE)
        invoice_id = document["invoiceId"]
        steps = [
            entry["path"].rsplit("/", 1)[-1]
            for entry in self.sandbox.requests
            if entry["method"] == "POST" and invoice_id in entry["path"]
        ]
        self.assertEqual(steps, ["acknowledge", "transferResponses"])
        self.assertEqual(len(self.Move.search([("basware_backend_id", "=", self.backend.id)])), 1)

    def test_pages_are_followed_through_continuation_tokens(self):
        documents = [self.approve(net=10.0 + index) for index in range(5)]
        with patch.object(basware_backend_inbound, "DOCUMENT_PAGE_SIZE", 2):
            self.import_documents()
        pages = [
            entry
            for entry in calls(self.sandbox, "GET", DOCUMENTS_PATH)
            if entry["path"] == DOCUMENTS_PATH
        ]
        self.assertEqual(len(pages), 3)
        for document in documents:
            self.assertTransferredAs(document["invoiceId"], self.bills_of(document["invoiceId"]))

    def test_transfer_responses_follow_the_contract(self):
        self.approve()
        rejected = self.approve(account="NO-SUCH-1")
        self.import_documents()
        validator = Validator()
        responses = transfer_responses(self.sandbox)
        self.assertEqual(len(responses), 2)
        for response in responses:
            body = {key: value for key, value in response.items() if key != "invoiceId"}
            self.assertEqual(validator.errors(body, "TransferResponseEntity"), [])
            self.assertLessEqual(len(body["externalCode"]), 36)
        [failure] = transfer_responses(self.sandbox, rejected["invoiceId"])
        self.assertFalse(failure["success"])
        self.assertNotIn("voucherNumber1", failure)

    def test_nothing_to_import(self):
        result = self.import_documents()
        self.assertEqual(result["params"]["type"], "success")
        self.assertIn("0 invoice(s) received", result["params"]["message"])

    def test_without_company_code_nothing_is_pulled(self):
        self.approve()
        self.backend.basware_company_code = False
        with mute_logger(INBOUND_LOGGER):
            result = self.import_documents()
        self.assertEqual(result["params"]["type"], "warning")
        self.assertIn("company code", result["params"]["message"])
        self.assertFalse(calls(self.sandbox, "GET", DOCUMENTS_PATH))

    def test_sync_now_also_imports(self):
        document = self.approve()
        result = self.backend.with_user(self.manager).action_sync_now()
        self.assertEqual(result["params"]["type"], "success", result["params"]["message"])
        self.assertIn("1 invoice(s) received", result["params"]["message"])
        self.assertTransferredAs(document["invoiceId"], self.bills_of(document["invoiceId"]))

    def test_acknowledged_is_the_connectors_to_write(self):
        self.approve()
        self.import_documents()
        exchange = self.Exchange.search([("kind", "=", queue.KIND_ACCOUNTING_DOCUMENT)])
        with self.assertRaises(AccessError):
            exchange.with_user(self.manager).write({"acknowledged": False})
        self.assertTrue(exchange.acknowledged)

    def test_bills_are_posted_by_default(self):
        self.assertEqual(self.env["basware.backend"].new({}).invoice_post_mode, "post")

    def test_user_cannot_import(self):
        with self.assertRaises(AccessError):
            self.backend.with_user(self.basware_user).action_import_documents()
        self.assertFalse(self.sandbox.requests)


@tagged("post_install", "-at_install")
class TestDraftMode(InboundCase):
    def test_draft_bill_is_answered_when_posted(self):
        self.backend.invoice_post_mode = "draft"
        document = self.approve()
        invoice_id = document["invoiceId"]
        self.import_documents()
        bill = self.bills_of(invoice_id)
        self.assertEqual(bill.state, "draft")
        self.assertEqual(self.import_exchange(invoice_id).state, queue.STATE_DONE)
        self.assertFalse(transfer_responses(self.sandbox, invoice_id))
        self.assertEqual(self.status_of(invoice_id), bw.PS_TRANSFER_IN_PROGRESS)

        bill.action_post()
        self.run_queue()
        self.assertTransferredAs(invoice_id, bill)

        # Reset and posted again: Basware heard of it already.
        bill.button_draft()
        bill.action_post()
        self.run_queue()
        self.assertEqual(len(transfer_responses(self.sandbox, invoice_id)), 1)


@tagged("post_install", "-at_install")
class TestAttachments(InboundCase):
    def attachment_path(self, document):
        code = document["attachments"][0]["externalCode"]
        return f"{DOCUMENTS_PATH}/{document['invoiceId']}/attachments/{code}"

    def test_an_invoice_without_a_file_in_basware_is_booked_without_it(self):
        document = self.approve()
        self.sandbox.fail_next(404, path_prefix=self.attachment_path(document))
        self.import_documents()
        bill = self.bills_of(document["invoiceId"])
        self.assertEqual(bill.state, "posted")
        self.assertFalse(bill.message_main_attachment_id)

    def test_an_unavailable_file_delays_the_bill(self):
        document = self.approve()
        invoice_id = document["invoiceId"]
        self.sandbox.fail_next(503, path_prefix=self.attachment_path(document))
        with mute_logger(QUEUE_LOGGER):
            self.import_documents()
        exchange = self.import_exchange(invoice_id)
        self.assertEqual(exchange.state, queue.STATE_FAILED)
        self.assertTrue(exchange.error_retryable)
        self.assertFalse(self.bills_of(invoice_id))
        self.assertFalse(transfer_responses(self.sandbox, invoice_id))

        self.Exchange._run_for_backend(
            self.backend, self.Exchange._iter_claim_ids(self.backend, exchange.ids)
        )
        bill = self.bills_of(invoice_id)
        self.assertTrue(bill.message_main_attachment_id)
        self.run_queue()
        self.assertTransferredAs(invoice_id, bill)


@tagged("post_install", "-at_install")
class TestNotificationPull(InboundCase):
    def ring(self, invoice_id, task_id="task-1"):
        """What the webhook controller stores for a notification."""
        notification = {
            "taskId": task_id,
            "taskStatus": "New",
            "taskType": "AccountingDocuments",
            "taskSubType": bw.PS_WAITING_FOR_TRANSFER,
            "documentId": invoice_id,
        }
        return self.Exchange._enqueue(
            self.backend,
            queue.KIND_WEBHOOK,
            queue.DIRECTION_INBOUND,
            payload=notification,
            dedup_key=f"task:{task_id}",
        )

    def test_cron_pulls_when_a_notification_waits(self):
        self.backend.last_sync_date = self.env.cr.now()
        document = self.approve()
        self.env["basware.backend"]._cron_import_documents()
        self.assertFalse(calls(self.sandbox, "GET", DOCUMENTS_PATH), "not due, no notification")

        notification = self.ring(document["invoiceId"])
        self.env["basware.backend"]._cron_import_documents()
        self.assertEqual(notification.state, queue.STATE_DONE)
        bill = self.bills_of(document["invoiceId"])
        self.assertTransferredAs(document["invoiceId"], bill)

    def test_cron_pulls_for_a_notification_whoever_ran_its_exchange(self):
        self.backend.last_sync_date = self.env.cr.now()
        document = self.approve()
        notification = self.ring(document["invoiceId"])
        notification._queue_edit().write({"state": queue.STATE_DONE})
        self.env["basware.backend"]._cron_import_documents()
        self.assertTransferredAs(document["invoiceId"], self.bills_of(document["invoiceId"]))

    def test_cron_pulls_when_the_interval_passed(self):
        document = self.approve()
        self.backend.last_sync_date = False
        self.env["basware.backend"]._cron_import_documents()
        self.assertTransferredAs(document["invoiceId"], self.bills_of(document["invoiceId"]))
        self.assertTrue(self.backend.last_sync_date)

    def test_notification_run_by_the_queue_pulls_and_the_import_acknowledges(self):
        document = self.approve()
        invoice_id = document["invoiceId"]
        notification = self.ring(invoice_id)
        self.run_queue()
        self.assertEqual(notification.state, queue.STATE_DONE)
        result = json.loads(notification.response_payload)
        self.assertEqual((result["pulled"], result["taskId"]), (1, "task-1"))
        exchange = self.import_exchange(invoice_id)
        self.assertTrue(exchange.acknowledged)
        self.assertTransferredAs(invoice_id, self.bills_of(invoice_id))
        steps = [
            entry["path"].rsplit("/", 1)[-1]
            for entry in self.sandbox.requests
            if entry["method"] == "POST" and invoice_id in entry["path"]
        ]
        self.assertEqual(steps, ["acknowledge", "transferResponses"])
        self.assertEqual(
            basware_document(self.sandbox, invoice_id)["voucherNumber1"],
            self.bills_of(invoice_id).name,
        )


@tagged("post_install", "-at_install")
class TestFailures(InboundCase):
    def test_unknown_account_gives_no_bill_a_failed_answer_and_replay_after_the_fix_posts(self):
        invoice_id = self.approve(account="601399", invoice_number="INV-BAD")["invoiceId"]
        with mute_logger(QUEUE_LOGGER):
            result = self.import_documents()
        self.assertIn("1 not imported", result["params"]["message"])

        self.assertFalse(self.bills_of(invoice_id))
        exchange = self.import_exchange(invoice_id)
        self.assertEqual(exchange.state, queue.STATE_FAILED)
        self.assertFalse(exchange.error_retryable)
        self.assertIn("601399", exchange.error_message)
        self.assertIn("INV-BAD", exchange.error_message, "the full detail")
        [failure] = transfer_responses(self.sandbox, invoice_id)
        self.assertFalse(failure["success"])
        self.assertIn("601399", failure["responseMessage"])
        self.assertLessEqual(len(failure["responseMessage"]), 250)
        self.assertEqual(self.status_of(invoice_id), bw.PS_TRANSFER_FAILED)

        self.env["account.account"].create(
            {"name": "Paper (late)", "code": "601399", "account_type": "expense"}
        )
        exchange.with_user(self.manager).action_replay()
        self.run_queue()

        bill = self.bills_of(invoice_id)
        self.assertEqual(bill.state, "posted")
        self.assertEqual(exchange.state, queue.STATE_DONE)
        self.assertTransferredAs(invoice_id, bill)
        answers = [r["success"] for r in transfer_responses(self.sandbox, invoice_id)]
        self.assertEqual(answers, [False, True])

    def test_every_unmapped_code_is_named_to_basware(self):
        invoice_id = self.approve(supplier_code="V-NOBODY", account="601398")["invoiceId"]
        with mute_logger(QUEUE_LOGGER):
            self.import_documents()
        [failure] = transfer_responses(self.sandbox, invoice_id)
        self.assertIn("V-NOBODY", failure["responseMessage"])
        self.assertIn("601398", failure["responseMessage"])

    def test_odoo_refusing_to_post_is_a_failed_answer_too(self):
        plan = self.env["account.analytic.plan"].create(
            {
                "name": "Mandatory",
                "applicability_ids": [
                    Command.create({"business_domain": "bill", "applicability": "mandatory"})
                ],
            }
        )
        self.env["account.analytic.account"].create({"name": "Somewhere", "plan_id": plan.id})
        invoice_id = self.approve()["invoiceId"]
        with mute_logger(QUEUE_LOGGER):
            self.import_documents()
        self.assertFalse(self.bills_of(invoice_id))
        exchange = self.import_exchange(invoice_id)
        self.assertEqual(exchange.state, queue.STATE_FAILED)
        [failure] = transfer_responses(self.sandbox, invoice_id)
        self.assertFalse(failure["success"])
        self.assertIn("analytic", failure["responseMessage"].lower())

    def test_draft_mode_books_what_odoo_refuses_to_post(self):
        """A bill kept for review is not posted, so posting's checks wait for the reviewer."""
        self.backend.invoice_post_mode = "draft"
        invoice_id = self.approve()["invoiceId"]
        self.import_documents()
        self.assertEqual(self.bills_of(invoice_id).state, "draft")
        self.assertEqual(self.status_of(invoice_id), bw.PS_TRANSFER_IN_PROGRESS)

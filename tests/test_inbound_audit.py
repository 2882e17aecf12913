"""The audit trail of imported bills outlives the exchanges: each bill keeps the Basware
document it was made from, and the purge of old done exchanges keeps every exchange that
a person must still resolve, with its parents and children."""

import copy
import json
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models import basware_exchange as queue
from .inbound_common import DOCUMENTS_PATH, QUEUE_LOGGER, InboundCase, basware_document

JSON_MIMETYPE = "application/json"
BAD_REQUEST = 400
NOT_FOUND = 404


class AuditCase(InboundCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.accountant = cls._new_user(
            "bw_audit_accountant",
            "account.group_account_invoice,basware_connector.group_basware_user",
        )

    def import_invoice(self, **values):
        """Approve, import and answer one invoice; return its bill and the document as
        Basware served it."""
        invoice_id = self.approve(**values)["invoiceId"]
        served = copy.deepcopy(basware_document(self.sandbox, invoice_id))
        self.import_documents()
        self.run_queue()
        return self.bills_of(invoice_id), served

    def family(self, exchange):
        """The exchange and all its descendants."""
        family = exchange
        while children := family.child_ids - family:
            family |= children
        return family

    def purge_old(self, exchanges):
        """Date ``exchanges`` back beyond the retention, then run the purge."""
        old = fields.Datetime.now() - timedelta(days=queue.DEFAULT_RETENTION_DAYS + 1)
        exchanges._queue_edit().write({"date_done": old})
        return self.Exchange._cron_purge_done()

    def stored_documents(self, bill):
        return self.env["ir.attachment"].search(
            [
                ("res_model", "=", bill._name),
                ("res_id", "=", bill.id),
                ("mimetype", "=", JSON_MIMETYPE),
            ]
        )


@tagged("post_install", "-at_install")
class TestStoredDocument(AuditCase):
    def test_the_bill_keeps_the_document_basware_served(self):
        bill, served = self.import_invoice(invoice_number="INV-AUDIT-1")
        stored = bill.basware_document_attachment_id
        self.assertEqual(self.stored_documents(bill), stored)
        self.assertEqual(stored.name, "basware-INV-AUDIT-1.json")
        self.assertEqual(stored.mimetype, JSON_MIMETYPE)
        self.assertEqual(json.loads(stored.raw), served)
        self.assertIn(b'\n  "invoiceId": ', stored.raw, "pretty-printed")
        main = bill.message_main_attachment_id
        self.assertNotEqual(main, stored)
        self.assertTrue(main.raw.startswith(b"%PDF"), "the invoice image stays the main file")

    def test_a_bill_without_files_has_no_main_attachment_but_its_document(self):
        document = self.approve()
        code = document["attachments"][0]["externalCode"]
        path = f"{DOCUMENTS_PATH}/{document['invoiceId']}/attachments/{code}"
        self.sandbox.fail_next(NOT_FOUND, path_prefix=path)
        self.import_documents()
        bill = self.bills_of(document["invoiceId"])
        self.assertEqual(bill.state, "posted")
        self.assertFalse(bill.message_main_attachment_id)
        stored = bill.basware_document_attachment_id
        self.assertEqual(stored.name, f"basware-{document['invoiceNumber']}.json")
        self.assertEqual(json.loads(stored.raw)["invoiceId"], document["invoiceId"])

    def test_a_changed_document_replaces_the_stored_one(self):
        bill, served = self.import_invoice(invoice_number="INV-AUDIT-2")
        first = bill.basware_document_attachment_id
        changed = {**served, "invoiceNumber": "INV-AUDIT-2B", "paymentBlock": True}

        second = bill._basware_store_document(changed)

        self.assertFalse(first.exists())
        self.assertEqual(bill.basware_document_attachment_id, second)
        self.assertEqual(self.stored_documents(bill), second)
        self.assertEqual(second.name, "basware-INV-AUDIT-2B.json")
        self.assertEqual(json.loads(second.raw), changed)
        self.assertNotEqual(bill.message_main_attachment_id, second)

    def test_the_button_shows_the_stored_document_once_the_exchange_is_purged(self):
        bill, served = self.import_invoice()
        exchange = self.import_exchange(bill.basware_invoice_id)
        bill = bill.with_user(self.accountant)
        action = bill.action_open_basware_document()
        self.assertEqual((action["res_model"], action["res_id"]), (exchange._name, exchange.id))

        # A finished import goes whole: the import, its answer, the answer's poll.
        family = self.family(exchange)
        self.assertEqual(set(family.mapped("state")), {queue.STATE_DONE})
        self.assertEqual(self.purge_old(family), 3)
        self.assertFalse(family.exists())

        action = bill.action_open_basware_document()
        stored = bill.basware_document_attachment_id
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertEqual(action["url"], f"/web/content/{stored.id}?download=false")
        # The file /web/content finds for that URL, with its access check for this user.
        served_file = (
            self.env["ir.binary"].with_user(self.accountant)._find_record(res_id=stored.id)
        )
        self.assertEqual(served_file.mimetype, JSON_MIMETYPE)
        self.assertEqual(json.loads(served_file.raw), served)

    def test_a_bill_with_neither_exchange_nor_document_says_so(self):
        bill, _served = self.import_invoice()
        bill.basware_document_attachment_id.unlink()
        self.purge_old(self.family(self.import_exchange(bill.basware_invoice_id)))
        with self.assertRaisesRegex(UserError, "no copy of its document"):
            bill.with_user(self.accountant).action_open_basware_document()


@tagged("post_install", "-at_install")
class TestPurgeKeepsOpenExchanges(AuditCase):
    def test_a_failed_answer_keeps_its_done_import(self):
        invoice_id = self.approve()["invoiceId"]
        self.sandbox.fail_next(
            BAD_REQUEST, path_prefix=f"{DOCUMENTS_PATH}/{invoice_id}/transferResponses"
        )
        with mute_logger(QUEUE_LOGGER):
            self.import_documents()
            self.run_queue()
        exchange = self.import_exchange(invoice_id)
        answer = exchange.child_ids
        self.assertEqual(exchange.state, queue.STATE_DONE)
        self.assertEqual(answer.mapped("state"), [queue.STATE_FAILED])

        self.assertEqual(self.purge_old(exchange | answer), 0)
        self.assertEqual(answer.parent_id, exchange)

    def test_a_dead_phase_two_poll_keeps_its_whole_line(self):
        bill, _served = self.import_invoice()
        exchange = self.import_exchange(bill.basware_invoice_id)
        family = self.family(exchange)
        poll = family.filtered(lambda member: member.kind == queue.KIND_REQUEST_STATUS)
        self.assertEqual(poll.parent_id.parent_id, exchange)
        poll._queue_edit().write({"state": queue.STATE_DEAD})

        self.assertEqual(self.purge_old(family), 0)
        self.assertEqual(self.family(exchange), family)

    def test_a_failed_import_keeps_the_answer_it_gave(self):
        invoice_id = self.approve(account="601397")["invoiceId"]
        with mute_logger(QUEUE_LOGGER):
            self.import_documents()
            self.run_queue()
        exchange = self.import_exchange(invoice_id)
        answer = exchange.child_ids
        self.assertEqual(exchange.state, queue.STATE_FAILED)
        self.assertEqual(answer.mapped("state"), [queue.STATE_DONE])

        self.assertEqual(self.purge_old(self.family(exchange)), 0)
        self.assertEqual(exchange.child_ids, answer)

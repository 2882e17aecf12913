"""Imported bills a person decides on: possible duplicates and unusual amounts held back
in draft as Odoo's auto-post holds them, bills cancelled or deleted before posting, and
invoices Basware offers again after they were booked, corrected or not."""

from odoo import Command
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..basware import constants as bw
from ..models import basware_exchange as queue
from .inbound_common import (
    QUEUE_LOGGER,
    TAX_PERCENT,
    InboundCase,
    basware_document,
    transfer_responses,
)


def corrected(document, net):
    """``document`` as a Basware user corrects its one coding row to ``net``."""
    tax = round(net * TAX_PERCENT / 100, 2)
    row = dict(document["codingRows"][0], netTotal=net, taxSum=tax, grossTotal=net + tax)
    return {"codingRows": [row], "netSum": net, "taxSum1": tax, "grossSum": net + tax}


@tagged("post_install", "-at_install")
class TestHeldBack(InboundCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reviewer = cls._new_user("bw_ap_reviewer", "account.group_account_invoice")
        cls.backend.invoice_review_user_id = cls.reviewer

    def keyed_by_hand(self, ref, amount=10.0, invoice_date="2026-11-02"):
        bill = self.Move.create(
            {
                "move_type": "in_invoice",
                "partner_id": self.vendor.id,
                "ref": ref,
                "invoice_date": invoice_date,
                "invoice_line_ids": [
                    Command.create(
                        {"name": "keyed", "price_unit": amount, "account_id": self.account.id}
                    )
                ],
            }
        )
        bill.action_post()
        return bill

    def import_held(self, ref):
        invoice_id = self.approve(invoice_number=ref, invoice_date="2026-11-20")["invoiceId"]
        self.import_documents()
        bill = self.bills_of(invoice_id)
        self.assertEqual(bill.state, "draft", "held back, though the backend posts bills")
        self.assertEqual(self.import_exchange(invoice_id).state, queue.STATE_DONE)
        self.assertFalse(transfer_responses(self.sandbox, invoice_id), "Basware waits")
        self.assertEqual(self.status_of(invoice_id), bw.PS_TRANSFER_IN_PROGRESS)
        return invoice_id, bill

    def test_possible_duplicate_is_held_for_the_ap_team_and_answered_once_posted(self):
        by_hand = self.keyed_by_hand("INV-DUP-1")
        invoice_id, bill = self.import_held("INV-DUP-1")
        self.assertEqual(bill.duplicated_ref_ids, by_hand)
        [note] = bill.message_ids.filtered(lambda message: "Kept in draft" in message.body)
        self.assertIn(by_hand.name, note.body)
        [activity] = bill.activity_ids
        self.assertEqual(activity.user_id, self.reviewer)

        bill.action_post()
        self.run_queue()
        self.assertTransferredAs(invoice_id, bill)

    def test_cancelled_instead_basware_hears_it_was_not_booked(self):
        self.keyed_by_hand("INV-DUP-2")
        invoice_id, bill = self.import_held("INV-DUP-2")
        bill.button_cancel()
        self.run_queue()
        [answer] = transfer_responses(self.sandbox, invoice_id)
        self.assertFalse(answer["success"])
        self.assertIn("cancelled", answer["responseMessage"])
        self.assertEqual(self.status_of(invoice_id), bw.PS_TRANSFER_FAILED)

    def test_deleted_instead_basware_hears_it_was_not_booked(self):
        self.keyed_by_hand("INV-DUP-3")
        invoice_id, bill = self.import_held("INV-DUP-3")
        bill.unlink()
        self.run_queue()
        [answer] = transfer_responses(self.sandbox, invoice_id)
        self.assertFalse(answer["success"])
        self.assertIn("deleted", answer["responseMessage"])
        self.assertEqual(self.status_of(invoice_id), bw.PS_TRANSFER_FAILED)

    def test_unusual_amount_is_held_back(self):
        # A vendor billing about 100 every month for a year.
        for month in range(1, 13):
            self.keyed_by_hand(f"M-{month}", 100.0 + month, f"2025-{month:02d}-05")
        invoice_id = self.approve(net=25000.0, invoice_date="2026-01-05")["invoiceId"]
        self.import_documents()
        bill = self.bills_of(invoice_id)
        self.assertEqual(bill.state, "draft")
        self.assertTrue(bill.abnormal_amount_warning)
        self.assertTrue(bill.message_ids.filtered(lambda message: "unusual" in message.body))
        self.assertFalse(transfer_responses(self.sandbox, invoice_id))

    def test_a_bill_that_is_neither_is_posted(self):
        self.keyed_by_hand("INV-OTHER")
        invoice_id = self.approve(invoice_number="INV-NEW")["invoiceId"]
        self.import_documents()
        self.assertEqual(self.bills_of(invoice_id).state, "posted")


@tagged("post_install", "-at_install")
class TestOfferedAgainAfterBooking(InboundCase):
    def reoffer(self, invoice_id, changes=None):
        self.sandbox.retransfer(invoice_id, changes)
        with mute_logger(QUEUE_LOGGER):
            self.import_documents()

    def test_unchanged_document_is_answered_with_its_bill(self):
        invoice_id = self.approve()["invoiceId"]
        self.import_documents()
        bill = self.bills_of(invoice_id)
        self.reoffer(invoice_id)
        self.assertEqual(self.import_exchange(invoice_id).state, queue.STATE_DONE)
        self.assertEqual(self.bills_of(invoice_id), bill)
        self.assertTrue(all(answer["success"] for answer in transfer_responses(self.sandbox)))
        self.assertTransferredAs(invoice_id, bill)

    def test_corrected_document_of_a_posted_bill_is_refused_naming_the_change(self):
        invoice_id = self.approve(net=100.0)["invoiceId"]
        self.import_documents()
        bill = self.bills_of(invoice_id)
        self.reoffer(invoice_id, corrected(basware_document(self.sandbox, invoice_id), 110.0))

        exchange = self.import_exchange(invoice_id)
        self.assertEqual(exchange.state, queue.STATE_FAILED)
        self.assertIn("changed after booking", exchange.error_message)
        self.assertIn("netTotal 100.0 → 110.0", exchange.error_message)
        self.assertAlmostEqual(bill.amount_untaxed, 100.0, msg="the posted bill stays")
        answers = transfer_responses(self.sandbox, invoice_id)
        self.assertEqual([answer["success"] for answer in answers], [True, False])
        self.assertIn(bill.name, answers[-1]["responseMessage"])
        self.assertIn("grossSum 124.0 → 136.4", answers[-1]["responseMessage"])
        self.assertEqual(self.status_of(invoice_id), bw.PS_TRANSFER_FAILED)

    def test_corrected_document_of_a_draft_bill_updates_it(self):
        self.backend.invoice_post_mode = "draft"
        invoice_id = self.approve(net=100.0)["invoiceId"]
        self.import_documents()
        bill = self.bills_of(invoice_id)
        self.reoffer(invoice_id, corrected(basware_document(self.sandbox, invoice_id), 80.0))

        self.assertEqual(self.import_exchange(invoice_id).state, queue.STATE_DONE)
        self.assertEqual(self.bills_of(invoice_id), bill, "the same draft, updated")
        self.assertAlmostEqual(bill.amount_untaxed, 80.0)
        self.assertAlmostEqual(bill.amount_total, 99.2)
        self.assertEqual(len(bill.invoice_line_ids), 1)
        note = bill.message_ids.filtered(lambda message: "corrected" in message.body)
        self.assertIn("netTotal 100.0 → 80.0", note.body)
        self.assertFalse(transfer_responses(self.sandbox, invoice_id), "answered when posted")
        bill.action_post()
        self.run_queue()
        self.assertTransferredAs(invoice_id, bill)

    def test_cancelled_bill_is_answered_as_not_booked(self):
        self.backend.invoice_post_mode = "draft"
        invoice_id = self.approve()["invoiceId"]
        self.import_documents()
        bill = self.bills_of(invoice_id)
        bill.button_cancel()
        self.run_queue()
        self.reoffer(invoice_id)

        self.assertEqual(self.import_exchange(invoice_id).state, queue.STATE_FAILED)
        answers = transfer_responses(self.sandbox, invoice_id)
        self.assertEqual([answer["success"] for answer in answers], [False, False])
        self.assertIn("cancelled", answers[-1]["responseMessage"])
        self.assertEqual(self.bills_of(invoice_id).state, "cancel")

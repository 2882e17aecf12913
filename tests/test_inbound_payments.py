"""A bill from Basware that is paid in full is reported to Basware once."""

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models import basware_exchange as spine
from ..models.account_move_inbound import PAID_STATES
from ..sandbox.validation import Validator
from .inbound_common import InboundCase, basware_document

PAID = "Paid"
SPINE_LOGGER = "odoo.addons.basware_connector.models.basware_exchange"


@tagged("post_install", "-at_install")
class TestPaymentResponses(InboundCase):
    def imported_bill(self, post=True, **values):
        invoice_id = self.approve(**values)["invoiceId"]
        self.import_documents()
        bill = self.bills_of(invoice_id)
        self.assertEqual(bill.state, "posted" if post else "draft")
        return invoice_id, bill

    def pay(self, bill, amount, date="2026-03-02"):
        return (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=bill.ids)
            .create(
                {
                    "amount": amount,
                    "payment_date": date,
                    "payment_difference_handling": "open",
                }
            )
            ._create_payments()
        )

    def payment_exchanges(self, bill):
        return self.Exchange.search(
            [
                ("kind", "=", spine.KIND_PAYMENT_RESPONSE),
                ("res_model", "=", "account.move"),
                ("res_id", "=", bill.id),
            ]
        )

    def run_inbound_cron(self):
        self.env["basware.backend"]._cron_import_documents()

    def test_full_payment_is_reported_once_a_partial_one_waits(self):
        invoice_id, bill = self.imported_bill(net=100.0)

        self.pay(bill, 50.0, "2026-03-01")
        self.assertEqual(bill.payment_state, "partial")
        self.run_inbound_cron()
        self.assertFalse(self.payment_exchanges(bill))
        self.assertFalse(self.sandbox.received("paymentResponses"))

        payment = self.pay(bill, 74.0, "2026-03-02")
        self.assertIn(bill.payment_state, PAID_STATES)
        self.run_inbound_cron()

        exchange = self.payment_exchanges(bill)
        self.assertEqual(exchange.state, spine.STATE_DONE)
        [response] = self.sandbox.received("paymentResponses")
        self.assertEqual(response["invoiceId"], invoice_id)
        self.assertTrue(response["success"])
        self.assertAlmostEqual(response["paidTotal"], 124.0)
        self.assertEqual(response["paymentDate"], "2026-03-02T00:00:00Z")
        self.assertEqual(response["paymentMethod"], payment.payment_method_line_id.name)
        self.assertIn(payment.name, response["paymentNumber"])
        body = {key: value for key, value in response.items() if key != "invoiceId"}
        self.assertEqual(Validator().errors(body, "PaymentResponseEntity"), [])
        self.assertEqual(basware_document(self.sandbox, invoice_id)["processingStatus"], PAID)
        self.assertTrue(bill.basware_payment_reported)

        self.run_inbound_cron()
        self.assertEqual(self.payment_exchanges(bill), exchange)
        self.assertEqual(len(self.sandbox.received("paymentResponses")), 1)

    def test_payment_waits_for_the_bills_transfer_answer(self):
        self.backend.invoice_post_mode = "draft"
        invoice_id, bill = self.imported_bill(net=100.0, post=False)
        bill.action_post()
        self.pay(bill, 124.0)
        self.backend._basware_queue_payment_responses()
        payment = self.payment_exchanges(bill)
        with mute_logger(SPINE_LOGGER):
            self.Exchange._run_for_backend(
                self.backend, self.Exchange._iter_claim_ids(self.backend, payment.ids)
            )
        self.assertEqual(payment.state, spine.STATE_FAILED)
        self.assertTrue(payment.error_retryable)
        self.assertFalse(self.sandbox.received("paymentResponses"))

        self.run_queue()
        self.Exchange._run_for_backend(
            self.backend, self.Exchange._iter_claim_ids(self.backend, payment.ids)
        )
        self.assertEqual(payment.state, spine.STATE_DONE)
        self.assertEqual(basware_document(self.sandbox, invoice_id)["processingStatus"], PAID)

    def test_paid_credit_note_reports_a_negative_total(self):
        invoice_id, refund = self.imported_bill(net=40.0, credit_note=True)
        self.assertEqual(refund.move_type, "in_refund")
        self.pay(refund, 49.6)
        self.run_inbound_cron()
        [response] = self.sandbox.received("paymentResponses")
        self.assertAlmostEqual(response["paidTotal"], -49.6)
        self.assertEqual(basware_document(self.sandbox, invoice_id)["processingStatus"], PAID)

    def test_bills_not_from_basware_are_not_reported(self):
        bill = self.Move.create(
            {
                "move_type": "in_invoice",
                "partner_id": self.vendor.id,
                "invoice_date": fields.Date.today(),
                "invoice_line_ids": [
                    fields.Command.create(
                        {"name": "Paper", "account_id": self.account.id, "price_unit": 10.0}
                    )
                ],
            }
        )
        bill.action_post()
        self.pay(bill, bill.amount_total)
        self.run_inbound_cron()
        self.assertFalse(self.payment_exchanges(bill))
        self.assertFalse(bill.basware_payment_reported)
        self.assertFalse(self.sandbox.received("paymentResponses"))

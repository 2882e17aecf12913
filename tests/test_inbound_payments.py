"""Each change of what is paid on a bill from Basware is reported to Basware once, in order:
a partial payment, the rest, an early payment discount, a payment undone."""

from odoo import Command, fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..basware import constants as bw
from ..models import basware_exchange as queue
from ..sandbox.validation import Validator
from .inbound_common import QUEUE_LOGGER, InboundCase, calls

PAID = "Paid"
PAID_STATES = ("paid", "in_payment")
PAYMENTS = "paymentResponses"
DISCOUNT_TERM_CODE = "2-10-N30"


@tagged("post_install", "-at_install")
class TestPaymentResponses(InboundCase):
    def imported_bill(self, post=True, **values):
        invoice_id = self.approve(**values)["invoiceId"]
        self.import_documents()
        bill = self.bills_of(invoice_id)
        self.assertEqual(bill.state, "posted" if post else "draft")
        return invoice_id, bill

    def pay(self, bill, amount=None, date="2026-03-02"):
        """Register a payment of ``bill``; without ``amount``, what Odoo proposes (the
        discounted amount within the discount period)."""
        values = {"payment_date": date}
        if amount is not None:
            values.update(amount=amount, payment_difference_handling="open")
        return (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=bill.ids)
            .create(values)
            ._create_payments()
        )

    def reverse(self, move, date="2026-03-03"):
        wizard = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=move.ids)
            .create({"date": date, "journal_id": move.journal_id.id})
        )
        wizard.refund_moves()
        return wizard.new_move_ids

    def payment_exchanges(self, bill):
        return self.Exchange.search(
            [
                ("kind", "=", queue.KIND_PAYMENT_RESPONSE),
                ("res_model", "=", "account.move"),
                ("res_id", "=", bill.id),
            ],
            order="id",
        )

    def run_inbound_cron(self):
        self.env["basware.backend"]._cron_import_documents()

    def run_exchanges(self, exchanges):
        """Run ``exchanges`` now, due or not."""
        self.Exchange._run_for_backend(
            self.backend, self.Exchange._iter_claim_ids(self.backend, exchanges.ids)
        )

    def received(self):
        """The payment responses Basware received, in the order they came."""
        return self.sandbox.received(PAYMENTS)

    def basware_responses(self, invoice_id):
        """The payment responses of the invoice, as Basware serves the invoice."""
        with self.backend._get_client() as client:
            return client.get_accounting_document(invoice_id)[PAYMENTS]

    def basware_paid_totals(self, invoice_id):
        return [response["paidTotal"] for response in self.basware_responses(invoice_id)]

    def assertValidResponse(self, response):
        body = {key: value for key, value in response.items() if key != "invoiceId"}
        self.assertEqual(Validator().errors(body, "PaymentResponseEntity"), [])

    def payment_path(self, invoice_id):
        return bw.PAYMENT_RESPONSES_PATH.format(invoice_id=invoice_id)

    def payment_posts(self, invoice_id):
        """How many POSTs of payment responses of the invoice reached Basware."""
        return len(calls(self.sandbox, "POST", self.payment_path(invoice_id)))

    def discount_term(self):
        """2 % off within 10 days, net 30; the discount is on the total, tax included."""
        return self.env["account.payment.term"].create(
            {
                "name": "2/10 net 30",
                "basware_code": DISCOUNT_TERM_CODE,
                "early_discount": True,
                "discount_percentage": 2.0,
                "discount_days": 10,
                "early_pay_discount_computation": "included",
                "line_ids": [
                    Command.create({"value": "percent", "value_amount": 100.0, "nb_days": 30})
                ],
            }
        )

    def test_a_partial_payment_then_the_rest_are_reported_in_order_each_once(self):
        invoice_id, bill = self.imported_bill(net=100.0)

        first = self.pay(bill, 50.0, "2026-03-01")
        self.assertEqual(bill.payment_state, "partial")
        self.run_inbound_cron()
        [partial] = self.received()
        self.assertEqual(partial["invoiceId"], invoice_id)
        self.assertTrue(partial["success"])
        self.assertAlmostEqual(partial["paidTotal"], 50.0)
        self.assertNotIn("cashDiscount", partial)
        self.assertEqual(partial["paymentDate"], "2026-03-01T00:00:00Z")
        self.assertIn(first.name, partial["paymentNumber"])
        self.assertValidResponse(partial)
        self.assertEqual(self.status_of(invoice_id), bw.PS_TRANSFERRED)
        self.run_inbound_cron()
        self.assertEqual(len(self.received()), 1)

        second = self.pay(bill, 74.0, "2026-03-02")
        self.assertIn(bill.payment_state, PAID_STATES)
        self.run_inbound_cron()
        self.run_inbound_cron()

        partial_again, full = self.received()
        self.assertEqual(partial_again, partial)
        self.assertAlmostEqual(full["paidTotal"], 124.0)
        self.assertEqual(full["paymentDate"], "2026-03-02T00:00:00Z")
        self.assertEqual(full["paymentMethod"], second.payment_method_line_id.name)
        self.assertIn(first.name, full["paymentNumber"])
        self.assertIn(second.name, full["paymentNumber"])
        self.assertNotEqual(full["externalCode"], partial["externalCode"])
        self.assertValidResponse(full)
        self.assertEqual(self.basware_paid_totals(invoice_id), [50.0, 124.0])
        self.assertEqual(self.status_of(invoice_id), PAID)

        exchanges = self.payment_exchanges(bill)
        self.assertEqual(exchanges.mapped("state"), [queue.STATE_DONE] * 2)
        self.assertEqual(
            exchanges.mapped("dedup_key"), [f"payment:{invoice_id}:1", f"payment:{invoice_id}:2"]
        )
        self.assertEqual(bill.basware_paid_reported, 124.0)

    def test_payment_waits_for_the_bills_transfer_answer(self):
        self.backend.invoice_post_mode = "draft"
        invoice_id, bill = self.imported_bill(net=100.0, post=False)
        bill.action_post()
        self.pay(bill, 124.0)
        self.backend._basware_queue_payment_responses()
        payment = self.payment_exchanges(bill)
        with mute_logger(QUEUE_LOGGER):
            self.run_exchanges(payment)
        self.assertEqual(payment.state, queue.STATE_FAILED)
        self.assertTrue(payment.error_retryable)
        self.assertEqual(payment.attempt_count, 0, "waiting is not a failed attempt")
        self.assertFalse(self.received())

        self.run_queue()
        self.run_exchanges(payment)
        self.assertEqual(payment.state, queue.STATE_DONE)
        self.assertEqual(self.status_of(invoice_id), PAID)

    def test_paid_credit_note_reports_a_negative_total(self):
        invoice_id, refund = self.imported_bill(net=40.0, credit_note=True)
        self.assertEqual(refund.move_type, "in_refund")
        self.pay(refund, 49.6)
        self.run_inbound_cron()
        [response] = self.received()
        self.assertAlmostEqual(response["paidTotal"], -49.6)
        self.assertEqual(self.status_of(invoice_id), PAID)

    def test_early_payment_discount_is_reported_with_the_cash_paid(self):
        term = self.discount_term()
        invoice_id, bill = self.imported_bill(
            net=100.0, payment_term=DISCOUNT_TERM_CODE, invoice_date="2026-03-01"
        )
        self.assertEqual(bill.invoice_payment_term_id, term)

        payment = self.pay(bill, date="2026-03-05")
        self.assertAlmostEqual(payment.amount, 121.52)
        self.assertIn(bill.payment_state, PAID_STATES)
        self.run_inbound_cron()
        self.run_inbound_cron()

        [response] = self.received()
        self.assertAlmostEqual(response["paidTotal"], 121.52)
        self.assertAlmostEqual(response["cashDiscount"], 2.48)
        self.assertEqual(response["paymentDate"], "2026-03-05T00:00:00Z")
        self.assertIn(payment.name, response["paymentNumber"])
        self.assertValidResponse(response)
        self.assertEqual(
            [
                (item["paidTotal"], item["cashDiscount"])
                for item in self.basware_responses(invoice_id)
            ],
            [(121.52, 2.48)],
        )
        self.assertEqual(bill.basware_paid_reported, 121.52)
        self.assertEqual(bill.basware_discount_reported, 2.48)

    def test_a_payment_undone_is_reported_with_the_lower_paid_total(self):
        invoice_id, bill = self.imported_bill(net=100.0)
        first = self.pay(bill, 50.0, "2026-03-01")
        second = self.pay(bill, 74.0, "2026-03-02")
        self.run_inbound_cron()

        reversal = self.reverse(second.move_id, "2026-03-03")
        self.assertEqual(bill.payment_state, "partial")
        self.run_inbound_cron()

        first.action_cancel()
        self.assertEqual(bill.payment_state, "not_paid")
        self.run_inbound_cron()
        self.run_inbound_cron()

        paid, reversed_, cancelled = self.received()
        self.assertAlmostEqual(paid["paidTotal"], 124.0)
        self.assertNotIn("paymentReversalDocument", paid)
        self.assertAlmostEqual(reversed_["paidTotal"], 50.0)
        self.assertEqual(reversed_["paymentReversalDocument"], reversal.name)
        self.assertEqual(reversed_["paymentNumber"], first.name)
        self.assertEqual(reversed_["paymentDate"], "2026-03-03T00:00:00Z")
        self.assertEqual(cancelled["paidTotal"], 0.0)
        self.assertNotIn("paymentReversalDocument", cancelled)
        self.assertNotIn("paymentNumber", cancelled)
        for response in (reversed_, cancelled):
            self.assertValidResponse(response)
        self.assertEqual(self.basware_paid_totals(invoice_id), [124.0, 50.0, 0.0])
        self.assertEqual(len(self.payment_exchanges(bill)), 3)

    def test_a_later_payment_response_waits_for_an_earlier_one_that_failed(self):
        invoice_id, bill = self.imported_bill(net=100.0)
        self.pay(bill, 50.0, "2026-03-01")
        self.sandbox.fail_next(503, path_prefix=self.payment_path(invoice_id))
        with mute_logger(QUEUE_LOGGER):
            self.run_inbound_cron()
        first = self.payment_exchanges(bill)
        self.assertEqual(first.state, queue.STATE_FAILED)
        self.assertTrue(first.error_retryable)

        self.pay(bill, 74.0, "2026-03-02")
        with mute_logger(QUEUE_LOGGER):
            # The first is not due again yet; the second is, and waits for it.
            self.run_inbound_cron()
        second = self.payment_exchanges(bill) - first
        self.assertEqual(second.state, queue.STATE_FAILED)
        self.assertEqual(second.error_class, "EarlierPaymentPending")
        self.assertEqual(second.attempt_count, 0)
        self.assertFalse(self.received())
        self.assertEqual(self.payment_posts(invoice_id), 1, "only the first, refused")

        with mute_logger(QUEUE_LOGGER):
            self.run_exchanges(second)
        self.assertEqual(second.error_class, "EarlierPaymentPending")
        self.assertEqual(self.payment_posts(invoice_id), 1)

        self.run_exchanges(first)
        self.run_exchanges(second)
        self.assertEqual((first | second).mapped("state"), [queue.STATE_DONE] * 2)
        self.assertEqual([response["paidTotal"] for response in self.received()], [50.0, 124.0])
        self.assertEqual(self.basware_paid_totals(invoice_id), [50.0, 124.0])
        self.assertEqual(self.payment_posts(invoice_id), 3)

    def test_a_refused_payment_response_is_not_sent_after_a_later_one(self):
        invoice_id, bill = self.imported_bill(net=100.0)
        self.pay(bill, 50.0, "2026-03-01")
        self.sandbox.fail_next(400, path_prefix=self.payment_path(invoice_id))
        with mute_logger(QUEUE_LOGGER):
            self.run_inbound_cron()
        refused = self.payment_exchanges(bill)
        self.assertEqual(refused.state, queue.STATE_FAILED)
        self.assertFalse(refused.error_retryable)

        # Refused for good, it holds no later response back.
        self.pay(bill, 74.0, "2026-03-02")
        self.run_inbound_cron()
        later = self.payment_exchanges(bill) - refused
        self.assertEqual(later.state, queue.STATE_DONE)
        self.assertEqual([response["paidTotal"] for response in self.received()], [124.0])

        # Replayed, it would tell Basware an older amount: it is not sent.
        refused.with_user(self.manager).action_replay()
        self.run_exchanges(refused)
        self.assertEqual(refused.state, queue.STATE_DONE)
        self.assertIn(later.external_code, refused.response_payload)
        self.assertEqual(self.basware_paid_totals(invoice_id), [124.0])
        self.assertEqual(self.payment_posts(invoice_id), 2)

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
        self.assertFalse(bill.basware_paid_reported)
        self.assertFalse(self.received())

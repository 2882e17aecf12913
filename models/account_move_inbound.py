"""Vendor bills from Basware: Basware hears when they are posted and when they are paid.

A bill kept in draft for review is answered (a transfer response with its number) when it
is posted. A bill paid in full (paid, or in payment) is reported once in a payment
response; the inbound cron finds such bills through a partial index over the unreported
ones, so the look-up stays cheap however many bills there are.
"""

from odoo import fields, models
from odoo.tools import SQL

from ..basware.client import format_datetime
from . import basware_exchange as spine
from .basware_exchange_inbound import (
    IMPORTING_CONTEXT_KEY,
    INVOICE_DEDUP_PREFIX,
    PAYMENT_DEDUP_PREFIX,
)

# A partial payment is reported once it is complete.
PAID_STATES = ("paid", "in_payment")
MOVE_POSTED = "posted"
MOVE_IN_REFUND = "in_refund"
# Field limits of PaymentResponseEntity.
PAYMENT_METHOD_MAX = 25
PAYMENT_NUMBER_MAX = 250


class AccountMove(models.Model):
    _inherit = "account.move"

    basware_payment_reported = fields.Boolean(
        "Payment Reported to Basware",
        copy=False,
        readonly=True,
        help="Basware's payment response of this bill is queued: it is reported once.",
    )

    _basware_payment_unreported = models.Index(
        "(basware_backend_id, payment_state) "
        "WHERE basware_invoice_id IS NOT NULL AND basware_payment_reported IS NOT TRUE"
    )

    # === POSTED === #

    def _post(self, soft=True):
        posted = super()._post(soft)
        if not self.env.context.get(IMPORTING_CONTEXT_KEY):
            posted.filtered("basware_invoice_id")._basware_answer_posted()
        return posted

    def _basware_answer_posted(self):
        """A Basware bill posted after its import (kept in draft for review) is answered now,
        once: a bill posted again after a reset to draft was answered already."""
        Exchange = self.env["basware.exchange"].sudo()
        for bill in self.sudo():
            if Exchange._bill_responses(bill):
                continue
            backend = bill.basware_backend_id
            parent = Exchange._find_dedup(backend, INVOICE_DEDUP_PREFIX + bill.basware_invoice_id)
            document = parent._document() if parent else {}
            Exchange._queue_transfer_response(
                backend,
                bill.basware_invoice_id,
                success=True,
                message=self.env._("Booked in Odoo as %(bill)s.", bill=bill.name),
                bill=bill,
                payment_block=bool(document.get("paymentBlock")),
                parent=parent,
            )

    # === PAID === #

    def _basware_paid_unreported(self, backend, limit):
        """Posted bills of ``backend`` paid in full whose payment Basware has not heard of."""
        self.flush_model(["basware_backend_id", "basware_invoice_id", "payment_state", "state"])
        self.flush_model(["basware_payment_reported"])
        query = SQL(
            """
            SELECT id FROM account_move
             WHERE basware_backend_id = %s AND payment_state IN %s
               AND basware_invoice_id IS NOT NULL AND basware_payment_reported IS NOT TRUE
               AND state = %s
             ORDER BY id
             LIMIT %s
            """,
            backend.id,
            PAID_STATES,
            MOVE_POSTED,
            limit,
        )
        self.env.cr.execute(query)
        return self.sudo().browse([row[0] for row in self.env.cr.fetchall()])

    def _basware_queue_payment_response(self):
        """Queue this paid bill's payment response, once (dedup on the invoice)."""
        self.ensure_one()
        Exchange = self.env["basware.exchange"].sudo()
        backend = self.basware_backend_id
        body = Exchange._response_body(
            backend,
            success=True,
            message=self.env._("Paid in Odoo (%(bill)s).", bill=self.name),
            payment_block=False,
            **self._basware_payment_values(),
        )
        exchange = Exchange._quiet()._enqueue(
            backend,
            spine.KIND_PAYMENT_RESPONSE,
            spine.DIRECTION_OUTBOUND,
            record=self,
            payload={"invoiceId": self.basware_invoice_id, "response": body},
            dedup_key=PAYMENT_DEDUP_PREFIX + self.basware_invoice_id,
            external_code=body["externalCode"],
        )
        self.sudo().write({"basware_payment_reported": True})
        return exchange

    def _basware_payment_values(self):
        """paymentDate, paidTotal (signed as Basware's gross sum: negative for a credit
        note), paymentMethod and paymentNumber of this bill's payments."""
        self.ensure_one()
        lines = self._get_reconciled_amls()
        payments = self._get_reconciled_payments()
        paid_on = max(lines.mapped("date")) if lines else fields.Date.context_today(self)
        sign = -1 if self.move_type == MOVE_IN_REFUND else 1
        paid = self.currency_id.round(self.amount_total - self.amount_residual)
        values = {"paymentDate": format_datetime(paid_on), "paidTotal": sign * paid}
        method = payments.payment_method_line_id[:1].name or lines.journal_id[:1].name
        if method:
            values["paymentMethod"] = method[:PAYMENT_METHOD_MAX]
        numbers = ", ".join((payments.move_id or lines.move_id).mapped("name"))
        if numbers:
            values["paymentNumber"] = numbers[:PAYMENT_NUMBER_MAX]
        return values

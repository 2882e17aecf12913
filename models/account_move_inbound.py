"""Vendor bills from Basware: Basware hears when they are posted and when they are paid.

A bill kept in draft for review is answered (a transfer response with its number) when it
is posted. A bill paid in full (paid, or in payment) is reported once in a payment
response; the inbound cron finds such bills through a partial index over the unreported
ones, so the look-up stays cheap however many bills there are.
"""

from markupsafe import Markup

from odoo import api, fields, models
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

    # === HELD BACK === #

    def _basware_hold_reasons(self):
        """Why Odoo's own auto-post (_autopost_bill) would not post this bill: the bills it
        may duplicate (same vendor and reference), and an unusual amount."""
        self.ensure_one()
        reasons = []
        if self.duplicated_ref_ids:
            links = Markup(", ").join(
                Markup('<a href="/odoo/action-account.action_move_in_invoice_type/%s">%s</a>')
                % (duplicate.id, duplicate.display_name)
                for duplicate in self.duplicated_ref_ids
            )
            reasons.append(
                Markup("%s %s")
                % (self.env._("It may duplicate a bill with the same vendor reference:"), links)
            )
        if self.abnormal_amount_warning:
            reasons.append(self.abnormal_amount_warning)
        return reasons

    def _basware_hold(self, reasons):
        """Keep the bill in draft for the AP team: a note saying why, and a to-do."""
        self.ensure_one()
        intro = self.env._(
            "Kept in draft, as Odoo's auto-post would: post it if it is right (Basware then "
            "hears of it), or cancel it (Basware hears it was not booked)."
        )
        items = Markup("").join(Markup("<li>%s</li>") % reason for reason in reasons)
        note = Markup("<p>%s</p><ul>%s</ul>") % (intro, items)
        self.message_post(body=note, message_type="comment", subtype_xmlid="mail.mt_note")
        backend = self.basware_backend_id
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=self.env._("Check this Basware bill before posting it"),
            note=note,
            user_id=(backend.invoice_review_user_id or backend.create_uid).id,
        )

    # === CANCELLED OR DELETED BEFORE POSTING === #

    def button_cancel(self):
        unanswered = self._basware_unanswered()
        result = super().button_cancel()
        unanswered.filtered(lambda bill: bill.state == "cancel")._basware_answer_not_booked(
            self.env._("cancelled")
        )
        return result

    @api.ondelete(at_uninstall=False)
    def _basware_answer_deleted(self):
        self._basware_unanswered()._basware_answer_not_booked(self.env._("deleted"))

    def _basware_unanswered(self):
        """The Basware bills of these whose invoice Basware has no answer for yet."""
        Exchange = self.env["basware.exchange"].sudo()
        return self.filtered(
            lambda bill: bill.basware_invoice_id and not Exchange._bill_responses(bill)
        )

    def _basware_answer_not_booked(self, what):
        """Tell Basware that the bill of its invoice was ``what`` (cancelled, deleted) in
        Odoo before it was posted: the invoice is not booked."""
        Exchange = self.env["basware.exchange"].sudo()
        for bill in self.sudo():
            backend = bill.basware_backend_id
            parent = Exchange._find_dedup(backend, INVOICE_DEDUP_PREFIX + bill.basware_invoice_id)
            Exchange._queue_transfer_response(
                backend,
                bill.basware_invoice_id,
                success=False,
                message=self.env._(
                    "Not booked in Odoo: the draft bill was %(what)s by %(user)s.",
                    what=what,
                    user=self.env.user.name,
                ),
                parent=parent,
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

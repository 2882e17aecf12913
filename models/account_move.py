"""Vendor bills from Basware: the invoice each came from, and Basware's answers about it.

Basware hears when a bill kept for review is posted, cancelled or deleted, and of each paid
amount change; a partial index finds the bills paid since, however many bills there are."""

import functools
import json

from markupsafe import Markup

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..basware.client import format_datetime
from ..basware.redaction import holds_secrets, redact
from . import basware_exchange as queue
from .basware_exchange_import import IMPORTING_CONTEXT_KEY, INVOICE_DEDUP_PREFIX
from .basware_exchange_response import PAYMENT_DEDUP_PREFIX
from .common import MOVE_IN_REFUND, MOVE_POSTED

DOCUMENT_MIMETYPE = "application/json"
_pretty_json = functools.partial(json.dumps, indent=2, sort_keys=True, ensure_ascii=False)
# Linking the stored document changes no line and no amount: account.move's write skips
# the re-sync of the lines, the balance check and the "manually modified" mark.
LINK_ONLY_CONTEXT = {
    "skip_invoice_sync": True,
    "check_move_validity": False,
    "skip_is_manually_modified": True,
}
PAYMENT_TERM_LINE = "payment_term"
# Field limits of PaymentResponseEntity.
PAYMENT_METHOD_MAX = 25
PAYMENT_NUMBER_MAX = 250
PAYMENT_REVERSAL_MAX = 250
# What is no longer due (paid, or discounted) is not what Basware heard. The index and
# the cron's query share this text, so that PostgreSQL matches them.
PAYMENT_CHANGED = (
    "amount_total - amount_residual "
    "<> COALESCE(basware_paid_reported, 0) + COALESCE(basware_discount_reported, 0)"
)


def document_name(document):
    return f"basware-{document.get('invoiceNumber') or document.get('invoiceId')}.json"


def document_text(document):
    """The document as pretty-printed JSON, secret-looking values masked as in exchanges."""
    text = _pretty_json(document)
    if holds_secrets(text, document):
        text = _pretty_json(redact(document))
    return text


class AccountMove(models.Model):
    _inherit = "account.move"

    basware_invoice_id = fields.Char(
        "Basware Invoice ID",
        index=True,
        copy=False,
        readonly=True,
        help="invoiceId of the Basware accounting document this bill was created from.",
    )
    basware_backend_id = fields.Many2one(
        "basware.backend",
        copy=False,
        readonly=True,
        ondelete="restrict",
        help="The Basware backend the accounting document came from.",
    )
    basware_bumid = fields.Char(
        "Basware Message ID",
        index="btree_not_null",
        copy=False,
        readonly=True,
        help="bumid of the Basware accounting document: a credit note names its invoice by it.",
    )
    basware_document_hash = fields.Char(
        copy=False,
        readonly=True,
        help="SHA-256 of the accounting content of the Basware document this bill was "
        "booked from: a re-transfer with other content is a correction.",
    )
    basware_document_attachment_id = fields.Many2one(
        "ir.attachment",
        "Basware Document File",
        copy=False,
        readonly=True,
        ondelete="set null",
        help="The Basware accounting document as JSON: it stays when the exchange that "
        "carried it is purged after the retention.",
    )

    # A partial index: the bills not from Basware (nearly all) neither collide nor weigh on it.
    _basware_invoice_unique = models.UniqueIndex(
        "(basware_backend_id, basware_invoice_id) WHERE basware_invoice_id IS NOT NULL",
        "A bill already exists for this Basware invoice on this backend.",
    )

    basware_paid_reported = fields.Monetary(
        "Paid Total Reported to Basware",
        copy=False,
        readonly=True,
        help="The cash paid on this bill as last reported to Basware (paidTotal).",
    )
    basware_discount_reported = fields.Monetary(
        "Cash Discount Reported to Basware",
        copy=False,
        readonly=True,
        help="The early payment discount of this bill as last reported (cashDiscount).",
    )
    basware_payment_sequence = fields.Integer(
        "Payment Responses",
        copy=False,
        readonly=True,
        help="How many payment responses of this bill were queued for Basware.",
    )
    basware_payment_move_ids = fields.Many2many(
        "account.move",
        "account_move_basware_payment_rel",
        "bill_id",
        "payment_move_id",
        "Payments Reported to Basware",
        copy=False,
        readonly=True,
        help="The entries paying this bill when its payment was last reported: one of them "
        "reversed later is named in the next payment response.",
    )

    _basware_paid_changed = models.Index(
        f"(basware_backend_id, id) WHERE basware_invoice_id IS NOT NULL "
        f"AND state = '{MOVE_POSTED}' AND {PAYMENT_CHANGED}"
    )

    # === THE BASWARE DOCUMENT === #

    def _basware_booked_document(self):
        """The Basware document this bill was last booked from ({} when not kept)."""
        self.ensure_one()
        raw = self.sudo().basware_document_attachment_id.raw
        return json.loads(raw) if raw else {}

    def _basware_document_exchange(self):
        """The inbound exchange that carried this bill's Basware accounting document."""
        self.ensure_one()
        if not self.basware_invoice_id:
            return self.env["basware.exchange"]
        return self.env["basware.exchange"].search(
            [
                ("backend_id", "=", self.basware_backend_id.id),
                ("kind", "=", queue.KIND_ACCOUNTING_DOCUMENT),
                ("external_code", "=", self.basware_invoice_id),
            ],
            limit=1,
        )

    def _basware_store_document(self, document):
        """Keep ``document`` as a JSON file on this bill, in place of the one kept before; it is not
        the bill's main attachment (the invoice image is)."""
        self.ensure_one()
        previous = self.basware_document_attachment_id
        attachment = self.env["ir.attachment"].create(
            {
                "name": document_name(document),
                "raw": document_text(document).encode(),
                "mimetype": DOCUMENT_MIMETYPE,
                "res_model": self._name,
                "res_id": self.id,
            }
        )
        self.with_context(**LINK_ONLY_CONTEXT).basware_document_attachment_id = attachment
        previous.unlink()
        return attachment

    def action_open_basware_document(self):
        """The Basware document this bill comes from: its exchange (the JSON and Odoo's
        answers to Basware) while it is kept, else the JSON file kept on the bill."""
        self.ensure_one()
        exchange = self._basware_document_exchange()
        if exchange:
            return {
                "type": "ir.actions.act_window",
                "res_model": "basware.exchange",
                "res_id": exchange.id,
                "view_mode": "form",
            }
        attachment = self.basware_document_attachment_id
        if not attachment:
            raise UserError(
                self.env._(
                    "The Basware exchange of invoice %(invoice)s is no longer kept, and the "
                    "bill holds no copy of its document.",
                    invoice=self.basware_invoice_id,
                )
            )
        return {
            "type": "ir.actions.act_url",
            "url": f"/web/content/{attachment.id}?download=false",
            "target": "new",
        }

    def _basware_attach(self, attachments, document, notes=""):
        """Attach the downloaded files; the first (the invoice image) is the main one."""
        self.ensure_one()
        files = [file for file in attachments or () if file.get("raw")]
        records = self.env["ir.attachment"]
        if files:
            records = records.create(
                [
                    {
                        "name": file.get("name") or document.get("invoiceNumber") or "invoice",
                        "raw": file["raw"],
                        "mimetype": file.get("mimetype") or False,
                        "res_model": self._name,
                        "res_id": self.id,
                    }
                    for file in files
                ]
            )
            # The main attachment is no line's business: the write skips the re-sync of
            # every line that any write of a bill runs.
            self.with_context(skip_invoice_sync=True)._message_set_main_attachment_id(
                records[:1], force=True, filter_xml=False
            )
        self._basware_store_document(document)
        body = self.env._(
            "Created from the Basware invoice %(number)s (%(invoice_id)s).",
            number=document.get("invoiceNumber") or "-",
            invoice_id=document.get("invoiceId"),
        )
        self._message_log(body=Markup("<p>%s</p>%s") % (body, notes), attachment_ids=records.ids)

    # === HELD BACK === #

    def _basware_hold_reasons(self):
        """Why Odoo's own auto-post (_autopost_bill) would not post this bill: the bills it
        may duplicate (same vendor and reference), and an unusual amount."""
        self.ensure_one()
        reasons = []
        if self.duplicated_ref_ids:
            links = Markup(", ").join(
                duplicate._get_html_link() for duplicate in self.duplicated_ref_ids
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
            parent = Exchange._find_dedup(
                bill.basware_backend_id, INVOICE_DEDUP_PREFIX + bill.basware_invoice_id
            )
            Exchange._queue_booked_response(
                bill, parent._document() if parent else {}, parent=parent
            )

    # === PAID === #

    def _basware_paid_unreported(self, backend, limit):
        """Posted bills of ``backend`` whose paid amount differs from what Basware heard."""
        self.flush_model(
            [
                "basware_backend_id",
                "basware_invoice_id",
                "state",
                "amount_total",
                "amount_residual",
                "basware_paid_reported",
                "basware_discount_reported",
            ]
        )
        query = SQL(
            """
            SELECT id FROM account_move
             WHERE basware_backend_id = %s AND basware_invoice_id IS NOT NULL AND state = %s
               AND %s
             ORDER BY id
             LIMIT %s
            """,
            backend.id,
            MOVE_POSTED,
            SQL(PAYMENT_CHANGED),
            limit,
        )
        self.env.cr.execute(query)
        return self.sudo().browse([row[0] for row in self.env.cr.fetchall()])

    def _basware_queue_payment_response(self):
        """Queue the payment response of this bill's paid amount as it is now, once (its
        own dedup key), and remember it as reported."""
        self.ensure_one()
        paid, discount = self._basware_paid_amounts()
        if not self._basware_amounts_unreported(paid, discount):
            return self.env["basware.exchange"]
        Exchange = self.env["basware.exchange"].sudo()
        backend = self.basware_backend_id
        paid_moves = self._get_reconciled_amls().move_id
        body = Exchange._response_body(
            backend,
            success=True,
            message=self._basware_payment_message(paid, discount),
            payment_block=False,
            **self._basware_payment_values(paid, discount, paid_moves),
        )
        sequence = self.basware_payment_sequence + 1
        exchange = Exchange._quiet()._enqueue(
            backend,
            queue.KIND_PAYMENT_RESPONSE,
            queue.DIRECTION_OUTBOUND,
            record=self,
            payload={"invoiceId": self.basware_invoice_id, "response": body},
            dedup_key=f"{PAYMENT_DEDUP_PREFIX}{self.basware_invoice_id}:{sequence}",
            external_code=body["externalCode"],
        )
        self.sudo().write(
            {
                "basware_paid_reported": paid,
                "basware_discount_reported": discount,
                "basware_payment_sequence": sequence,
                "basware_payment_move_ids": [Command.set(paid_moves.ids)],
            }
        )
        return exchange

    def _basware_amounts_unreported(self, paid, discount):
        """Whether ``paid`` or ``discount`` differ from the amounts Basware heard last."""
        currency = self.currency_id
        return bool(
            currency.compare_amounts(paid, self.basware_paid_reported)
            or currency.compare_amounts(discount, self.basware_discount_reported)
        )

    def _basware_paid_amounts(self):
        """(cash paid, early payment discount) of this bill so far, in its currency and
        unsigned: together they are what is no longer due."""
        currency = self.currency_id
        discount = currency.round(self._basware_early_payment_discount())
        settled = currency.round(self.amount_total - self.amount_residual)
        return currency.round(settled - discount), discount

    def _basware_early_payment_discount(self):
        """The early payment discount Odoo booked on this bill: each installment settled by
        an entry with a discount line (a payment registered within the discount period) was
        settled for its discounted amount."""
        company = self.company_id
        discount_accounts = (
            company.account_journal_early_pay_discount_gain_account_id
            | company.account_journal_early_pay_discount_loss_account_id
        )
        installments = self.line_ids.filtered(
            lambda line: (
                line.display_type == PAYMENT_TERM_LINE
                and line.reconciled
                and line.discount_date
                and line.discount_amount_currency
            )
        )
        return sum(
            abs(line.amount_currency - line.discount_amount_currency)
            for line in installments
            if discount_accounts and self._basware_discount_taken(line, discount_accounts)
        )

    def _basware_discount_taken(self, installment, accounts):
        """Whether an entry within the discount period settled ``installment`` with a line
        on the discount ``accounts``."""
        counterparts = installment.matched_debit_ids.debit_move_id
        counterparts |= installment.matched_credit_ids.credit_move_id
        return any(
            entry.date <= installment.discount_date and entry.line_ids.account_id & accounts
            for entry in counterparts.move_id
        )

    def _basware_payment_message(self, paid, discount):
        currency = self.currency_id
        if currency.is_zero(paid + discount):
            return self.env._("Not paid in Odoo any more (%(bill)s).", bill=self.name)
        if currency.compare_amounts(paid + discount, self.amount_total) < 0:
            return self.env._("Partly paid in Odoo (%(bill)s).", bill=self.name)
        return self.env._("Paid in Odoo (%(bill)s).", bill=self.name)

    def _basware_payment_values(self, paid, discount, paid_moves):
        """paymentDate, paidTotal and cashDiscount (signed as Basware's gross sum: negative
        for a credit note), paymentMethod and paymentNumber of this bill's payments, and
        paymentReversalDocument naming the entries that reversed a payment reported before."""
        self.ensure_one()
        sign = -1 if self.move_type == MOVE_IN_REFUND else 1
        reversals = self._basware_payment_reversals(paid_moves)
        dates = paid_moves.mapped("date") + reversals.mapped("date")
        paid_on = max(dates) if dates else fields.Date.context_today(self)
        values = {"paymentDate": format_datetime(paid_on), "paidTotal": sign * paid}
        # Zero once a discount Basware heard of is undone.
        if discount or self.basware_discount_reported:
            values["cashDiscount"] = sign * discount
        payments = paid_moves.origin_payment_id
        method = payments.payment_method_line_id[:1].name or paid_moves.journal_id[:1].name
        if method:
            values["paymentMethod"] = method[:PAYMENT_METHOD_MAX]
        numbers = ", ".join((payments.move_id or paid_moves).mapped("name"))
        if numbers:
            values["paymentNumber"] = numbers[:PAYMENT_NUMBER_MAX]
        reversal_names = ", ".join(reversals.mapped("name"))
        if reversal_names:
            values["paymentReversalDocument"] = reversal_names[:PAYMENT_REVERSAL_MAX]
        return values

    def _basware_payment_reversals(self, paid_moves):
        """The posted entries reversing the payments reported before that pay no more."""
        undone = self.basware_payment_move_ids - paid_moves
        return undone.reversal_move_ids.filtered(lambda entry: entry.state == MOVE_POSTED)

"""The Basware invoice a vendor bill was created from: one bill per backend and invoiceId."""

from odoo import fields, models
from odoo.exceptions import UserError

from .basware_exchange import KIND_ACCOUNTING_DOCUMENT


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

    # A partial index: the bills not from Basware (nearly all) neither collide nor weigh on it.
    _basware_invoice_unique = models.UniqueIndex(
        "(basware_backend_id, basware_invoice_id) WHERE basware_invoice_id IS NOT NULL",
        "A bill already exists for this Basware invoice on this backend.",
    )

    def _basware_booked_document(self):
        """The Basware document this bill was last booked from ({} when not kept)."""
        self.ensure_one()
        exchange = self._basware_document_exchange()
        return exchange._document() if exchange else {}

    def _basware_store_document(self, document):
        """Keep ``document`` as the one this bill was booked from."""
        self.ensure_one()

    def _basware_document_exchange(self):
        """The inbound exchange that carried this bill's Basware accounting document."""
        self.ensure_one()
        if not self.basware_invoice_id:
            return self.env["basware.exchange"]
        return self.env["basware.exchange"].search(
            [
                ("backend_id", "=", self.basware_backend_id.id),
                ("kind", "=", KIND_ACCOUNTING_DOCUMENT),
                ("external_code", "=", self.basware_invoice_id),
            ],
            limit=1,
        )

    def action_open_basware_document(self):
        """The Basware document this bill comes from: its JSON, Odoo's answers to Basware."""
        self.ensure_one()
        exchange = self._basware_document_exchange()
        if not exchange:
            raise UserError(
                self.env._(
                    "The Basware exchange of invoice %(invoice)s is no longer kept.",
                    invoice=self.basware_invoice_id,
                )
            )
        return {
            "type": "ir.actions.act_window",
            "res_model": "basware.exchange",
            "res_id": exchange.id,
            "view_mode": "form",
        }


class BaswareExchange(models.Model):
    _inherit = "basware.exchange"

    def _get_record(self):
        """An imported accounting document's record is the bill made from it."""
        record = super()._get_record()
        if record or self.kind != KIND_ACCOUNTING_DOCUMENT or not self.external_code:
            return record
        return (
            self.env["account.move"].search(
                [
                    ("basware_backend_id", "=", self.backend_id.id),
                    ("basware_invoice_id", "=", self.external_code),
                ],
                limit=1,
            )
            or None
        )

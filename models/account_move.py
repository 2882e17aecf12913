"""The Basware invoice a vendor bill was created from: one bill per backend and invoiceId,
and the Basware document itself, kept on the bill after its exchange is purged."""

import functools
import json

from odoo import fields, models
from odoo.exceptions import UserError

from .basware_exchange import KIND_ACCOUNTING_DOCUMENT, holds_secrets, redact

DOCUMENT_MIMETYPE = "application/json"
_pretty_json = functools.partial(json.dumps, indent=2, sort_keys=True, ensure_ascii=False)
# Linking the stored document changes no line and no amount: account.move's write skips
# the re-sync of the lines, the balance check and the "manually modified" mark.
LINK_ONLY_CONTEXT = {
    "skip_invoice_sync": True,
    "check_move_validity": False,
    "skip_is_manually_modified": True,
}


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
                ("kind", "=", KIND_ACCOUNTING_DOCUMENT),
                ("external_code", "=", self.basware_invoice_id),
            ],
            limit=1,
        )

    def _basware_store_document(self, document):
        """Keep ``document`` as a JSON file on this bill, in place of the one kept before.

        It is not the bill's main attachment: the invoice image is.
        """
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

"""The Basware invoice a vendor bill was created from: one bill per backend and invoiceId."""

from odoo import fields, models


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

    # A partial index: the bills not from Basware (nearly all) neither collide nor weigh on it.
    _basware_invoice_unique = models.UniqueIndex(
        "(basware_backend_id, basware_invoice_id) WHERE basware_invoice_id IS NOT NULL",
        "A bill already exists for this Basware invoice on this backend.",
    )

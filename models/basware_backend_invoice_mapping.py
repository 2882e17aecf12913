"""The backend's invoice settings, and the draft bill made (or rebooked) from a document.
The bill is created in a savepoint from the mapping's values, then aligned on Basware's
amounts; a failed check, or Odoo refusing the bill, rolls it back and rejects the document."""

from markupsafe import Markup

from odoo import Command, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..mapping.accounting_content import document_hash
from ..mapping.document import RATE_COMPANY_PER_INVOICE, RATE_QUOTES
from ..mapping.problems import PROBLEM_BILL, REASON_REFUSED, Problem
from .basware_invoice_mapping import (
    ACCOUNTING_DATE_BASWARE,
    ACCOUNTING_DATE_SOURCES,
    BaswareDocumentRejected,
    InvoiceMapping,
)

DEFAULT_TOLERANCE = 0.01


class BaswareBackend(models.Model):
    _inherit = "basware.backend"

    invoice_total_tolerance = fields.Float(
        "Total Tolerance",
        default=DEFAULT_TOLERANCE,
        digits=(16, 4),
        help="Largest difference, in the invoice's currency, accepted between Odoo's total "
        "of a bill and Basware's gross sum, and between Odoo's and Basware's amount of one "
        "tax (Odoo then follows Basware's tax amount).",
    )
    invoice_journal_id = fields.Many2one(
        "account.journal",
        "Bill Journal",
        domain="[('type', '=', 'purchase'), ('company_id', 'parent_of', company_id)]",
        check_company=True,
        help="Purchase journal of the bills made from Basware invoices. Empty: the "
        "company's first purchase journal (or one in the invoice's currency).",
    )
    invoice_accounting_date = fields.Selection(
        ACCOUNTING_DATE_SOURCES,
        "Accounting Date",
        required=True,
        default=ACCOUNTING_DATE_BASWARE,
        help="Where the accounting date of a bill comes from: Basware's voucher date, else "
        "its baseline date; or Odoo's own rule from the invoice date.",
    )
    invoice_rate_quote = fields.Selection(
        RATE_QUOTES,
        "Exchange Rate Quote",
        required=True,
        default=RATE_COMPANY_PER_INVOICE,
        help="How Basware's exchangeRateCompany is quoted. It is used for a foreign-currency "
        "invoice that carries no grossSumCompany (the company-currency gross sum over the "
        "gross sum gives the rate without doubt).",
    )
    invoice_refunded_field = fields.Char(
        "Refunded Invoice Field",
        help="A field of Basware's accounting document (e.g. text1) that holds the number of "
        "the invoice a credit note refunds. A credit note is linked to the vendor's bill of "
        "that number, or to the bill of the invoice its parentInvoiceBumId names.",
    )
    invoice_review_user_id = fields.Many2one(
        "res.users",
        "Bill Reviewer",
        domain="[('share', '=', False)]",
        help="Who gets the to-do activity on an imported bill held back in draft as a "
        "possible duplicate or for an unusual amount. Empty: the backend's creator.",
    )
    invoice_tax_by_percent = fields.Boolean(
        "Tax by Rate",
        default=True,
        help="A coding row with a tax rate but no tax code takes the only purchase tax of "
        "that rate in the company; off, such a row is rejected.",
    )

    _invoice_tolerance_positive = models.Constraint(
        "CHECK(invoice_total_tolerance >= 0)",
        "The total tolerance cannot be negative.",
    )

    def _basware_create_bill(self, document, attachments=()):
        """A draft vendor bill (or refund) of ``document``; the first of ``attachments`` ({"name",
        "raw", "mimetype"}: the invoice image) is its main attachment. Raises
        BaswareDocumentRejected with each unmapped code and failed check; nothing stays created."""
        self.ensure_one()
        mapping = InvoiceMapping(self, document)
        values = mapping.bill_values()
        values["basware_document_hash"] = document_hash(document)
        Move = self.env["account.move"].with_company(self.company_id)
        try:
            # As Odoo's e-invoice imports: a correcting discount keeps all its digits, so
            # each line's amount is Basware's.
            with self.env.cr.savepoint(), Move._disable_discount_precision():
                # Its creation note is the one _basware_attach logs, naming the invoice.
                bill = Move.with_context(mail_create_nolog=True).create(values).with_env(Move.env)
                mapping.complete(bill)
                bill._basware_attach(attachments, document, mapping.notes_html())
        except BaswareDocumentRejected:
            raise
        except ValidationError as error:
            raise self._basware_refused(error, document) from error
        except UserError as error:
            if type(error) is not UserError:
                raise
            raise self._basware_refused(error, document) from error
        return bill

    def _basware_update_bill(self, bill, document, changes):
        """Rebook the draft ``bill`` on the corrected ``document`` (header and lines); its chatter
        names what changed. Raises BaswareDocumentRejected as a new bill does, draft unchanged."""
        self.ensure_one()
        mapping = InvoiceMapping(self, document)
        values = mapping.bill_values()
        for key in ("basware_invoice_id", "basware_backend_id"):
            values.pop(key)
        values["basware_document_hash"] = document_hash(document)
        values["invoice_line_ids"] = [Command.clear(), *values["invoice_line_ids"]]
        try:
            with self.env.cr.savepoint(), bill._disable_discount_precision():
                bill.write(values)
                mapping.complete(bill)
                bill._basware_store_document(document)
        except BaswareDocumentRejected:
            raise
        except (ValidationError, UserError) as error:
            if type(error) not in (ValidationError, UserError):
                raise
            raise self._basware_refused(error, document) from error
        body = self.env._(
            "Basware offered the invoice again, corrected: the draft now follows it (%(changes)s).",
            changes="; ".join(changes),
        )
        bill._message_log(body=Markup("<p>%s</p>%s") % (body, mapping.notes_html()))
        return bill

    @api.model
    def _basware_refused(self, error, document):
        """Odoo itself refused the bill (a constraint): rejected with Odoo's reason."""
        reason = str(error.args[0] if error.args else error)
        return BaswareDocumentRejected(
            [Problem(PROBLEM_BILL, "", REASON_REFUSED, detail=reason)], document
        )

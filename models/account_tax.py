"""account.tax for Basware: the TaxCodeEntity of a purchase tax, the rates a tax really
charges (the invoice import checks Basware's rates with them), and its exchange history."""

from collections import namedtuple

from odoo import fields, models

from ..mapping.codes import CODE_MAX, TAX_CODE_PREFIX, fallback_code
from ..mapping.payload import INHERIT_TO_UNITS, split_charge
from .basware_payload import checked_code, field_label, translations

AMOUNT_TYPE_PERCENT = "percent"
AMOUNT_TYPE_DIVISION = "division"
AMOUNT_TYPE_FIXED = "fixed"
PERCENT_DIGITS = 4
REPARTITION_TAX = "tax"
FULL_FACTOR = 100.0

# What a purchase tax really charges on the net amount, and what the company
# self-assesses (a reverse charge: +100 % and -100 % repartition lines charge 0 and
# self-assess the rate), both in percent.
TaxRates = namedtuple("TaxRates", ["charged", "self_assessed"])


class AccountTax(models.Model):
    _name = "account.tax"
    _inherit = ("account.tax", "basware.history.mixin")

    basware_code = fields.Char(
        size=CODE_MAX,
        copy=False,
        help="Tax code of this tax in Basware. Empty: a code made of ODOO-TAX- and its id.",
    )

    def _basware_code(self, backend):
        self.ensure_one()
        return (self.basware_code or "").strip() or fallback_code(TAX_CODE_PREFIX, self)

    def _basware_checked_code(self, backend):
        return checked_code(
            self,
            self._basware_code(backend),
            "taxCode",
            self.env._("Tax"),
            field_label(self, "basware_code"),
        )

    def _basware_tax_code_values(self, backend):
        """TaxCodeEntity of this tax on ``backend``, read only. taxPercentage is the rate charged,
        taxPercentage2 (only if any) the rate self-assessed: a reverse charge goes out 0 and 21."""
        self.ensure_one()
        code = self._basware_checked_code(backend)
        rates = self._basware_rates()
        return {
            "externalCode": backend._basware_external_code(self),
            "taxCode": code,
            "taxCodeNames": translations(self, "name", prefix=code),
            "taxPercentage": rates.charged,
            **({"taxPercentage2": rates.self_assessed} if rates.self_assessed else {}),
            "companies": backend._basware_companies(inherit=INHERIT_TO_UNITS, active=self.active),
        }

    def _basware_rates(self, refund=False):
        """TaxRates of these taxes (groups flattened), from their repartition lines: each gives the
        tax's net rate times its factor (see ``split_charge``); fixed-amount taxes count 0."""
        parts = []
        for tax in self.flatten_taxes_hierarchy():
            rate = tax._basware_net_rate()
            lines = tax.refund_repartition_line_ids if refund else tax.invoice_repartition_line_ids
            parts += [
                rate * line.factor_percent / FULL_FACTOR
                for line in lines
                if line.repartition_type == REPARTITION_TAX
            ]
        charged, self_assessed = split_charge(parts)
        return TaxRates(round(charged, PERCENT_DIGITS), round(self_assessed, PERCENT_DIGITS))

    def _basware_net_rate(self):
        """The percent of the net amount this one tax comes to (before repartition). A division
        tax of r % is r / (100 - r) of the net; at 100 % no rate of the net gives it, so 0."""
        self.ensure_one()
        if self.amount_type == AMOUNT_TYPE_PERCENT:
            return self.amount
        if self.amount_type == AMOUNT_TYPE_DIVISION and self.amount < FULL_FACTOR:
            return self.amount * FULL_FACTOR / (FULL_FACTOR - self.amount)
        return 0.0

    def _basware_fixed_amounts(self):
        """The fixed-amount taxes among these (groups flattened) that charge something."""
        return self.flatten_taxes_hierarchy().filtered(
            lambda tax: tax.amount_type == AMOUNT_TYPE_FIXED and tax.amount
        )

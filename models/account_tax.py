"""The Basware TaxCodeEntity of a purchase tax, and the rates a tax really charges."""

from collections import namedtuple

from odoo import models

from .basware_payload import INHERIT_TO_UNITS, translations

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


def split_charge(parts):
    """(charged, self-assessed) of signed tax parts, rates or amounts alike.

    What the parts add up to is charged. What a negative part cancels of a positive one
    is self-assessed: the company owes it and deducts it (a reverse charge, one tax with
    +100 % and -100 % repartition lines, or a group of +21 % and -21 %). A negative part
    left over (a withholding) lowers the charge.
    """
    positive = sum(part for part in parts if part > 0)
    negative = -sum(part for part in parts if part < 0)
    return positive - negative, min(positive, negative)


class AccountTax(models.Model):
    _inherit = "account.tax"

    def _basware_tax_code_values(self, backend):
        """TaxCodeEntity of this tax on ``backend``: read only, no write.

        taxPercentage is the rate the tax charges, taxPercentage2 (only when there is
        one) the rate it self-assesses: a reverse charge goes out 0 and 21, not 21.
        """
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
        """TaxRates of these taxes (groups flattened), read from their repartition lines.

        Each tax repartition line gives the tax's rate on the net times its factor; see
        :func:`split_charge` for what is charged and what self-assessed. Fixed-amount
        taxes have no rate and count 0.
        """
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
        """The percent of the net amount this one tax comes to (before repartition).

        A division tax of r % takes r % of the total, so r / (100 - r) of the net; at
        100 % it is the whole total and no rate of the net gives it.
        """
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

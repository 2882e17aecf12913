"""The Basware TaxCodeEntity of a purchase tax."""

from collections import namedtuple

from odoo import models

from .basware_payload import INHERIT_TO_UNITS, translations

AMOUNT_TYPE_PERCENT = "percent"
AMOUNT_TYPE_GROUP = "group"
PERCENT_DIGITS = 4
REPARTITION_TAX = "tax"
FULL_FACTOR = 100.0

# What a purchase tax really charges on the net amount, and what the company
# self-assesses (a reverse charge: +100 % and -100 % repartition lines charge 0 and
# self-assess the rate), both in percent.
TaxRates = namedtuple("TaxRates", ["charged", "self_assessed"])


class AccountTax(models.Model):
    _inherit = "account.tax"

    def _basware_tax_code_values(self, backend):
        """TaxCodeEntity of this tax on ``backend``: read only, no write."""
        self.ensure_one()
        code = self._basware_checked_code(backend)
        return {
            "externalCode": backend._basware_external_code(self),
            "taxCode": code,
            "taxCodeNames": translations(self, "name", prefix=code),
            "taxPercentage": self._basware_tax_percentage(),
            "companies": backend._basware_companies(inherit=INHERIT_TO_UNITS, active=self.active),
        }

    def _basware_tax_percentage(self):
        """The rate Basware applies to the net amount.

        A percent tax gives its rate; a group the sum of its percent children (a cascade is
        not compounded, a reverse charge pair sums to 0); a fixed-amount or division tax has
        no rate on the net amount and gives 0, the invoice carries its amount.
        """
        taxes = self.children_tax_ids if self.amount_type == AMOUNT_TYPE_GROUP else self
        rates = [tax.amount for tax in taxes if tax.amount_type == AMOUNT_TYPE_PERCENT]
        return round(float(sum(rates)), PERCENT_DIGITS)

    def _basware_rates(self, refund=False):
        """TaxRates of these taxes (groups flattened), read from their repartition lines:
        the rate times the sum of the tax lines' factors is charged, the rate times the
        negative factors is self-assessed. Fixed-amount and division taxes count 0."""
        charged = self_assessed = 0.0
        for tax in self.flatten_taxes_hierarchy():
            if tax.amount_type != AMOUNT_TYPE_PERCENT:
                continue
            lines = tax.refund_repartition_line_ids if refund else tax.invoice_repartition_line_ids
            factors = [
                line.factor_percent for line in lines if line.repartition_type == REPARTITION_TAX
            ]
            charged += tax.amount * sum(factors) / FULL_FACTOR
            self_assessed -= tax.amount * sum(f for f in factors if f < 0) / FULL_FACTOR
        return TaxRates(round(charged, PERCENT_DIGITS), round(self_assessed, PERCENT_DIGITS))

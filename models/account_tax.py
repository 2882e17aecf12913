"""The Basware TaxCodeEntity of a purchase tax."""

from odoo import models

from .basware_payload import INHERIT_TO_UNITS, translations

AMOUNT_TYPE_PERCENT = "percent"
AMOUNT_TYPE_GROUP = "group"
PERCENT_DIGITS = 4


class AccountTax(models.Model):
    _inherit = "account.tax"

    def _basware_tax_code_values(self, backend):
        """TaxCodeEntity of this tax on ``backend``: read only, no write."""
        self.ensure_one()
        code = self._basware_code(backend)
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

"""The Basware AccountEntity of a GL account."""

from odoo import models

from .basware_payload import INHERIT_TO_UNITS, translations


class AccountAccount(models.Model):
    _inherit = "account.account"

    def _basware_account_values(self, backend):
        """AccountEntity of this account on ``backend``: read only, no write."""
        self.ensure_one()
        code = self._basware_checked_code(backend)
        return {
            "externalCode": backend._basware_external_code(self),
            "accountCode": code,
            "accountNames": translations(self, "name", prefix=code),
            "companies": backend._basware_companies(inherit=INHERIT_TO_UNITS, active=self.active),
        }

"""account.account for Basware: the AccountEntity of a GL account, and its exchange history."""

from odoo import models

from ..mapping.payload import INHERIT_TO_UNITS
from .basware_payload import checked_code, field_label, translations


class AccountAccount(models.Model):
    _name = "account.account"
    _inherit = ("account.account", "basware.history.mixin")

    def _basware_code(self, backend):
        """accountCode: the account's code in the backend's company."""
        self.ensure_one()
        return self.with_company(backend.company_id).code or ""

    def _basware_checked_code(self, backend):
        return checked_code(
            self,
            self._basware_code(backend),
            "accountCode",
            self.env._("GL account"),
            field_label(self, "code"),
        )

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

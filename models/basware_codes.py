"""The business codes Basware knows Odoo records by.

Conventions: vendorCode is the partner's Reference when set (else the backend's prefix and
the partner's id); accountCode is the account's code in the backend's company; tax codes,
payment terms and analytic accounts use their Basware Code when set, else a stable code
made of a prefix and the record's id. Every code fits Basware's 25 characters.
"""

from odoo import fields, models

CODE_MAX = 25
TAX_CODE_PREFIX = "ODOO-TAX-"
PAYMENT_TERM_PREFIX = "ODOO-PT-"
ANALYTIC_PREFIX = "ODOO-AA-"


def fallback_code(prefix, record):
    return f"{prefix}{record.id}"


class ResPartner(models.Model):
    _inherit = "res.partner"

    def _basware_vendor_code(self, backend):
        """vendorCode: the Reference of the commercial partner, else prefix + its id."""
        self.ensure_one()
        partner = self.commercial_partner_id
        return (partner.ref or "").strip()[:CODE_MAX] or (
            f"{backend.vendor_code_prefix or ''}{partner.id}"[:CODE_MAX]
        )


class AccountAccount(models.Model):
    _inherit = "account.account"

    def _basware_code(self, backend):
        """accountCode: the account's code in the backend's company."""
        self.ensure_one()
        return (self.with_company(backend.company_id).code or "")[:CODE_MAX]


class AccountTax(models.Model):
    _inherit = "account.tax"

    basware_code = fields.Char(
        size=CODE_MAX,
        copy=False,
        help="Tax code of this tax in Basware. Empty: a code made of ODOO-TAX- and its id.",
    )

    def _basware_code(self, backend):
        self.ensure_one()
        return (self.basware_code or "").strip() or fallback_code(TAX_CODE_PREFIX, self)


class AccountPaymentTerm(models.Model):
    _inherit = "account.payment.term"

    basware_code = fields.Char(
        size=CODE_MAX,
        copy=False,
        help="Payment term code in Basware. Empty: a code made of ODOO-PT- and its id.",
    )

    def _basware_code(self, backend):
        self.ensure_one()
        return (self.basware_code or "").strip() or fallback_code(PAYMENT_TERM_PREFIX, self)


class AccountAnalyticAccount(models.Model):
    _inherit = "account.analytic.account"

    def _basware_code(self, backend):
        """costCenterCode, projectCode or list code: the analytic Reference when set."""
        self.ensure_one()
        return (self.code or "").strip()[:CODE_MAX] or fallback_code(ANALYTIC_PREFIX, self)

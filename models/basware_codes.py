"""The business codes Basware knows Odoo records by.

Conventions: vendorCode is the partner's Reference when set (else the backend's prefix and
the partner's id); accountCode is the account's code in the backend's company; tax codes,
payment terms and analytic accounts use their Basware Code when set, else a stable code
made of a prefix and the record's id.

A code is never cut: two records would share the cut code in Basware. ``_basware_code``
gives the whole code (the import compares Basware's codes with it); the payload builders
send ``_basware_checked_code``, which refuses a code longer than Basware takes, naming
the record and the field it comes from.
"""

from odoo import fields, models

from .basware_payload import RecordRefused

CODE_MAX = 25
ORDER_NUMBER_MAX = 100
DIMENSION_CODE_MAX = 100
# The longest code Basware takes in each payload field (maxLength in its API).
CODE_LIMITS = {
    "vendorCode": CODE_MAX,
    "supplierCode": CODE_MAX,
    "accountCode": CODE_MAX,
    "taxCode": CODE_MAX,
    "paymentTermCode": CODE_MAX,
    "costCenterCode": CODE_MAX,
    "projectCode": CODE_MAX,
    "companyCode": CODE_MAX,
    "organizationElementCode": CODE_MAX,
    "orderNumber": ORDER_NUMBER_MAX,
    # Generic list codes come back in these coding fields of invoices and order lines.
    **{f"dimCode{n}": DIMENSION_CODE_MAX for n in range(1, 11)},
}
TAX_CODE_PREFIX = "ODOO-TAX-"
PAYMENT_TERM_PREFIX = "ODOO-PT-"
ANALYTIC_PREFIX = "ODOO-AA-"


def fallback_code(prefix, record):
    return f"{prefix}{record.id}"


def checked_code(record, code, basware_field, kind, source):
    """``code`` when Basware takes it whole in ``basware_field``, else RecordRefused.

    ``kind`` names the record ("Vendor"), ``source`` where its code comes from (a field's
    label): the message tells the AP team which record and which field to shorten.
    """
    size = CODE_LIMITS[basware_field]
    if len(code) <= size:
        return code
    raise RecordRefused(
        record.env._(
            "%(kind)s '%(name)s' (id %(id)s): its %(origin)s '%(code)s' is %(length)s "
            "characters long; Basware takes at most %(size)s for %(field)s.",
            kind=kind,
            name=record.display_name,
            id=record.id,
            origin=source,
            code=code,
            length=len(code),
            size=size,
            field=basware_field,
        )
    )


def field_label(record, field_name):
    return record._fields[field_name]._description_string(record.env)


class ResPartner(models.Model):
    _inherit = "res.partner"

    def _basware_vendor_code(self, backend):
        """vendorCode: the Reference of the commercial partner, else prefix + its id."""
        self.ensure_one()
        partner = self.commercial_partner_id
        return (partner.ref or "").strip() or f"{backend.vendor_code_prefix or ''}{partner.id}"

    def _basware_checked_code(self, backend, basware_field="vendorCode"):
        partner = self.commercial_partner_id
        if (partner.ref or "").strip():
            source = field_label(partner, "ref")
        else:
            source = self.env._(
                "code made of the backend's %(prefix)s and its id",
                prefix=field_label(backend, "vendor_code_prefix"),
            )
        return checked_code(
            partner,
            self._basware_vendor_code(backend),
            basware_field,
            self.env._("Vendor"),
            source,
        )


class AccountAccount(models.Model):
    _inherit = "account.account"

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

    def _basware_checked_code(self, backend):
        return checked_code(
            self,
            self._basware_code(backend),
            "taxCode",
            self.env._("Tax"),
            field_label(self, "basware_code"),
        )


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

    def _basware_checked_code(self, backend):
        return checked_code(
            self,
            self._basware_code(backend),
            "paymentTermCode",
            self.env._("Payment term"),
            field_label(self, "basware_code"),
        )


class AccountAnalyticAccount(models.Model):
    _inherit = "account.analytic.account"

    def _basware_code(self, backend):
        """costCenterCode, projectCode or list code: the analytic Reference when set."""
        self.ensure_one()
        return (self.code or "").strip() or fallback_code(ANALYTIC_PREFIX, self)

    def _basware_checked_code(self, backend, *basware_fields):
        """The code of a cost center, project or list item, fit for each of
        ``basware_fields``: its own field in Basware's list (a list item's text_1 has no
        limit) and the coding field its plan's codes come back in."""
        code = self._basware_code(backend)
        for basware_field in basware_fields:
            if basware_field in CODE_LIMITS:
                checked_code(
                    self,
                    code,
                    basware_field,
                    self.env._("Analytic account"),
                    field_label(self, "code"),
                )
        return code

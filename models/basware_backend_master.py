"""Which master data of a backend's company goes to Basware, and the company part of it.

The scope of each kind of record is a domain, archived records included where Basware
must learn that a record went inactive: the sync engine builds one payload per record.
"""

from odoo import models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools.safe_eval import safe_eval

TAX_USE_PURCHASE = "purchase"
# A percentage Basware can carry: fixed-amount and price-included division taxes have none.
TAX_AMOUNT_TYPES = ("percent", "group")


class BaswareBackend(models.Model):
    _inherit = "basware.backend"

    def _basware_company_code(self):
        """companyCode of every master record: the backend's Basware company code."""
        self.ensure_one()
        code = (self.basware_company_code or "").strip()
        if not code:
            raise UserError(
                self.env._(
                    "Set the Basware company code of the backend %(backend)s before sending "
                    "master data.",
                    backend=self.display_name,
                )
            )
        return code

    def _basware_companies(self, **flags):
        """The ``companies`` array of a master record: this backend's company and ``flags``."""
        return [{"companyCode": self._basware_company_code(), **flags}]

    def _basware_domain(self, field_name):
        """The domain typed in ``field_name``, evaluated for this backend's company."""
        self.ensure_one()
        text = self[field_name] or "[]"
        context = {"company_id": self.company_id.id, "company_ids": self.company_id.ids}
        try:
            return Domain(safe_eval(text, context))
        except (ValueError, SyntaxError, TypeError, NameError) as error:
            raise UserError(
                self.env._(
                    "The domain %(field)s of the backend %(backend)s is not valid: %(error)s",
                    field=self._fields[field_name].get_description(self.env)["string"],
                    backend=self.display_name,
                    error=error,
                )
            ) from error

    def _basware_scope(self, model_name):
        """``model_name`` with archived records, and the domain of this company's records."""
        model = self.env[model_name].with_context(active_test=False)
        return model, Domain(model._check_company_domain(self.company_id))

    # Each scope is a domain, which the sync engine narrows to the records changed since
    # its last run in one query; each _records method gives the whole scope.

    def _basware_vendor_scope(self):
        """Commercial partners of the partners matching the vendor domain (contacts go out
        with their company), shared or of this company."""
        self.ensure_one()
        partners, company = self._basware_scope("res.partner")
        matching = partners._search(self._basware_domain("vendor_domain") & company)
        commercial = partners._field_to_sql(matching.table, "commercial_partner_id", matching)
        return Domain("id", "any!", matching.subselect(commercial)) & company

    def _basware_vendor_records(self):
        partners, _company = self._basware_scope("res.partner")
        return partners.search(self._basware_vendor_scope(), order="id")

    def _basware_account_scope(self):
        """GL accounts matching the account domain, usable in this company."""
        self.ensure_one()
        _accounts, company = self._basware_scope("account.account")
        return self._basware_domain("account_domain") & company

    def _basware_account_records(self):
        accounts, _company = self._basware_scope("account.account")
        return accounts.search(self._basware_account_scope(), order="id")

    def _basware_tax_scope(self):
        """Purchase taxes of this company with a percentage: percent taxes and groups."""
        self.ensure_one()
        _taxes, company = self._basware_scope("account.tax")
        return (
            company
            & Domain("type_tax_use", "=", TAX_USE_PURCHASE)
            & Domain("amount_type", "in", TAX_AMOUNT_TYPES)
        )

    def _basware_tax_records(self):
        taxes, _company = self._basware_scope("account.tax")
        return taxes.search(self._basware_tax_scope(), order="id")

    def _basware_payment_term_scope(self):
        """Payment terms shared or of this company."""
        self.ensure_one()
        _terms, company = self._basware_scope("account.payment.term")
        return company

    def _basware_payment_term_records(self):
        terms, _company = self._basware_scope("account.payment.term")
        return terms.search(self._basware_payment_term_scope(), order="id")

    def _basware_analytic_scope(self, mapping):
        """Analytic accounts of the mapping's plan and its sub-plans (they come back in the
        same analytic column), shared or of this company."""
        self.ensure_one()
        mapping.ensure_one()
        _analytics, company = self._basware_scope("account.analytic.account")
        return company & Domain("plan_id", "child_of", mapping.plan_id.id)

    def _basware_analytic_records(self, mapping):
        analytics, _company = self._basware_scope("account.analytic.account")
        return analytics.search(self._basware_analytic_scope(mapping), order="id")

"""The master data of a backend's company that goes to Basware: its settings, each kind of
record's scope, and the codes a record is known by (externalCode, companyCode). A scope is a
domain, archived records included where Basware must learn that a record went inactive; the
sync narrows it in one query to the records changed since its last run."""

import functools
import uuid

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools.safe_eval import safe_eval

from .basware_analytic_mapping import DEFAULT_CODING_FIELD, TARGET_COST_CENTER
from .basware_binding import external_code
from .common import TAX_USE_PURCHASE

DATABASE_UUID_PARAM = "database.uuid"
DEFAULT_SOURCE_SYSTEM = "ODOO"
DEFAULT_VENDOR_CODE_PREFIX = "ODOO-"
DEFAULT_VENDOR_DOMAIN = "[('supplier_rank', '>', 0)]"
# The account types an AP invoice is coded to: expenses, assets and liabilities.
DEFAULT_ACCOUNT_DOMAIN = (
    "[('account_type', 'in', ['expense', 'expense_depreciation', 'expense_direct_cost', "
    "'asset_current', 'asset_non_current', 'asset_fixed', 'asset_prepayments', "
    "'liability_current', 'liability_non_current'])]"
)
# A percentage Basware can carry: fixed-amount and price-included division taxes have none.
TAX_AMOUNT_TYPES = ("percent", "group")


@functools.lru_cache(maxsize=256)
def backend_namespace(database, backend_id):
    """Cached: a sync asks for it once per external code, thousands of times."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"odoo:{database}:basware.backend:{backend_id}")


class BaswareBackend(models.Model):
    _inherit = "basware.backend"

    source_system = fields.Char(
        default=DEFAULT_SOURCE_SYSTEM,
        size=36,
        help="sourceSystem of the orders sent to Basware: tells this Odoo apart from the "
        "other systems that feed the same Basware tenant.",
    )
    vendor_code_prefix = fields.Char(
        default=DEFAULT_VENDOR_CODE_PREFIX,
        help="vendorCode of a vendor without a Reference: this prefix and the partner's id.",
    )
    vendor_domain = fields.Char(
        default=DEFAULT_VENDOR_DOMAIN,
        help="Which partners are Basware vendors. Contacts go out with their company.",
    )
    account_domain = fields.Char(
        "GL Account Domain",
        default=DEFAULT_ACCOUNT_DOMAIN,
        help="Which GL accounts of the company go to Basware.",
    )
    analytic_mapping_ids = fields.One2many(
        "basware.analytic.mapping", "backend_id", string="Analytic Dimensions"
    )

    @api.model_create_multi
    def create(self, vals_list):
        backends = super().create(vals_list)
        backends._create_default_analytic_mapping()
        return backends

    def _create_default_analytic_mapping(self):
        """A new backend sends the first analytic plan's accounts to costCenters; the plan is read
        as superuser, since a Basware manager need not read analytic plans to create a backend."""
        plan = self.env["account.analytic.plan"].sudo().search([("parent_id", "=", False)], limit=1)
        if not plan:
            return
        without_mapping = self.filtered(lambda backend: not backend.analytic_mapping_ids)
        self.env["basware.analytic.mapping"].create(
            [
                {
                    "backend_id": backend.id,
                    "plan_id": plan.id,
                    "target": TARGET_COST_CENTER,
                    "coding_field": DEFAULT_CODING_FIELD[TARGET_COST_CENTER],
                }
                for backend in without_mapping
            ]
        )

    # === CODES === #

    def _basware_namespace(self):
        """The UUID namespace of this backend's external codes (database and backend)."""
        self.ensure_one()
        database = self.env["ir.config_parameter"].sudo().get_param(DATABASE_UUID_PARAM)
        return backend_namespace(database, self.id)

    def _basware_external_code(self, record, suffix=""):
        """The stable externalCode of ``record`` on this backend (36 characters)."""
        self.ensure_one()
        return external_code(self._basware_namespace(), record, suffix)

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

    # === SCOPES === #

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

    def _basware_company_scope(self, model_name):
        """The domain of the records of ``model_name`` shared or of this company."""
        return Domain(self.env[model_name]._check_company_domain(self.company_id))

    def _basware_vendor_scope(self):
        """Commercial partners of the partners matching the vendor domain (contacts go out
        with their company), shared or of this company."""
        self.ensure_one()
        partners = self.env["res.partner"].with_context(active_test=False)
        company = self._basware_company_scope("res.partner")
        matching = partners._search(self._basware_domain("vendor_domain") & company)
        commercial = partners._field_to_sql(matching.table, "commercial_partner_id", matching)
        return Domain("id", "any!", matching.subselect(commercial)) & company

    def _basware_account_scope(self):
        """GL accounts matching the account domain, usable in this company."""
        self.ensure_one()
        return self._basware_domain("account_domain") & self._basware_company_scope(
            "account.account"
        )

    def _basware_tax_scope(self):
        """Purchase taxes of this company with a percentage: percent taxes and groups."""
        self.ensure_one()
        return (
            self._basware_company_scope("account.tax")
            & Domain("type_tax_use", "=", TAX_USE_PURCHASE)
            & Domain("amount_type", "in", TAX_AMOUNT_TYPES)
        )

    def _basware_payment_term_scope(self):
        """Payment terms shared or of this company."""
        self.ensure_one()
        return self._basware_company_scope("account.payment.term")

    def _basware_analytic_scope(self, mapping):
        """Analytic accounts of the mapping's plan and its sub-plans (they come back in the
        same analytic column), shared or of this company."""
        self.ensure_one()
        mapping.ensure_one()
        return self._basware_company_scope("account.analytic.account") & Domain(
            "plan_id", "child_of", mapping.plan_id.id
        )

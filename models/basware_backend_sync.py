"""The outbound sync settings of a backend: what goes to Basware, under which codes."""

import functools
import uuid

from odoo import fields, models

from .basware_analytic_mapping import DEFAULT_CODING_FIELD, TARGET_COST_CENTER
from .basware_binding import external_code

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

    def _create_default_analytic_mapping(self):
        """A new backend sends the first analytic plan's accounts to costCenters.

        The plan is looked up as superuser: a Basware manager need not read analytic plans
        to create a backend.
        """
        plan = self.env["account.analytic.plan"].sudo().search([("parent_id", "=", False)], limit=1)
        if not plan:
            return
        self.filtered(lambda backend: not backend.analytic_mapping_ids).mapped(
            lambda backend: self.env["basware.analytic.mapping"].create(
                {
                    "backend_id": backend.id,
                    "plan_id": plan.id,
                    "target": TARGET_COST_CENTER,
                    "coding_field": DEFAULT_CODING_FIELD[TARGET_COST_CENTER],
                }
            )
        )

    def _basware_namespace(self):
        """The UUID namespace of this backend's external codes (database and backend)."""
        self.ensure_one()
        database = self.env["ir.config_parameter"].sudo().get_param(DATABASE_UUID_PARAM)
        return backend_namespace(database, self.id)

    def _basware_external_code(self, record, suffix=""):
        """The stable externalCode of ``record`` on this backend (36 characters)."""
        self.ensure_one()
        return external_code(self._basware_namespace(), record, suffix)

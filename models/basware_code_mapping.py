"""Code mappings: which Odoo record a Basware code stands for, when Odoo did not send it.
The sync binds what it sends (``basware.binding``); codes Basware holds already (its vendor
numbers, a cost center made there) are mapped here by hand or CSV import. The invoice import
reads these mappings first."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..mapping.problems import (
    PROBLEM_ACCOUNT,
    PROBLEM_COST_CENTER,
    PROBLEM_LIST_ITEM,
    PROBLEM_PAYMENT_TERM,
    PROBLEM_PROJECT,
    PROBLEM_TAX,
    PROBLEM_VENDOR,
)
from . import common

MAPPING_KINDS = [
    (PROBLEM_VENDOR, "Vendor (supplierCode)"),
    (PROBLEM_ACCOUNT, "GL Account (accountCode)"),
    (PROBLEM_TAX, "Tax Code (taxCode)"),
    (PROBLEM_PAYMENT_TERM, "Payment Term (paymentTermCode)"),
    (PROBLEM_COST_CENTER, "Cost Center (costCenterCode)"),
    (PROBLEM_PROJECT, "Project (projectCode)"),
    (PROBLEM_LIST_ITEM, "Dimension (dimCode / list item)"),
]
MAPPABLE_KINDS = {key for key, _label in MAPPING_KINDS}
# The Odoo field that holds the record of each kind.
TARGET_FIELDS = {
    PROBLEM_VENDOR: "partner_id",
    PROBLEM_ACCOUNT: "account_id",
    PROBLEM_TAX: "tax_id",
    PROBLEM_PAYMENT_TERM: "payment_term_id",
    PROBLEM_COST_CENTER: "analytic_account_id",
    PROBLEM_PROJECT: "analytic_account_id",
    PROBLEM_LIST_ITEM: "analytic_account_id",
}


class BaswareCodeMapping(models.Model):
    _name = "basware.code.mapping"
    _description = "Basware Code Mapping"
    _order = "backend_id, kind, code"
    _check_company_auto = True

    backend_id = fields.Many2one("basware.backend", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    kind = fields.Selection(MAPPING_KINDS, required=True)
    code = fields.Char("Basware Code", required=True, help="The code as Basware sends it.")
    partner_id = fields.Many2one(
        "res.partner", "Vendor", check_company=True, domain=[("parent_id", "=", False)]
    )
    account_id = fields.Many2one("account.account", "GL Account", check_company=True)
    tax_id = fields.Many2one(
        "account.tax", check_company=True, domain=[("type_tax_use", "=", common.TAX_USE_PURCHASE)]
    )
    payment_term_id = fields.Many2one("account.payment.term", check_company=True)
    analytic_account_id = fields.Many2one("account.analytic.account", check_company=True)
    record_name = fields.Char("Odoo Record", compute="_compute_record_name")

    _code_unique = models.Constraint(
        "UNIQUE(backend_id, kind, code)",
        "This Basware code is already mapped on this backend.",
    )

    @api.depends(*set(TARGET_FIELDS.values()), "kind")
    def _compute_record_name(self):
        for mapping in self:
            mapping.record_name = mapping._target().display_name or False

    @api.constrains("kind", *set(TARGET_FIELDS.values()))
    def _check_target(self):
        for mapping in self:
            if not mapping._target():
                field = self._fields[TARGET_FIELDS[mapping.kind]]
                raise ValidationError(
                    self.env._(
                        "Basware code %(code)s: choose the %(field)s it stands for.",
                        code=mapping.code,
                        field=field._description_string(self.env),
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("code"):
                vals["code"] = vals["code"].strip()
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("code"):
            vals["code"] = vals["code"].strip()
        return super().write(vals)

    def _target(self):
        self.ensure_one()
        return self[TARGET_FIELDS[self.kind]] if self.kind else self.env["res.partner"]

    @api.model
    def _lookup(self, backend, kind, codes):
        """{code: record} of the mapped ``codes`` of ``kind`` on ``backend`` (one query)."""
        if kind not in MAPPABLE_KINDS or not codes:
            return {}
        found = self._lookup_codes(backend, codes)
        return {
            code: record for (mapped_kind, code), record in found.items() if mapped_kind == kind
        }

    @api.model
    def _lookup_codes(self, backend, codes):
        """{(kind, code): record} of the mapped ``codes`` of every kind on ``backend`` (one
        query)."""
        if not codes:
            return {}
        mappings = self.search([("backend_id", "=", backend.id), ("code", "in", list(codes))])
        return {
            (mapping.kind, mapping.code): mapping._target()
            for mapping in mappings
            if mapping._target()
        }

    def action_replay_waiting(self):
        """Replay the failed invoice imports that waited on these codes."""
        waiting = self.env["basware.exchange"]._waiting_on_codes(
            [(mapping.backend_id, mapping.kind, mapping.code) for mapping in self]
        )
        if not waiting:
            return self._replay_notification(0)
        waiting.action_replay()
        return self._replay_notification(len(waiting))

    def _replay_notification(self, count):
        if count:
            message = self.env._("%(count)s waiting invoice(s) queued again.", count=count)
        else:
            message = self.env._("No invoice waits on this code.")
        return common.notification(
            self.env._("Code mapped"), message, next_action=common.CLOSE_WINDOW
        )

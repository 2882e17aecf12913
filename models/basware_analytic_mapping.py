"""Where one analytic plan's accounts go in Basware (which has no analytic plans): a cost
center, generic (``ACC_LIST_n``) or project list, and the coding-row field that carries them
on invoices and order lines (``costCenterCode``, ``projectCode``, ``dimCode1..10``)."""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..basware import constants as bw
from .basware_binding import ENTITY_COST_CENTER, ENTITY_LIST_ITEM, ENTITY_PROJECT

TARGET_COST_CENTER = "cost_center"
TARGET_LIST = "list"
TARGET_PROJECT = "project"
TARGETS = [
    (TARGET_COST_CENTER, "Cost Centers"),
    (TARGET_LIST, "Generic List (ACC_LIST_n)"),
    (TARGET_PROJECT, "Projects"),
]
ACCOUNT_LIST_KEYS = [(key, key) for key in bw.LIST_KEYS if key.startswith("ACC_LIST_")]
CODING_COST_CENTER = "costCenterCode"
CODING_PROJECT = "projectCode"
CODING_FIELDS = [
    (CODING_COST_CENTER, "Cost Center (costCenterCode)"),
    (CODING_PROJECT, "Project (projectCode)"),
    *[(f"dimCode{n}", f"Dimension {n} (dimCode{n})") for n in range(1, 11)],
]
BINDING_ENTITIES = {
    TARGET_COST_CENTER: ENTITY_COST_CENTER,
    TARGET_LIST: ENTITY_LIST_ITEM,
    TARGET_PROJECT: ENTITY_PROJECT,
}
# The payload key holding the business code, per target.
CODE_KEYS = {
    TARGET_COST_CENTER: "costCenterCode",
    TARGET_LIST: "text_1",
    TARGET_PROJECT: "projectCode",
}
DEFAULT_CODING_FIELD = {
    TARGET_COST_CENTER: CODING_COST_CENTER,
    TARGET_PROJECT: CODING_PROJECT,
    TARGET_LIST: "dimCode1",
}


class BaswareAnalyticMapping(models.Model):
    _name = "basware.analytic.mapping"
    _description = "Basware Analytic Dimension Mapping"
    _order = "backend_id, sequence, id"

    backend_id = fields.Many2one("basware.backend", required=True, index=True, ondelete="cascade")
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    plan_id = fields.Many2one("account.analytic.plan", "Analytic Plan", required=True)
    target = fields.Selection(
        TARGETS,
        required=True,
        default=TARGET_COST_CENTER,
        help="The Basware list the plan's analytic accounts are sent to.",
    )
    list_key = fields.Selection(
        ACCOUNT_LIST_KEYS, help="The generic list (ACC_LIST_1 to ACC_LIST_35) of this plan."
    )
    coding_field = fields.Selection(
        CODING_FIELDS,
        required=True,
        compute="_compute_coding_field",
        store=True,
        readonly=False,
        precompute=True,
        help="The coding-row field that carries this plan's codes on Basware invoices and "
        "order lines.",
    )
    endpoint = fields.Char(compute="_compute_endpoint", help="The Basware path written to.")

    _plan_unique = models.Constraint(
        "UNIQUE(backend_id, plan_id)",
        "This analytic plan already has a mapping on this backend.",
    )
    _coding_field_unique = models.Constraint(
        "UNIQUE(backend_id, coding_field)",
        "Two analytic plans cannot come back in the same coding-row field.",
    )

    @api.depends("target")
    def _compute_coding_field(self):
        for mapping in self:
            if not mapping.coding_field or mapping.target != TARGET_LIST:
                mapping.coding_field = DEFAULT_CODING_FIELD[mapping.target or TARGET_COST_CENTER]

    @api.depends("target", "list_key")
    def _compute_endpoint(self):
        for mapping in self:
            mapping.endpoint = mapping._get_endpoint()

    def _get_endpoint(self):
        self.ensure_one()
        if self.target == TARGET_LIST:
            return bw.LISTS_PATH.format(list_key=self.list_key) if self.list_key else False
        if self.target == TARGET_PROJECT:
            return bw.PROJECTS_PATH
        return bw.COST_CENTERS_PATH

    def _binding_entity(self):
        self.ensure_one()
        return BINDING_ENTITIES[self.target]

    def _code_key(self):
        self.ensure_one()
        return CODE_KEYS[self.target]

    @api.constrains("target", "list_key")
    def _check_list_key(self):
        for mapping in self:
            if mapping.target == TARGET_LIST and not mapping.list_key:
                raise ValidationError(
                    self.env._(
                        "Choose the generic list (ACC_LIST_n) the analytic plan %(plan)s goes to.",
                        plan=mapping.plan_id.display_name,
                    )
                )

    @api.depends("plan_id", "target")
    def _compute_display_name(self):
        targets = dict(self._fields["target"].selection)
        for mapping in self:
            mapping.display_name = f"{mapping.plan_id.name} → {targets.get(mapping.target)}"

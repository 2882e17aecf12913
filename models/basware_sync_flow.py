"""One outbound flow of one backend: its schedule, its high-water mark, its last run."""

from datetime import timedelta

from odoo import api, fields, models

FLOW_PAYMENT_TERM = "payment_term"
FLOW_TAX_CODE = "tax_code"
FLOW_ACCOUNT = "account"
FLOW_ANALYTIC = "analytic"
FLOW_VENDOR = "vendor"
FLOW_PURCHASE_ORDER = "purchase_order"
# Dependency order: vendors reference payment terms; orders reference vendors, accounts,
# taxes and cost centers.
FLOWS = [
    (FLOW_PAYMENT_TERM, "Payment Terms"),
    (FLOW_TAX_CODE, "Tax Codes"),
    (FLOW_ACCOUNT, "GL Accounts"),
    (FLOW_ANALYTIC, "Analytic Dimensions"),
    (FLOW_VENDOR, "Vendors"),
    (FLOW_PURCHASE_ORDER, "Purchase Orders"),
]
FLOW_KEYS = [key for key, _label in FLOWS]
DEFAULT_INTERVALS = {FLOW_VENDOR: 15, FLOW_PURCHASE_ORDER: 15}
DEFAULT_MASTER_INTERVAL = 60


class BaswareSyncFlow(models.Model):
    _name = "basware.sync.flow"
    _description = "Basware Outbound Flow"
    _order = "backend_id, sequence, id"

    backend_id = fields.Many2one(
        "basware.backend", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    flow = fields.Selection(FLOWS, required=True, readonly=True)
    sequence = fields.Integer(compute="_compute_sequence", store=True)
    # Not "active": an archived row would vanish from the backend's form and could not be
    # switched on again there.
    enabled = fields.Boolean(default=True, help="Untick to stop sending this kind of record.")
    interval_minutes = fields.Integer(
        "Every (minutes)", default=DEFAULT_MASTER_INTERVAL, help="How often changes are sent."
    )
    high_water_mark = fields.Datetime(
        readonly=True,
        copy=False,
        help="Records changed since this moment are examined by the next run. Resync clears "
        "it, and the payload hashes, so that everything is sent again.",
    )
    last_run_date = fields.Datetime(readonly=True, copy=False)
    last_success_date = fields.Datetime(readonly=True, copy=False)
    last_sent_count = fields.Integer(readonly=True, copy=False)
    last_waiting_count = fields.Integer(readonly=True, copy=False)
    last_message = fields.Char(
        "Last Error",
        readonly=True,
        copy=False,
        help="Why the last run failed; empty once one succeeds.",
    )

    _flow_unique = models.Constraint(
        "UNIQUE(backend_id, flow)", "This backend already has this outbound flow."
    )
    _interval_positive = models.Constraint(
        "CHECK(interval_minutes > 0)", "The interval of a flow must be positive."
    )

    @api.depends("flow")
    def _compute_sequence(self):
        for flow in self:
            flow.sequence = FLOW_KEYS.index(flow.flow) if flow.flow in FLOW_KEYS else 99

    def _is_due(self):
        """Whether the flow's interval has passed since its last run (or it never ran)."""
        self.ensure_one()
        if not self.last_run_date:
            return True
        return fields.Datetime.now() >= self.last_run_date + timedelta(
            minutes=self.interval_minutes
        )

    def _record_failure(self, message):
        """A run that failed: its time and its error, shown on the backend's form."""
        self.write({"last_run_date": fields.Datetime.now(), "last_message": message})

    def action_resync(self):
        """Send every record of these flows again at the next run."""
        self.backend_id._check_manager_rights()
        for flow in self:
            flow.backend_id._basware_forget_hashes(flow.flow)
        self.write({"high_water_mark": False})
        return True

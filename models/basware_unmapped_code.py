"""The "Unmapped codes" work list: Basware codes that keep invoices from becoming bills."""

from odoo import fields, models
from odoo.tools import SQL

from .basware_code_mapping import MAPPING_KINDS
from .basware_exchange import KIND_ACCOUNTING_DOCUMENT, STATE_DEAD, STATE_FAILED


class BaswareUnmappedCode(models.Model):
    _name = "basware.unmapped.code"
    _description = "Basware Code Odoo Cannot Map"
    _auto = False
    _order = "invoice_count desc, kind, code"

    backend_id = fields.Many2one("basware.backend", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    kind = fields.Selection(MAPPING_KINDS, readonly=True)
    code = fields.Char("Basware Code", readonly=True)
    invoice_count = fields.Integer("Waiting Invoices", readonly=True)
    first_seen = fields.Datetime(readonly=True)
    last_seen = fields.Datetime(readonly=True)

    @property
    def _table_query(self):
        # A stable id per (backend, kind, code): the buttons of a row find it again.
        return SQL(
            """
            SELECT ('x' || substr(md5(concat_ws('|', e.backend_id, item->>0, item->>1)), 1, 8))
                       ::bit(32)::int AS id,
                   e.backend_id, e.company_id,
                   item->>0 AS kind, item->>1 AS code,
                   count(DISTINCT e.id) AS invoice_count,
                   min(e.create_date) AS first_seen,
                   max(e.write_date) AS last_seen
              FROM basware_exchange e,
                   jsonb_array_elements(e.unmapped_codes) AS item
             WHERE e.kind = %s AND e.state IN %s AND jsonb_typeof(e.unmapped_codes) = 'array'
             GROUP BY e.backend_id, e.company_id, item->>0, item->>1
            """,
            KIND_ACCOUNTING_DOCUMENT,
            (STATE_FAILED, STATE_DEAD),
        )

    def _waiting_exchanges(self):
        return self.env["basware.exchange"]._waiting_on_codes(
            [(row.backend_id, row.kind, row.code) for row in self]
        )

    def action_map(self):
        """Map the code to an Odoo record; saving it replays the waiting invoices."""
        self.ensure_one()
        existing = self.env["basware.code.mapping"].search(
            [
                ("backend_id", "=", self.backend_id.id),
                ("kind", "=", self.kind),
                ("code", "=", self.code),
            ],
            limit=1,
        )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Map Basware code %(code)s", code=self.code),
            "res_model": "basware.code.mapping",
            "res_id": existing.id,
            "view_mode": "form",
            "views": [
                (
                    self.env.ref("basware_connector.basware_code_mapping_view_form_map").id,
                    "form",
                )
            ],
            "target": "new",
            "context": {
                "default_backend_id": self.backend_id.id,
                "default_kind": self.kind,
                "default_code": self.code,
            },
        }

    def action_open_waiting(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "basware_connector.basware_exchange_action"
        )
        action.update(
            name=self.env._("Invoices waiting on %(code)s", code=self.code),
            domain=[("id", "in", self._waiting_exchanges().ids)],
            context={},
        )
        return action

    def action_replay_waiting(self):
        """Replay the invoices waiting on these codes, e.g. after the code was created in Odoo."""
        waiting = self._waiting_exchanges()
        if waiting:
            waiting.action_replay()
        return self.env["basware.code.mapping"]._replay_notification(len(waiting))

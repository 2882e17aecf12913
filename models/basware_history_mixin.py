"""The "Basware" smart button of the records the sync sends: their exchange history.

Each model it applies to inherits it in its own file (res_partner.py, purchase_order.py...).
"""

from odoo import fields, models
from odoo.tools import SQL


class BaswareHistoryMixin(models.AbstractModel):
    _name = "basware.history.mixin"
    _description = "Basware History of a Record"

    basware_exchange_count = fields.Integer(
        "Basware Exchanges",
        compute="_compute_basware_exchange_count",
        groups="basware_connector.group_basware_user",
    )

    def _basware_history_domain(self):
        return [("binding_ids.res_model", "=", self._name), ("binding_ids.res_id", "in", self.ids)]

    def _compute_basware_exchange_count(self):
        """Exchanges per record, counted in one query for the whole recordset."""
        counts = {}
        ids = tuple(record_id for record_id in self.ids if record_id)
        if ids:
            self.env.flush_all()
            self.env.cr.execute(
                SQL(
                    """
                    SELECT binding.res_id, count(DISTINCT rel.exchange_id)
                      FROM basware_binding binding
                      JOIN basware_binding_exchange_rel rel ON rel.binding_id = binding.id
                     WHERE binding.res_model = %s AND binding.res_id IN %s
                     GROUP BY binding.res_id
                    """,
                    self._name,
                    ids,
                )
            )
            counts = dict(self.env.cr.fetchall())
        for record in self:
            record.basware_exchange_count = counts.get(record.id, 0)

    def action_open_basware_history(self):
        """The exchanges that carried this record to Basware, and their answers."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "basware_connector.basware_exchange_action"
        )
        action["domain"] = self._basware_history_domain()
        action["context"] = {}
        return action

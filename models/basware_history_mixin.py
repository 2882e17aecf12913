"""The "Basware" smart button of the records the sync sends: their exchange history."""

from odoo import fields, models


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
        Exchange = self.env["basware.exchange"]
        for record in self:
            if not record.id:
                record.basware_exchange_count = 0
                continue
            record.basware_exchange_count = Exchange.search_count(record._basware_history_domain())

    def action_open_basware_history(self):
        """The exchanges that carried this record to Basware, and their answers."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "basware_connector.basware_exchange_action"
        )
        action["domain"] = self._basware_history_domain()
        action["context"] = {}
        return action


class ResPartner(models.Model):
    _name = "res.partner"
    _inherit = ("res.partner", "basware.history.mixin")


class PurchaseOrder(models.Model):
    _name = "purchase.order"
    _inherit = ("purchase.order", "basware.history.mixin")


class AccountAccount(models.Model):
    _name = "account.account"
    _inherit = ("account.account", "basware.history.mixin")


class AccountTax(models.Model):
    _name = "account.tax"
    _inherit = ("account.tax", "basware.history.mixin")


class AccountAnalyticAccount(models.Model):
    _name = "account.analytic.account"
    _inherit = ("account.analytic.account", "basware.history.mixin")

"""The purchase orders and lines of a backend's company that go to Basware's invoice matching."""

from odoo import models
from odoo.fields import Domain

from .purchase_order import ORDER_STATE_CANCEL, ORDER_STATE_PURCHASE

# Confirmed orders (locked ones included: Odoo 19 has no "done" state) and cancelled
# ones, whose cancellation Basware must hear about when they were sent before.
MATCHING_ORDER_STATES = (ORDER_STATE_PURCHASE, ORDER_STATE_CANCEL)


class BaswareBackend(models.Model):
    _inherit = "basware.backend"

    def _basware_order_scope(self):
        """The backend company's confirmed and cancelled purchase orders; cancelled ones come along
        sent or not, as the sync engine sends only those with a binding (their lines as deleted)."""
        self.ensure_one()
        return Domain("company_id", "=", self.company_id.id) & Domain(
            "state", "in", MATCHING_ORDER_STATES
        )

    def _basware_order_line_scope(self):
        """The lines of the orders in scope, sections and notes left out."""
        return Domain("order_id", "any", self._basware_order_scope()) & Domain(
            "display_type", "=", False
        )

    def _basware_order_line_records(self, orders):
        """The order lines of ``orders``, sections and notes left out (one query); whether a line is
        sent at all is ``line._basware_is_sendable()``."""
        self.ensure_one()
        return self.env["purchase.order.line"].search(
            Domain("order_id", "in", orders.ids) & Domain("display_type", "=", False),
            order="id",
        )

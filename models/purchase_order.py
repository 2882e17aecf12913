"""purchase.order for Basware: a confirmed order as a matching order, and its exchange history.

Order and line builders read only what the ORM prefetches in batches: a sync run builds thousands of
payloads from a few queries."""

from odoo import models
from odoo.tools import html2plaintext

from ..basware.client import format_datetime
from ..mapping.payload import compact
from .basware_payload import checked_code, field_label

ORDER_STATE_PURCHASE = "purchase"
ORDER_STATE_CANCEL = "cancel"
# Odoo 19 has no "done" state: a locked order is a confirmed one. The company setting
# "Lock Confirmed Orders" locks every order at confirmation; then locking says nothing.
PO_LOCK_AUTOMATIC = "lock"
ORDER_REFERENCE_MAX = 100
DESCRIPTION_MAX = 1000


class PurchaseOrder(models.Model):
    _name = "purchase.order"
    _inherit = ("purchase.order", "basware.history.mixin")

    def unlink(self):
        # The lines go with their order, in SQL: their bindings keep what tells Basware.
        self.order_line._basware_keep_removals()
        return super().unlink()

    def _basware_order_values(self, backend):
        """This order as a Basware OrderEntity (POST /v1/matchingOrders)."""
        self.ensure_one()
        values = {
            "externalCode": backend._basware_external_code(self),
            "orderNumber": self._basware_checked_number(),
            "sourceSystem": backend.source_system,
            "companyCode": self._basware_checked_setting(
                backend, "basware_company_code", "companyCode"
            ),
            "organizationElementCode": self._basware_checked_setting(
                backend, backend._basware_organization_element_field(), "organizationElementCode"
            ),
            "currencyCode": self.currency_id.name,
            "supplierCode": self.partner_id._basware_checked_code(backend, "supplierCode"),
            "created": format_datetime(self.date_approve or self.date_order),
            # Always sent, so a reopened order is reopened in Basware too.
            "isClosed": self._basware_is_closed(),
        }
        optional = {
            "paymentTermCode": (
                self.payment_term_id._basware_checked_code(backend)
                if self.payment_term_id
                else None
            ),
            "description": html2plaintext(self.note or "").strip()[:DESCRIPTION_MAX],
            "orderReference": (self.partner_ref or "").strip()[:ORDER_REFERENCE_MAX],
            "requestedDeliveryDate": (
                format_datetime(self.date_planned) if self.date_planned else None
            ),
        }
        return {**values, **compact(optional)}

    def _basware_checked_number(self):
        return checked_code(
            self,
            self.name,
            "orderNumber",
            self.env._("Purchase order"),
            field_label(self, "name"),
        )

    def _basware_checked_setting(self, backend, field_name, basware_field):
        """A code set on ``backend`` (its company code or organization element) for
        ``basware_field``, refused on this order when Basware cannot take it."""
        source = self.env._(
            "%(field)s of the backend %(backend)s",
            field=field_label(backend, field_name),
            backend=backend.display_name,
        )
        # Without a company code no order can go: the whole run stops and says so.
        code = (backend[field_name] or "").strip() or backend._basware_company_code()
        return checked_code(self, code, basware_field, self.env._("Purchase order"), source)

    def _basware_is_closed(self):
        """Cancelled, or locked on purpose (not by the automatic lock at confirmation)."""
        self.ensure_one()
        if self.state == ORDER_STATE_CANCEL:
            return True
        return bool(self.locked and self.company_id.po_lock != PO_LOCK_AUTOMATIC)

"""The records each outbound flow examines: those changed since the flow's high-water mark,
themselves or through a related record, found in one SQL query per set, and those held
back earlier. The sending facet (basware_backend_outbound.py) builds and queues them."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from odoo import models
from odoo.fields import Domain
from odoo.tools import SQL

from ..basware import constants as bw
from . import basware_binding as binding_model
from . import basware_exchange as queue
from . import basware_sync_flow as flow_model
from .purchase_order import ORDER_STATE_CANCEL

# The start of this transaction and the earliest start of the other open ones, read by
# the transaction's first query, with its snapshot: what the others write is not visible
# to this run, and carries their start as write date.
NEW_MARK_QUERY = """
    SELECT now() AT TIME ZONE 'UTC',
           (SELECT min(xact_start) AT TIME ZONE 'UTC'
              FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()
               AND xact_start IS NOT NULL)
"""
# Records changed this long before the mark are examined again, in case a write escaped
# the mark (a clock step, a commit in the instant the mark is read): their unchanged
# payload hash keeps them from being sent twice.
CHANGE_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class RelatedChange:
    """A change of a record of ``model`` changes the record its ``field`` names: records
    whose ``stamp`` (their write date, or one reached through a path) passed the mark."""

    model: str
    field: str
    stamp: str = "write_date"


# What else changes the payload of a vendor (its own bank accounts, its contacts and
# addresses), a payment term (its lines) and an order (its lines and their receipts).
VENDOR_CHANGES = (
    RelatedChange("res.partner.bank", "partner_id"),
    RelatedChange("res.partner", "parent_id"),
)
PAYMENT_TERM_CHANGES = (RelatedChange("account.payment.term.line", "payment_id"),)
ORDER_CHANGES = (RelatedChange("purchase.order.line", "order_id"),)
RECEIPT_CHANGES = (RelatedChange("purchase.order.line", "order_id", "move_ids.write_date"),)


# The method giving the OutboundSets of each flow.
FLOW_SETS = {
    flow_model.FLOW_PAYMENT_TERM: "_basware_sets_payment_term",
    flow_model.FLOW_TAX_CODE: "_basware_sets_tax_code",
    flow_model.FLOW_ACCOUNT: "_basware_sets_account",
    flow_model.FLOW_ANALYTIC: "_basware_sets_analytic",
    flow_model.FLOW_VENDOR: "_basware_sets_vendor",
    flow_model.FLOW_PURCHASE_ORDER: "_basware_sets_purchase_order",
}


@dataclass
class OutboundSet:
    """Records of one Basware entity to examine, and how to send them."""

    entity: str
    kind: str
    endpoint: str
    records: object
    build: Callable
    code_key: str
    # record -> the records Basware must have accepted before this one is sent
    dependencies: "Callable | None" = None


class BaswareBackend(models.Model):
    _inherit = "basware.backend"

    # === SETS OF EACH FLOW === #

    def _basware_flow_sets(self, flow, since):
        """The OutboundSets of one flow, in the order they must be sent."""
        return getattr(self, FLOW_SETS[flow])(since)

    def _basware_sets_payment_term(self, since):
        records = self._basware_changed(
            "account.payment.term",
            self._basware_payment_term_scope(),
            since,
            PAYMENT_TERM_CHANGES,
        )
        return [
            OutboundSet(
                binding_model.ENTITY_PAYMENT_TERM,
                queue.KIND_PAYMENT_TERM,
                bw.PAYMENT_TERMS_PATH,
                records,
                lambda term: term._basware_payment_term_values(self),
                "paymentTermCode",
            )
        ]

    def _basware_sets_tax_code(self, since):
        return [
            OutboundSet(
                binding_model.ENTITY_TAX_CODE,
                queue.KIND_TAX_CODE,
                bw.TAX_CODES_PATH,
                self._basware_changed("account.tax", self._basware_tax_scope(), since),
                lambda tax: tax._basware_tax_code_values(self),
                "taxCode",
            )
        ]

    def _basware_sets_account(self, since):
        return [
            OutboundSet(
                binding_model.ENTITY_ACCOUNT,
                queue.KIND_ACCOUNT,
                bw.ACCOUNTS_PATH,
                self._basware_changed("account.account", self._basware_account_scope(), since),
                lambda account: account._basware_account_values(self),
                "accountCode",
            )
        ]

    def _basware_sets_analytic(self, since):
        sets = []
        for mapping in self.analytic_mapping_ids.filtered("active"):
            endpoint = mapping._get_endpoint()
            if not endpoint:
                continue
            scope = self._basware_analytic_scope(mapping)
            sets.append(
                OutboundSet(
                    mapping._binding_entity(),
                    queue.KIND_ANALYTIC,
                    endpoint,
                    self._basware_changed("account.analytic.account", scope, since),
                    lambda analytic, mapping=mapping: analytic._basware_dimension_values(
                        self, mapping
                    ),
                    mapping._code_key(),
                )
            )
        return sets

    def _basware_sets_vendor(self, since):
        records = self._basware_changed(
            "res.partner",
            self._basware_vendor_scope(),
            since,
            VENDOR_CHANGES,
            binding_model.ENTITY_VENDOR,
        )
        return [
            OutboundSet(
                binding_model.ENTITY_VENDOR,
                queue.KIND_VENDOR,
                bw.VENDORS_PATH,
                records,
                lambda partner: partner._basware_vendor_values(self),
                "vendorCode",
            )
        ]

    def _basware_sets_purchase_order(self, since):
        related = ORDER_CHANGES
        if "move_ids" in self.env["purchase.order.line"]._fields:
            related += RECEIPT_CHANGES
        orders = self._basware_changed(
            "purchase.order",
            self._basware_order_scope(),
            since,
            related,
            binding_model.ENTITY_ORDER,
        )
        orders = self._basware_drop_unsent_cancelled(orders)
        lines = self._basware_order_line_records(orders) | self._basware_waiting(
            "purchase.order.line",
            self._basware_order_line_scope(),
            binding_model.ENTITY_ORDER_LINE,
        )
        sets = [
            OutboundSet(
                binding_model.ENTITY_ORDER,
                queue.KIND_PURCHASE_ORDER,
                bw.MATCHING_ORDERS_PATH,
                orders,
                lambda order: order._basware_order_values(self),
                "orderNumber",
                dependencies=lambda order: order.partner_id.commercial_partner_id,
            ),
            OutboundSet(
                binding_model.ENTITY_ORDER_LINE,
                queue.KIND_PURCHASE_ORDER_LINE,
                bw.MATCHING_ORDER_LINES_PATH,
                lines,
                lambda line: line._basware_order_line_values(self),
                "lineNumber",
                dependencies=lambda line: line.order_id,
            ),
        ]
        removed_lines, removals = self._basware_removed(
            "purchase.order.line", binding_model.ENTITY_ORDER_LINE
        )
        if removed_lines:
            # Lines deleted in Odoo: Basware has their order already, so nothing waits.
            sets.append(
                OutboundSet(
                    binding_model.ENTITY_ORDER_LINE,
                    queue.KIND_PURCHASE_ORDER_LINE,
                    bw.MATCHING_ORDER_LINES_PATH,
                    removed_lines,
                    lambda line: removals[line.id],
                    "lineNumber",
                )
            )
        return sets

    def _basware_drop_unsent_cancelled(self, orders):
        """A cancelled order goes out (closed) only when Basware knows it already."""
        cancelled = orders.filtered(lambda order: order.state == ORDER_STATE_CANCEL)
        if not cancelled:
            return orders
        known = self.env["basware.binding"]._for_records(self, cancelled)
        return orders - cancelled.filtered(lambda order: order.id not in known)

    # === CHANGE DETECTION === #

    def _basware_changed(self, model_name, scope, since, related=(), entity=None):
        """The records of ``scope`` (a domain of ``model_name``) to examine, in one query: all when
        there is no mark, else those changed since ``since`` (less the margin), directly or through
        ``related``, plus those of ``entity`` held back; unchanged records are never read."""
        model = self.env[model_name].with_context(active_test=False)
        if since:
            selected = [self._basware_changed_ids(model, since - CHANGE_MARGIN, related)]
            if entity:
                selected.append(self._basware_waiting_ids(entity))
            scope = scope & Domain("id", "any!", SQL(" UNION ").join(selected))
        return model.search(scope, order="id")

    def _basware_changed_ids(self, model, since, related):
        """SQL: the ids of the records of ``model`` written since ``since``, and of those
        the records of ``related`` written since then name."""
        queries = [model._search(Domain("write_date", ">=", since)).subselect()]
        for change in related:
            changing = self.env[change.model].with_context(active_test=False)
            query = changing._search(
                Domain(change.stamp, ">=", since) & Domain(change.field, "!=", False)
            )
            owner = changing._field_to_sql(query.table, change.field, query)
            queries.append(query.subselect(owner))
        return SQL(" UNION ").join(queries)

    def _basware_waiting_ids(self, entity):
        """SQL: the ids of the records of ``entity`` held back earlier."""
        bindings = self.env["basware.binding"]
        query = bindings._search(
            [
                ("backend_id", "=", self.id),
                ("entity", "=", entity),
                ("sync_state", "=", binding_model.SYNC_WAITING),
            ]
        )
        return query.subselect(bindings._field_to_sql(query.table, "res_id", query))

    def _basware_waiting(self, model_name, scope, entity):
        """Records of ``scope`` held back earlier: examined again at every run."""
        model = self.env[model_name].with_context(active_test=False)
        waiting = Domain("id", "any!", self._basware_waiting_ids(entity))
        return model.search(scope & waiting, order="id")

    def _basware_removed(self, model_name, entity):
        """Records of ``entity`` Odoo deleted, whose deletion Basware has not been sent:
        (the deleted records, {id: payload kept on its binding when it was deleted})."""
        bindings = self.env["basware.binding"].search(
            [
                ("backend_id", "=", self.id),
                ("entity", "=", entity),
                ("removal_payload", "!=", False),
                ("payload_hash", "=", False),
            ]
        )
        payloads = {binding.res_id: json.loads(binding.removal_payload) for binding in bindings}
        return self.env[model_name].browse(list(payloads)), payloads

    def _basware_new_mark(self):
        """The next high-water mark: the start of this transaction, or of an older open one. Read at
        the snapshot of the transaction's first query (see _basware_run_flow): a write this run
        cannot see is dated no earlier than the mark, so the next run examines it."""
        self.env.cr.execute(SQL(NEW_MARK_QUERY))
        now, oldest = self.env.cr.fetchone()
        return min(now, oldest) if oldest else now

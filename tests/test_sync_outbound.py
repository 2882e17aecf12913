"""The outbound flows end to end: Odoo records → bindings → exchanges → the sandbox over
HTTP → phase two → Basware's answer on the binding and on the record."""

import json

from odoo import Command
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..basware import constants as bw
from ..sandbox.validation import Validator
from .common import QueueCase
from .stock_common import receive

QUEUE_LOGGER = "odoo.addons.basware_connector.models.basware_exchange"
SCHEMAS = {
    "vendors": "VendorEntity",
    "accounts": "AccountEntity",
    "taxCodes": "TaxCodeEntity",
    "paymentTerms": "PaymentTermEntity",
    "costCenters": "CostCenterEntity",
    "matchingOrders": "OrderEntity",
    "matchingOrderLines": "OrderLineEntity",
}


class SyncCase(QueueCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Binding = cls.env["basware.binding"]
        cls.Partner = cls.env["res.partner"]
        cls.vendor = cls.Partner.create(
            {
                "name": "Nordic Paper Oy",
                "is_company": True,
                "supplier_rank": 1,
                "vat": "FI12345671",
                "street": "Paperikatu 1",
                "zip": "00100",
                "city": "Helsinki",
                "country_id": cls.env.ref("base.fi").id,
                "email": "ap@nordicpaper.example",
            }
        )

    @classmethod
    def _confirmed_order(cls, name, code, quantity, price):
        """A confirmed purchase order of the vendor with one line of a new product."""
        product = cls.env["product.product"].create(
            {"name": name, "default_code": code, "type": "consu"}
        )
        order = cls.env["purchase.order"].create(
            {
                "partner_id": cls.vendor.id,
                "order_line": [
                    Command.create(
                        {"product_id": product.id, "product_qty": quantity, "price_unit": price}
                    )
                ],
            }
        )
        order.button_confirm()
        return product, order

    def _sync(self, flows=None):
        return self.backend._basware_sync_outbound(flows=flows)

    def _run_queue(self):
        """Run every due exchange, phase two included, until the queue is empty."""
        for _round in range(10):
            self.Exchange._process_backend_queue(self.backend, limit=1000)
            if not self.Exchange._due_count(self.backend):
                return

    def _binding(self, record):
        domain = [
            ("backend_id", "=", self.backend.id),
            ("res_model", "=", record._name),
            ("res_id", "=", record.id),
        ]
        return self.Binding.search(domain)

    def _posts(self, path):
        return [
            entry
            for entry in self.sandbox.requests
            if entry["method"] == "POST" and entry["path"] == path
        ]


@tagged("post_install", "-at_install")
class TestVendorFlow(SyncCase):
    def test_vendor_created_updated_and_archived(self):
        self._sync(["vendor"])
        binding = self._binding(self.vendor)
        self.assertEqual(binding.sync_state, "sent")
        self.assertEqual(binding.code, self.vendor._basware_vendor_code(self.backend))
        self.assertEqual(len(binding.external_code), 36)
        self._run_queue()
        self.assertEqual(binding.sync_state, "done", binding.sync_message)
        stored = {v["externalCode"]: v for v in self.sandbox.received("vendors")}
        self.assertEqual(stored[binding.external_code]["name"], "Nordic Paper Oy")

        self.vendor.name = "Nordic Paper Group Oy"
        self._sync(["vendor"])
        self._run_queue()
        stored = {v["externalCode"]: v for v in self.sandbox.received("vendors")}
        self.assertEqual(stored[binding.external_code]["name"], "Nordic Paper Group Oy")

        self.vendor.action_archive()
        self._sync(["vendor"])
        self._run_queue()
        stored = {v["externalCode"]: v for v in self.sandbox.received("vendors")}
        self.assertIs(stored[binding.external_code]["processingStatus"]["active"], False)
        self.assertEqual(len(binding.exchange_ids), 3, "each write is in the record's history")

    def test_unchanged_vendor_is_not_resent_but_a_new_bank_account_is(self):
        self._sync(["vendor"])
        self._run_queue()
        self.sandbox.clear_requests()
        results = self._sync(["vendor"])
        self.assertEqual(sum(result.sent for result in results), 0)
        self.assertFalse(self._posts(bw.VENDORS_PATH))
        self.env["res.partner.bank"].create(
            {
                "partner_id": self.vendor.id,
                "acc_number": "FI2112345600000785",
                "allow_out_payment": True,
            }
        )
        results = self._sync(["vendor"])
        self.assertEqual(sum(result.sent for result in results), 1)
        self._run_queue()
        stored = {v["externalCode"]: v for v in self.sandbox.received("vendors")}
        payment_means = stored[self._binding(self.vendor).external_code]["paymentMeans"]
        self.assertIn("FI2112345600000785", json.dumps(payment_means))

    def test_contact_change_sends_its_company(self):
        self._sync(["vendor"])
        self._run_queue()
        contact = self.Partner.create(
            {
                "name": "Nordic Paper Warehouse",
                "parent_id": self.vendor.id,
                "type": "delivery",
                "street": "Varastotie 9",
                "city": "Vantaa",
            }
        )
        self.assertFalse(self._binding(contact))
        results = self._sync(["vendor"])
        self.assertEqual(sum(result.sent for result in results), 1)
        self.assertFalse(self._binding(contact), "a contact goes out with its company")

    def test_450_vendors_are_three_exchanges(self):
        self.Partner.create(
            [{"name": f"Bulk Vendor {index}", "supplier_rank": 1} for index in range(449)]
        )
        results = self._sync(["vendor"])
        exchanges = results[0].exchanges
        self.assertEqual(len(exchanges), 3)
        self.assertEqual(len(exchanges.binding_ids), 450)
        self._run_queue()
        self.assertEqual(len(self._posts(bw.VENDORS_PATH)), 3)
        self.assertEqual(set(exchanges.binding_ids.mapped("sync_state")), {"done"})

    def test_not_processed_counts_as_done(self):
        self._sync(["vendor"])
        self._run_queue()
        self.backend.sync_flow_ids.filtered(lambda flow: flow.flow == "vendor").action_resync()
        self._sync(["vendor"])
        self._run_queue()
        binding = self._binding(self.vendor)
        self.assertEqual(binding.sync_state, "done")
        self.assertEqual(binding.basware_status, "NotProcessed")

    def test_preview_sends_nothing(self):
        self.sandbox.clear_requests()
        action = self.backend.with_user(self.manager).action_preview_sync()
        preview = self.env["basware.sync.preview"].browse(action["res_id"])
        vendors = preview.line_ids.filtered(lambda line: line.entity == "vendor")
        self.assertEqual(vendors.to_send, 1)
        self.assertIn("Nordic Paper Oy", vendors.sample_payload)
        self.assertFalse(self.sandbox.requests)
        self.assertFalse(self._binding(self.vendor))
        self.assertFalse(self.Exchange.search([("backend_id", "=", self.backend.id)]))

    @mute_logger("odoo.addons.basware_connector.basware.client")
    def test_rate_limit_mid_sync_waits_and_loses_nothing(self):
        self.backend.request_max_attempts = 3
        self.Partner.create(
            [{"name": f"Rated Vendor {index}", "supplier_rank": 1} for index in range(399)]
        )
        self._sync(["vendor"])
        self.sandbox.fail_next(429, count=1, retry_after=1, path_prefix=bw.VENDORS_PATH)
        self._run_queue()
        bindings = self.Binding.search([("backend_id", "=", self.backend.id)])
        self.assertEqual(len(bindings), 400)
        self.assertEqual(set(bindings.mapped("sync_state")), {"done"})
        self.assertEqual(len(self.sandbox.received("vendors")), 400)

    def test_sync_now_over_the_action(self):
        result = self.backend.with_user(self.manager).action_sync_now()
        self.assertEqual(result["params"]["type"], "success")
        self.assertTrue(self._posts(bw.VENDORS_PATH))
        # With no phase-two delay, the same call also read Basware's answer.
        self.assertEqual(self._binding(self.vendor).sync_state, "done")


@tagged("post_install", "-at_install")
class TestPurchaseOrderFlow(SyncCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.product, cls.order = cls._confirmed_order("A4 paper", "PAPER-A4", 10, 4.5)

    def test_order_waits_for_its_vendor_then_goes_with_its_lines(self):
        self._sync(["purchase_order"])
        order_binding = self._binding(self.order)
        self.assertEqual(order_binding.sync_state, "waiting")
        self.assertIn("Waiting", order_binding.sync_message)
        self.assertFalse(self._posts(bw.MATCHING_ORDERS_PATH), "no dangling supplierCode")

        self._sync(["vendor"])
        self._run_queue()
        self._sync(["purchase_order"])
        self.assertEqual(order_binding.sync_state, "sent")
        line_binding = self._binding(self.order.order_line)
        self.assertEqual(line_binding.sync_state, "waiting", "a line waits for its order")
        self._run_queue()
        self.assertEqual(order_binding.sync_state, "done", order_binding.sync_message)
        self._sync(["purchase_order"])
        self._run_queue()
        self.assertEqual(line_binding.sync_state, "done", line_binding.sync_message)
        self.assertEqual(len(self.sandbox.received("matchingOrderLines")), 1)

    def test_phase_two_error_lands_on_the_binding_and_the_chatter(self):
        self._sync(["vendor"])
        self._run_queue()
        # Basware lost the vendor meanwhile: P2P refuses the order in phase two.
        self.sandbox.app.store.reset()
        self._sync(["purchase_order"])
        self._run_queue()
        binding = self._binding(self.order)
        self.assertEqual(binding.sync_state, "error")
        self.assertIn("not found", binding.sync_message)
        self.assertIn("Basware rejected", self.order.message_ids[0].body)

    def test_new_line_and_receipt_trigger_a_resend(self):
        self._sync(["vendor"])
        self._run_queue()
        self._sync(["purchase_order"])
        self._run_queue()
        self._sync(["purchase_order"])
        self._run_queue()
        self.sandbox.clear_requests()
        self._sync(["purchase_order"])
        self.assertFalse(self._posts(bw.MATCHING_ORDER_LINES_PATH), "nothing changed")
        receive(self.order, {self.order.order_line: 4})
        self._sync(["purchase_order"])
        self._run_queue()
        self.assertEqual(len(self._posts(bw.MATCHING_ORDER_LINES_PATH)), 1)


@tagged("post_install", "-at_install")
class TestBodiesFollowTheContract(SyncCase):
    def test_full_sync_bodies_validate_against_the_official_schemas(self):
        """Every record the sandbox stored from a full sync validates against Basware's
        OpenAPI (the sandbox already refuses invalid bodies with 400)."""
        self.backend.with_user(self.manager).action_sync_now()
        self._run_queue()
        self.backend._basware_sync_outbound()
        self._run_queue()
        validator = Validator()
        checked = 0
        for entity, schema in SCHEMAS.items():
            for record in self.sandbox.received(entity):
                record = {key: value for key, value in record.items() if key != "lastUpdated"}
                self.assertEqual(validator.errors(record, schema), [], entity)
                checked += 1
        self.assertGreater(checked, 0)
        failed = self.Exchange.search(
            [("backend_id", "=", self.backend.id), ("state", "in", ("failed", "dead"))]
        )
        self.assertFalse(failed, failed.mapped("error_message"))


@tagged("post_install", "-at_install")
class TestMasterDataFlows(SyncCase):
    """Each master-data entity is created, updated and archived in Basware."""

    def _stored(self, entity, record):
        code = self._binding(record).external_code
        return {item["externalCode"]: item for item in self.sandbox.received(entity)}.get(code)

    def _cycle(self, flow, entity, record, rename, active_key):
        self._sync([flow])
        self._run_queue()
        self.assertEqual(
            self._binding(record).sync_state, "done", self._binding(record).sync_message
        )
        self.assertTrue(self._stored(entity, record), f"{entity} created")
        rename(record)
        self._sync([flow])
        self._run_queue()
        self.assertIn("Renamed", json.dumps(self._stored(entity, record), ensure_ascii=False))
        record.action_archive()
        self._sync([flow])
        self._run_queue()
        stored = self._stored(entity, record)
        self.assertFalse(active_key(stored), f"archived {entity} goes out inactive")
        self.assertEqual(len(self._binding(record).exchange_ids), 3)

    @staticmethod
    def _company_active(stored):
        return all(company.get("active") for company in stored["companies"])

    def test_gl_account(self):
        account = self.env["account.account"].create(
            {"name": "Office supplies", "code": "651000", "account_type": "expense"}
        )
        self._cycle(
            "account",
            "accounts",
            account,
            lambda record: record.write({"name": "Renamed supplies"}),
            self._company_active,
        )

    def test_tax_code(self):
        tax = self.env["account.tax"].create(
            {"name": "Purchase 25.5%", "amount": 25.5, "type_tax_use": "purchase"}
        )
        self._cycle(
            "tax_code",
            "taxCodes",
            tax,
            lambda record: record.write({"name": "Renamed tax"}),
            self._company_active,
        )
        self.assertEqual(self._stored("taxCodes", tax)["taxPercentage"], 25.5)

    def test_payment_term(self):
        term = self.env["account.payment.term"].create(
            {"name": "Net 45", "line_ids": [Command.create({"value": "percent", "nb_days": 45})]}
        )
        self._cycle(
            "payment_term",
            "paymentTerms",
            term,
            lambda record: record.write({"name": "Renamed 45"}),
            self._company_active,
        )

    def test_cost_center(self):
        plan = self.backend.analytic_mapping_ids.plan_id
        self.assertTrue(plan, "a new backend maps the first analytic plan")
        analytic = self.env["account.analytic.account"].create(
            {"name": "Marketing", "code": "CC-MKT", "plan_id": plan.id}
        )
        self._cycle(
            "analytic",
            "costCenters",
            analytic,
            lambda record: record.write({"name": "Renamed marketing"}),
            self._company_active,
        )
        self.assertEqual(self._stored("costCenters", analytic)["costCenterCode"], "CC-MKT")


@tagged("post_install", "-at_install")
class TestPurchaseOrderChanges(SyncCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.product, cls.order = cls._confirmed_order("Toner", "TONER", 3, 60)

    def _sync_all(self):
        for _round in range(3):
            self._sync(["vendor", "purchase_order"])
            self._run_queue()

    def test_new_line_goes_out_and_a_cancelled_order_is_closed(self):
        self._sync_all()
        self.assertEqual(len(self.sandbox.received("matchingOrderLines")), 1)
        self.order.write(
            {
                "order_line": [
                    Command.create(
                        {"product_id": self.product.id, "product_qty": 2, "price_unit": 55}
                    )
                ]
            }
        )
        self._sync_all()
        self.assertEqual(len(self.sandbox.received("matchingOrderLines")), 2)
        self.order.button_cancel()
        self._sync_all()
        stored = {o["externalCode"]: o for o in self.sandbox.received("matchingOrders")}
        order = stored[self._binding(self.order).external_code]
        self.assertTrue(order["isClosed"])
        lines = self.sandbox.received("matchingOrderLines")
        self.assertTrue(all(line.get("isDeleted") or line.get("isClosed") for line in lines))

    def test_unsent_cancelled_order_never_goes_out(self):
        self.order.button_cancel()
        self._sync_all()
        self.assertFalse(self._binding(self.order))
        self.assertFalse(self.sandbox.received("matchingOrders"))


@tagged("post_install", "-at_install")
class TestHistoryButton(SyncCase):
    def test_vendor_history_lists_the_exchanges_that_carried_it(self):
        self._sync(["vendor"])
        self._run_queue()
        self.vendor.name = "Nordic Paper History"
        self._sync(["vendor"])
        self.assertEqual(self.vendor.basware_exchange_count, 2)
        action = self.vendor.with_user(self.manager).action_open_basware_history()
        exchanges = self.Exchange.search(action["domain"])
        self.assertEqual(len(exchanges), 2)
        self.assertEqual(set(exchanges.mapped("kind")), {"vendor"})

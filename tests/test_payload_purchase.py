from odoo import Command, fields
from odoo.tests import Form, tagged

from ..models.purchase_order_line import analytic_shares
from ..sandbox.validation import Validator
from .common import BaswareBackendCase, purchase_tax
from .stock_common import receive

ORDER_SCHEMA = "OrderEntity"
LINE_SCHEMA = "OrderLineEntity"
GROSS_FIELDS = {"grossSum", "grossPrice", "grossTotal", "invoicedGrossSum"}


def gross_fields(value):
    """Every gross field anywhere in a payload."""
    if isinstance(value, dict):
        found = GROSS_FIELDS & set(value)
        for item in value.values():
            found |= gross_fields(item)
        return found
    if isinstance(value, list):
        return set().union(*map(gross_fields, value)) if value else set()
    return set()


@tagged("post_install", "-at_install")
class TestPurchasePayloads(BaswareBackendCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.validator = Validator()
        cls.unit = cls.env.ref("uom.product_uom_unit")
        cls.dozen = cls.env.ref("uom.product_uom_dozen")
        cls.hour = cls.env.ref("uom.product_uom_hour")
        cls._setup_analytics()
        cls.vendor = cls.env["res.partner"].create(
            {"name": "Nordic Steel Oy", "ref": "V-1001", "supplier_rank": 1}
        )
        cls.tax_21 = cls._purchase_tax("Purchase 21%", 21.0, "VAT21")
        cls.tax_10 = cls._purchase_tax("Purchase 10%", 10.0, "VAT10")
        cls.expense = cls.env["account.account"].create(
            {"name": "Raw Materials", "code": "601100", "account_type": "expense"}
        )
        cls.bolts = cls._product(
            "Steel Bolts M8",
            "consu",
            default_code="BOLT-M8",
            property_account_expense_id=cls.expense.id,
        )
        cls.consulting = cls._product("Welding Consulting", "service", uom_id=cls.hour.id)
        cls.eggs = cls._product("Welding Rods", "consu", default_code="ROD-3")
        cls.payment_term = cls.env.ref("account.account_payment_term_30days")
        cls.payment_term.basware_code = "NET30"
        cls.order = cls._confirmed_order(
            [
                cls._line_values(
                    cls.bolts,
                    10,
                    12.5,
                    cls.tax_21,
                    discount=10.0,
                    analytic_distribution={str(cls.cc_north.id): 60, str(cls.cc_south.id): 40},
                ),
                cls._line_values(
                    cls.consulting,
                    8,
                    95.0,
                    cls.tax_10,
                    product_uom_id=cls.hour.id,
                    analytic_distribution={f"{cls.project.id},{cls.region.id}": 100},
                ),
                cls._line_values(cls.eggs, 5, 30.0, cls.tax_21, product_uom_id=cls.dozen.id),
            ],
            partner_ref="NS-PO-77",
            payment_term_id=cls.payment_term.id,
        )
        cls.bolt_line, cls.consulting_line, cls.rod_line = cls.order.order_line
        # Goods come by a receipt transfer (purchase_stock), services are received by hand.
        cls.receipt = receive(cls.order, {cls.bolt_line: 6, cls.rod_line: 5})
        cls.consulting_line.qty_received = 3
        cls._post_bill(cls.order, {cls.consulting_line: 2})

    @classmethod
    def _setup_analytics(cls):
        plans = cls.env["account.analytic.plan"]
        cls.cc_plan = plans.create({"name": "Cost Centers"})
        cls.project_plan = plans.create({"name": "Construction Projects"})
        cls.region_plan = plans.create({"name": "Regions"})  # not mapped
        accounts = cls.env["account.analytic.account"]
        cls.cc_north = accounts.create({"name": "North", "code": "CC-N", "plan_id": cls.cc_plan.id})
        cls.cc_south = accounts.create({"name": "South", "code": "CC-S", "plan_id": cls.cc_plan.id})
        cls.project = accounts.create(
            {"name": "Bridge", "code": "PRJ-7", "plan_id": cls.project_plan.id}
        )
        cls.region = accounts.create(
            {"name": "Nordics", "code": "RG-1", "plan_id": cls.region_plan.id}
        )
        cls.backend.analytic_mapping_ids.unlink()
        cls.env["basware.analytic.mapping"].create(
            [
                {"backend_id": cls.backend.id, "plan_id": cls.cc_plan.id, "target": "cost_center"},
                {"backend_id": cls.backend.id, "plan_id": cls.project_plan.id, "target": "project"},
            ]
        )

    @classmethod
    def _purchase_tax(cls, name, amount, code, **values):
        return purchase_tax(cls.env, name, amount, basware_code=code, **values)

    @classmethod
    def _product(cls, name, product_type, **values):
        return cls.env["product.product"].create(
            {"name": name, "type": product_type, "purchase_ok": True, **values}
        )

    @classmethod
    def _line_values(cls, product, quantity, price, taxes, **values):
        return {
            "product_id": product.id,
            "product_qty": quantity,
            "price_unit": price,
            "tax_ids": [Command.set(taxes.ids)],
            **values,
        }

    @classmethod
    def _confirmed_order(cls, lines, **values):
        order = cls.env["purchase.order"].create(
            {
                "partner_id": cls.vendor.id,
                "company_id": cls.company.id,
                "order_line": [Command.create(line) for line in lines],
                **values,
            }
        )
        order.button_confirm()
        return order

    @classmethod
    def _post_bill(cls, order, quantities):
        """Bill what is billable, with some lines at other quantities, and post it."""
        order.action_create_invoice()
        bill = order.invoice_ids
        for bill_line in bill.invoice_line_ids:
            if bill_line.purchase_line_id in quantities:
                bill_line.quantity = quantities[bill_line.purchase_line_id]
        bill.invoice_date = fields.Date.today()
        bill.action_post()
        return bill

    def assertValid(self, payload, schema):
        self.assertEqual(self.validator.errors(payload, schema), [])

    def code(self, record, suffix=""):
        return self.backend._basware_external_code(record, suffix=suffix)

    # Orders

    def test_order_values(self):
        payload = self.order._basware_order_values(self.backend)
        self.assertEqual(
            payload,
            {
                "externalCode": self.code(self.order),
                "orderNumber": self.order.name,
                "sourceSystem": "ODOO",
                "companyCode": "C100",
                "organizationElementCode": "C100",
                "currencyCode": self.order.currency_id.name,
                "supplierCode": "V-1001",
                "paymentTermCode": "NET30",
                "created": self.order.date_approve.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "isClosed": False,
                "orderReference": "NS-PO-77",
                "requestedDeliveryDate": self.order.date_planned.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
        self.assertEqual(len(payload["externalCode"]), 36)
        self.assertValid(payload, ORDER_SCHEMA)

    def test_order_optional_fields_left_out_when_empty(self):
        order = self._confirmed_order([self._line_values(self.bolts, 1, 5.0, self.tax_21)])
        order.write({"partner_ref": False, "payment_term_id": False, "note": "<p>Dock 4</p>"})
        payload = order._basware_order_values(self.backend)
        self.assertNotIn("orderReference", payload)
        self.assertNotIn("paymentTermCode", payload)
        self.assertEqual(payload["description"], "Dock 4")
        self.assertNotIn(None, payload.values())
        self.assertNotIn("", payload.values())
        self.assertValid(payload, ORDER_SCHEMA)

    def test_vendor_without_reference_gets_prefixed_id(self):
        self.vendor.ref = False
        payload = self.order._basware_order_values(self.backend)
        self.assertEqual(payload["supplierCode"], f"ODOO-{self.vendor.id}")

    def test_cancelled_order_is_closed_and_its_lines_deleted(self):
        order = self._confirmed_order([self._line_values(self.bolts, 4, 5.0, self.tax_21)])
        order.button_cancel()
        payload = order._basware_order_values(self.backend)
        self.assertIs(payload["isClosed"], True)
        line_payload = order.order_line._basware_order_line_values(self.backend)
        self.assertIs(line_payload["isDeleted"], True)
        self.assertIs(line_payload["isClosed"], True)
        self.assertValid(payload, ORDER_SCHEMA)
        self.assertValid(line_payload, LINE_SCHEMA)

    def test_locked_order_is_closed(self):
        order = self._confirmed_order([self._line_values(self.bolts, 4, 5.0, self.tax_21)])
        order.button_lock()
        self.assertIs(order._basware_order_values(self.backend)["isClosed"], True)
        line_payload = order.order_line._basware_order_line_values(self.backend)
        self.assertIs(line_payload["isClosed"], True)
        self.assertIs(line_payload["isDeleted"], False)
        order.button_unlock()
        self.assertIs(order._basware_order_values(self.backend)["isClosed"], False)

    def test_orders_locked_at_confirmation_stay_open(self):
        self.company.po_lock = "lock"
        order = self._confirmed_order([self._line_values(self.bolts, 4, 5.0, self.tax_21)])
        self.assertTrue(order.locked)
        self.assertIs(order._basware_order_values(self.backend)["isClosed"], False)

    # Lines

    def test_goods_line_with_analytic_split(self):
        payload = self.bolt_line._basware_order_line_values(self.backend)
        coding = payload.pop("orderLineCoding")
        receipts = payload.pop("goodsReceipts")
        self.assertEqual(
            payload,
            {
                "externalCode": self.code(self.bolt_line),
                "orderExternalCode": self.code(self.order),
                "lineNumber": str(self.bolt_line.id),
                "sortNumber": self.bolt_line.sequence,
                "quantity": 10.0,
                "matchingMode": "Standard",
                "currencyCode": self.order.currency_id.name,
                "netPrice": 11.25,
                "netSum": 112.5,
                "uom": "C62",
                "invoicedQuantity": 6.0,
                "invoicedNetSum": 67.5,
                "isClosed": False,
                "isDeleted": False,
                "isReceiptRequired": True,
                "isReceiptBasedMatching": False,
                "taxCode": "VAT21",
                "taxPercent": 21.0,
                "taxSum": 23.63,
                "productCode": "BOLT-M8",
                "productName": "Steel Bolts M8",
                "description": self.bolt_line.name,
                "requestedDeliveryDate": self.bolt_line.date_planned.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
        common = {"accountCode": "601100", "taxCode": "VAT21", "taxPercent": 21.0}
        self.assertEqual(
            coding,
            [
                {
                    "externalCode": self.code(self.bolt_line, ":coding:1"),
                    "rowIndex": 1,
                    "allocatedQuantity": 6.0,
                    "netTotal": 67.5,
                    "taxSum": 14.18,
                    "costCenterCode": "CC-N",
                    **common,
                },
                {
                    "externalCode": self.code(self.bolt_line, ":coding:2"),
                    "rowIndex": 2,
                    "allocatedQuantity": 4.0,
                    "netTotal": 45.0,
                    "taxSum": 9.45,
                    "costCenterCode": "CC-S",
                    **common,
                },
            ],
        )
        self.assertEqual(
            receipts,
            [
                {
                    "externalCode": self.code(self.receipt, f":{self.bolt_line.id}"),
                    "goodsReceiptNumber": self.receipt.name,
                    "quantity": 6.0,
                    "netSum": 67.5,
                    "deliveryDate": self.receipt.date_done.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            ],
        )
        self.assertValid(self.bolt_line._basware_order_line_values(self.backend), LINE_SCHEMA)

    def test_service_line(self):
        payload = self.consulting_line._basware_order_line_values(self.backend)
        self.assertEqual(payload["matchingMode"], "Service")
        self.assertIs(payload["isReceiptRequired"], True)
        self.assertIs(payload["isReceiptBasedMatching"], True)
        self.assertEqual(payload["uom"], "HUR")
        self.assertEqual((payload["quantity"], payload["netPrice"]), (8.0, 95.0))
        self.assertEqual((payload["invoicedQuantity"], payload["invoicedNetSum"]), (2.0, 190.0))
        self.assertEqual((payload["taxCode"], payload["taxPercent"]), ("VAT10", 10.0))
        self.assertNotIn("productCode", payload)
        # The Regions plan has no mapping: only the project code goes out.
        [row] = payload["orderLineCoding"]
        expense = self.consulting.product_tmpl_id._get_product_accounts()["expense"]
        self.assertEqual(row["projectCode"], "PRJ-7")
        self.assertEqual(row["accountCode"], expense.code)
        self.assertEqual((row["allocatedQuantity"], row["netTotal"]), (8.0, 760.0))
        self.assertNotIn("costCenterCode", row)
        # Received by hand, not by a transfer: one receipt of the whole line.
        self.assertEqual(
            payload["goodsReceipts"],
            [
                {
                    "externalCode": self.code(self.consulting_line, ":received"),
                    "goodsReceiptNumber": f"{self.order.name}-R",
                    "quantity": 3.0,
                    "netSum": 285.0,
                }
            ],
        )
        self.assertValid(payload, LINE_SCHEMA)

    def test_line_in_dozens_fully_received_and_billed_is_closed(self):
        self.assertEqual(self.rod_line.qty_invoiced, 5.0)
        payload = self.rod_line._basware_order_line_values(self.backend)
        self.assertEqual(payload["uom"], "DZN")
        self.assertEqual((payload["quantity"], payload["netSum"]), (5.0, 150.0))
        self.assertIs(payload["isClosed"], True)
        self.assertIs(payload["isDeleted"], False)
        [row] = payload["orderLineCoding"]
        self.assertEqual(
            (row["rowIndex"], row["allocatedQuantity"], row["netTotal"]), (1, 5.0, 150.0)
        )
        self.assertNotIn("costCenterCode", row)
        self.assertValid(payload, LINE_SCHEMA)

    def test_every_line_valid_and_net_only(self):
        for line in self.order.order_line:
            payload = line._basware_order_line_values(self.backend)
            self.assertValid(payload, LINE_SCHEMA)
            self.assertEqual(gross_fields(payload), set())
            self.assertAlmostEqual(payload["quantity"] * payload["netPrice"], payload["netSum"])
            coding = payload["orderLineCoding"]
            self.assertAlmostEqual(sum(r["allocatedQuantity"] for r in coding), payload["quantity"])
            self.assertAlmostEqual(sum(r["netTotal"] for r in coding), payload["netSum"])
            self.assertEqual([r["rowIndex"] for r in coding], list(range(1, len(coding) + 1)))
            self.assertEqual(len({r["externalCode"] for r in coding}), len(coding))
        self.assertEqual(gross_fields(self.order._basware_order_values(self.backend)), set())

    def test_price_included_tax_goes_out_net(self):
        tax = self._purchase_tax(
            "Purchase 25% incl.", 25.0, "VAT25I", price_include_override="tax_included"
        )
        order = self._confirmed_order([self._line_values(self.bolts, 3, 12.5, tax)])
        payload = order.order_line._basware_order_line_values(self.backend)
        self.assertEqual(payload["netPrice"], 10.0)
        self.assertEqual(payload["netSum"], 30.0)
        self.assertEqual(payload["taxPercent"], 25.0)
        self.assertValid(payload, LINE_SCHEMA)

    def test_partial_and_uneven_distribution_rows_add_up(self):
        order = self._confirmed_order(
            [
                self._line_values(
                    self.bolts,
                    7,
                    3.33,
                    self.tax_21,
                    analytic_distribution={
                        str(self.cc_north.id): 33.33,
                        str(self.cc_south.id): 33.33,
                    },
                )
            ]
        )
        payload = order.order_line._basware_order_line_values(self.backend)
        coding = payload["orderLineCoding"]
        self.assertEqual([row.get("costCenterCode") for row in coding], ["CC-N", "CC-S", None])
        self.assertAlmostEqual(sum(r["allocatedQuantity"] for r in coding), 7.0)
        self.assertAlmostEqual(sum(r["netTotal"] for r in coding), payload["netSum"])
        self.assertValid(payload, LINE_SCHEMA)

    def test_distribution_per_plan_is_crossed(self):
        """An analytic model per plan gives keys of one plan each, every plan at 100 %."""
        distribution = {
            str(self.cc_north.id): 50,
            str(self.cc_south.id): 50,
            str(self.project.id): 100,
        }
        order = self._confirmed_order(
            [
                self._line_values(
                    self.bolts, 4, 10.0, self.tax_21, analytic_distribution=distribution
                )
            ]
        )
        coding = order.order_line._basware_order_line_values(self.backend)["orderLineCoding"]
        self.assertEqual(
            [
                (
                    r.get("costCenterCode"),
                    r.get("projectCode"),
                    r["allocatedQuantity"],
                    r["netTotal"],
                )
                for r in coding
            ],
            [("CC-N", "PRJ-7", 2.0, 20.0), ("CC-S", "PRJ-7", 2.0, 20.0)],
        )

    def test_analytic_shares(self):
        self.assertEqual(analytic_shares([]), [({}, 100.0)])
        self.assertEqual(
            analytic_shares(
                [({"costCenterCode": "A", "projectCode": "P"}, 70), ({"costCenterCode": "B"}, 30)]
            ),
            [({"costCenterCode": "A", "projectCode": "P"}, 70.0), ({"costCenterCode": "B"}, 30.0)],
        )
        # Keys that differ only by unmapped plans come out as one row.
        self.assertEqual(
            analytic_shares([({"costCenterCode": "A"}, 40), ({"costCenterCode": "A"}, 60)]),
            [({"costCenterCode": "A"}, 100.0)],
        )

    def test_negative_line_is_a_return(self):
        order = self._confirmed_order([self._line_values(self.bolts, -2, 12.5, self.tax_21)])
        payload = order.order_line._basware_order_line_values(self.backend)
        self.assertEqual(payload["matchingMode"], "Return")
        self.assertEqual((payload["quantity"], payload["netSum"]), (2.0, 25.0))
        self.assertEqual(payload["orderLineCoding"][0]["allocatedQuantity"], 2.0)
        self.assertValid(payload, LINE_SCHEMA)

    def test_zero_quantity_lines_and_sections_are_not_sendable(self):
        order = self._confirmed_order(
            [
                self._line_values(self.bolts, 0, 12.5, self.tax_21),
                {"display_type": "line_section", "name": "Hardware", "product_qty": 0},
                self._line_values(self.bolts, 1, 12.5, self.tax_21),
            ]
        )
        zero, section, line = order.order_line.sorted("id")
        self.assertFalse(zero._basware_is_sendable())
        self.assertFalse(section._basware_is_sendable())
        self.assertTrue(line._basware_is_sendable())

    def test_no_receipt_before_anything_is_received(self):
        order = self._confirmed_order([self._line_values(self.bolts, 3, 12.5, self.tax_21)])
        self.assertEqual(
            order.order_line._basware_order_line_values(self.backend)["goodsReceipts"], []
        )

    # Units

    def test_unit_codes(self):
        self.assertEqual(self.unit._basware_unit_code(), "C62")
        self.assertEqual(self.dozen._basware_unit_code(), "DZN")
        self.assertEqual(self.env.ref("uom.product_uom_kgm")._basware_unit_code(), "KGM")
        self.assertEqual(self.env.ref("uom.product_uom_litre")._basware_unit_code(), "LTR")
        pallet = self.env["uom.uom"].create(
            {"name": "Pallet", "relative_factor": 40, "relative_uom_id": self.unit.id}
        )
        self.assertEqual(pallet._basware_unit_code(), "C62")
        pallet.basware_unit_code = "pf "
        self.assertEqual(pallet._basware_unit_code(), "PF")
        self.dozen.basware_unit_code = "C62"
        self.assertEqual(self.rod_line._basware_order_line_values(self.backend)["uom"], "C62")

    # Purity and selection

    def test_builders_do_not_write(self):
        self.env.flush_all()
        with self.env.cr.savepoint(flush=False):
            self.env.cr.execute("SET TRANSACTION READ ONLY")
            order_payload = self.order._basware_order_values(self.backend)
            line_payloads = [
                line._basware_order_line_values(self.backend) for line in self.order.order_line
            ]
            self.env.flush_all()  # a pending write would fail in a read-only transaction
        self.env.invalidate_all()
        self.assertEqual(self.order._basware_order_values(self.backend), order_payload)
        self.assertEqual(
            [line._basware_order_line_values(self.backend) for line in self.order.order_line],
            line_payloads,
        )

    def test_query_count_does_not_grow_with_the_orders(self):
        orders = self.order | self._many_orders(1)
        small = self._count_build_queries(orders)
        orders = self.order | self._many_orders(8)
        large = self._count_build_queries(orders)
        # Seven more orders: a query per record would add at least seven.
        self.assertLessEqual(large, small + 3)

    def _many_orders(self, count):
        orders = self.env["purchase.order"]
        for _index in range(count):
            orders |= self._confirmed_order(
                [
                    self._line_values(
                        self.bolts,
                        2,
                        5.0,
                        self.tax_21,
                        analytic_distribution={str(self.cc_north.id): 100},
                    ),
                    self._line_values(
                        self.consulting, 1, 50.0, self.tax_10, product_uom_id=self.hour.id
                    ),
                ]
            )
        return orders

    def _count_build_queries(self, orders):
        self.env.flush_all()
        self.env.invalidate_all()
        orders = self.env["purchase.order"].browse(orders.ids)
        before = self.env.cr.sql_log_count
        for order in orders:
            order._basware_order_values(self.backend)
        for line in self.backend._basware_order_line_records(orders):
            line._basware_order_line_values(self.backend)
        return self.env.cr.sql_log_count - before

    def test_order_and_line_records(self):
        draft = self.env["purchase.order"].create(
            {
                "partner_id": self.vendor.id,
                "order_line": [Command.create(self._line_values(self.bolts, 1, 1.0, self.tax_21))],
            }
        )
        cancelled = self._confirmed_order([self._line_values(self.bolts, 1, 1.0, self.tax_21)])
        cancelled.button_cancel()
        other_company = self.env["res.company"].create({"name": "Other Co"})
        foreign = self.env["purchase.order"].create(
            {"partner_id": self.vendor.id, "company_id": other_company.id}
        )
        orders = self.backend._basware_changed(
            "purchase.order", self.backend._basware_order_scope(), False
        )
        self.assertIn(self.order, orders)
        self.assertIn(cancelled, orders)
        self.assertNotIn(draft, orders)
        self.assertNotIn(foreign, orders)
        self.order.order_line = [
            Command.create({"display_type": "line_note", "name": "Fragile", "product_qty": 0})
        ]
        lines = self.backend._basware_order_line_records(self.order)
        self.assertEqual(lines, self.order.order_line.filtered(lambda line: not line.display_type))
        self.assertEqual(len(lines), 3)


@tagged("post_install", "-at_install")
class TestPurchaseStockReceipts(BaswareBackendCase):
    """Receipts from transfers (purchase_stock) and returns to the vendor."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vendor = cls.env["res.partner"].create({"name": "Steel Mill", "ref": "V-2002"})
        cls.bolts = cls.env["product.product"].create(
            {"name": "Anchor Bolts", "type": "consu", "is_storable": True}
        )
        cls.order = cls.env["purchase.order"].create(
            {
                "partner_id": cls.vendor.id,
                "order_line": [
                    Command.create(
                        {"product_id": cls.bolts.id, "product_qty": 10, "price_unit": 4.0}
                    )
                ],
            }
        )
        cls.order.button_confirm()
        cls.line = cls.order.order_line

    @staticmethod
    def _done(picking, quantity):
        picking.move_ids.quantity = quantity
        picking.move_ids.picked = True
        picking.with_context(cancel_backorder=False)._action_done()

    def _return(self, picking, quantity):
        wizard = Form(
            self.env["stock.return.picking"].with_context(
                active_id=picking.id, active_ids=picking.ids, active_model="stock.picking"
            )
        ).save()
        wizard.product_return_moves.quantity = quantity
        returned = self.env["stock.picking"].browse(wizard.action_create_returns()["res_id"])
        self._done(returned, quantity)
        return returned

    def test_one_receipt_per_transfer_and_returns_reverse_theirs(self):
        first = self.order.picking_ids
        self._done(first, 4)
        backorder = self.order.picking_ids - first
        self._done(backorder, 6)
        returned = self._return(first, 1)
        self.assertEqual(self.line.qty_received, 9)

        payload = self.line._basware_order_line_values(self.backend)
        code = self.backend._basware_external_code
        suffix = f":{self.line.id}"
        receipts = [
            (r["externalCode"], r["goodsReceiptNumber"], r["quantity"], r["netSum"])
            for r in payload["goodsReceipts"]
        ]
        self.assertEqual(
            receipts,
            [
                (code(first, suffix), first.name, 4.0, 16.0),
                (code(backorder, suffix), backorder.name, 6.0, 24.0),
                (code(returned, suffix), returned.name, -1.0, -4.0),
            ],
        )
        self.assertEqual(
            payload["goodsReceipts"][2]["referenceGRExternalCode"], code(first, suffix)
        )
        self.assertIn("deliveryDate", payload["goodsReceipts"][0])
        self.assertEqual(Validator().errors(payload, LINE_SCHEMA), [])

    def test_return_without_its_receipt_reduces_the_latest(self):
        first = self.order.picking_ids
        self._done(first, 4)
        backorder = self.order.picking_ids - first
        self._done(backorder, 3)
        supplier = self.env.ref("stock.stock_location_suppliers")
        stock = self.env.ref("stock.stock_location_stock")
        returned = self.env["stock.picking"].create(
            {
                "picking_type_id": self.env.ref("stock.picking_type_out").id,
                "partner_id": self.vendor.id,
                "location_id": stock.id,
                "location_dest_id": supplier.id,
                "move_ids": [
                    Command.create(
                        {
                            "product_id": self.bolts.id,
                            "product_uom_qty": 5,
                            "location_id": stock.id,
                            "location_dest_id": supplier.id,
                            "purchase_line_id": self.line.id,
                        }
                    )
                ],
            }
        )
        returned.action_confirm()
        self._done(returned, 5)
        self.assertEqual(self.line.qty_received, 2)

        receipts = self.line._basware_order_line_values(self.backend)["goodsReceipts"]
        self.assertEqual(
            [(r["goodsReceiptNumber"], r["quantity"], r["netSum"]) for r in receipts],
            [(first.name, 2.0, 8.0), (backorder.name, 0.0, 0.0)],
        )

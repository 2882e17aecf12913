"""Taxes as Basware gets them: the rate a tax really charges and the rate it
self-assesses (reverse charge shaped as Odoo's charts model it), on tax codes and on
order lines, and the order lines whose taxes Basware's one tax per line cannot carry.

Everything goes to the sandbox over HTTP, which refuses a body its contract rejects.
"""

from odoo import Command
from odoo.tests import tagged

from ..models.basware_payload import RecordRefused
from ..sandbox.validation import Validator
from .common import purchase_tax
from .test_invoice_rules import reverse_charge_tax
from .test_sync_outbound import SyncCase

ORDER_FLOWS = ["vendor", "purchase_order"]


@tagged("post_install", "-at_install")
class TaxCase(SyncCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.validator = Validator()
        cls.eu_goods = reverse_charge_tax(cls.env, "21% EU G", 21.0, basware_code="EU21G")
        cls.eu_goods_d50 = reverse_charge_tax(
            cls.env, "21% EU G D50", 21.0, deductible=50.0, basware_code="EU21GD50"
        )
        cls.tax_24 = cls._purchase_tax("24%", 24.0, basware_code="VAT24")
        cls.tax_10 = cls._purchase_tax("10%", 10.0, basware_code="VAT10")

    @classmethod
    def _purchase_tax(cls, name, amount, **values):
        return purchase_tax(cls.env, name, amount, **values)

    def _sync_all(self, flows):
        for _round in range(3):
            self._sync(flows)
            self._run_queue()

    def _stored(self, entity, record):
        code = self._binding(record).external_code
        return {item["externalCode"]: item for item in self.sandbox.received(entity)}.get(code)


@tagged("post_install", "-at_install")
class TestTaxCodeRates(TaxCase):
    def test_tax_code_goes_out_at_the_rate_it_charges_and_the_rate_it_self_assesses(self):
        for tax, rates in (
            (self.eu_goods, (0.0, 21.0)),
            (self.eu_goods_d50, (0.0, 21.0)),
            (self.tax_24, (24.0, None)),
        ):
            with self.subTest(tax=tax.name):
                payload = tax._basware_tax_code_values(self.backend)
                self.assertEqual((payload["taxPercentage"], payload.get("taxPercentage2")), rates)
                self.assertEqual(self.validator.errors(payload, "TaxCodeEntity"), [])

    def test_tax_codes_reach_basware_with_both_rates(self):
        self._sync(["tax_code"])
        self._run_queue()
        for tax in (self.eu_goods, self.tax_24):
            binding = self._binding(tax)
            self.assertEqual(binding.sync_state, "done", binding.sync_message)
        stored = self._stored("taxCodes", self.eu_goods)
        self.assertEqual((stored["taxPercentage"], stored["taxPercentage2"]), (0.0, 21.0))
        stored = self._stored("taxCodes", self.tax_24)
        self.assertEqual(stored["taxPercentage"], 24.0)
        self.assertIsNone(stored.get("taxPercentage2"))

    def test_rates_of_a_reverse_charge_group_a_withholding_and_a_division_tax(self):
        children = {"type_tax_use": "none"}
        group = self._purchase_tax(
            "8.1% reverse charge",
            0.0,
            amount_type="group",
            children_tax_ids=[
                Command.create({**children, "name": "8.1% due", "amount": -8.1}),
                Command.create({**children, "name": "8.1% deductible", "amount": 8.1}),
            ],
        )
        self.assertEqual(tuple(group._basware_rates()), (0.0, 8.1))
        self.assertEqual(group._basware_tax_code_values(self.backend)["taxPercentage2"], 8.1)
        # A withholding written as a -100 % repartition line charges less, self-assesses
        # nothing.
        withholding = self._purchase_tax("15% withheld", 15.0)
        withholding.invoice_repartition_line_ids.filtered(
            lambda line: line.repartition_type == "tax"
        ).factor_percent = -100.0
        self.assertEqual(tuple(withholding._basware_rates()), (-15.0, 0.0))
        # 10 % of the total is 11.1111 % of the net.
        division = self._purchase_tax("10% of total", 10.0, amount_type="division")
        self.assertEqual(tuple(division._basware_rates()), (11.1111, 0.0))


@tagged("post_install", "-at_install")
class TestOrderLineTaxes(TaxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.expense = cls.env["account.account"].create(
            {"name": "Steel", "code": "601200", "account_type": "expense"}
        )
        cls.steel = cls.env["product.product"].create(
            {
                "name": "Steel plate",
                "default_code": "PLATE",
                "type": "consu",
                "property_account_expense_id": cls.expense.id,
            }
        )
        cls.eco_fee = cls._purchase_tax("Eco fee 2.00", 2.0, amount_type="fixed")
        plan = cls.backend.analytic_mapping_ids.plan_id
        analytics = cls.env["account.analytic.account"]
        cls.north = analytics.create({"name": "North", "code": "CC-N", "plan_id": plan.id})
        cls.south = analytics.create({"name": "South", "code": "CC-S", "plan_id": plan.id})

    def _order(self, *lines):
        """A confirmed order of the vendor; ``lines``: (quantity, price, taxes, values)."""
        order = self.env["purchase.order"].create(
            {
                "partner_id": self.vendor.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": self.steel.id,
                            "name": name,
                            "product_qty": quantity,
                            "price_unit": price,
                            "tax_ids": [Command.set(taxes.ids)],
                            **values,
                        }
                    )
                    for name, quantity, price, taxes, values in lines
                ],
            }
        )
        order.button_confirm()
        return order

    def assert_carried_by_odoo_amounts(self, line, payload):
        """taxSum is what the line charges: netSum + taxSum is its total."""
        sign = -1 if line.product_qty < 0 else 1
        self.assertAlmostEqual(payload["taxSum"], sign * line.price_tax)
        self.assertAlmostEqual(payload["netSum"] + payload["taxSum"], sign * line.price_total)
        coding = payload["orderLineCoding"]
        for key in ("taxSum", "taxSum2"):
            if key in payload:
                self.assertAlmostEqual(sum(row[key] for row in coding), payload[key])
        self.assertEqual(self.validator.errors(payload, "OrderLineEntity"), [])

    def test_reverse_charge_line_charges_nothing_and_self_assesses_21_percent(self):
        order = self._order(
            (
                "Plates from Germany",
                4,
                250.0,
                self.eu_goods,
                {"analytic_distribution": {str(self.north.id): 60, str(self.south.id): 40}},
            ),
            ("Plates, domestic", 3, 100.0, self.tax_24, {}),
        )
        eu_line, domestic_line = order.order_line
        payload = eu_line._basware_order_line_values(self.backend)
        self.assertEqual(
            {key: payload.get(key) for key in ("taxCode", "taxPercent", "taxPercent2")},
            {"taxCode": "EU21G", "taxPercent": 0.0, "taxPercent2": 21.0},
        )
        self.assertEqual((payload["netSum"], payload["taxSum"], payload["taxSum2"]), (1000, 0, 210))
        self.assertEqual(
            [
                (row["costCenterCode"], row["netTotal"], row["taxSum"], row["taxSum2"])
                for row in payload["orderLineCoding"]
            ],
            [("CC-N", 600.0, 0.0, 126.0), ("CC-S", 400.0, 0.0, 84.0)],
        )
        self.assertEqual(
            {row["taxPercent2"] for row in payload["orderLineCoding"]}, {21.0}, "every row"
        )
        self.assert_carried_by_odoo_amounts(eu_line, payload)

        payload = domestic_line._basware_order_line_values(self.backend)
        self.assertEqual((payload["taxCode"], payload["taxPercent"]), ("VAT24", 24.0))
        self.assertEqual(payload["taxSum"], 72.0)
        self.assertNotIn("taxPercent2", payload)
        self.assertNotIn("taxSum2", payload)
        self.assert_carried_by_odoo_amounts(domestic_line, payload)

    def test_return_price_included_and_zero_rate_lines(self):
        exempt = self._purchase_tax("0% exempt", 0.0, basware_code="VAT0")
        included = self._purchase_tax(
            "24% included", 24.0, basware_code="VAT24I", price_include_override="tax_included"
        )
        order = self._order(
            ("Plates sent back", -2, 250.0, self.eu_goods_d50, {}),
            ("Plates, price with tax", 3, 12.4, included, {}),
            ("Plates, exempt and taxed", 1, 80.0, exempt | self.tax_24, {}),
        )
        returned, included_line, exempt_line = order.order_line
        payload = returned._basware_order_line_values(self.backend)
        self.assertEqual(payload["matchingMode"], "Return")
        self.assertEqual((payload["taxPercent"], payload["taxPercent2"]), (0.0, 21.0))
        self.assertEqual((payload["netSum"], payload["taxSum"], payload["taxSum2"]), (500, 0, 105))
        self.assert_carried_by_odoo_amounts(returned, payload)

        payload = included_line._basware_order_line_values(self.backend)
        self.assertEqual((payload["netSum"], payload["taxPercent"]), (30.0, 24.0))
        self.assertEqual(payload["taxSum"], 7.2)
        self.assert_carried_by_odoo_amounts(included_line, payload)

        payload = exempt_line._basware_order_line_values(self.backend)
        self.assertEqual((payload["taxCode"], payload["taxPercent"]), ("VAT24", 24.0))
        self.assert_carried_by_odoo_amounts(exempt_line, payload)

    def test_line_with_two_charging_taxes_is_refused_and_the_rest_of_the_order_goes(self):
        order = self._order(
            ("Plates from Germany", 4, 250.0, self.eu_goods, {}),
            ("Plates with eco fee", 2, 50.0, self.tax_24 | self.eco_fee, {}),
            ("Plates taxed twice", 1, 80.0, self.tax_24 | self.tax_10, {}),
            ("Plates, domestic", 3, 100.0, self.tax_24, {}),
        )
        eu_line, eco_line, twice_line, domestic_line = order.order_line
        self._sync_all(ORDER_FLOWS)

        self.assertEqual(self._binding(order).sync_state, "done")
        for line in (eu_line, domestic_line):
            binding = self._binding(line)
            self.assertEqual(binding.sync_state, "done", binding.sync_message)
        stored = self._stored("matchingOrderLines", eu_line)
        self.assertEqual(
            (stored["taxPercent"], stored["taxPercent2"], stored["taxSum"], stored["taxSum2"]),
            (0.0, 21.0, 0.0, 210.0),
        )
        self.assertEqual(stored["orderLineCoding"][0]["taxSum2"], 210.0)
        self.assertEqual(self._stored("matchingOrderLines", domestic_line)["taxSum"], 72.0)

        sent = {line["lineNumber"] for line in self.sandbox.received("matchingOrderLines")}
        self.assertEqual(sent, {str(eu_line.id), str(domestic_line.id)})
        for line, taxes in ((eco_line, "'24%', 'Eco fee 2.00'"), (twice_line, "'24%', '10%'")):
            binding = self._binding(line)
            self.assertEqual(binding.sync_state, "error")
            self.assertFalse(binding.payload_hash)
            self.assertIn(
                f"Purchase order '{order.name}', line '{line.name}' (id {line.id}): "
                f"its taxes {taxes} each charge or self-assess tax",
                binding.sync_message,
            )
            self.assertIn("taxPercent2", binding.sync_message)

    def test_a_fixed_amount_next_to_a_rate_or_a_negative_rate_is_refused(self):
        children = {"type_tax_use": "none"}
        group = self._purchase_tax(
            "24% + eco fee",
            0.0,
            amount_type="group",
            children_tax_ids=[
                Command.create({**children, "name": "24% part", "amount": 24.0}),
                Command.create(
                    {**children, "name": "Eco part", "amount": 2.0, "amount_type": "fixed"}
                ),
            ],
        )
        withholding = self._purchase_tax("15% withheld", -15.0)
        order = self._order(
            ("Plates in a group", 1, 80.0, group, {}),
            ("Plates withheld", 1, 80.0, withholding, {}),
            ("Plates, eco fee only", 1, 80.0, self.eco_fee, {}),
        )
        group_line, withheld_line, eco_line = order.order_line
        fixed_next_to_rate = r"its tax '24% \+ eco fee' charges a fixed amount"
        with self.assertRaisesRegex(RecordRefused, fixed_next_to_rate):
            group_line._basware_order_line_values(self.backend)
        with self.assertRaisesRegex(RecordRefused, r"its tax '15% withheld' charges -15%"):
            withheld_line._basware_order_line_values(self.backend)
        # A fixed amount alone is one tax: no rate, its amount.
        payload = eco_line._basware_order_line_values(self.backend)
        self.assertEqual((payload["taxPercent"], payload["taxSum"]), (0.0, 2.0))
        self.assert_carried_by_odoo_amounts(eco_line, payload)

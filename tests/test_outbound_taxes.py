"""Taxes as Basware gets them: the rate a tax really charges and the rate it
self-assesses (reverse charge shaped as Odoo's charts model it), on tax codes.

Everything goes to the sandbox over HTTP, which refuses a body its contract rejects.
"""

from odoo import Command
from odoo.tests import tagged

from ..sandbox.validation import Validator
from .test_invoice_rules import reverse_charge_tax
from .test_sync_outbound import SyncCase


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
        return cls.env["account.tax"].create(
            {
                "name": name,
                "amount": amount,
                "amount_type": "percent",
                "type_tax_use": "purchase",
                **values,
            }
        )

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

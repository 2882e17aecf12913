"""Basware invoices booked as Odoo's own e-invoice import books them: import precision,
company rates, reverse charge as charts model it, lock dates, order quantities, refunds.

The documents come from the sandbox over HTTP, as the inbound flow fetches them.
"""

from odoo import Command, fields
from odoo.tests import tagged

from ..basware import constants as bw
from .common import post_records
from .stock_common import real_time_product, receive
from .test_invoice_mapping import InvoiceMappingCase

# Amount and quantity pairs whose unit price does not round back to the amount.
AMOUNT_GRID = [(1000.0, 3), (1000.0, 6), (1000.0, 7), (100.0, 3), (999.99, 7)] + [
    (12345.67, quantity) for quantity in range(3, 14)
]


def reverse_charge_tax(env, name, amount, deductible=100.0, **values):
    """A purchase tax shaped as Odoo's charts model an EU reverse charge (l10n_be
    "21% EU G" and "21% EU G D50"): one tax whose tax repartition lines are
    +deductible % (VAT receivable), +the rest (no account: on the expense) and -100 %
    (VAT payable), for invoices and refunds alike."""
    suffix = env["account.tax"].search_count([]) + 1
    receivable = env["account.account"].create(
        {"name": f"{name} deductible", "code": f"411{suffix:04d}", "account_type": "asset_current"}
    )
    payable = env["account.account"].create(
        {"name": f"{name} due", "code": f"451{suffix:04d}", "account_type": "liability_current"}
    )

    def lines():
        tax_lines = [
            Command.create({"repartition_type": "base"}),
            Command.create(
                {
                    "repartition_type": "tax",
                    "factor_percent": deductible,
                    "account_id": receivable.id,
                }
            ),
            Command.create(
                {"repartition_type": "tax", "factor_percent": -100.0, "account_id": payable.id}
            ),
        ]
        if deductible < 100.0:
            tax_lines.append(
                Command.create({"repartition_type": "tax", "factor_percent": 100.0 - deductible})
            )
        return tax_lines

    return env["account.tax"].create(
        {
            "name": name,
            "amount": amount,
            "amount_type": "percent",
            "type_tax_use": "purchase",
            "invoice_repartition_line_ids": lines(),
            "refund_repartition_line_ids": lines(),
            **values,
        }
    )


@tagged("post_install", "-at_install")
class TestImportPrecision(InvoiceMappingCase):
    def test_every_amount_and_quantity_keeps_basware_amount(self):
        order = self.confirmed_order()
        toner = order.order_line[1]
        for amount, quantity in AMOUNT_GRID:
            with self.subTest(amount=amount, quantity=quantity):
                document = self.approve(
                    [
                        {
                            "orderLine": self.line_code(toner),
                            "matchedQuantity": quantity,
                            "netTotal": amount,
                            "taxCode": "VAT14",
                            "taxPercent": 14,
                        }
                    ]
                )
                bill = self.backend._basware_create_bill(document)
                line = bill.invoice_line_ids
                self.assertEqual(line.quantity, quantity)
                self.assertEqual(line.purchase_line_id, toner)
                self.assertAlmostEqual(line.price_subtotal, amount, places=2)
                self.assertAlmostEqual(bill.amount_total, document["grossSum"], places=2)
                bill.action_post()
                self.assertAlmostEqual(bill.amount_total, document["grossSum"], places=2)
                self.assertAlmostEqual(line.price_subtotal, amount, places=2)


@tagged("post_install", "-at_install")
class TestCompanyRate(InvoiceMappingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls.env.ref("base.EUR")
        cls.eur.active = True
        cls.env["res.currency.rate"].search([("currency_id", "=", cls.eur.id)]).unlink()
        assert cls.company.currency_id != cls.eur

    def approve_eur(self, rows, **header):
        return self.approve(rows, currency="EUR", invoice_date="2026-03-02", extra=header)

    def test_no_rate_anywhere_is_refused_not_booked_at_one(self):
        document = self.approve_eur(
            [{"accountCode": "601101", "netTotal": 100.0, "taxCode": "VAT24", "taxPercent": 24}]
        )
        error = self.assertRejected(document, ("currency", "EUR"))
        self.assertIn("without exchange rate", error.response_message)
        self.assertIn("2026-03-02", str(error))

    def test_odoo_rate_of_the_invoice_date_books_it(self):
        self.env["res.currency.rate"].create(
            {"currency_id": self.eur.id, "name": "2026-03-01", "rate": 0.8}
        )
        document = self.approve_eur(
            [{"accountCode": "601101", "netTotal": 100.0, "taxCode": "VAT24", "taxPercent": 24}]
        )
        bill = self.backend._basware_create_bill(document)
        self.assertAlmostEqual(bill.amount_total, 124.0)
        self.assertAlmostEqual(abs(bill.amount_total_signed), 155.0)

    def test_basware_exchange_rate_wins(self):
        # An Odoo rate exists, but Basware's rate is the one the invoice was approved at.
        self.env["res.currency.rate"].create(
            {"currency_id": self.eur.id, "name": "2026-03-01", "rate": 0.5}
        )
        document = self.approve_eur(
            [{"accountCode": "601101", "netTotal": 100.0, "taxCode": "VAT14", "taxPercent": 14}],
            exchangeRateCompany=1.25,
        )
        bill = self.backend._basware_create_bill(document)
        self.assertAlmostEqual(bill.amount_total, 114.0)
        self.assertAlmostEqual(abs(bill.amount_total_signed), 142.5)
        self.assertAlmostEqual(bill.invoice_currency_rate, 0.8)

    def test_rate_quoted_the_other_way(self):
        self.backend.invoice_rate_quote = "invoice_per_company"
        document = self.approve_eur(
            [{"accountCode": "601101", "netTotal": 100.0, "taxCode": "VAT14", "taxPercent": 14}],
            exchangeRateCompany=0.8,
        )
        bill = self.backend._basware_create_bill(document)
        self.assertAlmostEqual(abs(bill.amount_total_signed), 142.5)

    def test_company_total_is_basware_gross_sum_company(self):
        # 115.00 EUR at 1.25: Basware states 143.75 in the company's currency.
        document = self.approve_eur(
            [{"accountCode": "601101", "netTotal": 115.0, "taxPercent": 0, "taxSum": 0}],
            grossSumCompany=143.75,
        )
        self.assertEqual(document["grossSum"], 115.0)
        bill = self.backend._basware_create_bill(document)
        self.assertAlmostEqual(abs(bill.amount_total_signed), 143.75)

    def test_rounding_of_converted_lines_follows_basware_and_is_shown(self):
        # Three rows of 33.33 EUR, 123.44 in the company's currency: each line converts to
        # 41.15, the lines sum to 123.45.
        rows = [
            {"accountCode": "601101", "netTotal": 33.33, "taxPercent": 0, "taxSum": 0}
            for _index in range(3)
        ]
        document = self.approve_eur(rows, grossSumCompany=123.44)
        bill = self.backend._basware_create_bill(document)
        self.assertAlmostEqual(abs(bill.amount_total_signed), 123.44)
        self.assertAlmostEqual(bill.amount_total, 99.99)
        self.assertAlmostEqual(sum(bill.line_ids.mapped("balance")), 0.0)
        note = bill.message_ids.filtered(lambda message: "Company currency total" in message.body)
        self.assertTrue(note, "the difference is shown on the bill")


@tagged("post_install", "-at_install")
class TestReverseCharge(InvoiceMappingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eu_goods = reverse_charge_tax(cls.env, "21% EU G", 21.0)
        cls.env["account.tax"].create(
            {"name": "21%", "amount": 21.0, "amount_type": "percent", "type_tax_use": "purchase"}
        )

    def assert_self_assessed(self, bill, amount):
        tax_lines = bill.line_ids.filtered("tax_line_id")
        self.assertEqual(tax_lines.tax_line_id, self.eu_goods)
        self.assertEqual(sorted(tax_lines.mapped("balance")), [-amount, amount])
        self.assertAlmostEqual(bill.amount_tax, 0.0)

    def test_tax_rates_read_from_repartition_lines(self):
        self.assertEqual(tuple(self.eu_goods._basware_rates()), (0.0, 21.0))
        self.assertEqual(tuple(self.tax_24._basware_rates()), (24.0, 0.0))
        partly = reverse_charge_tax(self.env, "21% EU G D50", 21.0, deductible=50.0)
        self.assertEqual(tuple(partly._basware_rates(refund=True)), (0.0, 21.0))

    def test_second_tax_maps_to_the_self_assessing_tax(self):
        document = self.approve(
            [
                {
                    "accountCode": "601101",
                    "netTotal": 1000.0,
                    "taxPercent": 0,
                    "taxSum": 0,
                    "taxPercent2": 21,
                    "taxSum2": 210.0,
                }
            ]
        )
        bill = self.backend._basware_create_bill(document)
        self.assertEqual(bill.invoice_line_ids.tax_ids, self.eu_goods)
        self.assert_self_assessed(bill, 210.0)
        self.assertAlmostEqual(bill.amount_total, 1000.0)

    def test_nominal_rate_stated_twice_with_nothing_charged(self):
        document = self.approve(
            [
                {
                    "accountCode": "601101",
                    "netTotal": 100.0,
                    "taxPercent": 21,
                    "taxSum": 0,
                    "taxPercent2": 21,
                    "taxSum2": 21.0,
                }
            ]
        )
        bill = self.backend._basware_create_bill(document)
        self.assert_self_assessed(bill, 21.0)

    def test_credit_note_reverses_the_self_assessment(self):
        document = self.approve(
            [
                {
                    "accountCode": "601101",
                    "netTotal": 100.0,
                    "taxPercent": 0,
                    "taxSum": 0,
                    "taxPercent2": 21,
                    "taxSum2": 21.0,
                }
            ],
            credit_note=True,
        )
        refund = self.backend._basware_create_bill(document)
        self.assertEqual(refund.move_type, "in_refund")
        self.assert_self_assessed(refund, 21.0)

    def test_basware_self_assessed_amount_wins_by_rounding(self):
        # 33.35 x 21 % = 7.0035: Odoo 7.00, Basware 7.01.
        document = self.approve(
            [
                {
                    "accountCode": "601101",
                    "netTotal": 33.35,
                    "taxPercent": 0,
                    "taxSum": 0,
                    "taxPercent2": 21,
                    "taxSum2": 7.01,
                }
            ]
        )
        bill = self.backend._basware_create_bill(document)
        self.assert_self_assessed(bill, 7.01)
        note = bill.message_ids.filtered(lambda message: "Self-assessed" in message.body)
        self.assertTrue(note, "the difference is shown")

    def test_code_mapping_names_the_reverse_charge_tax(self):
        other = reverse_charge_tax(self.env, "21% EU S", 21.0)
        code = "0% +21% self-assessed"
        rows = [
            {
                "accountCode": "601101",
                "netTotal": 50.0,
                "taxPercent": 0,
                "taxSum": 0,
                "taxPercent2": 21,
                "taxSum2": 10.5,
            }
        ]
        self.assertRejected(self.approve(rows), ("tax", code))
        self.env["basware.code.mapping"].create(
            {"backend_id": self.backend.id, "kind": "tax", "code": code, "tax_id": self.eu_goods.id}
        )
        bill = self.backend._basware_create_bill(self.approve(rows))
        self.assertEqual(bill.invoice_line_ids.tax_ids, self.eu_goods)
        self.assertNotEqual(other, self.eu_goods)

    def test_tax_code_of_a_tax_that_does_not_self_assess(self):
        rows = [
            {
                "accountCode": "601101",
                "netTotal": 50.0,
                "taxCode": "VAT24",
                "taxPercent": 0,
                "taxSum": 0,
                "taxPercent2": 24,
                "taxSum2": 12.0,
            }
        ]
        error = self.assertRejected(self.approve(rows), ("tax", "VAT24"))
        self.assertIn("self-assesses 0%, Basware 24%", str(error))


@tagged("post_install", "-at_install")
class TestLockDates(InvoiceMappingCase):
    def setUp(self):
        super().setUp()
        self.company.fiscalyear_lock_date = "2026-01-31"
        self.rows = [
            {"accountCode": "601101", "netTotal": 50.0, "taxCode": "VAT24", "taxPercent": 24}
        ]

    def test_odoo_rule_books_on_the_first_open_day(self):
        self.backend.invoice_accounting_date = "odoo"
        document = self.approve(self.rows, invoice_date="2026-01-15")
        bill = self.backend._basware_create_bill(document)
        self.assertEqual(bill.invoice_date, fields.Date.to_date("2026-01-15"))
        expected = bill._get_accounting_date(bill.invoice_date, True)
        self.assertGreater(expected, fields.Date.to_date("2026-01-31"))
        self.assertEqual(bill.date, expected)
        bill.action_post()
        self.assertEqual(bill.state, "posted")

    def test_basware_date_in_a_locked_period_names_the_lock_and_the_setting(self):
        document = self.approve(self.rows, invoice_date="2026-01-15")
        error = self.assertRejected(document, ("period", "2026-01-15"))
        self.assertIn("until 2026-01-31", str(error))
        self.assertIn("Odoo's rule from the invoice date", str(error))
        self.assertIn("until 2026-01-31", error.response_message)


@tagged("post_install", "-at_install")
class TestOrderQuantities(InvoiceMappingCase):
    def test_row_without_quantity_leaves_the_order_line_alone(self):
        order = self.confirmed_order()
        paper = order.order_line[0]
        document = self.approve(
            [
                {"orderLine": self.line_code(paper), "matchedQuantity": 10, "netTotal": 125.0},
                {"orderLine": self.line_code(paper), "netTotal": 15.0},
            ]
        )
        bill = self.backend._basware_create_bill(document)
        matched, freight = bill.invoice_line_ids.sorted("id")
        self.assertEqual(matched.purchase_line_id, paper)
        self.assertFalse(freight.purchase_line_id)
        self.assertEqual(freight.quantity, 1.0)
        self.assertAlmostEqual(freight.price_subtotal, 15.0)
        self.assertIn(order.name, freight.name)
        self.assertEqual(paper.qty_invoiced, 10.0, "the freight row bills no quantity")
        self.assertAlmostEqual(bill.amount_untaxed, 140.0)


@tagged("post_install", "-at_install")
class TestRefundedInvoice(InvoiceMappingCase):
    def setUp(self):
        super().setUp()
        self.rows = [
            {"accountCode": "601101", "netTotal": 40.0, "taxCode": "VAT24", "taxPercent": 24}
        ]
        invoice = self.approve(self.rows, invoice_number="INV-77")
        self.invoice_bill = self.backend._basware_create_bill(invoice)
        self.invoice_bill.action_post()
        self.invoice = invoice

    def test_credit_note_naming_the_invoice_bumid(self):
        credit = self.approve(
            self.rows, credit_note=True, extra={"parentInvoiceBumId": self.invoice["bumid"]}
        )
        refund = self.backend._basware_create_bill(credit)
        self.assertEqual(refund.move_type, "in_refund")
        self.assertEqual(refund.reversed_entry_id, self.invoice_bill)

    def test_credit_note_naming_the_invoice_number_in_a_field(self):
        self.backend.invoice_refunded_field = "text1"
        credit = self.approve(self.rows, credit_note=True, extra={"text1": "INV-77"})
        refund = self.backend._basware_create_bill(credit)
        self.assertEqual(refund.reversed_entry_id, self.invoice_bill)

    def test_unknown_refunded_invoice_is_noted(self):
        credit = self.approve(
            self.rows, credit_note=True, extra={"parentInvoiceBumId": "no-such-bumid"}
        )
        refund = self.backend._basware_create_bill(credit)
        self.assertFalse(refund.reversed_entry_id)
        self.assertTrue(
            refund.message_ids.filtered(lambda message: "no-such-bumid" in message.body)
        )

    def test_plain_credit_note_links_nothing(self):
        refund = self.backend._basware_create_bill(self.approve(self.rows, credit_note=True))
        self.assertFalse(refund.reversed_entry_id)


@tagged("post_install", "-at_install")
class TestStockValuation(InvoiceMappingCase):
    def test_real_time_valued_order_line_is_booked_as_odoo_books_it(self):
        beams = real_time_product(self.env, "Steel Beams")
        valuation = beams.categ_id.property_stock_valuation_account_id
        order = self.env["purchase.order"].create(
            {
                "partner_id": self.vendor.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": beams.id,
                            "product_qty": 5,
                            "price_unit": 40.0,
                            "tax_ids": [Command.set(self.tax_24.ids)],
                        }
                    )
                ],
            }
        )
        order.button_confirm()
        receive(order)
        line = order.order_line
        post_records(
            self.client, bw.MATCHING_ORDERS_PATH, [order._basware_order_values(self.backend)]
        )
        post_records(
            self.client,
            bw.MATCHING_ORDER_LINES_PATH,
            [line._basware_order_line_values(self.backend)],
        )
        document = self.approve(
            [
                {
                    "orderLine": self.line_code(line),
                    "matchedQuantity": 5,
                    "netTotal": 200.0,
                    "accountCode": "601101",
                    "taxCode": "VAT24",
                    "taxPercent": 24,
                }
            ]
        )
        bill = self.backend._basware_create_bill(document)
        self.assertEqual(bill.invoice_line_ids.account_id, valuation, "Odoo's account")
        self.assertNotEqual(valuation, self.supplies)
        self.assertEqual(line.qty_invoiced, 5.0)
        note = bill.message_ids.filtered(lambda message: "stock valuation" in message.body)
        self.assertIn("601101", note.body, "Basware's account is named")
        # Odoo's own bill of the same order books the same account.
        order.action_create_invoice()
        own = order.invoice_ids - bill
        self.assertEqual(own.invoice_line_ids.account_id, bill.invoice_line_ids.account_id)

    def test_order_line_of_a_periodic_product_keeps_basware_account(self):
        order = self.confirmed_order()
        paper = order.order_line[0]
        receive(order)
        document = self.approve(
            [{"orderLine": self.line_code(paper), "matchedQuantity": 10, "netTotal": 125.0}]
        )
        bill = self.backend._basware_create_bill(document)
        self.assertEqual(bill.invoice_line_ids.account_id, self.supplies)
        self.assertFalse(bill.message_ids.filtered(lambda m: "stock valuation" in m.body))

"""The ORM-free part of the invoice mapping: a Basware document read into bill values."""

import datetime

from odoo.tests.common import BaseCase
from odoo.tools import float_compare, float_round

from ..basware.constants import RESPONSE_MESSAGE_MAX_LENGTH
from ..mapping import accounting_content, amounts, document, problems


def round_price(digits):
    def round_to(value, up=False):
        method = "UP" if up else "HALF-UP"
        return float_round(value, precision_digits=digits, rounding_method=method)

    return round_to


def compare_cents(first, second):
    return float_compare(first, second, precision_rounding=0.01)


class TestReading(BaseCase):
    def test_dates_codes_and_numbers(self):
        self.assertEqual(document.to_date("2025-03-01T00:00:00"), datetime.date(2025, 3, 1))
        self.assertIsNone(document.to_date(""))
        self.assertIsNone(document.to_date(None))
        with self.assertRaises(ValueError):
            document.to_date("01.03.2025")
        self.assertEqual(document.code_of("  V-1 "), "V-1")
        self.assertEqual(document.code_of(7), "7")
        self.assertEqual(document.code_of(None), "")
        self.assertEqual(document.code_of(False), "")
        self.assertIsNone(document.to_float(None))
        self.assertEqual(document.to_float("12.5"), 12.5)

    def test_fallback_id(self):
        self.assertEqual(document.fallback_id("ODOO-42", "ODOO-"), 42)
        self.assertIsNone(document.fallback_id("ODOO-4a", "ODOO-"))
        self.assertIsNone(document.fallback_id("42", "ODOO-"))
        self.assertIsNone(document.fallback_id("ODOO-42", ""))

    def test_rows_in_basware_order_and_their_numbers(self):
        doc = {"codingRows": [{"rowIndex": 3}, {"rowIndex": 1}, {}]}
        rows = document.coding_rows(doc)
        self.assertEqual([row.get("rowIndex") for row in rows], [None, 1, 3])
        numbers = [document.row_number(row, index) for index, row in enumerate(rows, start=1)]
        self.assertEqual(numbers, [1, 1, 3])
        self.assertEqual(document.coding_rows({}), [])

    def test_document_codes(self):
        doc = {"supplierCode": " V-1 ", "paymentTermCode": "", "companyCode": "C1"}
        rows = [
            {"accountCode": "4000", "taxCode": "VAT24", "costCenterCode": "CC1"},
            {"accountCode": "4000", "orderLineNumber": 7, "projectCode": "P1"},
        ]
        self.assertEqual(document.document_codes(doc, rows), ["4000", "7", "V-1", "VAT24"])
        self.assertEqual(
            document.document_codes(doc, rows, ["costCenterCode"]),
            ["4000", "7", "CC1", "V-1", "VAT24"],
        )

    def test_row_net_and_gross_total(self):
        self.assertEqual(document.row_net({"netTotal": 80, "grossTotal": 99}), 80.0)
        self.assertEqual(document.row_net({"grossTotal": 124, "taxSum": 24}), 100.0)
        self.assertEqual(document.row_net({"grossTotal": 124}), 124.0)
        self.assertIsNone(document.row_net({"taxSum": 24}))
        rows = [{"netTotal": 100, "taxSum": 24}, {"netTotal": 50}]
        self.assertEqual(document.gross_total({"grossSum": -174}, rows), -174.0)
        self.assertEqual(document.gross_total({}, rows), 174.0)

    def test_order_quantity_takes_the_amount_sign(self):
        self.assertEqual(document.order_quantity({"matchedQuantity": 4}, 100.0), 4.0)
        self.assertEqual(document.order_quantity({"matchedQuantity": 4}, -100.0), -4.0)
        self.assertEqual(document.order_quantity({"matchedQuantity": -4}, 100.0), 4.0)
        self.assertEqual(
            document.order_quantity({"matchedQuantity": 0, "allocatedQuantity": 2}, 0.0), 2.0
        )
        self.assertIsNone(document.order_quantity({}, 100.0))

    def test_row_rates_and_their_code(self):
        self.assertEqual(document.row_rates({"taxPercent": 24}), (24.0, 0.0))
        self.assertEqual(document.row_rates({"taxPercent": 13.999999}), (14.0, 0.0))
        # Reverse charge: the nominal rate stated twice, no tax charged.
        reverse = {"taxPercent": 21, "taxPercent2": 21, "taxSum": 0}
        self.assertEqual(document.row_rates(reverse), (0.0, 21.0))
        self.assertEqual(document.rate_code(*document.row_rates(reverse)), "0% +21% self-assessed")
        self.assertEqual(document.rate_code(24.0, 0.0), "24%")
        self.assertFalse(document.states_tax({"taxPercent": 0, "taxSum": 0}))
        self.assertTrue(document.states_tax({"taxSum": 1.5}))
        self.assertTrue(document.states_tax({"taxPercent": 10}))

    def test_basware_rate_and_its_quote(self):
        both = {"grossSum": -200.0, "grossSumCompany": -50.0, "exchangeRateCompany": 9.0}
        # The company gross sum over the gross sum wins, whatever the quote.
        self.assertEqual(document.basware_rate(both), 0.25)
        self.assertEqual(document.basware_rate(both, document.RATE_INVOICE_PER_COMPANY), 0.25)
        quoted = {"grossSum": 200.0, "exchangeRateCompany": 4.0}
        self.assertEqual(document.basware_rate(quoted), 4.0)
        self.assertEqual(document.basware_rate(quoted, document.RATE_COMPANY_PER_INVOICE), 4.0)
        self.assertEqual(document.basware_rate(quoted, document.RATE_INVOICE_PER_COMPANY), 0.25)
        self.assertIsNone(document.basware_rate({"exchangeRateCompany": -2.0}))
        self.assertIsNone(document.basware_rate({"exchangeRateCompany": 0}))
        self.assertIsNone(document.basware_rate({"grossSum": 0, "grossSumCompany": 10}))

    def test_refunded_invoice(self):
        doc = {"parentInvoiceBumId": " B-1 ", "text1": "INV-9"}
        self.assertEqual(document.refunded_invoice(doc, " text1 "), ("B-1", "INV-9"))
        self.assertEqual(document.refunded_invoice(doc), ("B-1", ""))
        self.assertEqual(document.refunded_invoice({}, "text1"), ("", ""))

    def test_line_name(self):
        doc = {"description": "Paper", "invoiceNumber": "INV-1"}
        self.assertEqual(document.line_name(doc, {"productName": "A4"}, "PO/1"), "PO/1")
        self.assertEqual(document.line_name(doc, {"productName": "A4"}), "A4")
        self.assertEqual(document.line_name(doc, {"accountName": "Supplies"}), "Supplies")
        self.assertEqual(document.line_name(doc, {}), "Paper")
        self.assertEqual(document.line_name({}, {"accountCode": "4000"}), "4000")


class TestAmounts(BaseCase):
    def test_price_grid_gives_each_amount_exactly(self):
        for digits in (2, 4):
            for amount in (100.0, 99.99, 10.0, 0.01, -33.33, 1234.57):
                for quantity in (1.0, 3.0, 7.0, 12.0, -3.0):
                    with self.subTest(digits=digits, amount=amount, quantity=quantity):
                        price, discount = amounts.unit_price(
                            amount, quantity, round_price(digits), compare_cents
                        )
                        self.assertEqual(price, float_round(price, precision_digits=digits))
                        total = price * quantity * (1 - discount / 100.0)
                        self.assertEqual(compare_cents(total, amount), 0)
                        self.assertGreaterEqual(discount, 0.0)

    def test_price_without_discount_when_it_divides(self):
        self.assertEqual(amounts.unit_price(100.0, 4.0, round_price(2), compare_cents), (25.0, 0))
        price, discount = amounts.unit_price(100.0, 3.0, round_price(2), compare_cents)
        self.assertEqual(price, 33.34)
        self.assertAlmostEqual(discount, (1 - 100.0 / 100.02) * 100.0)

    def test_stated_tax_amounts_per_taxes(self):
        rows = [
            {"taxSum": 24.0},
            {"taxSum": 12.0, "taxPercent2": 21, "taxSum2": 21.0},
            {"taxSum": 5.0},
            {"taxSum": 7.0},
        ]
        stated = amounts.stated_tax_amounts(rows, {1: "A", 2: "A", 3: "B"}, sign=-1)
        # A self-assessed amount counts only where every row of the taxes states its rate.
        self.assertEqual(stated, {"A": [-36.0, None], "B": [-5.0, None]})
        rows = [{"taxPercent2": 21, "taxSum2": 21.0}, {"taxSum": 24.0, "taxPercent2": 21}]
        self.assertEqual(amounts.stated_tax_amounts(rows, {1: "A", 2: "A"}), {"A": [None, None]})
        rows = [{"taxSum": 0, "taxPercent2": 21, "taxSum2": 21.0}, {"taxSum": 1.5}]
        self.assertEqual(
            amounts.stated_tax_amounts(rows, {1: "A", 2: "B"}), {"A": [0.0, 21.0], "B": [1.5, None]}
        )


class TestProblems(BaseCase):
    def test_one_problem_per_code_and_reason_naming_its_rows(self):
        found = problems.Problems()
        self.assertFalse(found)
        found.add(problems.PROBLEM_ACCOUNT, "4000", problems.REASON_UNKNOWN, 1)
        found.add(problems.PROBLEM_ACCOUNT, "4000", problems.REASON_UNKNOWN, 3)
        found.add(problems.PROBLEM_ACCOUNT, "4000", problems.REASON_UNKNOWN, 3)
        found.add(problems.PROBLEM_VENDOR, "V-9", problems.REASON_ARCHIVED)
        self.assertTrue(found)
        listed = list(found)
        self.assertEqual(len(listed), 2)
        self.assertEqual(listed[0].describe(), "GL account 4000 unknown (rows 1, 3)")
        self.assertEqual(listed[1].describe(), "vendor V-9 archived")

    def test_kinds_keep_their_stored_values(self):
        self.assertEqual(
            [
                problems.PROBLEM_VENDOR,
                problems.PROBLEM_ACCOUNT,
                problems.PROBLEM_PAYMENT_TERM,
                problems.PROBLEM_TAX,
            ],
            ["vendor", "account", "payment_term", "tax"],
        )

    def test_response_message_groups_codes_by_kind_and_reason(self):
        found = problems.Problems()
        found.add(problems.PROBLEM_ACCOUNT, "4000", problems.REASON_UNKNOWN, 1)
        found.add(problems.PROBLEM_ACCOUNT, "4010", problems.REASON_UNKNOWN, 2)
        found.add(problems.PROBLEM_TOTAL, "125.00", problems.REASON_MISMATCH, detail="Odoo 124")
        found.add(problems.PROBLEM_CODING_ROWS, "", problems.REASON_MISSING)
        self.assertEqual(
            problems.response_message(found),
            "Not booked in Odoo: GL account 4000, 4010 unknown; total 125.00 differs: "
            "Odoo 124; coding rows missing.",
        )
        text = problems.rejection_text(found, {"invoiceNumber": "INV-1", "invoiceId": "abc"})
        self.assertEqual(
            text.splitlines(),
            [
                "Basware invoice INV-1 (abc) cannot become a vendor bill:",
                "- GL account 4000 unknown (rows 1)",
                "- GL account 4010 unknown (rows 2)",
                "- total 125.00 differs: Odoo 124",
                "- coding rows - missing",
            ],
        )

    def test_response_message_fits_basware(self):
        found = problems.Problems()
        for number in range(100):
            found.add(problems.PROBLEM_TAX, f"TAX-{number:03d}", problems.REASON_UNKNOWN)
        message = problems.response_message(found)
        self.assertEqual(len(message), RESPONSE_MESSAGE_MAX_LENGTH)
        self.assertTrue(message.startswith("Not booked in Odoo: tax code TAX-000, TAX-001"))
        self.assertTrue(message.endswith("…"))
        self.assertNotIn("\n", problems.response_message([problems.Problem("bill", "", "a\nb")]))


DOCUMENT = {
    "invoiceId": "abc",
    "processingStatus": "WaitingForTransfer",
    "grossSum": 124,
    "supplierCode": "V-1 ",
    "codingRows": [{"rowIndex": 1, "accountCode": "4000", "netTotal": 100}],
}


class TestAccountingContent(BaseCase):
    def test_hash_is_stable_and_ignores_what_books_nothing(self):
        digest = accounting_content.document_hash(DOCUMENT)
        self.assertEqual(len(digest), 64)
        self.assertEqual(accounting_content.document_hash(dict(DOCUMENT)), digest)
        same = {
            **DOCUMENT,
            "processingStatus": "Transferred",
            "voucherDate": "2025-03-01",
            "grossSum": 124.0,
            "supplierCode": "V-1",
        }
        self.assertEqual(accounting_content.document_hash(same), digest)
        other = {**DOCUMENT, "grossSum": 130}
        self.assertNotEqual(accounting_content.document_hash(other), digest)

    def test_changes_are_named(self):
        corrected = {
            **DOCUMENT,
            "grossSum": 130,
            "codingRows": [
                {"rowIndex": 1, "accountCode": "4010", "netTotal": 100},
                {"rowIndex": 2, "accountCode": "4000", "netTotal": 6},
            ],
        }
        self.assertEqual(
            accounting_content.document_changes(DOCUMENT, corrected),
            ["grossSum 124.0 → 130.0", "row 1 accountCode 4000 → 4010", "row 2 added"],
        )
        self.assertEqual(accounting_content.document_changes(DOCUMENT, DOCUMENT), [])

"""Basware accounting documents mapped to draft vendor bills: codes, lines, totals, checks.

The documents are made by the sandbox operator as a Basware user approving an invoice
would, on the vendor, order and order lines the backend sent over HTTP, and fetched back
over HTTP as the inbound flow does.
"""

import json
import subprocess
import sys
from pathlib import Path

import psycopg2
import requests

from odoo import Command, fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..basware import constants as bw
from ..basware.constants import RESPONSE_MESSAGE_MAX_LENGTH
from ..models.basware_invoice_mapping import BaswareDocumentRejected
from ..sandbox.constants import OPERATOR_PREFIX
from ..sandbox.operator import PDF_IMAGE
from .common import BaswareSandboxCase, post_records, purchase_tax

TIMEOUT = 10
ADDON_ROOT = Path(__file__).resolve().parent.parent


class InvoiceMappingCase(BaswareSandboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Move = cls.env["account.move"]
        cls.currency = cls.company.currency_id
        cls.vendor = cls.env["res.partner"].create(
            {"name": "Nordic Paper Oy", "ref": "V-2001", "supplier_rank": 1, "vat": "FI2001"}
        )
        cls.tax_24 = cls._purchase_tax("Purchase 24%", 24.0, "VAT24")
        cls.tax_14 = cls._purchase_tax("Purchase 14%", 14.0, "VAT14")
        cls.supplies = cls._account("Office Supplies", "601101")
        cls.services = cls._account("Outside Services", "601102")
        cls.cc_plan = cls.env["account.analytic.plan"].create({"name": "Cost Centers"})
        analytic = cls.env["account.analytic.account"]
        cls.cc_north = analytic.create({"name": "North", "code": "CC-N", "plan_id": cls.cc_plan.id})
        cls.cc_south = analytic.create({"name": "South", "code": "CC-S", "plan_id": cls.cc_plan.id})
        cls.backend.analytic_mapping_ids.unlink()
        cls.env["basware.analytic.mapping"].create(
            {"backend_id": cls.backend.id, "plan_id": cls.cc_plan.id, "target": "cost_center"}
        )
        cls.paper = cls.env["product.product"].create(
            {
                "name": "Copy Paper A4",
                "type": "consu",
                "purchase_method": "purchase",
                "property_account_expense_id": cls.supplies.id,
            }
        )
        cls.toner = cls.env["product.product"].create(
            {
                "name": "Toner",
                "type": "consu",
                "purchase_method": "purchase",
                "property_account_expense_id": cls.supplies.id,
            }
        )

    @classmethod
    def _purchase_tax(cls, name, amount, code):
        return purchase_tax(cls.env, name, amount, basware_code=code)

    @classmethod
    def _account(cls, name, code):
        return cls.env["account.account"].create(
            {"name": name, "code": code, "account_type": "expense"}
        )

    def setUp(self):
        super().setUp()
        self.client = self.backend._get_client()
        post_records(
            self.client, bw.VENDORS_PATH, [self.vendor._basware_vendor_values(self.backend)]
        )

    # Helpers

    def confirmed_order(self):
        order = self.env["purchase.order"].create(
            {
                "partner_id": self.vendor.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": self.paper.id,
                            "product_qty": 10,
                            "price_unit": 12.5,
                            "tax_ids": [Command.set(self.tax_24.ids)],
                        }
                    ),
                    Command.create(
                        {
                            "product_id": self.toner.id,
                            "product_qty": 4,
                            "price_unit": 50.0,
                            "tax_ids": [Command.set(self.tax_14.ids)],
                        }
                    ),
                ],
            }
        )
        order.button_confirm()
        post_records(
            self.client, bw.MATCHING_ORDERS_PATH, [order._basware_order_values(self.backend)]
        )
        post_records(
            self.client,
            bw.MATCHING_ORDER_LINES_PATH,
            [line._basware_order_line_values(self.backend) for line in order.order_line],
        )
        return order

    def line_code(self, line):
        return self.backend._basware_external_code(line)

    def approve(self, rows=None, **values):
        """An invoice approved in Basware, as the inbound flow fetches it over HTTP."""
        values.setdefault("vendor", "V-2001")
        values.setdefault("currency", self.currency.name)
        values.setdefault("payment_term", "")
        if rows is not None:
            values["coding_rows"] = rows
        approved = self.sandbox.approve_invoice(notify=False, **values)
        return self.client.get_accounting_document(approved["invoiceId"])

    def image(self, document):
        attachment = document["attachments"][0]
        raw = self.sandbox.app.store.attachment(document["invoiceId"], attachment["externalCode"])
        return {"name": attachment["filename"], "raw": raw, "mimetype": "application/pdf"}

    def bills_of(self, document):
        return self.Move.search([("basware_invoice_id", "=", document["invoiceId"])])

    def assertRejected(self, document, *unmapped):
        with self.assertRaises(BaswareDocumentRejected) as caught:
            self.backend._basware_create_bill(document)
        error = caught.exception
        for kind_code in unmapped:
            self.assertIn(kind_code, error.unmapped)
        self.assertLessEqual(len(error.response_message), RESPONSE_MESSAGE_MAX_LENGTH)
        for _kind, code in unmapped:
            self.assertIn(code, error.response_message)
            self.assertIn(code, str(error))
        self.assertFalse(self.bills_of(document), "a rejected document leaves no bill")
        return error


@tagged("post_install", "-at_install")
class TestInvoiceMapping(InvoiceMappingCase):
    def test_simple_invoice_becomes_a_draft_bill(self):
        document = self.approve(
            [{"accountCode": "601101", "netTotal": 100.0, "taxCode": "VAT24", "taxPercent": 24}],
            invoice_number="INV-1001",
            invoice_date="2026-01-15",
            due_date="2026-02-14",
            reference_number="RF18539007547034",
        )
        bill = self.backend._basware_create_bill(document)
        self.assertEqual(bill.state, "draft")
        self.assertEqual(bill.move_type, "in_invoice")
        self.assertEqual(bill.partner_id, self.vendor)
        self.assertEqual(bill.company_id, self.company)
        self.assertEqual(bill.currency_id, self.currency)
        self.assertEqual(bill.ref, "INV-1001")
        self.assertEqual(bill.invoice_date, fields.Date.to_date("2026-01-15"))
        self.assertEqual(bill.invoice_date_due, fields.Date.to_date("2026-02-14"))
        self.assertEqual(bill.date, fields.Date.to_date("2026-01-15"))
        self.assertEqual(bill.payment_reference, "RF18539007547034")
        self.assertEqual(bill.basware_invoice_id, document["invoiceId"])
        self.assertEqual(bill.basware_backend_id, self.backend)
        [line] = bill.invoice_line_ids
        self.assertEqual(line.account_id, self.supplies)
        self.assertEqual(line.tax_ids, self.tax_24)
        self.assertAlmostEqual(line.price_subtotal, 100.0)
        self.assertAlmostEqual(bill.amount_total, 124.0)
        arch = self.Move.get_view(self.env.ref("account.view_move_form").id)["arch"]
        self.assertIn('name="basware_invoice_id"', arch)

    def test_bank_account_basware_names(self):
        banks = self.env["res.partner.bank"].create(
            [
                {"partner_id": self.vendor.id, "acc_number": "FI21 1234 5600 0007 85"},
                {"partner_id": self.vendor.id, "acc_number": "FI14 1009 3000 1234 58"},
            ]
        )
        document = self.approve([{"accountCode": "601101", "netTotal": 5.0}], tax_percent=0)
        document["supplierBankIBAN"] = "fi1410093000123458"
        self.assertEqual(self.backend._basware_create_bill(document).partner_bank_id, banks[1])
        document = self.approve([{"accountCode": "601101", "netTotal": 5.0}], tax_percent=0)
        document["supplierBankIBAN"] = "DE89370400440532013000"
        bill = self.backend._basware_create_bill(document)
        self.assertNotEqual(bill.partner_bank_id.acc_number, "DE89370400440532013000")
        self.assertEqual(self.vendor.bank_ids, banks, "an unknown account is not created")

    def test_image_is_the_main_attachment(self):
        document = self.approve([{"accountCode": "601101", "netTotal": 10.0}], tax_percent=0)
        notes = {"name": "notes.txt", "raw": b"delivered to dock 4", "mimetype": "text/plain"}
        bill = self.backend._basware_create_bill(document, [self.image(document), notes])
        attachments = self.env["ir.attachment"].search(
            [("res_model", "=", "account.move"), ("res_id", "=", bill.id)]
        )
        self.assertEqual(len(attachments), 3, "the two files and the Basware document")
        attachments -= bill.basware_document_attachment_id
        main = bill.message_main_attachment_id
        self.assertEqual(main.name, document["attachments"][0]["filename"])
        self.assertEqual(main.raw, PDF_IMAGE)
        self.assertEqual(main.mimetype, "application/pdf")
        # One creation note, naming the Basware invoice and carrying its files.
        [note] = bill.message_ids.filtered(lambda message: "Basware invoice" in message.body)
        self.assertIn(document["invoiceId"], note.body)
        self.assertEqual(note.attachment_ids, attachments)
        self.assertFalse(bill.message_ids.filtered(lambda message: "Bill Created" in message.body))

    def test_order_lines_split_cost_centers_and_two_tax_rates(self):
        order = self.confirmed_order()
        paper, toner = order.order_line
        document = self.approve(
            [
                {
                    "orderLine": self.line_code(paper),
                    "matchedQuantity": 6,
                    "netTotal": 75.0,
                    "costCenterCode": "CC-N",
                },
                {
                    "orderLine": self.line_code(paper),
                    "matchedQuantity": 4,
                    "netTotal": 50.0,
                    "costCenterCode": "CC-S",
                },
                {"orderLine": self.line_code(toner), "matchedQuantity": 4, "netTotal": 200.0},
                {
                    "accountCode": "601102",
                    "netTotal": 33.33,
                    "taxCode": "VAT24",
                    "taxPercent": 24,
                    "costCenterCode": "CC-N",
                },
            ]
        )
        self.assertEqual(document["grossSum"], 424.33)
        bill = self.backend._basware_create_bill(document)
        lines = bill.invoice_line_ids.sorted("sequence")
        self.assertEqual(len(lines), 4, "one bill line per coding row")
        self.assertEqual(lines.mapped("purchase_line_id"), paper | toner)
        self.assertEqual(lines[:2].purchase_line_id, paper)
        self.assertEqual(lines.mapped("quantity"), [6.0, 4.0, 4.0, 1.0])
        self.assertEqual(lines.mapped("price_subtotal"), [75.0, 50.0, 200.0, 33.33])
        self.assertEqual(lines[0].analytic_distribution, {str(self.cc_north.id): 100.0})
        self.assertEqual(lines[1].analytic_distribution, {str(self.cc_south.id): 100.0})
        self.assertEqual(lines[3].analytic_distribution, {str(self.cc_north.id): 100.0})
        self.assertEqual(lines.mapped("tax_ids"), self.tax_24 | self.tax_14)
        self.assertEqual(lines[2].tax_ids, self.tax_14)
        self.assertEqual(lines[3].account_id, self.services)
        self.assertEqual(lines[0].account_id, self.supplies, "the order's coding row account")
        self.assertEqual(lines[0].product_id, self.paper)
        self.assertAlmostEqual(bill.amount_untaxed, 358.33)
        self.assertAlmostEqual(bill.amount_tax, 66.0)
        self.assertAlmostEqual(bill.amount_total, 424.33)
        self.assertEqual(bill.invoice_origin, order.name)
        self.assertEqual(paper.qty_invoiced, 10.0)
        self.assertEqual(toner.qty_invoiced, 4.0)

    def test_credit_note_becomes_a_refund_with_positive_amounts(self):
        order = self.confirmed_order()
        paper = order.order_line[0]
        invoice = self.approve(
            [{"orderLine": self.line_code(paper), "matchedQuantity": 10, "netTotal": 125.0}]
        )
        self.backend._basware_create_bill(invoice)
        self.assertEqual(paper.qty_invoiced, 10.0)
        credit = self.approve(
            [
                {"orderLine": self.line_code(paper), "matchedQuantity": 2, "netTotal": 25.0},
                {"accountCode": "601102", "netTotal": 10.0, "taxCode": "VAT14", "taxPercent": 14},
            ],
            credit_note=True,
        )
        self.assertLess(credit["grossSum"], 0)
        refund = self.backend._basware_create_bill(credit)
        self.assertEqual(refund.move_type, "in_refund")
        self.assertEqual(refund.invoice_line_ids.mapped("quantity"), [2.0, 1.0])
        self.assertEqual(refund.invoice_line_ids.mapped("price_subtotal"), [25.0, 10.0])
        self.assertAlmostEqual(refund.amount_total, 25.0 * 1.24 + 10.0 * 1.14)
        self.assertAlmostEqual(refund.amount_total, -credit["grossSum"])
        self.assertEqual(paper.qty_invoiced, 8.0, "the refund takes its quantity off the order")
        # Whatever the sign of Basware's matched quantity, a refund takes quantities off.
        credit = self.approve(
            [{"orderLine": self.line_code(paper), "matchedQuantity": 2, "netTotal": 25.0}],
            credit_note=True,
        )
        credit["codingRows"][0]["matchedQuantity"] = 2
        self.backend._basware_create_bill(credit)
        self.assertEqual(paper.qty_invoiced, 6.0)

    def test_quantity_that_does_not_divide_the_amount_keeps_the_amount(self):
        order = self.confirmed_order()
        toner = order.order_line[1]
        document = self.approve(
            [{"orderLine": self.line_code(toner), "matchedQuantity": 3, "netTotal": 100.0}]
        )
        bill = self.backend._basware_create_bill(document)
        self.assertEqual(bill.invoice_line_ids.quantity, 3.0)
        self.assertAlmostEqual(bill.invoice_line_ids.price_subtotal, 100.0)
        self.assertAlmostEqual(bill.amount_total, 114.0)

    def test_payment_term_by_code_and_basware_due_date(self):
        term = self.env.ref("account.account_payment_term_30days")
        term.basware_code = "NET30"
        on_term = self.approve(
            [{"accountCode": "601101", "netTotal": 50.0}],
            tax_percent=0,
            payment_term="NET30",
            invoice_date="2026-01-10",
            due_date="2026-02-09",
        )
        bill = self.backend._basware_create_bill(on_term)
        self.assertEqual(bill.invoice_payment_term_id, term)
        self.assertEqual(bill.invoice_date_due, fields.Date.to_date("2026-02-09"))
        later = self.approve(
            [{"accountCode": "601101", "netTotal": 50.0}],
            tax_percent=0,
            payment_term="NET30",
            invoice_date="2026-01-10",
            due_date="2026-03-01",
        )
        bill = self.backend._basware_create_bill(later)
        self.assertEqual(bill.invoice_date_due, fields.Date.to_date("2026-03-01"))
        self.assertFalse(bill.invoice_payment_term_id, "Basware's approved due date wins")

    def test_vendor_by_binding_and_by_tax_id(self):
        other = self.env["res.partner"].create({"name": "Paper Trading AB", "vat": "SE5560001"})
        self.env["basware.binding"].create(
            {
                "backend_id": self.backend.id,
                "entity": "vendor",
                "res_model": "res.partner",
                "res_id": other.id,
                "external_code": "ext-paper-trading",
                "code": "PT-77",
            }
        )
        bound = self.approve(
            [{"accountCode": "601101", "netTotal": 5.0}], supplier_code="PT-77", tax_percent=0
        )
        self.assertEqual(self.backend._basware_create_bill(bound).partner_id, other)
        by_vat = self.approve(
            [{"accountCode": "601101", "netTotal": 5.0}], supplier_code="SE5560001", tax_percent=0
        )
        self.assertEqual(self.backend._basware_create_bill(by_vat).partner_id, other)

    def test_row_without_tax_code_takes_the_only_tax_of_its_rate(self):
        document = self.approve([{"accountCode": "601101", "netTotal": 10.0, "taxPercent": 14}])
        bill = self.backend._basware_create_bill(document)
        self.assertEqual(bill.invoice_line_ids.tax_ids, self.tax_14)
        self.backend.invoice_tax_by_percent = False
        document = self.approve([{"accountCode": "601101", "netTotal": 10.0, "taxPercent": 14}])
        self.assertRejected(document, ("tax", "14%"))

    def test_codes_the_sync_made_from_ids(self):
        plain = self.env["account.tax"].create(
            {"name": "Purchase 10%", "amount": 10.0, "type_tax_use": "purchase"}
        )
        document = self.approve(
            [
                {
                    "accountCode": "601101",
                    "netTotal": 10.0,
                    "taxCode": f"ODOO-TAX-{plain.id}",
                    "taxPercent": 10,
                }
            ]
        )
        self.assertEqual(
            self.backend._basware_create_bill(document).invoice_line_ids.tax_ids, plain
        )
        code = f"ODOO-TAX-{self.tax_24.id}"
        document = self.approve([{"accountCode": "601101", "netTotal": 10.0, "taxCode": code}])
        self.assertRejected(document, ("tax", code))

    def test_rounding_only_tax_difference_follows_basware(self):
        document = self.approve(
            [
                {"accountCode": "601101", "netTotal": 33.33, "taxCode": "VAT24", "taxSum": 7.99},
                {"accountCode": "601102", "netTotal": 10.0, "taxCode": "VAT14", "taxSum": 1.40},
            ]
        )
        bill = self.backend._basware_create_bill(document)
        tax_24_line = bill.line_ids.filtered(lambda line: line.tax_line_id == self.tax_24)
        self.assertAlmostEqual(tax_24_line.amount_currency, 7.99, msg="Odoo computes 8.00")
        self.assertAlmostEqual(bill.amount_tax, 9.39)
        self.assertAlmostEqual(bill.amount_total, document["grossSum"])
        self.assertEqual(bill.amount_total, 52.72)

    def test_credit_note_rounding_only_tax_difference_follows_basware(self):
        document = self.approve(
            [{"accountCode": "601101", "netTotal": 33.33, "taxCode": "VAT24", "taxSum": 7.99}],
            credit_note=True,
        )
        refund = self.backend._basware_create_bill(document)
        self.assertEqual(refund.move_type, "in_refund")
        self.assertAlmostEqual(refund.amount_tax, 7.99)
        self.assertAlmostEqual(refund.amount_total, 41.32)

    def test_accounting_date_from_basware(self):
        document = self.approve(
            [{"accountCode": "601101", "netTotal": 5.0}], tax_percent=0, invoice_date="2026-01-15"
        )
        document["baseLineDate"] = "2026-01-20T00:00:00"
        bill = self.backend._basware_create_bill(document)
        self.assertEqual(bill.invoice_date, fields.Date.to_date("2026-01-15"))
        self.assertEqual(bill.date, fields.Date.to_date("2026-01-20"), "the baseline date")
        document = self.approve(
            [{"accountCode": "601101", "netTotal": 5.0}], tax_percent=0, invoice_date="2026-01-15"
        )
        document["voucherDate"] = "2026-01-31T00:00:00"
        bill = self.backend._basware_create_bill(document)
        self.assertEqual(bill.date, fields.Date.to_date("2026-01-31"), "the voucher date")

    def test_accounting_date_by_odoo_rule(self):
        self.backend.invoice_accounting_date = "odoo"
        document = self.approve(
            [{"accountCode": "601101", "netTotal": 5.0}], tax_percent=0, invoice_date="2026-01-15"
        )
        document["voucherDate"] = "2026-01-25T00:00:00"
        bill = self.backend._basware_create_bill(document)
        expected = bill._get_accounting_date(bill.invoice_date, bill._affect_tax_report())
        self.assertEqual(bill.date, expected)
        self.assertNotEqual(bill.date, fields.Date.to_date("2026-01-25"))

    def test_several_dimensions_make_one_analytic_line(self):
        project_plan = self.env["account.analytic.plan"].create({"name": "Projects"})
        bridge = self.env["account.analytic.account"].create(
            {"name": "Bridge", "code": "PRJ-7", "plan_id": project_plan.id}
        )
        self.env["basware.analytic.mapping"].create(
            {"backend_id": self.backend.id, "plan_id": project_plan.id, "target": "project"}
        )
        document = self.approve(
            [
                {
                    "accountCode": "601101",
                    "netTotal": 5.0,
                    "costCenterCode": "CC-S",
                    "projectCode": "PRJ-7",
                },
                {"accountCode": "601101", "netTotal": 5.0, "projectCode": "PRJ-404"},
            ],
            tax_percent=0,
        )
        self.assertRejected(document, ("project", "PRJ-404"))
        document["codingRows"].pop()
        document["grossSum"] = 5.0
        bill = self.backend._basware_create_bill(document)
        key = ",".join(str(id_) for id_ in sorted([self.cc_south.id, bridge.id]))
        self.assertEqual(bill.invoice_line_ids.analytic_distribution, {key: 100.0})

    def test_odoo_refusing_the_bill_is_a_rejection(self):
        sweden = self.env.ref("base.se")
        group = self.env["account.tax.group"].create({"name": "SE VAT", "country_id": sweden.id})
        self.env["account.tax"].create(
            {
                "tax_group_id": group.id,
                "name": "Swedish 25%",
                "amount": 25.0,
                "type_tax_use": "purchase",
                "basware_code": "SE25",
                "country_id": sweden.id,
            }
        )
        document = self.approve(
            [{"accountCode": "601101", "netTotal": 10.0, "taxCode": "SE25", "taxPercent": 25}]
        )
        error = self.assertRejected(document)
        self.assertEqual(error.unmapped, [("bill", "")])
        self.assertIn("bill refused: ", error.response_message)
        self.assertGreater(len(error.response_message), len("Not booked in Odoo: bill refused: "))


@tagged("post_install", "-at_install")
class TestInvoiceRejections(InvoiceMappingCase):
    def test_unknown_vendor(self):
        document = self.approve(
            [{"accountCode": "601101", "netTotal": 5.0}], supplier_code="NO-SUCH", tax_percent=0
        )
        error = self.assertRejected(document, ("vendor", "NO-SUCH"))
        self.assertEqual(error.unmapped, [("vendor", "NO-SUCH")])

    def test_unknown_account(self):
        document = self.approve([{"accountCode": "NO-404", "netTotal": 5.0}], tax_percent=0)
        self.assertRejected(document, ("account", "NO-404"))

    def test_unknown_tax(self):
        document = self.approve([{"accountCode": "601101", "netTotal": 5.0, "taxCode": "VAT99"}])
        self.assertRejected(document, ("tax", "VAT99"))

    def test_unknown_cost_center(self):
        document = self.approve(
            [{"accountCode": "601101", "netTotal": 5.0, "costCenterCode": "CC-X"}], tax_percent=0
        )
        self.assertRejected(document, ("cost_center", "CC-X"))

    def test_total_mismatch(self):
        document = self.approve(
            [{"accountCode": "601101", "netTotal": 100.0, "taxCode": "VAT24"}], gross_sum=125.0
        )
        error = self.assertRejected(document, ("total", "125.00"))
        self.assertIn("total 125.00 differs: Odoo computes 124.00", error.response_message)

    def test_tax_difference_beyond_the_tolerance_is_not_followed(self):
        document = self.approve(
            [{"accountCode": "601101", "netTotal": 100.0, "taxCode": "VAT24", "taxSum": 24.05}]
        )
        self.assertRejected(document, ("total", "124.05"))

    def test_total_within_a_larger_tolerance(self):
        self.backend.invoice_total_tolerance = 0.05
        document = self.approve(
            [{"accountCode": "601101", "netTotal": 100.0, "taxCode": "VAT24"}], gross_sum=124.04
        )
        self.assertAlmostEqual(self.backend._basware_create_bill(document).amount_total, 124.0)

    def test_locked_period(self):
        self.company.fiscalyear_lock_date = "2025-12-31"
        document = self.approve(
            [{"accountCode": "601101", "netTotal": 5.0}], tax_percent=0, invoice_date="2025-12-15"
        )
        error = self.assertRejected(document, ("period", "2025-12-15"))
        self.assertIn("locked", error.response_message)

    def test_document_of_another_company(self):
        document = self.approve(
            [{"accountCode": "601101", "netTotal": 5.0}], tax_percent=0, company_code="C999"
        )
        self.assertRejected(document, ("company", "C999"))

    def test_tax_of_another_company(self):
        other = self.env["res.company"].create(
            {"name": "Other Paper Company", "country_id": self.env.ref("base.fi").id}
        )
        group = self.env["account.tax.group"].create({"name": "VAT", "company_id": other.id})
        self.env["account.tax"].create(
            {
                "tax_group_id": group.id,
                "country_id": other.country_id.id,
                "name": "Other 24%",
                "amount": 24.0,
                "type_tax_use": "purchase",
                "basware_code": "VAT24-OTHER",
                "company_id": other.id,
            }
        )
        document = self.approve(
            [{"accountCode": "601101", "netTotal": 5.0, "taxCode": "VAT24-OTHER"}]
        )
        error = self.assertRejected(document, ("tax", "VAT24-OTHER"))
        self.assertIn("of another company", error.response_message)

    def test_every_problem_is_named_at_once(self):
        document = self.approve(
            [
                {"accountCode": "NO-401", "netTotal": 5.0, "taxCode": "VAT98"},
                {"accountCode": "NO-402", "netTotal": 5.0, "costCenterCode": "CC-X"},
            ],
            supplier_code="NO-SUCH",
        )
        error = self.assertRejected(
            document,
            ("vendor", "NO-SUCH"),
            ("account", "NO-401"),
            ("account", "NO-402"),
            ("tax", "VAT98"),
            ("cost_center", "CC-X"),
        )
        self.assertIn("GL account NO-401, NO-402 unknown", error.response_message)

    def test_long_message_fits_basware(self):
        rows = [
            {"accountCode": f"UNKNOWN-ACCOUNT-{index:03d}", "netTotal": 1.0} for index in range(40)
        ]
        document = self.approve(rows, tax_percent=0)
        error = self.assertRejected(document, ("account", "UNKNOWN-ACCOUNT-000"))
        self.assertEqual(len(error.response_message), RESPONSE_MESSAGE_MAX_LENGTH)
        self.assertTrue(error.response_message.endswith("…"))
        self.assertIn("UNKNOWN-ACCOUNT-039", str(error), "the exchange keeps every code")

    def test_order_line_of_another_vendor(self):
        order = self.confirmed_order()
        other = self.env["res.partner"].create({"name": "Other Vendor", "ref": "V-2002"})
        post_records(self.client, bw.VENDORS_PATH, [other._basware_vendor_values(self.backend)])
        document = self.approve(
            [{"orderLine": self.line_code(order.order_line[0]), "netTotal": 12.5}],
            vendor="V-2002",
        )
        code = f"{order.name}/{order.order_line[0].id}"
        self.assertRejected(document, ("order_line", code))


@tagged("post_install", "-at_install")
class TestBaswareInvoiceUnique(InvoiceMappingCase):
    def test_one_bill_per_backend_and_invoice_id(self):
        document = self.approve([{"accountCode": "601101", "netTotal": 5.0}], tax_percent=0)
        bill = self.backend._basware_create_bill(document)
        with mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.IntegrityError):
            self.backend._basware_create_bill(document)
        self.assertEqual(self.bills_of(document), bill)
        copy = bill.copy()
        self.assertFalse(copy.basware_invoice_id, "a copy is no Basware invoice")
        other_backend = self.backend.copy({"name": "Basware Second Tenant"})
        with mute_logger("odoo.sql_db"), self.assertRaises(psycopg2.IntegrityError):
            copy.write(
                {
                    "basware_invoice_id": document["invoiceId"],
                    "basware_backend_id": self.backend.id,
                }
            )
            copy.flush_recordset()
        copy.write(
            {"basware_invoice_id": document["invoiceId"], "basware_backend_id": other_backend.id}
        )
        copy.flush_recordset()
        self.assertEqual(len(self.bills_of(document)), 2, "another backend may hold the same id")


@tagged("post_install", "-at_install")
class TestSandboxCodingRows(InvoiceMappingCase):
    def test_operator_approves_explicit_rows_over_http(self):
        response = requests.post(
            f"{self.sandbox.url}{OPERATOR_PREFIX}/approve",
            json={
                "vendor": "V-2001",
                "credit_note": True,
                "coding_rows": [
                    {"accountCode": "601101", "netTotal": 10.0, "taxPercent": 24},
                    {"accountCode": "601102", "netTotal": 20.0, "taxPercent": 14, "taxSum": 2.79},
                ],
            },
            timeout=TIMEOUT,
        )
        self.assertEqual(response.status_code, 200, response.text)
        document = response.json()
        rows = document["codingRows"]
        self.assertEqual([row["netTotal"] for row in rows], [-10.0, -20.0])
        self.assertEqual([row["taxSum"] for row in rows], [-2.4, -2.79])
        self.assertEqual([row["rowIndex"] for row in rows], [1, 2])
        self.assertEqual(document["grossSum"], -35.19)
        self.assertEqual(document["invoiceTypeCode"], "CreditNote")

    def test_command_line_approves_explicit_rows(self):
        port = self.sandbox.url.rsplit(":", 1)[1]
        rows = [{"accountCode": "601101", "netTotal": 60.0, "costCenterCode": "CC-N"}]
        result = subprocess.run(
            [sys.executable, "-m", "sandbox", "approve", "--port", port, "--vendor", "V-2001"]
            + ["--coding-rows", json.dumps(rows), "--gross-sum", "61"],
            cwd=ADDON_ROOT,
            capture_output=True,
            text=True,
            timeout=TIMEOUT * 3,
            check=False,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        [stored] = self.sandbox.received("accountingDocuments")
        self.assertEqual(stored["codingRows"][0]["costCenterCode"], "CC-N")
        self.assertEqual(stored["codingRows"][0]["netTotal"], 60.0)
        self.assertEqual(stored["grossSum"], 61.0)

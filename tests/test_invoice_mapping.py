"""Basware accounting documents mapped to draft vendor bills: codes, lines, totals, checks.

The documents are made by the sandbox operator as a Basware user approving an invoice
would, on the vendor, order and order lines the backend sent over HTTP, and fetched back
over HTTP as the inbound flow does.
"""

from odoo import Command, fields
from odoo.tests import tagged

from ..models.basware_invoice_mapping import RESPONSE_MESSAGE_MAX, BaswareDocumentRejected
from .common import BaswareSandboxCase

COMPANY_CODE = "C100"


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
        return cls.env["account.tax"].create(
            {
                "name": name,
                "amount": amount,
                "amount_type": "percent",
                "type_tax_use": "purchase",
                "basware_code": code,
            }
        )

    @classmethod
    def _account(cls, name, code):
        return cls.env["account.account"].create(
            {"name": name, "code": code, "account_type": "expense"}
        )

    def setUp(self):
        super().setUp()
        self.client = self.backend._get_client()
        self.client.post_vendors([self.vendor._basware_vendor_values(self.backend)])

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
        self.client.post_matching_orders([order._basware_order_values(self.backend)])
        self.client.post_matching_order_lines(
            [line._basware_order_line_values(self.backend) for line in order.order_line]
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
        self.assertLessEqual(len(error.response_message), RESPONSE_MESSAGE_MAX)
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

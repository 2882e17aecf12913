"""End to end: Odoo sends its vendor, GL accounts, taxes, cost centers and purchase orders;
a Basware user approves 20 invoices on them; one import books 20 bills and Basware shows
them transferred with the bills' numbers."""

from odoo import Command
from odoo.tests import tagged

from ..basware import constants as bw
from ..sandbox.operator import PDF_IMAGE
from .inbound_common import InboundCase, basware_document, transfer_responses

INVOICES = 19  # and one credit note
SYNC_ROUNDS = 3


@tagged("post_install", "-at_install")
class TestEndToEnd(InboundCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tax_14 = cls.env["account.tax"].create(
            {
                "name": "Purchase 14% (inbound)",
                "amount": 14.0,
                "amount_type": "percent",
                "type_tax_use": "purchase",
                "basware_code": "VAT14",
            }
        )
        cls.services = cls.env["account.account"].create(
            {"name": "Outside Services (inbound)", "code": "601302", "account_type": "expense"}
        )
        plan = cls.env["account.analytic.plan"].create({"name": "Inbound Cost Centers"})
        analytic = cls.env["account.analytic.account"]
        cls.north = analytic.create({"name": "North", "code": "IN-N", "plan_id": plan.id})
        cls.south = analytic.create({"name": "South", "code": "IN-S", "plan_id": plan.id})
        cls.backend.analytic_mapping_ids.unlink()
        cls.env["basware.analytic.mapping"].create(
            {"backend_id": cls.backend.id, "plan_id": plan.id, "target": "cost_center"}
        )
        product = cls.env["product.product"]
        values = {"type": "consu", "purchase_method": "purchase"}
        values["property_account_expense_id"] = cls.account.id
        cls.paper = product.create({"name": "Copy Paper (inbound)", **values})
        cls.toner = product.create({"name": "Toner (inbound)", **values})
        cls.orders = cls.env["purchase.order"].create(
            [
                {
                    "partner_id": cls.vendor.id,
                    "order_line": [
                        Command.create(cls._line(cls.paper, 10, 12.5, cls.tax)),
                        Command.create(cls._line(cls.toner, 4, 50.0, cls.tax_14)),
                    ],
                }
                for _index in range(INVOICES)
            ]
        )
        cls.orders.button_confirm()

    @classmethod
    def _line(cls, product, quantity, price, tax):
        return {
            "product_id": product.id,
            "product_qty": quantity,
            "price_unit": price,
            "tax_ids": [Command.set(tax.ids)],
        }

    def export_to_basware(self):
        """The outbound sync, until Basware knows the vendor, its orders and their lines."""
        for _round in range(SYNC_ROUNDS):
            self.backend._basware_sync_outbound()
            self.run_queue()
        self.assertEqual(len(self.sandbox.received("matchingOrderLines")), 2 * INVOICES)

    def approve_on_order(self, index, order):
        paper, toner = order.order_line
        code = self.backend._basware_external_code
        return self.sandbox.approve_invoice(
            notify=False,
            supplier_code=self.vendor.ref,
            currency=self.env.company.currency_id.name,
            payment_term="",
            invoice_number=f"E2E-{index:03d}",
            coding_rows=[
                # One order line split over two cost centers.
                {
                    "orderLine": code(paper),
                    "matchedQuantity": 6,
                    "netTotal": 75.0,
                    "costCenterCode": "IN-N",
                },
                {
                    "orderLine": code(paper),
                    "matchedQuantity": 4,
                    "netTotal": 50.0,
                    "costCenterCode": "IN-S",
                },
                {"orderLine": code(toner), "matchedQuantity": 4, "netTotal": 200.0},
                {
                    "accountCode": self.services.code,
                    "netTotal": 10.0 + index,
                    "taxCode": "VAT24",
                    "taxPercent": 24.0,
                    "costCenterCode": "IN-N",
                },
            ],
        )

    def test_twenty_approved_invoices_become_twenty_bills_transferred_in_basware(self):
        self.export_to_basware()
        documents = [self.approve_on_order(index, order) for index, order in enumerate(self.orders)]
        paper = self.orders[0].order_line[0]
        credit = self.sandbox.approve_invoice(
            notify=False,
            supplier_code=self.vendor.ref,
            currency=self.env.company.currency_id.name,
            payment_term="",
            credit_note=True,
            coding_rows=[
                {
                    "orderLine": self.backend._basware_external_code(paper),
                    "matchedQuantity": 2,
                    "netTotal": 25.0,
                    "costCenterCode": "IN-S",
                }
            ],
        )

        result = self.import_documents()

        self.assertIn("20 invoice(s) received", result["params"]["message"])
        self.assertIn("20 imported", result["params"]["message"])
        bills = self.Move.search([("basware_backend_id", "=", self.backend.id)])
        self.assertEqual(len(bills), 20)
        self.assertEqual(bills.mapped("state"), ["posted"] * 20)
        self.assertEqual(len(bills.filtered(lambda bill: bill.move_type == "in_refund")), 1)
        for document, order in zip(documents, self.orders, strict=True):
            self.assertInvoiceBooked(document, order)
        for order in self.orders[1:]:
            self.assertEqual(order.order_line.mapped("qty_invoiced"), [10.0, 4.0])
        refund = self.bills_of(credit["invoiceId"])
        self.assertEqual(refund.move_type, "in_refund")
        self.assertAlmostEqual(refund.amount_total, -credit["grossSum"])
        self.assertEqual(refund.invoice_line_ids.purchase_line_id, paper)
        self.assertEqual(paper.qty_invoiced, 8.0)
        for document in [*documents, credit]:
            self.assertTransferredAs(document["invoiceId"], self.bills_of(document["invoiceId"]))
        self.assertEqual(len(transfer_responses(self.sandbox)), 20)

    def assertInvoiceBooked(self, document, order):
        bill = self.bills_of(document["invoiceId"])
        paper, toner = order.order_line
        self.assertEqual(bill.move_type, "in_invoice")
        self.assertEqual(bill.partner_id, self.vendor)
        self.assertEqual(bill.ref, document["invoiceNumber"])
        self.assertAlmostEqual(bill.amount_total, document["grossSum"])
        lines = bill.invoice_line_ids.sorted("sequence")
        self.assertEqual(lines.mapped("purchase_line_id"), paper | toner)
        self.assertEqual(lines[:2].purchase_line_id, paper)
        self.assertEqual(lines[0].analytic_distribution, {str(self.north.id): 100.0})
        self.assertEqual(lines[1].analytic_distribution, {str(self.south.id): 100.0})
        self.assertEqual(lines[3].analytic_distribution, {str(self.north.id): 100.0})
        self.assertEqual(lines.mapped("account_id"), self.account | self.services)
        self.assertEqual(lines[3].account_id, self.services)
        self.assertEqual(lines.mapped("tax_ids"), self.tax | self.tax_14)
        self.assertEqual(lines[2].tax_ids, self.tax_14)
        self.assertEqual(bill.message_main_attachment_id.raw, PDF_IMAGE)
        self.assertEqual(
            basware_document(self.sandbox, document["invoiceId"])["processingStatus"],
            bw.PS_TRANSFERRED,
        )

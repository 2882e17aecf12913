from odoo import Command
from odoo.tests import TransactionCase, tagged

from .stock_common import real_time_product, receive


@tagged("post_install", "-at_install")
class TestStockHelpers(TransactionCase):
    def test_bill_of_received_real_time_product_is_booked_on_stock_valuation(self):
        product = real_time_product(self.env, "Valued Pallet")
        valuation = product.categ_id.property_stock_valuation_account_id
        vendor = self.env["res.partner"].create({"name": "Pallet Works"})
        order = self.env["purchase.order"].create(
            {
                "partner_id": vendor.id,
                "order_line": [
                    Command.create({"product_id": product.id, "product_qty": 5, "price_unit": 8.0})
                ],
            }
        )
        order.button_confirm()
        receipt = receive(order, {order.order_line: 3})
        self.assertEqual(receipt.state, "done")
        self.assertEqual(order.order_line.qty_received, 3)
        self.assertEqual(order.picking_ids - receipt, receipt.backorder_ids)

        order.action_create_invoice()
        [bill_line] = order.invoice_ids.invoice_line_ids
        self.assertEqual(bill_line.quantity, 3)
        self.assertEqual(bill_line.account_id, valuation)
        self.assertNotEqual(valuation, product.product_tmpl_id._get_product_accounts()["expense"])

from odoo.tests import TransactionCase


class TestSmoke(TransactionCase):
    def test_installed(self):
        module = self.env["ir.module.module"].search([("name", "=", "basware_connector")])
        self.assertEqual(module.state, "installed")

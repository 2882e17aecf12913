"""Codes are never cut: a code longer than Basware takes refuses its record, named with
the field to shorten, and the rest goes through. The orders' organization element is a
backend setting."""

from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from ..basware import constants as bw
from ..models.basware_payload import RecordRefused
from .test_sync_outbound import SyncCase

LONG_REF = "NORDIC-PAPER-HELSINKI-0001"  # 26 characters
TWIN_REF = "NORDIC-PAPER-HELSINKI-0002"  # the same first 25
LONG_ACCOUNT_CODE = "6011" + "0" * 26  # 30 characters


@tagged("post_install", "-at_install")
class TestCodeLengths(SyncCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner = cls.env["res.partner"]
        cls.long_vendor = Partner.create(
            {"name": "Long Ref Paper", "ref": LONG_REF, "is_company": True, "supplier_rank": 1}
        )
        cls.twin_vendor = Partner.create(
            {"name": "Twin Ref Paper", "ref": TWIN_REF, "is_company": True, "supplier_rank": 1}
        )

    def _sent_codes(self, entity, key):
        return {item[key] for item in self.sandbox.received(entity)}

    def test_too_long_vendor_codes_are_refused_and_the_others_go(self):
        results = self._sync(["vendor"])
        self.assertEqual(sum(result.refused for result in results), 2)
        self._run_queue()
        self.assertEqual(self._binding(self.vendor).sync_state, "done")
        for vendor, ref in ((self.long_vendor, LONG_REF), (self.twin_vendor, TWIN_REF)):
            binding = self._binding(vendor)
            self.assertEqual(binding.sync_state, "error")
            self.assertEqual(
                binding.sync_message,
                f"Vendor '{vendor.name}' (id {vendor.id}): its Reference '{ref}' is 26 "
                "characters long; Basware takes at most 25 for vendorCode.",
            )
        self.assertEqual(
            self._sent_codes("vendors", "vendorCode"),
            {self.vendor._basware_vendor_code(self.backend)},
            "no cut code reached Basware",
        )

        self.long_vendor.ref = "NORDIC-PAPER-HKI-1"
        self._sync(["vendor"])
        self._run_queue()
        self.assertEqual(self._binding(self.long_vendor).sync_state, "done")
        self.assertIn("NORDIC-PAPER-HKI-1", self._sent_codes("vendors", "vendorCode"))

    def test_vendor_code_made_of_a_long_prefix_is_refused(self):
        self.backend.vendor_code_prefix = "ODOO-NORDIC-SUBSIDIARY-FI-"
        with self.assertRaises(RecordRefused) as caught:
            self.vendor._basware_vendor_values(self.backend)
        message = str(caught.exception)
        self.assertIn(f"Vendor 'Nordic Paper Oy' (id {self.vendor.id})", message)
        self.assertIn("Vendor Code Prefix", message)
        self.assertIn("at most 25 for vendorCode", message)

    def test_too_long_gl_account_is_refused(self):
        Account = self.env["account.account"]
        long_account = Account.create(
            {"name": "Long Coded Supplies", "code": LONG_ACCOUNT_CODE, "account_type": "expense"}
        )
        short_account = Account.create(
            {"name": "Short Coded Supplies", "code": "601199", "account_type": "expense"}
        )
        self._sync(["account"])
        self._run_queue()
        self.assertEqual(
            self._binding(long_account).sync_message,
            f"GL account '{long_account.display_name}' (id {long_account.id}): its Code "
            f"'{LONG_ACCOUNT_CODE}' is 30 characters long; Basware takes at most 25 for "
            "accountCode.",
        )
        self.assertEqual(self._binding(short_account).sync_state, "done")
        self.assertNotIn(LONG_ACCOUNT_CODE[:25], self._sent_codes("accounts", "accountCode"))

    def test_analytic_code_checked_against_the_field_it_goes_to(self):
        plan = self.env["account.analytic.plan"].create({"name": "Long Departments"})
        self.backend.analytic_mapping_ids.unlink()
        mapping = self.env["basware.analytic.mapping"].create(
            {"backend_id": self.backend.id, "plan_id": plan.id, "target": "cost_center"}
        )
        code = "DEPARTMENT-NORTH-WAREHOUSE-3"  # 28 characters
        analytic = self.env["account.analytic.account"].create(
            {"name": "North Warehouse", "code": code, "plan_id": plan.id}
        )
        self._sync(["analytic"])
        binding = self._binding(analytic)
        self.assertEqual(binding.sync_state, "error")
        self.assertIn(
            f"Analytic account '{analytic.display_name}' (id {analytic.id})", binding.sync_message
        )
        self.assertIn("at most 25 for costCenterCode", binding.sync_message)
        # A generic list's codes come back in dimCode1, which takes 100 characters.
        mapping.write({"target": "list", "list_key": "ACC_LIST_1", "coding_field": "dimCode1"})
        self.assertEqual(analytic._basware_dimension_values(self.backend, mapping)["text_1"], code)

    def test_too_long_order_number_and_line_account_are_refused(self):
        long_account = self.env["account.account"].create(
            {"name": "Long Coded Paper", "code": LONG_ACCOUNT_CODE, "account_type": "expense"}
        )
        _product, long_order = self._confirmed_order("Envelopes", "ENV-C5", 5, 2.0)
        long_order.name = "PO-" + "9" * 98
        paper, order = self._confirmed_order("Copy paper", "PAPER-A3", 3, 7.0)
        paper.property_account_expense_id = long_account
        _pens, other = self._confirmed_order("Pens", "PEN-BLUE", 20, 0.5)
        self._sync(["vendor"])
        self._run_queue()

        self._sync(["purchase_order"])
        self._run_queue()
        long_binding = self._binding(long_order)
        self.assertEqual(long_binding.sync_state, "error")
        self.assertIn(
            f"Purchase order '{long_order.name}' (id {long_order.id})", long_binding.sync_message
        )
        self.assertIn("is 101 characters long", long_binding.sync_message)
        self.assertIn("at most 100 for orderNumber", long_binding.sync_message)
        self.assertEqual(self._binding(order).sync_state, "done")
        self.assertEqual(self._binding(other).sync_state, "done")

        self._sync(["purchase_order"])
        self._run_queue()
        line_binding = self._binding(order.order_line)
        self.assertEqual(line_binding.sync_state, "error")
        self.assertIn(f"GL account '{long_account.display_name}'", line_binding.sync_message)
        self.assertIn("at most 25 for accountCode", line_binding.sync_message)
        self.assertEqual(self._binding(other.order_line).sync_state, "done")
        self.assertEqual(len(self._posts(bw.MATCHING_ORDERS_PATH)), 1, "one write of orders")


@tagged("post_install", "-at_install")
class TestOrganizationElement(SyncCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _product, cls.order = cls._confirmed_order("Toner", "TONER-K", 2, 60.0)
        # The backend form counts the bills from Basware: its users also work in Invoicing.
        cls.ap_manager = cls._new_user(
            "bw_codes_ap_manager",
            "basware_connector.group_basware_manager,account.group_account_invoice",
        )

    def test_set_on_the_backend_form_and_sent_with_the_orders(self):
        with Form(self.backend.with_user(self.ap_manager)) as form:
            form.basware_organization_element = "C100-NORTH"
        payload = self.order._basware_order_values(self.backend)
        self.assertEqual(payload["organizationElementCode"], "C100-NORTH")
        self.assertEqual(payload["companyCode"], "C100")

    def test_empty_is_the_company_code(self):
        self.backend.basware_organization_element = False
        payload = self.order._basware_order_values(self.backend)
        self.assertEqual(payload["organizationElementCode"], "C100")

    def test_length_checked_on_the_backend(self):
        for code in ("N", "N" * 26):
            with self.subTest(code=code), self.assertRaises(ValidationError) as caught:
                self.backend.basware_organization_element = code
            self.assertIn("organizationElementCode", str(caught.exception))

    def test_a_company_code_too_long_for_orders_refuses_them(self):
        # Master data takes a companyCode of 32 characters, an order 25.
        self.backend.basware_company_code = "C100-NORTHERN-EUROPE-REGION"
        with self.assertRaises(RecordRefused) as caught:
            self.order._basware_order_values(self.backend)
        message = str(caught.exception)
        self.assertIn("Basware Company Code of the backend Basware Test", message)
        self.assertIn("at most 25 for companyCode", message)

"""Companies and tenants kept apart: record rules on every company-bound model, a shared
vendor's contacts of other companies stay home, one active importer per tenant and
company code."""

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from .common import BaswareBackendCase
from .test_sync_outbound import SyncCase

MANAGER_GROUPS = "base.group_user,basware_connector.group_basware_manager"
SAME_IMPORTER = "already imports the invoices of company code"


@tagged("post_install", "-at_install")
class TestCompanyRecordRules(SyncCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({"name": "Basware Company B"})
        cls.user_b = cls._new_user("bw_isolation_b", MANAGER_GROUPS, company=cls.company_b)
        plan = cls.env["account.analytic.plan"].create({"name": "Isolation Departments"})
        cls.backend.analytic_mapping_ids.unlink()
        cls.mapping = cls.env["basware.analytic.mapping"].create(
            {"backend_id": cls.backend.id, "plan_id": plan.id, "target": "cost_center"}
        )

    def test_a_user_of_company_b_sees_nothing_of_company_a(self):
        self._sync(["vendor"])
        binding = self._binding(self.vendor)
        flows = self.backend.sync_flow_ids
        self.assertTrue(binding and flows and self.mapping)
        records = {
            "basware.binding": binding,
            "basware.sync.flow": flows,
            "basware.analytic.mapping": self.mapping,
        }
        for model, own in records.items():
            with self.subTest(model=model):
                found = self.env[model].with_user(self.user_b).search([])
                self.assertFalse(found & own)
                with self.assertRaises(AccessError):
                    own[:1].with_user(self.user_b).read(["company_id"])
                self.assertTrue(own.with_user(self.manager).read(["company_id"]), "A's see them")

    def test_a_user_of_company_b_sees_its_own_backend_records(self):
        backend_b = self.env["basware.backend"].create(
            {"name": "Backend B", "company_id": self.company_b.id}
        )
        flows = self.env["basware.sync.flow"].with_user(self.user_b).search([])
        self.assertEqual(flows, backend_b.sync_flow_ids)


@tagged("post_install", "-at_install")
class TestSharedVendorContacts(SyncCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({"name": "Contacts Company B"})
        cls.child_company = cls.env["res.company"].create(
            {"name": "Contacts Subsidiary", "parent_id": cls.company.id}
        )
        # A vendor shared by every company, as Odoo's vendors are by default.
        cls.vendor.company_id = False
        contacts = [
            ("Anna Shared", False),
            ("Aaro of A", cls.company.id),
            ("Bert of B", cls.company_b.id),
            ("Sami of the Subsidiary", cls.child_company.id),
        ]
        cls.env["res.partner"].create(
            [
                {
                    "name": name,
                    "parent_id": cls.vendor.id,
                    "type": "contact",
                    "email": f"{name.split()[0].lower()}@nordicpaper.example",
                    "company_id": company_id,
                }
                for name, company_id in contacts
            ]
        )
        cls.env["res.partner"].create(
            {
                "name": "B's warehouse",
                "parent_id": cls.vendor.id,
                "type": "delivery",
                "street": "Lagerweg 2",
                "city": "Hamburg",
                "company_id": cls.company_b.id,
            }
        )

    def test_only_the_contacts_of_the_backend_company_are_sent(self):
        self._sync(["vendor"])
        self._run_queue()
        binding = self._binding(self.vendor)
        self.assertEqual(binding.sync_state, "done", binding.sync_message)
        stored = {item["externalCode"]: item for item in self.sandbox.received("vendors")}
        sent = stored[binding.external_code]
        names = [contact["name"] for contact in sent["contacts"]]
        self.assertEqual(names, ["Nordic Paper Oy", "Anna Shared", "Aaro of A"])
        addresses = [address["name"] for address in sent["addresses"]]
        self.assertNotIn("B's warehouse", addresses)

    def test_a_backend_of_a_subsidiary_gets_the_parent_company_contacts(self):
        backend = self.env["basware.backend"].create(
            {"name": "Subsidiary", "company_id": self.child_company.id}
        )
        names = [c["name"] for c in self.vendor._basware_contacts(backend)]
        self.assertEqual(
            names, ["Nordic Paper Oy", "Anna Shared", "Aaro of A", "Sami of the Subsidiary"]
        )


@tagged("post_install", "-at_install")
class TestOneImporterPerTenant(BaswareBackendCase):
    def _backend(self, name, **values):
        return self.env["basware.backend"].create(
            {
                "name": name,
                "environment": "test",
                "api_url": self.backend.api_url,
                "basware_company_code": "C100",
                **values,
            }
        )

    def test_second_active_backend_on_the_same_tenant_and_code_is_refused(self):
        self.backend.api_url = "https://test-api.basware.com"
        for name, values in (
            ("Same", {}),
            ("Trailing slash", {"api_url": "https://test-api.basware.com/"}),
            ("Other case", {"api_url": "HTTPS://Test-API.Basware.com"}),
            ("Code case", {"basware_company_code": " c100 "}),
        ):
            with self.subTest(name), self.assertRaises(ValidationError) as caught:
                self._backend(name, **values)
            self.assertIn("Basware Test", str(caught.exception))
            self.assertIn(SAME_IMPORTER, str(caught.exception))

    def test_other_company_codes_tenants_and_archived_backends_do_not_count(self):
        self._backend("Other code", basware_company_code="C200")
        self._backend("Other tenant", api_url="http://127.0.0.1:19")
        archived = self._backend("Archived", active=False)
        with self.assertRaises(ValidationError):
            archived.action_unarchive()
        self.backend.action_archive()
        archived.action_unarchive()
        self.assertTrue(archived.active)

    def test_a_copy_is_no_second_importer(self):
        copy = self.backend.copy()
        self.assertFalse(copy.basware_company_code, "the copy gets its own company code")
        with self.assertRaises(ValidationError):
            copy.basware_company_code = "C100"

    def test_another_company_cannot_import_the_same_invoices(self):
        company_b = self.env["res.company"].create({"name": "Importer Company B"})
        with self.assertRaises(ValidationError) as caught:
            self._backend("In B", company_id=company_b.id)
        self.assertIn(self.company.name, str(caught.exception))

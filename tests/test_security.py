from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import BaswareBackendCase

USER_GROUPS = "base.group_user,basware_connector.group_basware_user"
MANAGER_GROUPS = "base.group_user,basware_connector.group_basware_manager"
SECRET_FIELDS = (
    "client_secret",
    "webhook_secret",
    "client_secret_encrypted",
    "webhook_secret_encrypted",
    "token_encrypted",
)


@tagged("post_install", "-at_install")
class TestSecurity(BaswareBackendCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.internal = cls._new_user("bw_internal", "base.group_user")
        cls.basware_user = cls._new_user("bw_user", USER_GROUPS)
        cls.manager = cls._new_user("bw_manager", MANAGER_GROUPS)
        cls.exchange = cls.env["basware.exchange"]._enqueue(cls.backend, "vendor", "outbound")

    def test_admin_is_basware_manager(self):
        admin = self.env.ref("base.user_admin")
        self.assertTrue(admin.has_group("basware_connector.group_basware_manager"))
        self.assertTrue(self.manager.has_group("basware_connector.group_basware_user"))

    def test_internal_user_has_no_access(self):
        backend = self.backend.with_user(self.internal)
        with self.assertRaises(AccessError):
            backend.read(["name"])
        with self.assertRaises(AccessError):
            self.exchange.with_user(self.internal).read(["state"])

    def test_basware_user_reads_but_cannot_configure(self):
        backend = self.backend.with_user(self.basware_user)
        self.assertEqual(backend.name, "Basware Test")
        self.assertTrue(backend.client_secret_set)
        self.assertEqual(backend.exchange_count, 1)
        self.assertEqual(self.exchange.with_user(self.basware_user).state, "pending")
        with self.assertRaises(AccessError):
            backend.write({"api_url": "https://api.basware.com"})
        with self.assertRaises(AccessError):
            self.exchange.with_user(self.basware_user).write({"state": "done"})
        with self.assertRaises(AccessError):
            backend.create({"name": "Rogue backend"})

    def test_secrets_hidden_from_non_administrators(self):
        for user in (self.basware_user, self.manager):
            backend = self.backend.with_user(user)
            for field_name in SECRET_FIELDS:
                with self.subTest(user=user.login, field=field_name):
                    with self.assertRaises(AccessError):
                        backend.read([field_name])
                    self.assertNotIn(field_name, backend.fields_get())
        with self.assertRaises(AccessError):
            self.backend.with_user(self.manager).write({"client_secret": "stolen"})

    def test_manager_configures_backend(self):
        backend = self.backend.with_user(self.manager)
        backend.write({"basware_company_code": "C200", "exchange_batch_size": 10})
        self.assertEqual(backend.basware_company_code, "C200")
        new_backend = backend.create({"name": "Manager backend"})
        # without a stored secret, the endpoints are the manager's to set
        new_backend.write({"environment": "production"})
        self.assertEqual(new_backend.api_url, "https://api.basware.com")
        self.assertEqual(new_backend.company_id, self.company)
        # the manager's client reads the secret on its behalf, without seeing it
        self.assertEqual(backend._get_client().config.client_id, "sandbox")
        new_backend.unlink()

    def test_manager_cannot_redirect_the_stored_secret(self):
        backend = self.backend.with_user(self.manager)
        for values in (
            {"token_url": "https://collector.example.com/v1/tokens"},
            {"api_url": "https://collector.example.com"},
            {"environment": "production"},
            {"region": "us"},
        ):
            with self.subTest(values=values), self.assertRaises(AccessError):
                backend.write(values)
        self.backend.write({"token_url": "https://login.example.com/v1/tokens"})
        self.assertEqual(self.backend.token_url, "https://login.example.com/v1/tokens")

    def test_connection_test_needs_write_access(self):
        with self.assertRaises(AccessError):
            self.backend.with_user(self.basware_user).action_test_connection()

    def test_system_administrator_sets_secrets(self):
        admin = self.env.ref("base.user_admin")
        self.backend.with_user(admin).write({"client_secret": "rotated-secret"})
        self.assertEqual(self.backend._get_client_secret(), "rotated-secret")
        self.assertFalse(self.backend.with_user(admin).read(["client_secret"])[0]["client_secret"])

    def test_multi_company_rule(self):
        company_b = self.env["res.company"].create({"name": "Basware Company B"})
        backend_b = self.env["basware.backend"].create(
            {"name": "Backend B", "company_id": company_b.id}
        )
        exchange_b = self.env["basware.exchange"]._enqueue(backend_b, "vendor", "outbound")
        user_b = self._new_user("bw_manager_b", MANAGER_GROUPS, company=company_b)
        backends = self.env["basware.backend"].with_user(user_b).search([])
        self.assertEqual(backends, backend_b)
        with self.assertRaises(AccessError):
            self.backend.with_user(user_b).read(["name"])
        exchanges = self.env["basware.exchange"].with_user(user_b).search([])
        self.assertEqual(exchanges, exchange_b)
        with self.assertRaises(AccessError):
            self.exchange.with_user(user_b).read(["state"])

    def test_backend_stays_in_the_companies_of_its_user(self):
        company_a = self.company
        company_b = self.env["res.company"].create({"name": "Basware Company B"})
        backend_b = self.env["basware.backend"].create(
            {"name": "Backend B", "company_id": company_b.id}
        )
        manager_b = self._new_user("bw_manager_b", MANAGER_GROUPS, company=company_b)
        with self.assertRaises(AccessError) as caught:
            backend_b.with_user(manager_b).write({"company_id": company_a.id})
        self.assertIn("company you have access to", str(caught.exception))
        self.assertEqual(backend_b.company_id, company_b)
        with self.assertRaises(AccessError):
            self.env["basware.backend"].with_user(manager_b).create(
                {"name": "Backend in A", "company_id": company_a.id}
            )

        # a manager of both companies moves a backend between them...
        manager_ab = self._new_user(
            "bw_manager_ab",
            MANAGER_GROUPS,
            company=company_b,
            company_ids=[Command.set([company_a.id, company_b.id])],
        )
        backend_b.with_user(manager_ab).write({"company_id": company_a.id})
        self.assertEqual(backend_b.company_id, company_a)
        # ...but only into the companies selected in the switcher
        only_a = backend_b.with_user(manager_ab).with_context(allowed_company_ids=[company_a.id])
        with self.assertRaises(AccessError):
            only_a.write({"company_id": company_b.id})
        with self.assertRaises(AccessError):
            only_a.create({"name": "Backend in B", "company_id": company_b.id})
        self.assertEqual(
            only_a.create({"name": "Another backend in A"}).company_id,
            company_a,
            "the default company is always allowed",
        )

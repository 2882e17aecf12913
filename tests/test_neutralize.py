import time

from odoo.exceptions import UserError
from odoo.modules.neutralize import get_neutralization_queries
from odoo.tests import tagged

from ..models.basware_backend import BackendPaused
from .common import UNUSED_LOCAL_URL, BaswareBackendCase

PRODUCTION_URLS = (
    "https://api.basware.com",
    "https://eu.api.basware.com",
    "https://API.Basware.com.",
)
NON_PRODUCTION_URLS = (
    "https://test-api.basware.com",
    "https://api.basware.com.example.net",
    UNUSED_LOCAL_URL,
)


@tagged("post_install", "-at_install")
class TestNeutralize(BaswareBackendCase):
    def _basware_crons(self):
        return (
            self.env["ir.model.data"]
            .search([("module", "=", "basware_connector"), ("model", "=", "ir.cron")])
            .mapped(lambda data: self.env["ir.cron"].browse(data.res_id))
        )

    def test_neutralize_stops_all_contact_with_basware(self):
        crons = self._basware_crons()
        self.assertTrue(crons, "the connector ships scheduled actions")
        crons.active = True
        self.backend._get_token_store().save(
            {"access_token": "a.b.c", "expires_at": time.time() + 3600}
        )
        unrelated_cron = self.env.ref("base.autovacuum_job")
        unrelated_cron.active = True
        self.env.flush_all()

        queries = list(get_neutralization_queries(["basware_connector"]))
        self.assertTrue(queries)
        for query in queries:
            self.env.cr.execute(query)
        self.env.invalidate_all()

        self.assertFalse(self.backend.active)
        self.assertIsNone(self.backend._get_token_store().load())
        self.assertFalse(any(crons.mapped("active")))
        self.assertTrue(unrelated_cron.active, "other modules' crons are theirs to neutralize")
        # the secrets survive: a test backend can be re-enabled on purpose
        self.assertTrue(self.backend.client_secret_set)

    def _neutralize(self, modules=("base", "basware_connector")):
        self.env.flush_all()
        for query in get_neutralization_queries(modules):
            self.env.cr.execute(query)
        self.env.invalidate_all()
        self.env.registry.clear_cache()

    def _point_at(self, api_url, token_url=None):
        self.backend.write(
            {
                "environment": "test",
                "api_url": api_url,
                "token_url": token_url or api_url + "/v1/tokens",
            }
        )

    def test_neutralized_copy_judges_hosts_not_labels(self):
        self._neutralize()
        self.assertFalse(self.backend.active)
        # an administrator re-enables the backend on purpose, labelled "test"
        self.backend.action_unarchive()
        for url in PRODUCTION_URLS:
            with self.subTest(url=url):
                self._point_at(url)
                self.assertEqual(self.backend.environment, "test")
                with self.assertRaises(BackendPaused) as caught:
                    self.backend._get_client()
                self.assertIn("neutralized copy", str(caught.exception))
                self.assertIn("api.basware.com", str(caught.exception))
        # the token URL alone is enough to be blocked
        self._point_at(UNUSED_LOCAL_URL, "https://api.basware.com/v1/tokens")
        with self.assertRaises(BackendPaused):
            self.backend._get_client()
        for url in NON_PRODUCTION_URLS:
            with self.subTest(url=url):
                self._point_at(url)
                self.assertFalse(self.backend._get_pause_reason())
                self.backend._get_client()

    def test_production_label_stays_blocked(self):
        self._neutralize()
        self.backend.action_unarchive()
        self.backend.write({"environment": "production", "api_url": UNUSED_LOCAL_URL})
        with self.assertRaises(BackendPaused) as caught:
            self.backend._get_client()
        self.assertIn("test environment", str(caught.exception))

    def test_production_hosts_connect_outside_a_neutralized_copy(self):
        self._point_at(PRODUCTION_URLS[0])
        self.assertFalse(self.backend._get_pause_reason())
        self.backend._get_client()

    def test_archived_backend_neither_connects_nor_tests(self):
        self._neutralize()
        with self.assertRaises(BackendPaused):
            self.backend._get_client()
        with self.assertRaises(UserError) as caught:
            self.backend.action_test_connection()
        self.assertIn("archived", str(caught.exception))

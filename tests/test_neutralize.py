import time

from odoo.modules.neutralize import get_neutralization_queries
from odoo.tests import tagged

from .common import BaswareBackendCase


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

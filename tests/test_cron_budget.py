"""The crons as Odoo's scheduler runs them: real transactions, Odoo 19's time budget.

Odoo 19 gives a cron run a soft budget of about ten seconds (``_commit_progress`` counts
it down) and runs a cron that spent it again at once. The spine's crons must work within
it: a due exchange is sent, an approved invoice is pulled and answered.
"""

from unittest.mock import patch

from odoo.tests import TransactionCase, tagged

from ..basware import constants as bw
from ..models import basware_exchange
from .common import CLIENT_ID, CLIENT_SECRET, start_key_and_sandbox, vendor

EXCHANGE_CRON = "basware_connector.ir_cron_basware_exchange_process"
IMPORT_CRON = "basware_connector.ir_cron_basware_import_documents"
COMPANY_CODE = "C100"


@tagged("post_install", "-at_install")
class TestCronsWithinOdooBudget(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = start_key_and_sandbox(cls)

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    def _committed_backend(self):
        """A backend committed as a real one is; dropped after the test."""
        with self.env.registry.cursor() as cr:
            backend = self.env(cr=cr)["basware.backend"].create(
                {
                    "name": "Cron budget",
                    "environment": "test",
                    "api_url": self.sandbox.url,
                    "token_url": self.sandbox.token_url,
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "basware_company_code": COMPANY_CODE,
                    "request_max_attempts": 1,
                    # phase two is not part of these tests: its polls are not due yet
                    "request_status_delay": 3600,
                }
            )
            backend_id = backend.id
        self.addCleanup(self._drop_committed, backend_id)
        return backend_id

    def _run_cron(self, xmlid):
        """One run of the cron by Odoo's scheduler code, committing as outside tests."""
        cron = self.env.ref(xmlid)
        with patch.object(basware_exchange, "in_test_mode", return_value=False):
            cron.method_direct_trigger()

    def _committed(self, model, domain):
        with self.env.registry.cursor() as cr:
            records = self.env(cr=cr)[model].search(domain)
            return [(record.kind, record.state) for record in records]

    def test_the_exchange_cron_sends_what_is_due(self):
        backend_id = self._committed_backend()
        with self.env.registry.cursor() as cr:
            self.env(cr=cr)["basware.exchange"]._enqueue_post(
                self.env(cr=cr)["basware.backend"].browse(backend_id),
                "vendor",
                bw.VENDORS_PATH,
                [vendor(1)],
            )

        self._run_cron(EXCHANGE_CRON)

        exchanges = self._committed(
            "basware.exchange", [("backend_id", "=", backend_id), ("kind", "=", "vendor")]
        )
        self.assertEqual(exchanges, [("vendor", "done")])
        self.assertEqual(len(self.sandbox.received("vendors")), 1)

    def test_the_import_cron_pulls_and_answers_an_approved_invoice(self):
        backend_id = self._committed_backend()
        # A vendor Odoo does not know: the import answers Basware, and books nothing.
        document = self.sandbox.approve_invoice(
            notify=False,
            supplier_code="UNKNOWN-VENDOR",
            company_code=COMPANY_CODE,
            currency=self.env.company.currency_id.name,
            payment_term="",
            coding_rows=[{"accountCode": "601301", "netTotal": 10.0}],
        )

        self._run_cron(IMPORT_CRON)

        # (The answer's phase-two poll waits for the exchange cron.)
        exchanges = self._committed(
            "basware.exchange",
            [("backend_id", "=", backend_id), ("kind", "!=", "request_status")],
        )
        self.assertEqual(
            sorted(exchanges),
            [("accounting_document", "failed"), ("transfer_response", "done")],
        )
        [answer] = self.sandbox.received("transferResponses")
        self.assertEqual(answer["invoiceId"], document["invoiceId"])
        self.assertFalse(answer["success"])
        self.assertIn("UNKNOWN-VENDOR", answer["responseMessage"])

    def _drop_committed(self, backend_id):
        with self.env.registry.cursor() as cr:
            env = self.env(cr=cr)
            env["basware.exchange"].search([("backend_id", "=", backend_id)]).unlink()
            env["basware.backend"].browse(backend_id).unlink()
            crons = env.ref(EXCHANGE_CRON) | env.ref(IMPORT_CRON)
            env["ir.cron.progress"].search([("cron_id", "in", crons.ids)]).unlink()

"""A flow is switched off and on from the backend's form and stays listed; a backend that
fails never stops a scheduled job for the others, and its error stays on it."""

from unittest.mock import patch

from odoo.tests import Form, TransactionCase, tagged
from odoo.tests.common import BaseCase
from odoo.tools import mute_logger

from ..basware import constants as bw
from ..models import basware_backend_outbound_changes as changes
from ..models import basware_exchange
from ..models.basware_backend_outbound import FLOW_OF_KIND
from ..models.basware_sync_flow import FLOW_KEYS
from .common import CLIENT_ID, CLIENT_SECRET, start_key_and_sandbox
from .test_sync_outbound import SyncCase

JOBS_LOGGER = "odoo.addons.basware_connector.models.basware_backend_jobs"
NO_COMPANY_CODE = "Set the Basware company code of the backend A Broken Basware"


def flow_of(backend, key):
    return backend.sync_flow_ids.filtered(lambda flow: flow.flow == key)


# The backend form counts the bills from Basware: its users also work in Invoicing.
AP_MANAGER_GROUPS = "basware_connector.group_basware_manager,account.group_account_invoice"


class TestFlowTable(BaseCase):
    """Each flow names the one method giving its sets; none is left unreachable."""

    def test_every_flow_has_one_sets_method_and_every_method_a_flow(self):
        self.assertEqual(set(changes.FLOW_SETS), set(FLOW_KEYS))
        defined = {
            name for name in vars(changes.BaswareBackend) if name.startswith("_basware_sets_")
        }
        self.assertEqual(defined, set(changes.FLOW_SETS.values()))

    def test_a_replayed_kind_is_rebuilt_by_a_flow(self):
        self.assertLessEqual(set(FLOW_OF_KIND.values()), set(FLOW_KEYS))


@tagged("post_install", "-at_install")
class TestFlowSwitch(SyncCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ap_manager = cls._new_user("bw_flows_ap_manager", AP_MANAGER_GROUPS)

    def _switch(self, key, enabled):
        """Tick or untick a flow on the backend's form, as an AP manager does."""
        backend = self.backend.with_user(self.ap_manager)
        index = backend.sync_flow_ids.mapped("flow").index(key)
        with Form(backend) as form, form.sync_flow_ids.edit(index) as line:
            line.enabled = enabled

    def test_switched_off_flow_stays_listed_and_the_runs_go_on(self):
        self._switch("vendor", False)
        flows = self.backend.with_user(self.manager).sync_flow_ids
        self.assertEqual(len(flows), 6, "the switched-off flow is still on the form")
        self.assertFalse(flow_of(self.backend, "vendor").enabled)

        self.backend._cron_sync_flow("vendor")
        self.backend._cron_sync_flow("payment_term")
        result = self.backend.with_user(self.manager).action_sync_now()
        self.assertEqual(result["params"]["type"], "success", result["params"]["message"])
        self.assertFalse(self._binding(self.vendor), "a switched-off flow sends nothing")
        self.assertTrue(flow_of(self.backend, "payment_term").last_success_date)
        self.assertEqual(len(self.backend.sync_flow_ids), 6, "no flow was made again")

        self._switch("vendor", True)
        self.assertTrue(flow_of(self.backend, "vendor").enabled)
        self.backend._cron_sync_flow("vendor")
        self.assertEqual(self._binding(self.vendor).sync_state, "sent")

    def test_switched_off_flow_is_left_out_of_the_preview(self):
        self._switch("vendor", False)
        action = self.backend.with_user(self.manager).action_preview_sync()
        preview = self.env["basware.sync.preview"].browse(action["res_id"])
        self.assertNotIn("vendor", preview.line_ids.mapped("entity"))
        self.assertIn("payment_term", preview.line_ids.mapped("entity"))


class FailingBackendCase(SyncCase):
    """A second backend of the company, sorted before the class's one, that cannot run:
    it has no Basware company code."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.broken = cls.env["basware.backend"].create(
            {
                "name": "A Broken Basware",
                "environment": "test",
                "api_url": cls.sandbox.url,
                "token_url": cls.sandbox.token_url,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "request_max_attempts": 1,
                "request_status_delay": 0,
            }
        )

    def _backend_exchanges(self, backend):
        return self.Exchange.search([("backend_id", "=", backend.id)])

    def _vendor_post(self, backend):
        return self._backend_exchanges(backend).filtered(
            lambda exchange: exchange.endpoint == bw.VENDORS_PATH
        )


@tagged("post_install", "-at_install")
class TestFailingBackendInTheFlowCron(FailingBackendCase):
    @mute_logger(JOBS_LOGGER)
    def test_a_failing_backend_does_not_stop_the_next_one(self):
        self.backend._cron_sync_flow("vendor")

        broken_flow = flow_of(self.broken, "vendor")
        self.assertIn(NO_COMPANY_CODE, broken_flow.last_message)
        self.assertTrue(broken_flow.last_run_date)
        self.assertFalse(broken_flow.last_success_date)
        self.assertIn("Vendors", self.broken.job_error)
        self.assertIn(NO_COMPANY_CODE, self.broken.job_error)
        self.assertTrue(self.broken.job_error_date)
        self.assertIn(NO_COMPANY_CODE, self.broken.message_ids[0].body)
        self.assertIn(NO_COMPANY_CODE, str(self.broken.dashboard_flows))

        self.assertEqual(self._binding(self.vendor).sync_state, "sent", "the next one ran")
        self.assertTrue(flow_of(self.backend, "vendor").last_success_date)
        self.assertFalse(self.backend.job_error)

    @mute_logger(JOBS_LOGGER)
    def test_the_error_is_posted_once_and_cleared_by_the_next_good_run(self):
        self.backend._cron_sync_flow("vendor")
        broken_flow = flow_of(self.broken, "vendor")
        broken_flow.last_run_date = False
        self.backend._cron_sync_flow("vendor")
        notes = self.broken.message_ids.filtered(lambda m: NO_COMPANY_CODE in (m.body or ""))
        self.assertEqual(len(notes), 1, "the same error is posted once")

        self.broken.basware_company_code = "C900"
        broken_flow.last_run_date = False
        self.backend._cron_sync_flow("vendor")
        self.assertFalse(broken_flow.last_message)
        self.assertTrue(broken_flow.last_success_date)
        self.assertFalse(self.broken.job_error)

    @mute_logger(JOBS_LOGGER)
    def test_what_the_failing_backend_wrote_is_rolled_back(self):
        self.broken.basware_company_code = "C900"
        exchange_class = type(self.Exchange)
        enqueue = exchange_class._enqueue_chunks
        broken_id = self.broken.id

        def enqueue_then_fail(exchange, backend, *args, **kwargs):
            exchanges = enqueue(exchange, backend, *args, **kwargs)
            if backend.id == broken_id:
                raise RuntimeError("disk full")
            return exchanges

        with patch.object(exchange_class, "_enqueue_chunks", enqueue_then_fail):
            self.backend._cron_sync_flow("vendor")
        self.assertFalse(self._backend_exchanges(self.broken), "nothing of it stays")
        self.assertFalse(
            self.Binding.search([("backend_id", "=", self.broken.id)]), "no binding either"
        )
        self.assertIn("RuntimeError: disk full", flow_of(self.broken, "vendor").last_message)
        self.assertEqual(self._binding(self.vendor).sync_state, "sent")


@tagged("post_install", "-at_install")
class TestFailingBackendInTheQueueAndImportCrons(FailingBackendCase):
    @mute_logger(JOBS_LOGGER)
    def test_queue_cron_runs_the_next_backend(self):
        self.broken.basware_company_code = "C900"
        self._sync(["vendor"])
        self.broken._basware_sync_outbound(["vendor"])
        broken_class = type(self.broken)
        get_client = broken_class._get_client
        broken_id = self.broken.id

        def client_or_crash(backend, **overrides):
            if backend.id == broken_id:
                raise RuntimeError("certificate store unreadable")
            return get_client(backend, **overrides)

        with patch.object(broken_class, "_get_client", client_or_crash):
            self.Exchange._cron_process_due()
        self.assertEqual(self._binding(self.vendor).sync_state, "done", "the next one ran")
        self.assertEqual(self._vendor_post(self.broken).state, "pending")
        self.assertIn("Exchange queue", self.broken.job_error)
        self.assertIn("certificate store unreadable", self.broken.job_error)

        self.Exchange._cron_process_due()
        self.assertFalse(self.broken.job_error, "cleared by the next good run of the queue")
        self.assertEqual(self._vendor_post(self.broken).state, "done")

    @mute_logger(JOBS_LOGGER)
    def test_import_cron_runs_the_next_backend(self):
        self.broken.basware_company_code = "C900"
        broken_class = type(self.broken)
        queue_payments = broken_class._basware_queue_payment_responses
        broken_id = self.broken.id

        def queue_or_crash(backend):
            if backend.id == broken_id:
                raise RuntimeError("payment view missing")
            return queue_payments(backend)

        with patch.object(broken_class, "_basware_queue_payment_responses", queue_or_crash):
            self.env["basware.backend"]._cron_import_documents()
        self.assertTrue(self.backend.last_sync_date, "the next backend pulled")
        self.assertIn("Invoice import", self.broken.job_error)
        self.assertIn("payment view missing", self.broken.job_error)
        self.assertFalse(self.backend.job_error)


@tagged("post_install", "-at_install")
class TestFailingBackendWithRealCommits(TransactionCase):
    """Outside tests a cron commits as it goes: the failing backend's uncommitted work is
    rolled back, the other backend's and the error are committed."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = start_key_and_sandbox(cls)

    def _committed_setup(self):
        with self.env.registry.cursor() as cr:
            env = self.env(cr=cr)
            values = {
                "environment": "test",
                "api_url": self.sandbox.url,
                "token_url": self.sandbox.token_url,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            }
            backends = env["basware.backend"].create(
                [
                    {"name": "Commit A broken", "basware_company_code": "CA", **values},
                    {"name": "Commit B working", "basware_company_code": "CB", **values},
                ]
            )
            # Only this vendor: the vendors of the database are not part of this test.
            vendor = env["res.partner"].create(
                {"name": "Committed Vendor", "is_company": True, "supplier_rank": 1}
            )
            backends.write({"vendor_domain": f"[('id', '=', {vendor.id})]"})
            ids = backends.ids
        self.addCleanup(self._drop_committed, ids, vendor.id)
        return ids

    def _drop_committed(self, backend_ids, vendor_id):
        with self.env.registry.cursor() as cr:
            env = self.env(cr=cr)
            env["basware.exchange"].search([("backend_id", "in", backend_ids)]).unlink()
            env["basware.backend"].browse(backend_ids).unlink()
            env["res.partner"].browse(vendor_id).unlink()

    @mute_logger(JOBS_LOGGER)
    def test_rollback_and_commits(self):
        broken_id, working_id = self._committed_setup()
        exchange_class = type(self.env["basware.exchange"])
        enqueue = exchange_class._enqueue_chunks

        def enqueue_then_fail(exchange, backend, *args, **kwargs):
            exchanges = enqueue(exchange, backend, *args, **kwargs)
            if backend.id == broken_id:
                raise RuntimeError("disk full")
            return exchanges

        with (
            patch.object(basware_exchange, "in_test_mode", return_value=False),
            patch.object(exchange_class, "_enqueue_chunks", enqueue_then_fail),
            self.env.registry.cursor() as cr,
        ):
            self.env(cr=cr)["basware.backend"]._cron_sync_flow("vendor")

        with self.env.registry.cursor() as cr:
            env = self.env(cr=cr)
            exchanges = env["basware.exchange"].search(
                [("backend_id", "in", [broken_id, working_id])]
            )
            self.assertEqual(exchanges.backend_id.ids, [working_id])
            self.assertEqual(exchanges.endpoint, bw.VENDORS_PATH)
            broken = env["basware.backend"].browse(broken_id)
            self.assertIn("RuntimeError: disk full", broken.job_error)
            vendor_flow = broken.sync_flow_ids.filtered(lambda flow: flow.flow == "vendor")
            self.assertIn("disk full", vendor_flow.last_message)
            self.assertFalse(vendor_flow.high_water_mark, "its run did not happen")

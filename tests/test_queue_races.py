"""Normal races stay quiet: what workers sharing the queue do at the same moment is
handled, and logs no error (Odoo logs any failed query at ERROR as a "bad query").

Real transactions: each worker or request commits in a cursor of its own, as outside
tests, and the races are forced with barriers or with a snapshot taken before the other
transaction commits.
"""

import threading
from datetime import timedelta
from unittest.mock import patch

import requests

from odoo import fields
from odoo.tests import HttpCase, TransactionCase, tagged
from odoo.tools import SQL

from ..basware import constants as bw
from ..models import basware_exchange as queue
from .common import WEBHOOK_SECRET, CommittedBackendMixin, enqueue_post, vendor
from .inbound_common import COMPANY_CODE, approve
from .test_webhook import SIGNATURE_HEADER, encode, notification, sign

SQL_LOGGER = "odoo.sql_db"
THREAD_TIMEOUT = 60
DELIVERIES = 3
IMPORT_CRON = "basware_connector.ir_cron_basware_import_documents"


class RaceMixin(CommittedBackendMixin):
    """A committed backend, and workers run together in threads."""

    def _race_backend(self, **values):
        return self.committed_backend(
            "Races", basware_company_code=COMPANY_CODE, request_max_attempts=1, **values
        )

    def _run_at_once(self, *works):
        """Run each ``work()`` in its own thread, together; return their results."""
        results, errors = [None] * len(works), []

        def run(index, work):
            try:
                results[index] = work()
            except Exception as error:  # noqa: BLE001 - reported to the test below
                errors.append(error)

        threads = [
            threading.Thread(target=run, args=(index, work)) for index, work in enumerate(works)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(THREAD_TIMEOUT)
        self.assertFalse(any(thread.is_alive() for thread in threads), "a worker hangs")
        self.assertEqual(errors, [])
        return results


@tagged("post_install", "-at_install")
class TestWebhookDeliveriesRace(RaceMixin, HttpCase):
    # Each request works in a real transaction of its own, as in production.
    registry_test_mode = False

    def setUp(self):
        super().setUp()
        self.backend_id = self._race_backend(webhook_secret=WEBHOOK_SECRET)
        self.cron_id = self.env.ref(IMPORT_CRON).id
        last_trigger = self.committed(self._last_trigger)
        self.addCleanup(self.committed, lambda env: self._drop_triggers(env, last_trigger))

    def _last_trigger(self, env):
        env.cr.execute(SQL("SELECT coalesce(max(id), 0) FROM ir_cron_trigger"))
        return env.cr.fetchone()[0]

    def _drop_triggers(self, env, after):
        env.cr.execute(
            SQL("DELETE FROM ir_cron_trigger WHERE cron_id = %s AND id > %s", self.cron_id, after)
        )

    def test_three_deliveries_at_once_store_one_notification_quietly(self):
        payload = notification()
        body = encode(payload)
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body)}
        token = self.committed(
            lambda env: env["basware.backend"].browse(self.backend_id).webhook_token
        )
        url = f"{self.base_url()}/basware/webhook/{token}"
        barrier = threading.Barrier(DELIVERIES, timeout=THREAD_TIMEOUT)
        exchange_class = type(self.env["basware.exchange"])
        enqueue = exchange_class._enqueue

        def together(exchanges, backend, kind, *args, **kwargs):
            # Each delivery looked the task up and found nothing: each one stores it.
            if kind == queue.KIND_WEBHOOK:
                barrier.wait()
            return enqueue(exchanges, backend, kind, *args, **kwargs)

        def deliver():
            return requests.post(url, data=body, headers=headers, timeout=THREAD_TIMEOUT)

        with (
            patch.object(exchange_class, "_enqueue", together),
            self.assertNoLogs(SQL_LOGGER, "ERROR"),
        ):
            responses = self._run_at_once(*[deliver] * DELIVERIES)

        self.assertEqual([response.status_code for response in responses], [200] * DELIVERIES)
        self.assertEqual([response.json() for response in responses], [payload] * DELIVERIES)
        stored = self.committed(
            lambda env: (
                env["basware.exchange"]
                .search([("backend_id", "=", self.backend_id)])
                .mapped("dedup_key")
            )
        )
        self.assertEqual(stored, [f"task:{payload['taskId']}"])


@tagged("post_install", "-at_install")
class TestInboxRace(RaceMixin, TransactionCase):
    def setUp(self):
        super().setUp()
        self.sandbox.reset()
        self.backend_id = self._race_backend()

    def _pull(self):
        def pull(env):
            backend = env["basware.backend"].browse(self.backend_id)
            with backend._get_client() as client:
                return len(backend._basware_pull_documents(client))

        return self.committed(pull)

    def test_two_pulls_at_once_inbox_each_invoice_once_quietly(self):
        invoice_ids = sorted(approve(self.sandbox, self.env)["invoiceId"] for _index in range(3))
        barrier = threading.Barrier(2, timeout=THREAD_TIMEOUT)
        exchange_class = type(self.env["basware.exchange"])
        inbox_new = exchange_class._inbox_new

        def together(exchanges, backend, documents):
            # Both pulls looked the page up and found nothing: both inbox it.
            barrier.wait()
            return inbox_new(exchanges, backend, documents)

        with (
            patch.object(queue, "in_test_mode", return_value=False),
            patch.object(exchange_class, "_inbox_new", together),
            self.assertNoLogs(SQL_LOGGER, "ERROR"),
        ):
            inboxed = self._run_at_once(self._pull, self._pull)

        self.assertEqual(sorted(inboxed), [0, len(invoice_ids)], "the other one's to import")
        imports = self.committed(
            lambda env: (
                env["basware.exchange"]
                .search([("backend_id", "=", self.backend_id)])
                .mapped("external_code")
            )
        )
        self.assertEqual(sorted(imports), invoice_ids)


@tagged("post_install", "-at_install")
class TestLockRaces(RaceMixin, TransactionCase):
    """A worker whose transaction began before another one committed a change meets a
    row it may not lock (REPEATABLE READ): it leaves it to the next run, quietly."""

    def setUp(self):
        super().setUp()
        self.backend_id = self._race_backend()

        def enqueue(env):
            Exchange = env["basware.exchange"]
            backend = env["basware.backend"].browse(self.backend_id)
            due = enqueue_post(Exchange, backend, queue.KIND_VENDOR, bw.VENDORS_PATH, [vendor(1)])
            stuck = enqueue_post(Exchange, backend, queue.KIND_VENDOR, bw.VENDORS_PATH, [vendor(2)])
            started = fields.Datetime.now() - timedelta(minutes=Exchange._stuck_minutes() + 1)
            stuck._queue_edit().write(
                {"state": queue.STATE_IN_PROGRESS, "attempt_count": 1, "date_started": started}
            )
            return due | stuck

        self.exchange_ids = self.committed(enqueue).ids

    def _changed_by_another_worker(self, env):
        env["basware.exchange"].browse(self.exchange_ids)._queue_edit().write(
            {"state": queue.STATE_DONE, "next_attempt_at": False}
        )

    def test_claims_count_and_requeue_meet_rows_changed_since_their_snapshot(self):
        with self.env.registry.cursor() as late_cr:
            late = self.env(cr=late_cr)
            backend = late["basware.backend"].browse(self.backend_id)
            Exchange = late["basware.exchange"]
            late_cr.execute(SQL("SELECT 1"))  # its snapshot is taken
            self.committed(self._changed_by_another_worker)
            with self.assertNoLogs(SQL_LOGGER, "ERROR"):
                self.assertFalse(Exchange._claim_due(backend, 10))
                self.assertFalse(Exchange._requeue_stuck())
                # Counted from its snapshot: at worst one more run of the cron.
                self.assertEqual(Exchange._due_count(backend), 1)
            late_cr.rollback()
        with self.env.registry.cursor() as cr:
            exchanges = self.env(cr=cr)["basware.exchange"].browse(self.exchange_ids)
            self.assertEqual(set(exchanges.mapped("state")), {queue.STATE_DONE})

    def test_pull_time_meets_a_concurrent_write_of_its_backend(self):
        with self.env.registry.cursor() as late_cr:
            late = self.env(cr=late_cr)
            backend = late["basware.backend"].browse(self.backend_id)
            self.assertFalse(backend.last_sync_date)  # its snapshot is taken

            def another_write(env):
                env["basware.backend"].browse(self.backend_id).write({"name": "Renamed"})

            self.committed(another_write)
            with self.assertNoLogs(SQL_LOGGER, "ERROR"):
                backend._basware_mark_pulled(fields.Datetime.now())
            late_cr.commit()
        with self.env.registry.cursor() as cr:
            self.assertFalse(
                self.env(cr=cr)["basware.backend"].browse(self.backend_id).last_sync_date
            )

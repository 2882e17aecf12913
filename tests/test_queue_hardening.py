"""The exchange queue under the failures the sync flows will meet: stale ids, busy loops,
duplicate enqueues, concurrency errors, slow phase two, chunked writes, foreign companies,
forged fields and failures while recording a failure."""

import json
import time
from datetime import timedelta
from unittest.mock import patch

from cryptography.fernet import Fernet

from odoo import fields, sql_db
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import SQL, mute_logger

from ..basware import constants as bw
from ..models import basware_exchange
from .common import CLIENT_SECRET, QueueCase, encryption_key, enqueue_post, run_now, vendor

QUEUE_LOGGER = "odoo.addons.basware_connector.models.basware_exchange"


class HardeningCase(QueueCase):
    def _make_due(self, exchange):
        exchange._queue_edit().write({"next_attempt_at": fields.Datetime.now()})

    def _calls(self, path):
        return [entry for entry in self.sandbox.requests if entry["path"] == path]


@tagged("post_install", "-at_install")
class TestQueueCallIds(HardeningCase):
    @mute_logger(QUEUE_LOGGER)
    def test_request_ids_belong_to_their_exchange(self):
        """Item 1: an exchange that fails before any call keeps no ids of the one before."""
        healthy = self._poll()
        no_call = self.Exchange._enqueue(self.backend, "request_status", "outbound")
        run_now(healthy | no_call)
        self.assertEqual(healthy.state, "done", healthy.error_message)
        self.assertTrue(healthy.request_id)
        self.assertEqual(no_call.state, "failed")
        self.assertFalse(no_call.request_id)
        self.assertFalse(no_call.basware_request_id)

    def test_tracked_request_id_survives_the_acknowledge(self):
        """Item 2: the request a poll tracks is kept apart from the ids of its own calls."""
        tracked = self._posted_request_id()
        poll = self._poll(tracked)
        run_now(poll)
        self.assertEqual(poll.state, "done", poll.error_message)
        self.assertEqual(poll.tracked_request_id, tracked)
        self.assertTrue(poll.basware_request_id)
        self.assertNotEqual(poll.basware_request_id, tracked)
        self.sandbox.clear_requests()
        poll.with_user(self.manager).action_replay()
        run_now(poll)
        self.assertEqual(poll.state, "done", poll.error_message)
        looked_up = self._calls(bw.REQUEST_STATUS_PATH.format(request_id=tracked))
        self.assertEqual(len(looked_up), 1, "the replay must poll the tracked request")


@tagged("post_install", "-at_install")
class TestQueueClaims(HardeningCase):
    def test_due_count_matches_what_the_cron_runs(self):
        """Item 3: due work of an archived backend is not counted, so no busy loop."""
        archived = self.backend.copy({"name": "Archived", "client_secret": CLIENT_SECRET})
        self.Exchange._enqueue(archived, "vendor", "outbound")
        archived.active = False
        self.assertEqual(self.Exchange._due_count(), 0)
        self.Exchange._cron_process_due()
        stale = self.Exchange.search([("backend_id", "=", archived.id)])
        self.assertEqual(stale.state, "pending")
        self.assertEqual(stale.attempt_count, 0)
        due = self._poll()
        self.assertEqual(self.Exchange._due_count(), 1)
        self.Exchange._cron_process_due()
        self.assertEqual(due.state, "done")
        self.assertEqual(self.Exchange._due_count(), 0)

    def test_enqueue_is_idempotent(self):
        """Item 5: the same dedup key returns the existing exchange instead of raising."""
        first = self.Exchange._enqueue(self.backend, "vendor", "outbound", dedup_key="V-1")
        again = self.Exchange._enqueue(self.backend, "vendor", "outbound", dedup_key="V-1")
        self.assertEqual(again, first)
        self.assertEqual(again.state, "pending")
        first._queue_edit().write({"state": "done", "next_attempt_at": False})
        self.assertEqual(
            self.Exchange._enqueue(self.backend, "vendor", "outbound", dedup_key="V-1").state,
            "done",
        )
        rerun = self.Exchange._enqueue(
            self.backend,
            "vendor",
            "outbound",
            dedup_key="V-1",
            payload={"name": "new"},
            rerun_done=True,
        )
        self.assertEqual(rerun, first)
        self.assertEqual(rerun.state, "pending")
        self.assertEqual(json.loads(rerun.request_payload), {"name": "new"})
        self.assertEqual(self.Exchange.search_count([("dedup_key", "=", "V-1")]), 1)

    @mute_logger(QUEUE_LOGGER)
    def test_postgres_concurrency_errors_are_retried(self):
        """Item 6: a lock held by another transaction fails the attempt, retryably."""
        poll = self._poll()
        lock_key = 0x5BA5

        def locked_handler(exchange, client):
            exchange.env.cr.execute(SQL("SET LOCAL lock_timeout = 100"))
            exchange.env.cr.execute(SQL("SELECT pg_advisory_xact_lock(%s)", lock_key))

        # A connection of its own: the registry's cursors share the test transaction.
        with (
            sql_db.db_connect(self.env.cr.dbname).cursor() as other,
            patch.object(self.exchange_class, "_run_request_status", locked_handler),
        ):
            other.execute(SQL("SELECT pg_advisory_xact_lock(%s)", lock_key))
            run_now(poll)
            other.rollback()
        self.assertEqual(poll.state, "failed")
        self.assertEqual(poll.error_class, "LockNotAvailable")
        self.assertTrue(poll.error_retryable)
        self.assertTrue(poll.next_attempt_at)

    @mute_logger(QUEUE_LOGGER)
    def test_request_status_polls_over_its_horizon(self):
        """Item 7: a slow phase two is polled past the attempt limit, at a growing interval,
        and dies only after the backend's horizon."""
        self.sandbox.set_faults(processing_delay=3600)
        poll = self._poll()
        delays = []
        for _attempt in range(self.backend.exchange_max_attempts + 3):
            before = fields.Datetime.now()
            run_now(poll)
            self.assertEqual(poll.state, "failed", poll.error_message)
            delays.append((poll.next_attempt_at - before).total_seconds())
        self.assertEqual(poll.attempt_count, self.backend.exchange_max_attempts + 3)
        self.assertGreater(delays[-1], delays[0] * 4)
        self.assertLessEqual(max(delays), basware_exchange.REQUEST_STATUS_RETRY_MAX + 1)
        horizon = timedelta(hours=self.backend.request_status_horizon_hours)
        self.env.cr.execute(
            SQL(
                "UPDATE basware_exchange SET create_date = %s WHERE id = %s",
                fields.Datetime.now() - horizon,
                poll.id,
            )
        )
        poll.invalidate_recordset(["create_date"])
        run_now(poll)
        self.assertEqual(poll.state, "dead")

    def test_each_chunk_is_its_own_exchange(self):
        """Item 8: 450 vendors are 3 writes, 3 exchanges, 3 request ids and 3 polls."""
        posts = self._vendor_post(450)
        self.assertEqual(len(posts), 3)
        self.assertEqual([len(json.loads(post.request_payload)) for post in posts], [200, 200, 50])
        self.sandbox.clear_requests()
        run_now(posts)
        self.assertEqual(set(posts.mapped("state")), {"done"})
        self.assertEqual(len(self._calls(bw.VENDORS_PATH)), 3)
        request_ids = set(posts.mapped("basware_request_id"))
        self.assertEqual(len(request_ids), 3)
        polls = posts.child_ids
        self.assertEqual(set(polls.mapped("tracked_request_id")), request_ids)
        for post in posts:
            self.assertEqual(post.child_ids.tracked_request_id, post.basware_request_id)
        run_now(polls)
        self.assertEqual(set(polls.mapped("state")), {"done"})
        self.assertEqual(len(self.sandbox.received("vendors")), 450)

    def test_first_poll_waits_for_the_phase_two_delay(self):
        self.backend.request_status_delay = 600
        post = self._vendor_post(1)
        run_now(post)
        self.assertGreater(post.child_ids.next_attempt_at, fields.Datetime.now())
        self.assertNotIn(post.child_ids, self.Exchange._claim_due(self.backend, 10))


@tagged("post_install", "-at_install")
class TestQueueCompanies(HardeningCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.env["res.company"].create({"name": "Basware Company B"})
        cls.backend_b = cls.backend.copy(
            {"name": "Company B", "company_id": cls.company_b.id, "client_secret": CLIENT_SECRET}
        )
        cls.manager_b = cls._new_user(
            "bw_queue_manager_b", "basware_connector.group_basware_manager", company=cls.company_b
        )

    def test_handlers_run_in_the_backend_company(self):
        """Item 9."""
        seen = []
        original = self.exchange_class._run_request_status

        def handler(exchange, client):
            seen.append(exchange.env.company)
            return original(exchange, client)

        poll = self.Exchange._enqueue(
            self.backend_b,
            "request_status",
            "outbound",
            tracked_request_id=self._posted_request_id(),
        )
        self.assertNotEqual(self.env.company, self.company_b)
        with patch.object(self.exchange_class, "_run_request_status", handler):
            run_now(poll)
        self.assertEqual(seen, [self.company_b])
        self.assertEqual(poll.state, "done", poll.error_message)

    def test_exchange_is_bound_to_its_backend(self):
        """Item 12: nobody moves an exchange to another company's backend or parent."""
        exchange_b = self.Exchange._enqueue(self.backend_b, "vendor", "outbound")
        parent_a = self.Exchange._enqueue(self.backend, "vendor", "outbound")
        as_manager_b = exchange_b.with_user(self.manager_b)
        with self.assertRaises(AccessError):
            as_manager_b.write({"backend_id": self.backend.id})
        with self.assertRaises(AccessError):
            as_manager_b.write({"parent_id": parent_a.id})
        with self.assertRaises(UserError):
            self.Exchange._enqueue(self.backend_b, "vendor", "outbound", parent_id=parent_a.id)
        self.assertEqual(exchange_b.backend_id, self.backend_b)


@tagged("post_install", "-at_install")
class TestQueueProtection(HardeningCase):
    def test_protected_fields_cannot_be_written_over_rpc(self):
        """Item 10: only the actions change the audit trail."""
        exchange = self.Exchange._enqueue(self.backend, "vendor", "outbound")
        as_manager = exchange.with_user(self.manager)
        for values in (
            {"state": "done"},
            {"attempt_count": 0},
            {"request_id": "forged"},
            {"basware_request_id": "forged"},
            {"tracked_request_id": "forged"},
            {"request_payload": "{}"},
            {"response_payload": "{}"},
            {"error_message": "forged"},
            {"next_attempt_at": fields.Datetime.now()},
        ):
            with self.subTest(values=values), self.assertRaises(AccessError):
                as_manager.write(values)
        with self.assertRaises(AccessError):
            self.Exchange.with_user(self.manager).create(
                {"backend_id": self.backend.id, "kind": "vendor", "direction": "outbound"}
            )
        with self.assertRaises(AccessError):
            exchange.write({"state": "done"})
        self.assertEqual(exchange.state, "pending")
        exchange._queue_edit().write({"state": "dead", "next_attempt_at": False})
        as_manager.action_replay()
        self.assertEqual(exchange.state, "pending")

    def test_error_traceback_is_for_managers(self):
        """Item 17."""
        exchange = self.Exchange._enqueue(self.backend, "request_status", "outbound")
        with mute_logger(QUEUE_LOGGER):
            run_now(exchange)
        self.assertTrue(exchange.error_traceback)
        with self.assertRaises(AccessError):
            exchange.with_user(self.basware_user).read(["error_traceback"])
        self.assertTrue(exchange.with_user(self.manager).read(["error_traceback"]))
        self.assertTrue(exchange.with_user(self.basware_user).read(["error_message"]))

    def test_enqueued_payload_masks_credential_values(self):
        """Item 17: bearer tokens and JWTs are masked whatever their key (see test_queue_units)."""
        jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"
        exchange = self.Exchange._enqueue(self.backend, "vendor", "outbound", payload={"echo": jwt})
        self.assertNotIn(jwt, exchange.request_payload)

    def test_credentials_never_go_into_a_write_payload(self):
        records = [vendor(1, name="eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl")]
        with self.assertRaises(ValueError):
            enqueue_post(self.Exchange, self.backend, "vendor", bw.VENDORS_PATH, records)


@tagged("post_install", "-at_install")
class TestQueueFailureRecording(HardeningCase):
    @mute_logger(QUEUE_LOGGER)
    def test_huge_retry_after_is_capped(self):
        """Item 11: Retry-After 1e12 schedules the retry at the backend's maximum delay."""
        poll = self._poll()
        self.sandbox.fail_next(429, retry_after="1e12", path_prefix="/v1/requestStatus")
        before = fields.Datetime.now()
        run_now(poll)
        self.assertEqual(poll.state, "failed")
        self.assertEqual(poll.attempt_count, 1)
        self.assertEqual(poll.error_class, "BaswareRateLimitError")
        limit = before + timedelta(seconds=basware_exchange.REQUEST_STATUS_RETRY_MAX + 1)
        self.assertLessEqual(poll.next_attempt_at, limit)

    @mute_logger(QUEUE_LOGGER)
    def test_failure_recording_cannot_fail(self):
        """Item 11: an error while computing the retry still records a failed attempt."""
        post = self._vendor_post(1)
        self.sandbox.fail_next(503, path_prefix=bw.VENDORS_PATH)

        def broken_policy(exchange):
            raise OverflowError("date value out of range")

        with patch.object(self.exchange_class, "_retry_policy", broken_policy):
            run_now(post)
        self.assertEqual(post.state, "failed")
        self.assertEqual(post.attempt_count, 1)
        self.assertTrue(post.error_retryable)
        self.assertEqual(post.error_class, "BaswareServerError")
        self.assertGreater(post.next_attempt_at, fields.Datetime.now())

    @mute_logger(QUEUE_LOGGER)
    def test_stuck_in_progress_is_requeued(self):
        """Item 4: an exchange left in progress by a dead worker is retried."""
        exchange = self._vendor_post(1)
        started = fields.Datetime.now() - timedelta(minutes=61)
        exchange._queue_edit().write(
            {"state": "in_progress", "date_started": started, "attempt_count": 1}
        )
        fresh = self._vendor_post(1, start=10)
        fresh._queue_edit().write({"state": "in_progress", "date_started": fields.Datetime.now()})
        self.assertEqual(self.Exchange._requeue_stuck(), exchange)
        self.assertEqual(exchange.state, "failed")
        self.assertTrue(exchange.error_retryable)
        self.assertEqual(fresh.state, "in_progress")
        self.Exchange._cron_process_due()
        self.assertEqual(exchange.state, "done", exchange.error_message)
        self.assertEqual(exchange.attempt_count, 2)

    def test_process_now_on_an_archived_backend_is_refused(self):
        """Item 14: archived backends process nothing."""
        exchange = self._vendor_post(1)
        self.backend.active = False
        with self.assertRaises(UserError):
            exchange.with_user(self.manager).action_process_now()
        self.assertEqual(exchange.state, "pending")
        self.assertEqual(exchange.attempt_count, 0)


@tagged("post_install", "-at_install")
class TestQueueTimeBudget(HardeningCase):
    def test_no_claim_after_the_deadline(self):
        exchange = self._vendor_post(1)
        claims = self.Exchange._iter_claim_due(self.backend)
        ran = self.Exchange._run_for_backend(self.backend, claims, time.monotonic() - 1)
        self.assertEqual(ran, 0)
        self.assertEqual(exchange.state, "pending")


@tagged("post_install", "-at_install")
class TestQueuePause(HardeningCase):
    def test_key_trouble_pauses_and_resumes(self):
        """Item 13: a wrong or missing key pauses the backend; the right key resumes it."""
        post = self._vendor_post(1)
        for wrong_key in (Fernet.generate_key().decode(), False):
            with self.subTest(key=bool(wrong_key)), encryption_key(wrong_key):
                reason = self.backend._get_pause_reason()
                self.assertIn("encryption key", reason)
                self.assertEqual(self.backend.pause_reason, reason)
                self.assertEqual(self.Exchange._due_count(), 0)
                self.Exchange._cron_process_due()
                self.assertEqual(run_now(post), 0)
                self.assertEqual((post.state, post.attempt_count), ("pending", 0))
                with self.assertRaises(UserError):
                    post.with_user(self.manager).action_process_now()
            self.backend.invalidate_recordset(["pause_reason"])
        self.assertFalse(self.backend._get_pause_reason())
        self.assertEqual(self.Exchange._due_count(), 1)
        self.Exchange._cron_process_due()
        self.assertEqual(post.state, "done", post.error_message)

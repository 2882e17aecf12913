import time
import uuid
from datetime import timedelta
from unittest.mock import patch

from psycopg2.errors import UniqueViolation

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from ..basware import constants as bw
from ..basware.redaction import redact
from ..models import basware_exchange as queue
from ..models.basware_exchange import (
    DEFAULT_RETENTION_DAYS,
    HANDLERS,
    KINDS,
    NO_TIME_LEFT,
    RETENTION_PARAM,
    RETRY_ATTEMPTS,
    RETRY_HORIZON,
)
from .common import UNUSED_LOCAL_URL, QueueCase, matching_order, post_records, run_now

QUEUE_LOGGER = "odoo.addons.basware_connector.models.basware_exchange"


@tagged("post_install", "-at_install")
class TestExchangeQueue(QueueCase):
    def test_enqueue_is_pending_and_due(self):
        exchange = self._poll()
        self.assertEqual(exchange.state, "pending")
        self.assertEqual(exchange.attempt_count, 0)
        self.assertLessEqual(exchange.next_attempt_at, fields.Datetime.now())
        self.assertEqual(exchange.company_id, self.backend.company_id)
        self.assertIn(exchange, self.Exchange._claim_due(self.backend, 10))

    def test_payload_is_redacted(self):
        partner = self.env["res.partner"].create({"name": "Redacted Vendor"})
        exchange = self.Exchange._enqueue(
            self.backend,
            "vendor",
            "outbound",
            record=partner,
            payload={"name": "x", "client_secret": "s3cr3t", "nested": [{"access_token": "t0k"}]},
        )
        self.assertNotIn("s3cr3t", exchange.request_payload)
        self.assertNotIn("t0k", exchange.request_payload)
        self.assertIn('"name": "x"', exchange.request_payload)
        self.assertEqual(exchange.record_ref, partner)
        self.assertEqual(redact({"Authorization": "Bearer x"}), {"Authorization": "***"})

    def test_success_records_ids_and_response(self):
        request_id = self._posted_request_id()
        exchange = self._poll(request_id)
        run_now(exchange)
        self.assertEqual(exchange.state, "done", exchange.error_message)
        self.assertEqual(exchange.attempt_count, 1)
        self.assertTrue(exchange.date_done)
        self.assertFalse(exchange.next_attempt_at)
        self.assertEqual(uuid.UUID(exchange.request_id).version, 4)
        self.assertIn("Success", exchange.response_payload)
        acknowledged = [
            entry
            for entry in self.sandbox.requests
            if entry["path"] == "/v1/requestStatus/acknowledge"
        ]
        self.assertTrue(acknowledged, "the requestStatus must be acknowledged once read")

    @mute_logger(QUEUE_LOGGER)
    def test_retryable_error_schedules_backoff(self):
        exchange = self._poll()
        self.sandbox.set_faults(rate_5xx=1.0, status_5xx=503)
        before = fields.Datetime.now()
        run_now(exchange)
        self.assertEqual(exchange.state, "failed")
        self.assertTrue(exchange.error_retryable)
        self.assertEqual(exchange.error_class, "BaswareServerError")
        self.assertGreater(exchange.next_attempt_at, before)
        self.assertLessEqual(exchange.next_attempt_at, before + timedelta(seconds=601))
        # not due yet: a worker does not pick it up before its next attempt time
        self.assertNotIn(exchange, self.Exchange._claim_due(self.backend, 10))

    @mute_logger(QUEUE_LOGGER)
    def test_request_still_processing_is_retried(self):
        self.sandbox.set_faults(processing_delay=3600)
        exchange = self._poll()
        run_now(exchange)
        self.assertEqual(exchange.state, "failed")
        self.assertEqual(exchange.error_class, "BaswareRequestPending")
        self.assertTrue(exchange.error_retryable)
        self.assertTrue(exchange.next_attempt_at)

    def test_rejected_items_are_reported_on_the_parent(self):
        parent = self.Exchange._enqueue(self.backend, "purchase_order", "outbound")
        client = self.backend._get_client()
        post_records(
            client, bw.MATCHING_ORDERS_PATH, [matching_order("PO-QUEUE-1", "NO-SUCH-VENDOR")]
        )
        exchange = self._poll(client.last_response.amzn_request_id, parent_id=parent.id)
        run_now(exchange)
        self.assertEqual(exchange.state, "done", exchange.error_message)
        self.assertIn("Error", exchange.response_payload)
        self.assertIn("rejected 1 item", parent.message_ids[0].body)

    @mute_logger(QUEUE_LOGGER)
    def test_retryable_error_becomes_dead_after_max_attempts(self):
        exchange = self._vendor_post()
        self.sandbox.set_faults(rate_5xx=1.0, status_5xx=502)
        delays = []
        for _attempt in range(3):
            run_now(exchange)
            if exchange.next_attempt_at:
                delays.append(exchange.next_attempt_at)
        self.assertEqual(exchange.state, "dead")
        self.assertEqual(exchange.attempt_count, 3)
        self.assertFalse(exchange.next_attempt_at)
        self.assertEqual(len(delays), 2)
        self.assertIn("replay", exchange.message_ids[0].body)

    @mute_logger(QUEUE_LOGGER)
    def test_non_retryable_error_fails_at_once(self):
        exchange = self.Exchange._enqueue(self.backend, "request_status", "outbound")
        run_now(exchange)
        self.assertEqual(exchange.state, "failed")
        self.assertIn("no Basware request id", exchange.error_message)
        self.assertFalse(exchange.error_retryable)
        self.assertFalse(exchange.next_attempt_at)
        self.assertEqual(exchange.attempt_count, 1)
        self.assertNotIn(exchange, self.Exchange._claim_due(self.backend, 10))

    @mute_logger(QUEUE_LOGGER)
    def test_kind_without_handler_fails_with_clear_error(self):
        exchange = self.Exchange._enqueue(self.backend, "goods_receipt", "outbound")
        run_now(exchange)
        self.assertEqual(exchange.state, "failed")
        self.assertIn("No handler", exchange.error_message)

    @mute_logger(QUEUE_LOGGER)
    def test_kind_missing_from_the_handler_table_fails_clearly(self):
        exchange = self.Exchange._enqueue(self.backend, queue.KIND_WEBHOOK, "inbound")
        with patch.dict(HANDLERS):
            del HANDLERS[queue.KIND_WEBHOOK]
            run_now(exchange)
        self.assertEqual(exchange.state, "failed")
        self.assertIn("No handler", exchange.error_message)
        self.assertFalse(exchange.error_retryable)

    def test_retry_policy_comes_from_the_handler_table(self):
        poll_policy = self._poll()._retry_policy()
        self.assertIsNotNone(poll_policy.horizon)
        self.assertIsNone(poll_policy.max_attempts)
        write_policy = self._vendor_post()._retry_policy()
        self.assertEqual(write_policy.max_attempts, self.backend.exchange_max_attempts)
        self.assertIsNone(write_policy.horizon)

    @mute_logger(QUEUE_LOGGER)
    def test_replay_dead_exchange(self):
        exchange = self._vendor_post()
        self.sandbox.set_faults(rate_5xx=1.0)
        for _attempt in range(3):
            run_now(exchange)
        self.assertEqual(exchange.state, "dead")
        self.sandbox.set_faults(rate_5xx=0.0)
        exchange.with_user(self.manager).action_replay()
        self.assertEqual(exchange.state, "pending")
        self.assertEqual(exchange.attempt_count, 0)
        self.assertIn(exchange, self.Exchange._claim_due(self.backend, 10))
        self.Exchange._process_backend_queue(self.backend, limit=1)
        self.assertEqual(exchange.state, "done")

    @mute_logger(QUEUE_LOGGER)
    def test_replay_selection_and_rights(self):
        failed = self.Exchange.browse()
        for _index in range(2):
            exchange = self.Exchange._enqueue(self.backend, "request_status", "outbound")
            run_now(exchange)
            failed |= exchange
        with self.assertRaises(AccessError):
            failed.with_user(self.basware_user).action_replay()
        failed.with_user(self.manager).action_replay()
        self.assertEqual(set(failed.mapped("state")), {"pending"})
        done = self._poll()
        run_now(done)
        pending = self._poll()
        with self.assertRaises(UserError):
            pending.with_user(self.manager).action_replay()

    def test_cron_processes_only_due_exchanges(self):
        due = self._poll()
        later = self._poll()
        later._queue_edit().next_attempt_at = fields.Datetime.now() + timedelta(hours=1)
        self.Exchange._cron_process_due()
        self.assertEqual(due.state, "done")
        self.assertEqual(later.state, "pending")

    def test_batches_are_bounded(self):
        self.backend.exchange_batch_size = 2
        exchanges = self.Exchange.browse()
        for _index in range(5):
            exchanges |= self._poll()
        self.assertEqual(len(self.Exchange._claim_due(self.backend, 2)), 2)
        self.Exchange._process_backend_queue(self.backend)
        self.assertEqual(exchanges.mapped("state").count("done"), 2)
        self.Exchange._process_backend_queue(self.backend, limit=10)
        self.assertEqual(set(exchanges.mapped("state")), {"done"})

    def test_no_exchange_starts_past_the_time_budget(self):
        exchange = self._poll()
        self.assertEqual(run_now(exchange, deadline=time.monotonic() - 1), 0)
        self.Exchange._process_backend_queue(self.backend, time_left=NO_TIME_LEFT)
        self.assertEqual(exchange.state, "pending")
        self.assertEqual(exchange.attempt_count, 0)

    def test_the_scheduler_runs_due_exchanges_within_its_budget(self):
        """Run by Odoo's own cron runner, with its soft budget of a few seconds per run."""
        exchanges = self._poll() | self._poll()
        self.env.ref("basware_connector.ir_cron_basware_exchange_process").method_direct_trigger()
        exchanges.invalidate_recordset()
        self.assertEqual(set(exchanges.mapped("state")), {"done"})

    @mute_logger(QUEUE_LOGGER)
    def test_unexpected_handler_error_does_not_stall_the_queue(self):
        broken = self._poll()
        healthy = self._poll()
        exchange_class = type(self.Exchange)
        original = exchange_class._run_request_status

        def handler(exchange, client):
            if exchange == broken:
                raise AttributeError("handler bug")
            return original(exchange, client)

        with patch.object(exchange_class, "_run_request_status", handler):
            self.Exchange._process_backend_queue(self.backend)
        self.assertEqual(broken.state, "failed")
        self.assertEqual(broken.error_class, "AttributeError")
        self.assertIn("handler bug", broken.error_traceback)
        self.assertEqual(healthy.state, "done")

    @mute_logger(QUEUE_LOGGER)
    def test_retry_after_from_basware_delays_the_next_attempt(self):
        exchange = self._vendor_post()
        self.sandbox.fail_next(429, count=1, retry_after=500, path_prefix="/v1/vendors")
        before = fields.Datetime.now()
        run_now(exchange)
        self.assertEqual(exchange.state, "failed")
        self.assertEqual(exchange.error_class, "BaswareRateLimitError")
        self.assertGreaterEqual(exchange.next_attempt_at, before + timedelta(seconds=500))

    @mute_logger(QUEUE_LOGGER)
    def test_process_now_runs_a_failed_exchange_before_its_time(self):
        exchange = self._poll()
        self.sandbox.set_faults(rate_5xx=1.0)
        run_now(exchange)
        self.assertEqual(exchange.state, "failed")
        self.sandbox.set_faults(rate_5xx=0.0)
        with self.assertRaises(AccessError):
            exchange.with_user(self.basware_user).action_process_now()
        exchange.with_user(self.manager).action_process_now()
        self.assertEqual(exchange.state, "done")
        self.assertEqual(exchange.attempt_count, 2)

    def test_incomplete_backend_fails_its_exchanges_clearly(self):
        exchange = self._poll()
        self.backend.client_id = False
        run_now(exchange)
        self.assertEqual(exchange.state, "failed")
        self.assertIn("incomplete", exchange.error_message)

    def test_dedup_key_is_unique_per_backend(self):
        first = self.Exchange._enqueue(
            self.backend, "webhook_notification", "inbound", dedup_key="task-1"
        )
        with self.assertRaises(UniqueViolation), mute_logger("odoo.sql_db"), self.cr.savepoint():
            first._queue_edit().copy({"dedup_key": "task-1"})

    def test_retention_purges_only_old_done_exchanges(self):
        now = fields.Datetime.now()
        old = now - timedelta(days=DEFAULT_RETENTION_DAYS + 1)
        old_done = self.Exchange._enqueue(self.backend, "vendor", "outbound")
        recent_done = self.Exchange._enqueue(self.backend, "vendor", "outbound")
        old_failed = self.Exchange._enqueue(self.backend, "vendor", "outbound")
        old_dead = self.Exchange._enqueue(self.backend, "vendor", "outbound")
        old_done._queue_edit().write({"state": "done", "date_done": old})
        recent_done._queue_edit().write({"state": "done", "date_done": now})
        old_failed._queue_edit().write({"state": "failed", "date_done": old})
        old_dead._queue_edit().write({"state": "dead", "date_done": old})
        purged = self.Exchange._cron_purge_done(chunk=1)
        self.assertEqual(purged, 1)
        self.assertFalse(old_done.exists())
        self.assertTrue(recent_done.exists())
        self.assertTrue(old_failed.exists())
        self.assertTrue(old_dead.exists())

    def test_retention_days_come_from_system_parameter(self):
        self.env["ir.config_parameter"].sudo().set_param(RETENTION_PARAM, "3")
        done = self.Exchange._enqueue(self.backend, "vendor", "outbound")
        done._queue_edit().write(
            {"state": "done", "date_done": fields.Datetime.now() - timedelta(days=4)}
        )
        self.Exchange._cron_purge_done()
        self.assertFalse(done.exists())

    def test_exchange_views_and_cron_exist(self):
        self.assertTrue(self.env.ref("basware_connector.ir_cron_basware_exchange_process").active)
        self.assertTrue(self.env.ref("basware_connector.ir_cron_basware_exchange_purge").active)
        self.env["basware.exchange"].get_views(
            [(False, "list"), (False, "form"), (False, "search")]
        )


@tagged("post_install", "-at_install")
class TestExchangeClaimConcurrency(TransactionCase):
    """Two real transactions: committed rows, separate cursors, SKIP LOCKED."""

    def test_two_cursors_never_claim_the_same_exchange(self):
        registry = self.env.registry
        with registry.cursor() as setup_cr:
            env = self.env(cr=setup_cr)
            backend = env["basware.backend"].create(
                {"name": "Concurrency", "api_url": UNUSED_LOCAL_URL}
            )
            ids = [
                env["basware.exchange"]._enqueue(backend, "vendor", "outbound").id
                for _index in range(5)
            ]
            backend_id = backend.id
        self.addCleanup(self._drop_committed, backend_id)
        with registry.cursor() as cr_a, registry.cursor() as cr_b:
            exchange_a = self.env(cr=cr_a)["basware.exchange"]
            exchange_b = self.env(cr=cr_b)["basware.exchange"]
            claimed_a = exchange_a._claim_due(
                exchange_a.env["basware.backend"].browse(backend_id), 3
            )
            claimed_b = exchange_b._claim_due(
                exchange_b.env["basware.backend"].browse(backend_id), 5
            )
            self.assertEqual(len(claimed_a), 3)
            self.assertEqual(len(claimed_b), 2)
            self.assertFalse(set(claimed_a.ids) & set(claimed_b.ids))
            self.assertEqual(set(claimed_a.ids) | set(claimed_b.ids), set(ids))
            cr_a.rollback()
            cr_b.rollback()

    def _drop_committed(self, backend_id):
        with self.env.registry.cursor() as cr:
            env = self.env(cr=cr)
            env["basware.exchange"].search([("backend_id", "=", backend_id)]).unlink()
            env["basware.backend"].browse(backend_id).unlink()


@tagged("post_install", "-at_install")
class TestHandlerTable(TransactionCase):
    """HANDLERS is the one place that says how each kind runs: it must stay complete."""

    # The queue's own runners, which run any exchange: not the handler of a kind.
    RUNNERS = frozenset({"_run_for_backend", "_run_one"})

    def test_every_kind_has_exactly_one_handler(self):
        kinds = [kind for kind, _label in KINDS]
        self.assertEqual(len(kinds), len(set(kinds)))
        self.assertEqual(sorted(HANDLERS), sorted(kinds))
        field = self.env["basware.exchange"]._fields["kind"]
        selection = [kind for kind, _label in field.selection]
        self.assertEqual(sorted(HANDLERS), sorted(selection))
        for kind, handler in HANDLERS.items():
            self.assertIn(handler.retry, (RETRY_ATTEMPTS, RETRY_HORIZON), kind)

    def test_every_handler_exists_on_the_model(self):
        exchange_class = type(self.env["basware.exchange"])
        for kind, handler in HANDLERS.items():
            self.assertTrue(callable(getattr(exchange_class, handler.method, None)), kind)

    def test_every_run_method_is_reachable_from_the_table(self):
        exchange_class = type(self.env["basware.exchange"])
        run_methods = {
            name
            for name in dir(exchange_class)
            if name.startswith("_run_") and callable(getattr(exchange_class, name))
        }
        handlers = {handler.method for handler in HANDLERS.values()}
        self.assertEqual(run_methods - self.RUNNERS, handlers)

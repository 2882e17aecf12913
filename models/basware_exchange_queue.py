"""Running the exchange queue: claim (FOR UPDATE SKIP LOCKED), run, record, retry, commit.

Each attempt commits before and after its handler: a call that reached Basware is never rolled back
with a later exchange, a killed worker's attempt counts, lost races stay quiet."""

import functools
import logging
import time
import traceback
from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..basware import errors as bw_errors
from ..basware.retry import RetryPolicy
from . import basware_exchange as queue
from .basware_backend import BackendPaused
from .basware_exchange import (
    CLAIMABLE_STATES,
    CONCURRENCY_ERRORS,
    COUNT_CAP,
    DATA_ERRORS,
    DEFAULT_STUCK_MINUTES,
    DIRECTION_OUTBOUND,
    HANDLERS,
    JOB_QUEUE,
    NO_TIME_LEFT,
    POST_HANDLER,
    REQUEST_STATUS_RETRY_BASE,
    REQUEST_STATUS_RETRY_MAX,
    RETRY_HORIZON,
    STATE_DEAD,
    STATE_DONE,
    STATE_FAILED,
    STATE_IN_PROGRESS,
    STATE_SUPERSEDED,
    STUCK_ERROR_CLASS,
    STUCK_PARAM,
    ExchangeSuperseded,
    to_json_text,
)

# The queue logs under the model's own name, whichever file the code is in.
_logger = logging.getLogger(queue.__name__)


class BaswareExchange(models.Model):
    _inherit = "basware.exchange"

    # === RUNNING === #

    @api.model
    def _run_for_backend(self, backend, exchanges, deadline=None):
        """Run each exchange of the iterable ``exchanges`` with one client of ``backend``."""
        try:
            client = backend._get_client()
        except BackendPaused as pause:
            _logger.warning("Basware backend %s is paused: %s", backend.id, pause)
            return 0
        except UserError as error:
            # An incomplete backend: every exchange fails the same way, before any call.
            return self._fail_all(exchanges, error, deadline)
        processed = 0
        with client:
            for exchange in self._until(exchanges, deadline):
                exchange._run_one(client)
                processed += 1
                self._commit_exchange()
        return processed

    def _fail_all(self, exchanges, error, deadline):
        processed = 0
        for exchange in self._until(exchanges, deadline):
            exchange._start_attempt()
            exchange._record_failure(error, False, None)
            processed += 1
            self._commit_exchange()
        return processed

    @staticmethod
    def _until(exchanges, deadline):
        """The exchanges of an iterable, taken (claimed) only while the deadline holds."""
        exchanges = iter(exchanges)
        while deadline is None or time.monotonic() <= deadline:
            exchange = next(exchanges, None)
            if exchange is None:
                return
            yield exchange

    def _commit_exchange(self):
        """Commit one exchange's outcome (never inside tests); return the cron's time left."""
        return self._commit_batch(1)

    def _start_attempt(self):
        self._queue_edit().write(
            {
                "state": STATE_IN_PROGRESS,
                "attempt_count": self.attempt_count + 1,
                "date_started": fields.Datetime.now(),
            }
        )

    def _begin_attempt(self):
        """Count the attempt and commit it before the handler runs; return whether to run.
        A worker killed in the handler leaves it counted: an exchange that kills every
        worker ends dead, instead of being claimed first forever."""
        self._start_attempt()
        self._commit_batch(0)
        return self._hold_for_run()

    def _hold_for_run(self):
        """Lock the row again for the run (committing the attempt ended the claim's lock):
        the stuck requeue (SKIP LOCKED) never takes a live run for a dead one. Return
        whether the attempt is still this worker's."""
        self.flush_recordset()
        rows = self._quiet_rows(
            SQL(
                "SELECT state, attempt_count FROM basware_exchange WHERE id = %s FOR UPDATE",
                self.id,
            )
        )
        if rows == [(STATE_IN_PROGRESS, self.attempt_count)]:
            return True
        # Only its worker writes an exchange in progress: should another transaction have
        # changed it all the same, the exchange is left as that one made it (a stuck
        # requeue puts it back if it is still in progress).
        _logger.warning("Basware exchange %s changed before its run: not run now", self.id)
        return False

    def _run_one(self, client):
        """One attempt, in the backend's company; any failure is recorded, never raised."""
        self.ensure_one()
        # The exchange's stored company: the backend is not read for it.
        exchange = self.with_company(self.company_id or self.backend_id.company_id)
        if not exchange._begin_attempt():
            return
        # One client serves many exchanges: ids of an earlier call must not stick here.
        client.last_response = None
        try:
            with self.env.cr.savepoint():
                result = exchange._get_handler()(client)
        except Exception as error:  # noqa: BLE001 - one broken exchange must not stall the queue
            exchange._record_failure(error, exchange._is_retryable(error), client)
        else:
            exchange._record_success(result, client)

    def _is_retryable(self, error):
        if isinstance(error, bw_errors.BaswareError):
            return error.retryable
        if isinstance(error, CONCURRENCY_ERRORS):
            # PostgreSQL refused for a concurrent transaction: the same work succeeds later.
            return True
        if not isinstance(error, DATA_ERRORS):
            _logger.exception("Unexpected error in Basware exchange %s", self.id)
        return False

    def _is_outbound_write(self):
        return bool(self.endpoint) and self.direction == DIRECTION_OUTBOUND

    def _get_handler(self):
        """The method that runs this exchange: its kind's entry in HANDLERS."""
        handler = HANDLERS.get(self.kind)
        if handler and handler.method == POST_HANDLER and not self._is_outbound_write():
            # A write without its endpoint has nowhere to go.
            handler = None
        if not handler:
            raise UserError(
                self.env._(
                    "No handler is installed for exchanges of kind %(kind)s.", kind=self.kind
                )
            )
        return getattr(self, handler.method)

    def _call_ids(self, client, error=None):
        """Ids of this attempt's last call: the error's own, else the client's last answer."""
        response = client and client.last_response
        request_id = getattr(error, "request_id", None) or (response and response.request_id)
        amzn_id = getattr(error, "amzn_request_id", None) or (response and response.amzn_request_id)
        return {"request_id": request_id or False, "basware_request_id": amzn_id or False}

    def _record_success(self, result, client):
        values = self._call_ids(client)
        values.update(
            state=STATE_DONE,
            date_done=fields.Datetime.now(),
            next_attempt_at=False,
            error_class=False,
            error_message=False,
            error_traceback=False,
            error_retryable=False,
        )
        if result is not None:
            values["response_payload"] = to_json_text(result)
        self._queue_edit().write(values)

    def _retry_policy(self):
        """The retry policy of this exchange's kind (see HANDLERS), with its backend's values."""
        backend = self.backend_id
        handler = HANDLERS.get(self.kind)
        if handler and handler.retry == RETRY_HORIZON:
            return RetryPolicy(
                base=max(backend.request_status_delay, REQUEST_STATUS_RETRY_BASE),
                cap=max(backend.exchange_retry_max, REQUEST_STATUS_RETRY_MAX),
                horizon=timedelta(hours=backend.request_status_horizon_hours),
            )
        return RetryPolicy(
            base=backend.exchange_retry_base,
            cap=backend.exchange_retry_max,
            max_attempts=backend.exchange_max_attempts,
        )

    def _failure_values(self, error, retryable, client):
        values = self._call_ids(client, error)
        values.update(
            error_class=type(error).__name__,
            error_message=str(error) or type(error).__name__,
            error_traceback="".join(traceback.format_exception(error)),
            error_retryable=retryable,
            state=STATE_FAILED,
            next_attempt_at=False,
        )
        if isinstance(error, bw_errors.BaswareError):
            values["response_payload"] = to_json_text(error.to_dict())
        if retryable:
            policy = self._retry_policy()
            now = fields.Datetime.now()
            delay = policy.delay(self.attempt_count, getattr(error, "retry_after", None))
            next_attempt = now + timedelta(seconds=delay)
            if policy.gives_up(self.attempt_count, self.create_date or now, next_attempt):
                values["state"] = STATE_DEAD
            else:
                values["next_attempt_at"] = next_attempt
        return values

    def _record_failure(self, error, retryable, client):
        """Store the failure and schedule the retry; this cannot fail in its turn, or the
        attempt would be rolled back although its call may have reached Basware."""
        if isinstance(error, ExchangeSuperseded):
            # Not a failure: the write was not sent, newer exchanges carry its records.
            self._supersede(error.newer)
            return
        try:
            with self.env.cr.savepoint():
                values = self._failure_values(error, retryable, client)
                self._queue_edit().write(values)
        except Exception:
            _logger.exception("Could not record the failure of Basware exchange %s", self.id)
            values = self._fallback_failure_values(error)
            self._queue_edit().write(values)
        _logger.info(
            "Basware exchange %s (%s) failed on attempt %s: %s",
            self.id,
            self.kind,
            self.attempt_count,
            values["error_class"],
        )
        if values["state"] == STATE_DEAD or not values["error_retryable"]:
            self._stopped(error, values["error_message"])

    def _stopped(self, error, error_message):
        """The failure ``error`` is not retried by itself: say so (an outbound write is
        first narrowed down to the records Basware refuses)."""
        self._notify_stopped(error_message)

    def _notify_stopped(self, error_message):
        try:
            with self.env.cr.savepoint():
                self.message_post(
                    body=self.env._(
                        "Basware exchange stopped: %(error)s. Fix the cause, then replay it.",
                        error=error_message.rstrip("."),
                    )
                )
        except Exception:
            _logger.exception("Could not post on Basware exchange %s", self.id)

    def _supersede(self, newer):
        """End these exchanges unsent: the exchanges ``newer`` carry their records now."""
        self._queue_edit().write(
            {
                "state": STATE_SUPERSEDED,
                "superseded_by_ids": [Command.set(newer.ids)],
                "date_done": fields.Datetime.now(),
                "next_attempt_at": False,
                "error_retryable": False,
            }
        )

    def _fallback_failure_values(self, error):
        """Failed and retried after the longest delay: the safe outcome of any error."""
        return {
            "state": STATE_FAILED,
            "error_class": type(error).__name__,
            "error_message": str(error)[:1000] or type(error).__name__,
            "error_traceback": False,
            "error_retryable": True,
            "next_attempt_at": fields.Datetime.now()
            + timedelta(seconds=self.backend_id.exchange_retry_max),
        }

    # === CLAIMING AND CRONS === #

    def action_process_now(self):
        """Run the selected pending or failed exchanges now; skip those a worker holds."""
        self._check_manager()
        for backend, exchanges in self.grouped("backend_id").items():
            reason = backend._get_pause_reason()
            if reason:
                raise UserError(reason)
            self._run_for_backend(backend, self._iter_claim_ids(backend, exchanges.ids))
        return True

    @api.model
    def _claim_due(self, backend, limit, ids=None, kinds=None):
        """Lock and return up to ``limit`` due exchanges of ``backend`` (of ``ids``, due or
        not; of ``kinds``): rows another worker holds are skipped."""
        self.env.flush_all()
        if ids:
            condition = SQL("id IN %s", tuple(ids))
        else:
            condition = SQL("next_attempt_at <= %s", fields.Datetime.now())
        if kinds:
            condition = SQL("%s AND kind IN %s", condition, tuple(kinds))
        query = SQL(
            """
            SELECT id FROM basware_exchange
             WHERE backend_id = %s AND state IN %s AND %s
             ORDER BY next_attempt_at, id
             LIMIT %s
               FOR UPDATE SKIP LOCKED
            """,
            backend.id,
            CLAIMABLE_STATES,
            condition,
            limit,
        )
        # None: a row changed under our snapshot; the next run picks it up.
        return self.browse([row[0] for row in self._quiet_rows(query) or ()])

    @api.model
    def _quiet_rows(self, query):
        """The rows of a locking query, or None when PostgreSQL refused a row a concurrent
        transaction changed (or a deadlock): a normal race, not an error to log."""
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(query, log_exceptions=False)
                return self.env.cr.fetchall()
        except CONCURRENCY_ERRORS:
            return None

    @api.model
    def _iter_claim_due(self, backend, limit=None, kinds=None):
        """Claim due exchanges one at a time, up to ``limit``: each is locked only while
        it runs, since committing its outcome ends the lock."""
        count = 0
        while limit is None or count < limit:
            exchange = self._claim_due(backend, 1, kinds=kinds)
            if not exchange:
                return
            count += 1
            yield exchange

    @api.model
    def _iter_claim_ids(self, backend, ids):
        for exchange_id in ids:
            exchange = self._claim_due(backend, 1, ids=[exchange_id])
            if exchange:
                yield exchange

    @api.model
    def _runnable_backends(self):
        """Active backends that may call Basware now (not paused by a key or host problem)."""
        backends = self.env["basware.backend"].search([("active", "=", True)])
        return backends.filtered(lambda backend: not backend._get_pause_reason())

    @api.model
    def _due_count(self, backends=None, kinds=None):
        """How many exchanges the cron can run now (due, of a runnable backend, of ``kinds``,
        not held): exact, or the cron would run again at once for nothing."""
        if backends is None:
            backends = self._runnable_backends()
        if not backends:
            return 0
        kind_condition = SQL("kind IN %s", tuple(kinds)) if kinds else SQL("TRUE")
        due = SQL(
            """
            SELECT id FROM basware_exchange
             WHERE backend_id IN %s AND state IN %s AND next_attempt_at <= %s AND %s
             LIMIT %s
            """,
            tuple(backends.ids),
            CLAIMABLE_STATES,
            fields.Datetime.now(),
            kind_condition,
            COUNT_CAP,
        )
        self.env.flush_all()
        unheld = self._quiet_rows(SQL("%s FOR UPDATE SKIP LOCKED", due))
        if unheld is not None:
            return len(unheld)
        # A due row changed since this transaction began: counted all the same, at the
        # cost of one more run at worst.
        self.env.cr.execute(SQL("SELECT count(*) FROM (%s) AS due", due))
        return self.env.cr.fetchone()[0]

    def _commit_batch(self, processed, remaining=None):
        """Commit the work done so far (never inside tests); return the cron's time left."""
        if queue.in_test_mode():
            # What Odoo's _commit_progress would answer, without committing.
            end = self.env.context.get("cron_end_time", float("inf"))
            return max(end - time.monotonic(), NO_TIME_LEFT)
        return self.env["ir.cron"]._commit_progress(processed, remaining=remaining)

    @api.model
    def _cron_process_due(self):
        self._requeue_stuck()
        backends = self._runnable_backends()
        time_left = self._commit_batch(0, remaining=self._due_count(backends))
        label = self.env._("Exchange queue")
        for backend in backends:
            # Each backend on its own: one that fails has its error recorded, the others run.
            time_left = backend._basware_isolated(
                JOB_QUEUE,
                label,
                functools.partial(self._process_backend_queue, backend, time_left=time_left),
                default=time_left,
            )
            if time_left <= NO_TIME_LEFT:
                break
        self._commit_batch(0, remaining=self._due_count(backends))

    @api.model
    def _process_backend_queue(self, backend, limit=None, time_left=float("inf"), kinds=None):
        """Claim and run due exchanges of ``backend`` (of ``kinds``), one transaction each,
        up to ``limit`` (the batch size: a busy backend must not starve the others) and
        while ``time_left`` lasts; return the time left."""
        if time_left <= NO_TIME_LEFT:
            return NO_TIME_LEFT
        limit = backend.exchange_batch_size if limit is None else limit
        deadline = time.monotonic() + time_left
        claimed = self._iter_claim_due(backend, limit, kinds=kinds)
        self._run_for_backend(backend, claimed, deadline)
        return max(deadline - time.monotonic(), NO_TIME_LEFT)

    @api.model
    def _stuck_minutes(self):
        return self._int_param(STUCK_PARAM, DEFAULT_STUCK_MINUTES)

    @api.model
    def _requeue_stuck(self):
        """Put back, and return, exchanges left in progress by a worker that died; a live
        worker's lock keeps its run out (SKIP LOCKED). It stays: each attempt is committed
        in progress before its handler runs (_begin_attempt), so a killed worker leaves one."""
        cutoff = fields.Datetime.now() - timedelta(minutes=self._stuck_minutes())
        self.env.flush_all()
        rows = self._quiet_rows(
            SQL(
                """
                SELECT id FROM basware_exchange
                 WHERE state = %s AND date_started < %s
                 ORDER BY id
                   FOR UPDATE SKIP LOCKED
                """,
                STATE_IN_PROGRESS,
                cutoff,
            )
        )
        # None: one changed since this transaction began; the next run looks again.
        stuck = self.browse([row[0] for row in rows or ()])
        if stuck:
            _logger.warning("Requeuing %s stuck Basware exchanges: %s", len(stuck), stuck.ids)
        for exchange in stuck:
            exchange._record_interrupted()
        return stuck

    def _record_interrupted(self):
        """This exchange's run was interrupted: retried at once, unless its runs were
        interrupted Max Attempts times (it would kill every worker running it) or its
        retry policy gives up: then it is dead."""
        self.ensure_one()
        count = self.interrupted_count + 1
        now = fields.Datetime.now()
        dead = count >= self.backend_id.exchange_max_attempts or self._retry_policy().gives_up(
            self.attempt_count, self.create_date or now, now
        )
        if dead:
            message = self.env._(
                "Its run was interrupted %(count)s time(s) (worker killed: time limit or "
                "memory) and it has no attempt left: it is not retried. Basware may have "
                "received it already.",
                count=count,
            )
        else:
            message = self.env._(
                "Its run was interrupted (worker killed: time limit or memory), %(count)s "
                "time(s) so far. It is retried; Basware may have received it already.",
                count=count,
            )
        self._queue_edit().write(
            {
                "state": STATE_DEAD if dead else STATE_FAILED,
                "interrupted_count": count,
                "error_class": STUCK_ERROR_CLASS,
                "error_message": message,
                "error_traceback": False,
                "error_retryable": True,
                "next_attempt_at": False if dead else now,
            }
        )
        if dead:
            _logger.warning(
                "Basware exchange %s is dead: its run was interrupted %s time(s)", self.id, count
            )
            self._notify_stopped(message)

    @api.model
    def _int_param(self, key, default):
        value = self.env["ir.config_parameter"].sudo().get_param(key)
        try:
            return max(int(value), 1) if value else default
        except ValueError:
            _logger.warning("Ignoring invalid %s=%r", key, value)
            return default

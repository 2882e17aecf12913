"""The exchange spine: one record per unit of work with Basware, in either direction.

Every send, receive, retry and replay goes through :class:`BaswareExchange`: it
claims due work with ``SELECT ... FOR UPDATE SKIP LOCKED``, runs the handler of
the exchange's kind, stores redacted payloads, request ids and errors, and
schedules retries with exponential backoff until the exchange is done or dead.
"""

import json
import logging
import time
import traceback
from datetime import timedelta

import psycopg2.errors

from odoo import api, fields, models, modules, tools
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..basware import errors as bw_errors
from ..basware.retry import backoff_delay

_logger = logging.getLogger(__name__)

STATE_PENDING = "pending"
STATE_IN_PROGRESS = "in_progress"
STATE_DONE = "done"
STATE_FAILED = "failed"
STATE_DEAD = "dead"
STATES = [
    (STATE_PENDING, "Pending"),
    (STATE_IN_PROGRESS, "In Progress"),
    (STATE_DONE, "Done"),
    (STATE_FAILED, "Failed"),
    (STATE_DEAD, "Dead"),
]
# States a worker may pick up once next_attempt_at is due.
CLAIMABLE_STATES = (STATE_PENDING, STATE_FAILED)
REPLAYABLE_STATES = (STATE_FAILED, STATE_DEAD, STATE_DONE)

DIRECTION_OUTBOUND = "outbound"
DIRECTION_INBOUND = "inbound"

KIND_VENDOR = "vendor"
KIND_PURCHASE_ORDER = "purchase_order"
KIND_GOODS_RECEIPT = "goods_receipt"
KIND_ACCOUNT = "account"
KIND_TAX_CODE = "tax_code"
KIND_ANALYTIC = "analytic"
KIND_ACCOUNTING_DOCUMENT = "accounting_document"
KIND_TRANSFER_RESPONSE = "transfer_response"
KIND_REQUEST_STATUS = "request_status"
KIND_WEBHOOK = "webhook_notification"
KINDS = [
    (KIND_VENDOR, "Vendor"),
    (KIND_PURCHASE_ORDER, "Purchase Order"),
    (KIND_GOODS_RECEIPT, "Goods Receipt"),
    (KIND_ACCOUNT, "GL Account"),
    (KIND_TAX_CODE, "Tax Code"),
    (KIND_ANALYTIC, "Analytic Account"),
    (KIND_ACCOUNTING_DOCUMENT, "Accounting Document"),
    (KIND_TRANSFER_RESPONSE, "Transfer Response"),
    (KIND_REQUEST_STATUS, "Request Status"),
    (KIND_WEBHOOK, "Webhook Notification"),
]

RETENTION_PARAM = "basware_connector.exchange_retention_days"
DEFAULT_RETENTION_DAYS = 90
PURGE_CHUNK = 1000
# Stop claiming new batches when the cron has less time than this left (seconds).
MIN_BATCH_TIME = 30
REDACTED = "***"
SENSITIVE_KEY_PARTS = ("secret", "password", "token", "authorization", "apikey", "api_key")


def redact(value):
    """Return a copy of a JSON-like value with secret-looking keys masked."""
    if isinstance(value, dict):
        return {
            key: REDACTED
            if any(part in str(key).lower() for part in SENSITIVE_KEY_PARTS)
            else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def to_json_text(value):
    if value is None or value == "":
        return False
    return json.dumps(redact(value), indent=2, sort_keys=True, ensure_ascii=False, default=str)


def in_test_mode():
    return bool(modules.module.current_test or tools.config.get("test_enable"))


class BaswareExchange(models.Model):
    _name = "basware.exchange"
    _description = "Basware Exchange"
    _inherit = "mail.thread"
    _order = "id desc"

    name = fields.Char(compute="_compute_name", store=True)
    direction = fields.Selection(
        [(DIRECTION_OUTBOUND, "Odoo → Basware"), (DIRECTION_INBOUND, "Basware → Odoo")],
        required=True,
        index=True,
        readonly=True,
    )
    kind = fields.Selection(KINDS, required=True, index=True, readonly=True)
    backend_id = fields.Many2one(
        "basware.backend", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True, readonly=True
    )
    res_model = fields.Char("Odoo Model", readonly=True, index=True)
    res_id = fields.Many2oneReference("Odoo Record ID", model_field="res_model", readonly=True)
    record_ref = fields.Reference(
        selection="_selection_record_ref", compute="_compute_record_ref", string="Odoo Record"
    )
    external_code = fields.Char(
        "Basware Code", index=True, readonly=True, help="Basware externalCode or invoiceId."
    )
    dedup_key = fields.Char(
        readonly=True,
        copy=False,
        help="Identity of the unit of work: a second exchange with the same key on the same "
        "backend is refused, so a notification or a document is handled once.",
    )
    parent_id = fields.Many2one("basware.exchange", readonly=True, index="btree_not_null")
    request_id = fields.Char(
        "Request ID", readonly=True, copy=False, help="Our X-BW-REQUEST-ID of the last call."
    )
    basware_request_id = fields.Char(
        "Basware Request ID",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The x-amzn-RequestId Basware returned; phase-two results are read with it.",
    )
    request_payload = fields.Text(readonly=True, copy=False)
    response_payload = fields.Text(readonly=True, copy=False)
    state = fields.Selection(
        STATES, default=STATE_PENDING, required=True, index=True, readonly=True
    )
    attempt_count = fields.Integer(readonly=True, copy=False)
    next_attempt_at = fields.Datetime(
        default=fields.Datetime.now, index=True, readonly=True, copy=False
    )
    date_started = fields.Datetime(readonly=True, copy=False)
    date_done = fields.Datetime(readonly=True, copy=False, index=True)
    error_class = fields.Char(readonly=True, copy=False)
    error_message = fields.Text(readonly=True, copy=False)
    error_traceback = fields.Text(readonly=True, copy=False)
    error_retryable = fields.Boolean(readonly=True, copy=False)

    _dedup_key_unique = models.Constraint(
        "UNIQUE(backend_id, dedup_key)",
        "This unit of work already has an exchange on this backend.",
    )

    # === COMPUTE METHODS === #

    @api.depends("kind", "direction", "external_code")
    def _compute_name(self):
        kinds = dict(self._fields["kind"].selection)
        for exchange in self:
            label = kinds.get(exchange.kind, exchange.kind or "")
            exchange.name = " ".join(filter(None, [label, exchange.external_code]))

    @api.model
    def _selection_record_ref(self):
        return [(model.model, model.name) for model in self.env["ir.model"].sudo().search([])]

    @api.depends("res_model", "res_id")
    def _compute_record_ref(self):
        for exchange in self:
            ref = False
            if exchange.res_model in self.env and exchange.res_id:
                record = self.env[exchange.res_model].browse(exchange.res_id).exists()
                ref = f"{record._name},{record.id}" if record else False
            exchange.record_ref = ref

    # === BUSINESS METHODS === #

    @api.model
    def _enqueue(self, backend, kind, direction, *, record=None, payload=None, **values):
        """Create a pending exchange; the spine cron (or ``_process``) runs it."""
        values.update(
            backend_id=backend.id,
            kind=kind,
            direction=direction,
            request_payload=to_json_text(payload),
        )
        if record:
            values.update(res_model=record._name, res_id=record.id)
        return self.create(values)

    def _get_record(self):
        self.ensure_one()
        if not (self.res_model and self.res_id):
            return None
        return self.env[self.res_model].browse(self.res_id).exists()

    def _process(self, deadline=None):
        """Run the exchanges now, one client per backend; return how many ran.

        :param deadline: ``time.monotonic()`` value after which no further exchange starts.
        """
        processed = 0
        for backend, exchanges in self.grouped("backend_id").items():
            try:
                client = backend._get_client()
            except UserError as error:
                # An incomplete backend: every exchange fails the same way.
                for exchange in exchanges:
                    exchange._start_attempt()
                    exchange._record_failure(error, False, None)
                processed += len(exchanges)
                continue
            with client:
                for exchange in exchanges:
                    if deadline is not None and time.monotonic() > deadline:
                        return processed
                    exchange._run_one(client)
                    processed += 1
        return processed

    def _start_attempt(self):
        self.write(
            {
                "state": STATE_IN_PROGRESS,
                "attempt_count": self.attempt_count + 1,
                "date_started": fields.Datetime.now(),
            }
        )

    def _run_one(self, client):
        self.ensure_one()
        self._start_attempt()
        try:
            with self.env.cr.savepoint():
                result = self._get_handler()(client)
        except bw_errors.BaswareError as error:
            self._record_failure(error, error.retryable, client)
        except (UserError, ValueError, KeyError, TypeError) as error:
            # Data or mapping problems: retrying the same input cannot succeed.
            self._record_failure(error, False, client)
        except Exception as error:
            # A bug in one handler must not stall the queue behind it.
            _logger.exception("Unexpected error in Basware exchange %s", self.id)
            self._record_failure(error, False, client)
        else:
            self._record_success(result, client)

    def _get_handler(self):
        handler = getattr(self, f"_run_{self.kind}", None)
        if not handler:
            raise UserError(
                self.env._(
                    "No handler is installed for exchanges of kind %(kind)s.", kind=self.kind
                )
            )
        return handler

    def _call_ids(self, client):
        response = client and client.last_response
        if not response:
            return {}
        return {
            "request_id": response.request_id,
            "basware_request_id": response.amzn_request_id or self.basware_request_id,
        }

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
        self.write(values)

    def _record_failure(self, error, retryable, client):
        backend = self.backend_id
        values = self._call_ids(client)
        values.update(
            error_class=type(error).__name__,
            error_message=str(error),
            error_traceback=traceback.format_exc(),
            error_retryable=retryable,
        )
        if isinstance(error, bw_errors.BaswareError):
            values["response_payload"] = to_json_text(error.to_dict())
        if retryable and self.attempt_count >= backend.exchange_max_attempts:
            values.update(state=STATE_DEAD, next_attempt_at=False)
        elif retryable:
            delay = backoff_delay(
                self.attempt_count, backend.exchange_retry_base, backend.exchange_retry_max
            )
            retry_after = getattr(error, "retry_after", None) or 0
            values.update(
                state=STATE_FAILED,
                next_attempt_at=fields.Datetime.now() + timedelta(seconds=max(delay, retry_after)),
            )
        else:
            values.update(state=STATE_FAILED, next_attempt_at=False)
        self.write(values)
        _logger.info(
            "Basware exchange %s (%s) failed on attempt %s: %s",
            self.id,
            self.kind,
            self.attempt_count,
            values["error_class"],
        )
        if values["state"] == STATE_DEAD or not retryable:
            self.message_post(
                body=self.env._(
                    "Basware exchange stopped: %(error)s. Fix the cause, then replay it.",
                    error=values["error_message"],
                )
            )

    # === CLAIMING AND CRONS === #

    @api.model
    def _claim_due(self, backend, limit, ids=None):
        """Lock and return up to ``limit`` due exchanges of ``backend``.

        Rows locked by another worker are skipped, so two workers never run the
        same exchange; the locks last until the caller's transaction ends. With
        ``ids``, only those exchanges are claimed, due or not.
        """
        self.env.flush_all()
        if ids:
            condition = SQL("id IN %s", tuple(ids))
        else:
            condition = SQL("next_attempt_at <= %s", fields.Datetime.now())
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
        try:
            with self.env.cr.savepoint():
                self.env.cr.execute(query)
                ids = [row[0] for row in self.env.cr.fetchall()]
        except psycopg2.errors.SerializationFailure:
            # A row changed under our snapshot: the next run picks it up.
            return self.browse()
        return self.browse(ids)

    @api.model
    def _due_count(self):
        return self.search_count(
            [("state", "in", CLAIMABLE_STATES), ("next_attempt_at", "<=", fields.Datetime.now())]
        )

    def _commit_batch(self, processed, remaining=None):
        """Commit between batches (never inside tests); return the cron's remaining time."""
        if in_test_mode():
            return float("inf")
        return self.env["ir.cron"]._commit_progress(processed, remaining=remaining)

    @api.model
    def _cron_process_due(self):
        time_left = self._commit_batch(0, remaining=self._due_count())
        for backend in self.env["basware.backend"].search([("active", "=", True)]):
            time_left = self._process_backend_queue(backend, time_left=time_left)
            if time_left < MIN_BATCH_TIME:
                break

    @api.model
    def _process_backend_queue(self, backend, max_batches=None, time_left=float("inf")):
        """Claim and run bounded batches of due exchanges; return the cron's time left.

        No exchange starts within MIN_BATCH_TIME of the cron's time limit, so a batch
        is never cut by the limit and rolled back after its calls reached Basware.
        """
        batches = 0
        while (max_batches is None or batches < max_batches) and time_left >= MIN_BATCH_TIME:
            batch = self._claim_due(backend, backend.exchange_batch_size)
            if not batch:
                break
            deadline = time.monotonic() + time_left - MIN_BATCH_TIME
            processed = batch._process(deadline=deadline)
            batches += 1
            time_left = self._commit_batch(processed, remaining=self._due_count())
        return time_left

    @api.model
    def _retention_days(self):
        value = self.env["ir.config_parameter"].sudo().get_param(RETENTION_PARAM)
        try:
            return max(int(value), 1) if value else DEFAULT_RETENTION_DAYS
        except ValueError:
            _logger.warning("Ignoring invalid %s=%r", RETENTION_PARAM, value)
            return DEFAULT_RETENTION_DAYS

    @api.model
    def _cron_purge_done(self, chunk=PURGE_CHUNK):
        """Delete done exchanges older than the retention; failed and dead ones stay."""
        cutoff = fields.Datetime.now() - timedelta(days=self._retention_days())
        domain = [("state", "=", STATE_DONE), ("date_done", "<", cutoff)]
        purged = 0
        while old := self.search(domain, limit=chunk):
            old.unlink()
            purged += len(old)
            self._commit_batch(len(old))
        return purged

    # === ACTIONS === #

    def _check_manager(self):
        if not self.env.user.has_group("basware_connector.group_basware_manager"):
            raise AccessError(self.env._("Only a Basware manager can replay or run exchanges."))

    def action_replay(self):
        """Put failed, dead (or done) exchanges back in the queue and wake the cron."""
        self._check_manager()
        to_replay = self.filtered(lambda exchange: exchange.state in REPLAYABLE_STATES)
        if not to_replay:
            raise UserError(self.env._("Only failed, dead or done exchanges can be replayed."))
        to_replay.write(
            {"state": STATE_PENDING, "attempt_count": 0, "next_attempt_at": fields.Datetime.now()}
        )
        for exchange in to_replay:
            exchange.message_post(body=self.env._("Replay requested."))
        self.env.ref("basware_connector.ir_cron_basware_exchange_process")._trigger()
        return True

    def action_process_now(self):
        """Run the selected pending or failed exchanges now; skip those a worker holds."""
        self._check_manager()
        for backend, exchanges in self.grouped("backend_id").items():
            self._claim_due(backend, len(exchanges), ids=exchanges.ids)._process()
        return True

    def action_open_record(self):
        self.ensure_one()
        record = self._get_record()
        if not record:
            raise UserError(self.env._("The Odoo record of this exchange no longer exists."))
        return {
            "type": "ir.actions.act_window",
            "res_model": record._name,
            "res_id": record.id,
            "view_mode": "form",
        }

    # === HANDLERS === #

    def _run_request_status(self, client):
        """Phase two: read Basware's per-item results of an earlier POST, then acknowledge."""
        if not self.basware_request_id:
            raise UserError(self.env._("This exchange has no Basware request id to look up."))
        status = client.get_request_status(self.basware_request_id)
        if status.is_pending:
            raise bw_errors.BaswareRequestPending(
                f"Basware is still processing request {self.basware_request_id}."
            )
        client.acknowledge_request_status([self.basware_request_id])
        rejected = [item for item in status.items if item.is_error]
        if rejected and self.parent_id:
            self.parent_id.message_post(
                body=self.env._(
                    "Basware rejected %(count)s item(s) of request %(request)s.",
                    count=len(rejected),
                    request=self.basware_request_id,
                )
            )
        return status.to_dict()

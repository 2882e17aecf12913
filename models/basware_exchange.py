"""The exchange queue: one record per unit of work with Basware, in either direction.

Every send, receive, retry and replay goes through :class:`BaswareExchange`. A worker
claims one due exchange at a time with ``SELECT ... FOR UPDATE SKIP LOCKED``, commits
the attempt, runs the handler of its kind in the backend's company, stores redacted
payloads, the ids of its calls and its errors, commits, and moves on: the outcome of a
call that reached Basware is never rolled back with a later exchange, and a worker killed
in a handler leaves its attempt counted. Retries follow a policy per kind until the
exchange is done or dead.

The races between workers are expected and quiet: an insert that may meet a concurrent
one reserves its key first, and a lock that meets a row changed by a concurrent
transaction gives up without an error in the log (see ``_quiet_rows``).
"""

import functools
import json
import logging
import math
import re
import time
import traceback
from dataclasses import dataclass
from datetime import timedelta

from odoo import Command, api, fields, models, modules, tools
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Domain
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as CONCURRENCY_ERRORS
from odoo.tools import SQL

from ..basware import errors as bw_errors
from ..basware.client import bulk_limit, chunk_records
from ..basware.retry import backoff_delay
from .basware_backend import BackendPaused

_logger = logging.getLogger(__name__)

STATE_PENDING = "pending"
STATE_IN_PROGRESS = "in_progress"
STATE_DONE = "done"
STATE_FAILED = "failed"
STATE_DEAD = "dead"
# An outbound write whose records all went on in other exchanges (a newer payload of
# each, or the halves of a split write): it is not sent, and names those exchanges.
STATE_SUPERSEDED = "superseded"
STATES = [
    (STATE_PENDING, "Pending"),
    (STATE_IN_PROGRESS, "In Progress"),
    (STATE_DONE, "Done"),
    (STATE_FAILED, "Failed"),
    (STATE_DEAD, "Dead"),
    (STATE_SUPERSEDED, "Superseded"),
]
# States a worker may pick up once next_attempt_at is due.
CLAIMABLE_STATES = (STATE_PENDING, STATE_FAILED)
REPLAYABLE_STATES = (STATE_FAILED, STATE_DEAD, STATE_DONE)
# Nothing is left to do on these: the purge deletes them after the retention.
RESOLVED_STATES = (STATE_DONE, STATE_SUPERSEDED)
# An enqueue of work that already has one of these exchanges returns it untouched.
QUEUED_STATES = (STATE_PENDING, STATE_IN_PROGRESS, STATE_FAILED)

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
KIND_PAYMENT_TERM = "payment_term"
KIND_PURCHASE_ORDER_LINE = "purchase_order_line"
KIND_WEBHOOK = "webhook_notification"
KIND_PAYMENT_RESPONSE = "payment_response"
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
    (KIND_PAYMENT_TERM, "Payment Term"),
    (KIND_PURCHASE_ORDER_LINE, "Purchase Order Line"),
    (KIND_WEBHOOK, "Webhook Notification"),
    (KIND_PAYMENT_RESPONSE, "Payment Response"),
]

RETENTION_PARAM = "basware_connector.exchange_retention_days"
DEFAULT_RETENTION_DAYS = 90
STUCK_PARAM = "basware_connector.exchange_stuck_minutes"
DEFAULT_STUCK_MINUTES = 60
PURGE_CHUNK = 1000
# Odoo 19 gives each cron run a soft time budget (about 10 s) and calls the job again
# while it reports work remaining: exchanges start while the budget lasts, at least one
# per run, and each outcome is committed at once, so a worker killed by the hard time
# limit loses at most the exchange it was running (put back later as stuck).
NO_TIME_LEFT = 0
# Counting what is left stops here: the cron only needs "some" versus "none".
COUNT_CAP = 10000
# A request status is polled from this delay on, doubling up to the cap.
REQUEST_STATUS_RETRY_BASE = 60
REQUEST_STATUS_RETRY_MAX = 3600
REQUEST_STATUS_DEDUP_PREFIX = "request_status:"
STUCK_ERROR_CLASS = "StuckExchange"

REDACTED = "***"
SENSITIVE_KEY_PARTS = ("secret", "password", "token", "authorization", "apikey", "api_key")
# Values that are credentials whatever their key: bearer headers and JSON web tokens.
SENSITIVE_VALUE = re.compile(
    r"^\s*((bearer|basic)\s+[\w.~+/-]{16,}=*|eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*)\s*$",
    re.IGNORECASE,
)
# How every SENSITIVE_VALUE begins (its alternatives, without the spaces before them).
SENSITIVE_VALUE_STARTS = ("bearer", "basic", "eyj")
# A JSON text without any of these words (in lower case) holds nothing redact() would
# mask: letters are never escaped in JSON, so a secret-looking key or value shows one.
SENSITIVE_WORDS = re.compile("|".join(map(re.escape, SENSITIVE_KEY_PARTS + SENSITIVE_VALUE_STARTS)))
# The letters that case-insensitive matching or str.lower() takes for ASCII ones:
# İ ı ſ and the Kelvin sign.
ASCII_LOOKALIKES = re.compile("[\u0130\u0131\u017f\u212a]")

# Only the queue's own methods write these: over RPC they would forge the audit trail.
PROTECTED_FIELDS = frozenset(
    {
        "direction",
        "kind",
        "backend_id",
        "parent_id",
        "res_model",
        "res_id",
        "external_code",
        "dedup_key",
        "endpoint",
        "request_id",
        "basware_request_id",
        "tracked_request_id",
        "request_payload",
        "response_payload",
        "state",
        "attempt_count",
        "interrupted_count",
        "next_attempt_at",
        "date_started",
        "date_done",
        "error_class",
        "error_message",
        "error_traceback",
        "error_retryable",
        "superseded_by_ids",
    }
)
# Errors of the data or the mapping: the same input fails again, retrying cannot help.
DATA_ERRORS = (UserError, ValidationError, ValueError, KeyError, TypeError)


class ExchangeSuperseded(UserError):
    """Raised by an outbound write about to be sent whose records all have a newer
    exchange: the attempt ends as superseded by ``newer``, and nothing is sent."""

    def __init__(self, message, newer):
        super().__init__(message)
        self.newer = newer


@functools.lru_cache(maxsize=4096)
def _is_sensitive_key(key):
    # Cached: payloads repeat the same few hundred keys over thousands of records.
    return any(part in str(key).lower() for part in SENSITIVE_KEY_PARTS)


def redact(value):
    """Return a copy of a JSON-like value with secret-looking keys and values masked."""
    if isinstance(value, dict):
        return {
            key: REDACTED if _is_sensitive_key(key) else redact(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    if isinstance(value, str) and SENSITIVE_VALUE.match(value):
        return REDACTED
    return value


def names_secret_word(text):
    """Whether ``text`` shows, in any case, a word that redact() looks for."""
    if SENSITIVE_WORDS.search(text.lower()):
        return True
    return not text.isascii() and bool(ASCII_LOOKALIKES.search(text))


def holds_secrets(text, value=None):
    """Whether redact() would mask something in the JSON ``text`` (of ``value``, decoded
    from the text when not given).

    The text is searched first, in one pass: most texts name no secret-looking word at
    all, and only those that do are walked through.
    """
    if not names_secret_word(text):
        return False
    if value is None:
        value = json.loads(text)
    return redact(value) != value


_dumps = functools.partial(json.dumps, sort_keys=True, ensure_ascii=False, default=str)


def json_text(value):
    """JSON with sorted keys, one entry of a top-level list or object per line: readable
    in the exchange form, and written by json's fast encoder (which cannot indent)."""
    if isinstance(value, list) and value:
        brackets, entries = "[]", [_dumps(item) for item in value]
    elif isinstance(value, dict) and value and all(isinstance(key, str) for key in value):
        brackets, entries = "{}", [f"{_dumps(key)}: {_dumps(value[key])}" for key in sorted(value)]
    else:
        return _dumps(value)
    return f"{brackets[0]}\n" + ",\n".join(entries) + f"\n{brackets[1]}"


def to_json_text(value, redacted=False):
    """The stored text of a payload; ``redacted``: the caller already masked it."""
    if value is None or value == "":
        return False
    text = json_text(value)
    if not redacted and holds_secrets(text, value):
        text = json_text(redact(value))
    return text


def in_test_mode():
    return bool(modules.module.current_test or tools.config.get("test_enable"))


def is_concurrency_error(error):
    """PostgreSQL refused for a concurrent transaction: the same work succeeds later."""
    return isinstance(error, CONCURRENCY_ERRORS)


@dataclass(frozen=True)
class RetryPolicy:
    """When a retryable failure is tried again, and when the exchange gives up.

    ``max_attempts`` bounds the attempts; with ``horizon`` instead, retries go on until
    that long after the exchange was created (requestStatus results can take minutes).
    """

    base: float
    cap: float
    max_attempts: "int | None" = None
    horizon: "timedelta | None" = None

    def delay(self, attempt, retry_after=None):
        """Seconds until the next attempt, never more than the cap."""
        delay = backoff_delay(attempt, self.base, self.cap)
        if retry_after and math.isfinite(retry_after):
            # Basware's Retry-After wins over our backoff, up to our cap.
            delay = max(delay, float(retry_after))
        return min(delay, self.cap)

    def gives_up(self, attempt, created, next_attempt):
        if self.horizon is not None:
            return next_attempt > created + self.horizon
        return attempt >= self.max_attempts


# The key of the exchange queue's cron in a backend's scheduled job error.
JOB_QUEUE = "queue"
# Internal writes carry this object in their context; RPC cannot forge it.
EDIT_SENTINEL = object()


class BaswareExchange(models.Model):
    _name = "basware.exchange"
    _description = "Basware Exchange"
    _inherit = "mail.thread"
    _order = "id desc"
    _check_company_auto = True

    # Precomputed: set in the INSERT, not by an UPDATE after it (thousands per import).
    name = fields.Char(compute="_compute_name", store=True, precompute=True)
    direction = fields.Selection(
        [(DIRECTION_OUTBOUND, "Odoo → Basware"), (DIRECTION_INBOUND, "Basware → Odoo")],
        required=True,
        index=True,
        readonly=True,
    )
    kind = fields.Selection(KINDS, required=True, index=True, readonly=True)
    backend_id = fields.Many2one(
        "basware.backend", required=True, index=True, ondelete="restrict", readonly=True
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True, readonly=True, precompute=True
    )
    res_model = fields.Char("Odoo Model", readonly=True, index=True)
    res_id = fields.Many2oneReference("Odoo Record ID", model_field="res_model", readonly=True)
    record_ref = fields.Reference(
        selection="_selection_record_ref", compute="_compute_record_ref", string="Odoo Record"
    )
    res_model_name = fields.Char("Record Type", compute="_compute_res_model_name")
    external_code = fields.Char(
        "Basware Code", index=True, readonly=True, help="Basware externalCode or invoiceId."
    )
    dedup_key = fields.Char(
        readonly=True,
        copy=False,
        help="Identity of the unit of work: enqueuing the same key again on the same backend "
        "returns this exchange, so a notification or a document is handled once.",
    )
    endpoint = fields.Char(
        readonly=True, help="The Basware path this exchange writes its records to."
    )
    # The purge never deletes a parent whose line is open (_not_held_by_open); a child outliving
    # its parent otherwise stays, detached.
    parent_id = fields.Many2one(
        "basware.exchange",
        readonly=True,
        index="btree_not_null",
        check_company=True,
        ondelete="set null",
    )
    child_ids = fields.One2many("basware.exchange", "parent_id", readonly=True)
    request_id = fields.Char(
        "Request ID", readonly=True, copy=False, help="Our X-BW-REQUEST-ID of the last call."
    )
    basware_request_id = fields.Char(
        "Basware Request ID",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The x-amzn-RequestId Basware returned for the last call of this exchange.",
    )
    tracked_request_id = fields.Char(
        "Tracked Basware Request",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="The x-amzn-RequestId of the earlier write whose phase-two results this "
        "exchange reads. It never changes, whatever calls the exchange makes.",
    )
    request_payload = fields.Text(readonly=True, copy=False)
    response_payload = fields.Text(readonly=True, copy=False)
    state = fields.Selection(
        STATES, default=STATE_PENDING, required=True, index=True, readonly=True
    )
    attempt_count = fields.Integer(readonly=True, copy=False)
    interrupted_count = fields.Integer(
        "Interrupted Runs",
        readonly=True,
        copy=False,
        help="Attempts whose worker was killed before it finished (time limit or memory). "
        "After Max Attempts of them the exchange is dead.",
    )
    next_attempt_at = fields.Datetime(
        default=fields.Datetime.now, index=True, readonly=True, copy=False
    )
    date_started = fields.Datetime(readonly=True, copy=False)
    date_done = fields.Datetime(readonly=True, copy=False, index=True)
    error_class = fields.Char(readonly=True, copy=False)
    error_message = fields.Text(readonly=True, copy=False)
    error_traceback = fields.Text(
        readonly=True, copy=False, groups="basware_connector.group_basware_manager"
    )
    error_retryable = fields.Boolean(readonly=True, copy=False)
    superseded_by_ids = fields.Many2many(
        "basware.exchange",
        "basware_exchange_superseded_rel",
        "exchange_id",
        "newer_id",
        readonly=True,
        copy=False,
        help="The exchanges that carry the records of this one instead: a newer payload of "
        "each record, or the halves of a write Basware refused as a whole.",
    )

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
    @api.depends("res_model")
    def _compute_res_model_name(self):
        for exchange in self:
            model = exchange.res_model and self.env["ir.model"].sudo()._get(exchange.res_model)
            exchange.res_model_name = model.name if model else exchange.res_model

    def _compute_record_ref(self):
        for exchange in self:
            ref = False
            if exchange.res_model in self.env and exchange.res_id:
                record = self.env[exchange.res_model].browse(exchange.res_id).exists()
                ref = f"{record._name},{record.id}" if record else False
            exchange.record_ref = ref

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        if not self._is_queue_edit():
            raise AccessError(
                self.env._(
                    "Basware exchanges are created by the connector itself, not by hand: "
                    "they are its audit trail."
                )
            )
        return super().create(vals_list)

    def write(self, vals):
        protected = PROTECTED_FIELDS.intersection(vals)
        if protected and not self._is_queue_edit():
            raise AccessError(
                self.env._(
                    "These fields of a Basware exchange are its audit trail and cannot be "
                    "changed by hand: %(fields)s. Use Replay or Process now instead.",
                    fields=", ".join(sorted(protected)),
                )
            )
        return super().write(vals)

    def _queue_edit(self):
        """This recordset, allowed to write the protected fields (never reachable over RPC)."""
        return self.with_context(basware_exchange_edit=EDIT_SENTINEL)

    def _is_queue_edit(self):
        return self.env.context.get("basware_exchange_edit") is EDIT_SENTINEL

    # === ENQUEUE === #

    @api.model
    def _enqueue(
        self,
        backend,
        kind,
        direction,
        *,
        record=None,
        payload=None,
        dedup_key=None,
        dedup_checked=False,
        rerun_done=False,
        payload_redacted=False,
        **values,
    ):
        """Queue one unit of work and return its exchange; the queue cron runs it.

        With ``dedup_key``, work that already has an exchange on the backend returns that
        exchange: a pending, running or failed one stays queued as it is, a dead one stays
        dead until replayed, and a done one runs again only with ``rerun_done``.
        ``dedup_checked``: the caller found no exchange of ``dedup_key`` in this
        transaction (a concurrent one is still caught).

        :raise psycopg2.errors.SerializationFailure: a transaction that began after this
            one enqueued the same work first (its exchange is invisible here); nothing is
            logged, and the work is in its hands
        """
        values.update(
            backend_id=backend.id,
            kind=kind,
            direction=direction,
            dedup_key=dedup_key or False,
            request_payload=to_json_text(payload, redacted=payload_redacted),
        )
        if record:
            values.update(res_model=record._name, res_id=record.id)
        if not dedup_key:
            return self._queue_edit().create(values).with_env(self.env)
        existing = self.browse() if dedup_checked else self._find_dedup(backend, dedup_key)
        if not existing:
            if self._reserve_dedup_keys(backend, kind, direction, [dedup_key]):
                return self._queue_edit().create(values).with_env(self.env)
            # Enqueued by this very transaction since the caller looked.
            existing = self._find_dedup(backend, dedup_key)
        return existing._enqueue_again(rerun_done, values)

    @api.model
    def _reserve_dedup_keys(self, backend, kind, direction, dedup_keys):
        """Those of ``dedup_keys`` no exchange of ``backend`` has, reserved for this
        transaction: its insert of them cannot fail, and so logs no error.

        Each key is inserted as a placeholder row (ON CONFLICT DO NOTHING: a key of an
        exchange visible here is left out) and deleted at once. Its entry stays in the
        unique index until this transaction ends, so a concurrent insert of the key waits
        for it, then finds the real exchange.

        :raise psycopg2.errors.SerializationFailure: an exchange committed since this
            transaction began holds one of the keys (PostgreSQL does not say which): none
            is reserved
        :raise psycopg2.errors.DeadlockDetected: two transactions reserved the same keys in
            opposite orders, over several calls
        """
        keys = sorted(set(dedup_keys))  # one order for every worker: no deadlock in a call
        if not keys:
            return set()
        insert = SQL(
            """
            INSERT INTO basware_exchange (backend_id, kind, direction, state, dedup_key)
            SELECT %s, %s, %s, %s, key FROM unnest(%s::varchar[]) AS key
                ON CONFLICT (backend_id, dedup_key) DO NOTHING
            RETURNING id, dedup_key
            """,
            backend.id,
            kind,
            direction,
            STATE_PENDING,
            keys,
        )
        with self.env.cr.savepoint(flush=False):
            # Both refusals above are races between workers, not faults: not logged.
            self.env.cr.execute(insert, log_exceptions=False)
            placeholders = dict(self.env.cr.fetchall())
            if placeholders:
                self.env.cr.execute(
                    SQL("DELETE FROM basware_exchange WHERE id IN %s", tuple(placeholders))
                )
        return set(placeholders.values())

    @api.model
    def _find_dedup(self, backend, dedup_key):
        if not dedup_key:
            return self.browse()
        return self.search(
            [("backend_id", "=", backend.id), ("dedup_key", "=", dedup_key)], limit=1
        )

    def _enqueue_again(self, rerun_done, values):
        """The answer of an enqueue whose work already has this exchange."""
        self.ensure_one()
        if self.state == STATE_DONE and rerun_done:
            rerun = {
                key: value
                for key, value in values.items()
                if key in ("request_payload", "res_model", "res_id", "external_code", "endpoint")
            }
            self._queue_edit()._reset_to_pending(**rerun)
            self.message_post(body=self.env._("Queued again on request."))
        return self

    @api.model
    def _enqueue_post(self, backend, kind, endpoint, records, encoded=None, **values):
        """Queue ``records`` for ``endpoint``: one exchange per HTTP write, and return them.

        Records are split within Basware's per-request count and 6 MB limits, so each
        exchange carries exactly one POST, its own x-amzn-RequestId and its own phase-two
        poll. ``encoded``: the records already encoded (``encode_record``), one per record.
        """
        chunks = chunk_records(list(records), bulk_limit(endpoint), encoded=encoded)
        return self._enqueue_chunks(backend, kind, endpoint, chunks, **values)

    @api.model
    def _enqueue_chunks(self, backend, kind, endpoint, chunks, **values):
        """One exchange per chunk of ``chunk_records`` (records, body), in the same order,
        created in one batch. The stored payload is the body sent, byte for byte, so it
        must hold nothing to redact. ``values`` are further fields of the exchanges.
        """
        vals_list = [
            {
                **values,
                "backend_id": backend.id,
                "kind": kind,
                "direction": DIRECTION_OUTBOUND,
                "endpoint": endpoint,
                "request_payload": self._post_payload_text(endpoint, body),
            }
            for _chunk, body in chunks
        ]
        return self._queue_edit().create(vals_list).with_env(self.env)

    @api.model
    def _post_payload_text(self, endpoint, body):
        """The stored text of a POST body, refused when it holds credentials."""
        text = body.decode("utf-8")
        if holds_secrets(text):
            raise ValueError(f"Refusing to store credentials in a payload for {endpoint}")
        return text

    def _get_record(self):
        self.ensure_one()
        if not (self.res_model and self.res_id):
            return None
        return self.env[self.res_model].browse(self.res_id).exists()

    # === RUNNING === #

    def _process(self, deadline=None):
        """Run these exchanges now, one client per backend; return how many ran.

        The caller holds them (claimed, or in a test). Each outcome is committed before
        the next exchange starts (outside tests), so no later failure can roll back the
        record of a call that reached Basware. A paused backend's exchanges stay as they
        are.

        :param deadline: ``time.monotonic()`` value after which no further exchange starts.
        """
        processed = 0
        for backend, exchanges in self.grouped("backend_id").items():
            processed += self._run_for_backend(backend, iter(exchanges), deadline)
        return processed

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

        A worker killed in the handler (time limit, memory) cannot roll the attempt back:
        the exchange stays in progress, counted, for the stuck requeue. So an exchange that
        kills every worker running it ends dead, instead of being claimed first forever.
        """
        self._start_attempt()
        self._commit_batch(0)
        return self._hold_for_run()

    def _hold_for_run(self):
        """Lock the exchange's row again for its run (the commit of its attempt ended the
        claim's lock) and return whether the attempt is still this worker's.

        The lock lasts while the handler runs and ends with the worker, however it ends:
        the stuck requeue (SKIP LOCKED) never takes a live run for a dead one.
        """
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
        if is_concurrency_error(error):
            return True
        if not isinstance(error, DATA_ERRORS):
            _logger.exception("Unexpected error in Basware exchange %s", self.id)
        return False

    def _get_handler(self):
        handler = getattr(self, f"_run_{self.kind}", None)
        if self.endpoint and self.direction == DIRECTION_OUTBOUND:
            handler = self._run_post
        if not handler:
            raise UserError(
                self.env._(
                    "No handler is installed for exchanges of kind %(kind)s.", kind=self.kind
                )
            )
        return handler

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
        backend = self.backend_id
        if self.kind == KIND_REQUEST_STATUS:
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
        """Store the failure and schedule the retry. This cannot fail in its turn: a failure
        here would roll back the attempt, although its call may have reached Basware.
        """
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
        """The failure ``error`` is not retried by itself: say so (the sync flows first narrow
        a write down to the records Basware refuses)."""
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

    def _reset_to_pending(self, **values):
        values.update(
            state=STATE_PENDING,
            attempt_count=0,
            interrupted_count=0,
            next_attempt_at=fields.Datetime.now(),
            date_done=False,
        )
        self._queue_edit().write(values)

    # === CLAIMING AND CRONS === #

    @api.model
    def _claim_due(self, backend, limit, ids=None, kinds=None):
        """Lock and return up to ``limit`` due exchanges of ``backend``.

        Rows locked by another worker are skipped, so two workers never run the
        same exchange; the locks last until the caller's transaction ends. With
        ``ids``, only those exchanges are claimed, due or not; with ``kinds``, only
        exchanges of those kinds.
        """
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
        """The rows of a locking query, or None when PostgreSQL refused to lock a row a
        concurrent transaction changed since this one began (or a deadlock between two).

        Such refusals are the normal races of workers sharing a queue, not faults: they
        are not logged as errors, and the transaction goes on as before the query.
        """
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(query, log_exceptions=False)
                return self.env.cr.fetchall()
        except CONCURRENCY_ERRORS:
            return None

    @api.model
    def _iter_claim_due(self, backend, limit=None, kinds=None):
        """Claim due exchanges one at a time, up to ``limit``: each is locked only while
        it runs, since committing its outcome ends the lock.
        """
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
        """How many exchanges the cron can run now: due, of a runnable backend (and of
        ``kinds``, when given), and not held by another worker. It must be exact, or the
        cron would reschedule itself at once for work it cannot do.
        """
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
        if in_test_mode():
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
        """Claim and run due exchanges of ``backend`` (of ``kinds`` only, when given), one
        transaction each; return the cron's time left.

        At most ``limit`` exchanges (default: the backend's batch size, so that one busy
        backend does not starve the others). No exchange starts once ``time_left`` (the
        cron run's soft budget) is spent.
        """
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
        """Put back exchanges left in progress by a worker that died (killed by a time
        limit or for its memory, or crashed); return them.

        A live worker holds its exchange's row lock while it runs, so SKIP LOCKED leaves
        it alone, however long it runs. A stuck run may have reached Basware: it counts as
        a failed, retryable attempt, and as an interrupted run (see _record_interrupted).
        """
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

    @api.model
    def _retention_days(self):
        return self._int_param(RETENTION_PARAM, DEFAULT_RETENTION_DAYS)

    @api.model
    def _not_held_by_open(self):
        """The exchanges that no open one (pending, running, failed or dead) holds. An open
        exchange holds its ancestors and its descendants: whoever resolves it needs its
        whole line, the document it answers, the phase-two result that failed it, the
        answer it gave.
        """
        held = SQL(
            """
            WITH RECURSIVE ancestor(id) AS (
                SELECT parent_id FROM basware_exchange
                 WHERE state NOT IN %(resolved)s AND parent_id IS NOT NULL
                UNION
                SELECT exchange.parent_id FROM basware_exchange exchange
                  JOIN ancestor ON exchange.id = ancestor.id
                 WHERE exchange.parent_id IS NOT NULL
            ), descendant(id) AS (
                SELECT id FROM basware_exchange WHERE state NOT IN %(resolved)s
                UNION
                SELECT exchange.id FROM basware_exchange exchange
                  JOIN descendant ON exchange.parent_id = descendant.id
            )
            SELECT id FROM ancestor UNION SELECT id FROM descendant
            """,
            resolved=RESOLVED_STATES,
            to_flush=(self._fields["state"], self._fields["parent_id"]),
        )
        return Domain.custom(
            to_sql=lambda model, alias, query: SQL(
                "%s NOT IN (%s)", model._field_to_sql(alias, "id", query), held
            )
        )

    @api.model
    def _cron_purge_done(self, chunk=PURGE_CHUNK):
        """Delete done (and superseded) exchanges older than the retention. Failed and dead
        ones stay until a person resolves them, and so does the line of each (see
        _not_held_by_open)."""
        cutoff = fields.Datetime.now() - timedelta(days=self._retention_days())
        domain = (
            Domain("state", "in", RESOLVED_STATES)
            & Domain("date_done", "<", cutoff)
            & self._not_held_by_open()
        )
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
        for exchange in to_replay:
            exchange._prepare_replay()
        to_replay._reset_to_pending()
        for exchange in to_replay:
            exchange.message_post(body=self.env._("Replay requested."))
        self.env.ref("basware_connector.ir_cron_basware_exchange_process")._trigger()
        return True

    def _prepare_replay(self):
        """Before a replay puts this exchange back in the queue (the sync flows rebuild a
        done write from its records as they are now)."""
        self.ensure_one()

    def action_process_now(self):
        """Run the selected pending or failed exchanges now; skip those a worker holds."""
        self._check_manager()
        for backend, exchanges in self.grouped("backend_id").items():
            reason = backend._get_pause_reason()
            if reason:
                raise UserError(reason)
            self._run_for_backend(backend, self._iter_claim_ids(backend, exchanges.ids))
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

    def _run_post(self, client):
        """Phase one: one POST of the stored body, less the records a newer exchange
        carries (ExchangeSuperseded when that is all of them), then queue its phase-two
        poll."""
        response = client.post_encoded(self.endpoint, self._body_to_send())
        if response.amzn_request_id:
            self._enqueue_request_status(response.amzn_request_id)
        return response.data

    def _body_to_send(self):
        """The body of this outbound write as it must go now (the sync flows extend it)."""
        return self.request_payload or "[]"

    def _enqueue_request_status(self, basware_request_id):
        backend = self.backend_id
        return self._enqueue(
            backend,
            KIND_REQUEST_STATUS,
            self.direction,
            parent_id=self.id,
            tracked_request_id=basware_request_id,
            external_code=self.external_code,
            dedup_key=REQUEST_STATUS_DEDUP_PREFIX + basware_request_id,
            next_attempt_at=fields.Datetime.now() + timedelta(seconds=backend.request_status_delay),
        )

    def _run_request_status(self, client):
        """Phase two: read Basware's per-item results of an earlier POST, then acknowledge."""
        tracked = self.tracked_request_id
        if not tracked:
            raise UserError(self.env._("This exchange has no Basware request id to look up."))
        status = client.get_request_status(tracked)
        if status.is_pending:
            raise bw_errors.BaswareRequestPending(f"Basware is still processing request {tracked}.")
        client.acknowledge_request_status([tracked])
        if self.parent_id:
            self.parent_id._apply_phase_two(status)
        return status.to_dict()

    def _apply_phase_two(self, status):
        """Take Basware's per-item results of this exchange's write (the sync flows extend it)."""
        self.ensure_one()
        rejected = [item for item in status.items if item.is_error]
        if rejected:
            self.message_post(
                body=self.env._(
                    "Basware rejected %(count)s item(s) of request %(request)s.",
                    count=len(rejected),
                    request=status.request_id,
                )
            )

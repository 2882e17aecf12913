"""The exchange queue: one record per unit of work with Basware, in either direction.

The model, its kinds and handlers, the guard of queue-only fields, enqueuing with dedup and replay;
claiming and running are in basware_exchange_queue.py, the purge in basware_exchange_purge.py."""

from typing import NamedTuple

from odoo import api, fields, models, modules, tools
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.service.model import (  # noqa: F401 - the queue files and the webhook import it
    PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as CONCURRENCY_ERRORS,
)
from odoo.tools import SQL

from ..basware.redaction import holds_secrets, to_json_text
from . import common

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
# The key of the exchange queue's cron in a backend's scheduled job error.
JOB_QUEUE = "queue"

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

# How the queue runs each kind: the method that handles it, and when a retryable failure
# gives up (RETRY_ATTEMPTS: after the backend's Max Attempts; RETRY_HORIZON: once the
# backend's request status horizon has passed). Every kind has exactly one entry.
RETRY_ATTEMPTS = "attempts"
RETRY_HORIZON = "horizon"
# The handler of every outbound write: one POST of its stored body to its endpoint.
POST_HANDLER = "_run_post"


class Handler(NamedTuple):
    method: str
    retry: str = RETRY_ATTEMPTS


HANDLERS = {
    KIND_VENDOR: Handler(POST_HANDLER),
    KIND_PURCHASE_ORDER: Handler(POST_HANDLER),
    KIND_PURCHASE_ORDER_LINE: Handler(POST_HANDLER),
    KIND_GOODS_RECEIPT: Handler(POST_HANDLER),
    KIND_ACCOUNT: Handler(POST_HANDLER),
    KIND_TAX_CODE: Handler(POST_HANDLER),
    KIND_ANALYTIC: Handler(POST_HANDLER),
    KIND_PAYMENT_TERM: Handler(POST_HANDLER),
    KIND_REQUEST_STATUS: Handler("_run_request_status", RETRY_HORIZON),
    KIND_ACCOUNTING_DOCUMENT: Handler("_run_accounting_document"),
    KIND_TRANSFER_RESPONSE: Handler("_run_transfer_response"),
    KIND_PAYMENT_RESPONSE: Handler("_run_payment_response"),
    KIND_WEBHOOK: Handler("_run_webhook_notification"),
}


class ExchangeSuperseded(UserError):
    """Raised by an outbound write about to be sent whose records all have a newer
    exchange: the attempt ends as superseded by ``newer``, and nothing is sent."""

    def __init__(self, message, newer):
        super().__init__(message)
        self.newer = newer


def in_test_mode():
    """Whether tests run: nothing is committed then, the test transaction is rolled back."""
    return bool(modules.module.current_test or tools.config.get("test_enable"))


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
    error_traceback = fields.Text(readonly=True, copy=False, groups=common.MANAGER_GROUP)
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

    @api.depends("res_model")
    def _compute_res_model_name(self):
        for exchange in self:
            model = exchange.res_model and self.env["ir.model"].sudo()._get(exchange.res_model)
            exchange.res_model_name = model.name if model else exchange.res_model

    @api.depends("res_model", "res_id")
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
        """Queue one unit of work and return its exchange, or the one already holding ``dedup_key``
        (run again if done and ``rerun_done``; ``dedup_checked``: none found in this
        transaction). Raises SerializationFailure when a transaction begun after this one queued
        it first: it owns the work, nothing is logged."""
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
        """Reserve and return the ``dedup_keys`` no exchange of ``backend`` has: a placeholder row,
        inserted and deleted, holds each key in the unique index until commit, so our insert
        cannot fail and a concurrent one waits, then finds the real exchange.
        SerializationFailure: an exchange committed since this transaction began holds a key."""
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
    def _enqueue_chunks(self, backend, kind, endpoint, chunks, **values):
        """One exchange per chunk of ``chunk_records`` (records, body), in order. The body is stored
        as sent, byte for byte, so it must hold nothing to redact.
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

    def _reset_to_pending(self, **values):
        values.update(
            state=STATE_PENDING,
            attempt_count=0,
            interrupted_count=0,
            next_attempt_at=fields.Datetime.now(),
            date_done=False,
        )
        self._queue_edit().write(values)

    # === ACTIONS === #

    def _check_manager(self):
        common.check_manager(
            self.env, self.env._("Only a Basware manager can replay or run exchanges.")
        )

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
        """Before a replay puts this exchange back in the queue (a done outbound write is
        rebuilt from its records as they are now)."""
        self.ensure_one()

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

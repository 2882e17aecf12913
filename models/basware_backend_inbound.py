"""Inbound: pull the invoices Basware approved, import them as vendor bills, answer Basware.
A pull inboxes and commits before it acknowledges, so an invoice Basware stops offering is
already safe in Odoo; the queue then imports each one (basware_exchange_import)."""

import functools
import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import SQL

from ..basware import errors as bw_errors
from . import basware_exchange as queue
from .basware_backend_outbound import SYNC_NOW_BUDGET, SYNC_NOW_MAX_EXCHANGES
from .basware_exchange_import import INBOUND_FLOW_KINDS
from .common import notification

_logger = logging.getLogger(__name__)

POST_MODE_POST = "post"
POST_MODE_DRAFT = "draft"
POST_MODES = [
    (POST_MODE_POST, "Post at once"),
    (POST_MODE_DRAFT, "Keep in draft for review"),
]
# Basware's largest page of accountingDocuments.
DOCUMENT_PAGE_SIZE = 100
# Push notifications not answered yet by a pull.
PENDING_NOTIFICATION_STATES = (queue.STATE_PENDING, queue.STATE_FAILED)
# Bills whose payment is looked for per backend and cron run.
PAYMENT_BATCH = 500
NOTIFY_SUCCESS = "success"
NOTIFY_WARNING = "warning"
# The key of the inbound cron in a backend's scheduled job error.
JOB_IMPORT = "import"


@dataclass
class ImportRun:
    """What one pull-and-import of a backend did."""

    inboxed: object
    pull_error: "str | None" = None
    time_left: float = float("inf")


class BaswareBackend(models.Model):
    _inherit = "basware.backend"

    invoice_post_mode = fields.Selection(
        POST_MODES,
        "Imported Bills",
        required=True,
        default=POST_MODE_POST,
        help="Post the vendor bills made from Basware invoices at once, or keep them in "
        "draft for review. Basware hears of a bill, with its number, once it is posted.",
    )

    def _basware_posts_bills(self):
        self.ensure_one()
        return self.invoice_post_mode != POST_MODE_DRAFT

    # === PULL === #

    def _basware_inbound_company_code(self):
        """The companyCode whose invoices this backend imports; without it, none."""
        self.ensure_one()
        code = (self.basware_company_code or "").strip()
        if not code:
            raise UserError(
                self.env._(
                    "Set the Basware company code of the backend %(backend)s: it tells which "
                    "of Basware's invoices belong to its company.",
                    backend=self.display_name,
                )
            )
        return code

    def _basware_pull_documents(self, client, acknowledge=True):
        """Inbox the invoices waiting for transfer; return their exchanges. With ``acknowledge``,
        each page is committed (outside tests), acknowledged, then committed again; without (an
        exchange's transaction must not commit), each import acknowledges once committed."""
        self.ensure_one()
        company_code = self._basware_inbound_company_code()
        Exchange = self.env["basware.exchange"]
        inboxed = Exchange.browse()
        pages = client.iter_accounting_document_pages(
            company_code=company_code, page_size=DOCUMENT_PAGE_SIZE
        )
        for page in pages:
            exchanges = Exchange._inbox_documents(
                self,
                [
                    document
                    for document in page
                    if self._basware_owns_document(document, company_code)
                ],
            )
            if acknowledge:
                # Inbox before acknowledge: what Basware stops offering is committed first.
                Exchange._commit_batch(0)
                exchanges._acknowledge_documents(client)
                Exchange._commit_batch(0)
            inboxed |= exchanges
        return inboxed

    def _basware_owns_document(self, document, company_code):
        if not isinstance(document, dict) or not document.get("invoiceId"):
            _logger.warning("Basware backend %s: skipping a document without invoiceId", self.id)
            return False
        if str(document.get("companyCode") or "") != company_code:
            _logger.warning(
                "Basware backend %s: skipping invoice %s of company %s",
                self.id,
                document["invoiceId"],
                document.get("companyCode"),
            )
            return False
        return True

    def _basware_notified(self):
        """Whether a push notification came since the last pull began (or is unanswered),
        whoever ran its exchange meanwhile."""
        self.ensure_one()
        rang = [("state", "in", PENDING_NOTIFICATION_STATES)]
        if self.last_sync_date:
            rang = Domain.OR([rang, [("create_date", ">=", self.last_sync_date)]])
        domain = Domain.AND(
            [[("backend_id", "=", self.id), ("kind", "=", queue.KIND_WEBHOOK)], rang]
        )
        return bool(self.env["basware.exchange"].search_count(domain, limit=1))

    def _basware_answer_notifications(self, before, pulled):
        """The push notifications received before a pull started are answered by it."""
        self.ensure_one()
        Exchange = self.env["basware.exchange"]
        self.env.flush_all()
        query = SQL(
            """
            SELECT id FROM basware_exchange
             WHERE backend_id = %s AND kind = %s AND state IN %s AND create_date <= %s
               FOR UPDATE SKIP LOCKED
            """,
            self.id,
            queue.KIND_WEBHOOK,
            PENDING_NOTIFICATION_STATES,
            before,
        )
        # None: one changed since this transaction began; the next pull answers it.
        rung = Exchange.browse([row[0] for row in Exchange._quiet_rows(query) or ()])
        rung._queue_edit().write(
            {
                "state": queue.STATE_DONE,
                "date_done": fields.Datetime.now(),
                "next_attempt_at": False,
                "error_class": False,
                "error_message": False,
                "error_retryable": False,
                "response_payload": queue.to_json_text({"pulled": pulled}),
            }
        )
        return rung

    def _basware_mark_pulled(self, started):
        """Remember when the pull began (a later notification rings again), unless another worker is
        writing the backend: with the row locked first, quietly, the write cannot fail, and a token
        renewal meanwhile is a normal race, not an error in the log."""
        self.env.flush_all()
        query = SQL(
            "SELECT id FROM basware_backend WHERE id = %s FOR NO KEY UPDATE SKIP LOCKED", self.id
        )
        if not self.env["basware.exchange"]._quiet_rows(query):
            _logger.info("Basware backend %s: pull time not saved (concurrent update)", self.id)
            return
        self.write({"last_sync_date": started})
        self.env.flush_all()

    # === IMPORT === #

    def _basware_import(self, pull=True, limit=None, time_left=float("inf")):
        """Pull (when asked), queue the payment answers due, and run the invoice flow's
        exchanges; a failed pull is reported, and what was inboxed before runs anyway."""
        self.ensure_one()
        Exchange = self.env["basware.exchange"]
        run = ImportRun(inboxed=Exchange.browse())
        if pull:
            run.inboxed, run.pull_error = self._basware_pull_once()
        self._basware_queue_payment_responses()
        Exchange._commit_batch(0)
        run.time_left = Exchange._process_backend_queue(
            self, limit=limit, time_left=time_left, kinds=INBOUND_FLOW_KINDS
        )
        return run

    def _basware_pull_once(self):
        """One pull, its pending notifications answered; returns (exchanges, error or None)."""
        # Not fields.Datetime.now(): a notification of this very second must not pass.
        started = datetime.now(timezone.utc).replace(tzinfo=None)
        try:
            with self._get_client() as client:
                inboxed = self._basware_pull_documents(client)
        except (bw_errors.BaswareError, UserError) as error:
            _logger.warning("Basware backend %s: pull of invoices failed: %s", self.id, error)
            return self.env["basware.exchange"].browse(), str(error)
        self._basware_answer_notifications(started, len(inboxed))
        # A fresh transaction: the pull's token renewal wrote this row from another one.
        self.env["basware.exchange"]._commit_batch(0)
        self._basware_mark_pulled(started)
        return inboxed, None

    def _basware_queue_payment_responses(self):
        """Queue the payment answers of this backend's bills whose paid amount changed since
        the last run."""
        self.ensure_one()
        bills = self.env["account.move"]._basware_paid_unreported(self, PAYMENT_BATCH)
        for bill in bills:
            bill._basware_queue_payment_response()
        return bills

    @api.model
    def _cron_import_documents(self):
        """Inbound cron: per runnable backend, pull when a notification rang or the sync
        interval passed, queue payment answers, then import and answer."""
        Exchange = self.env["basware.exchange"]
        backends = Exchange._runnable_backends()
        time_left = Exchange._commit_batch(0)
        label = self.env._("Invoice import")
        for backend in backends:
            if time_left <= queue.NO_TIME_LEFT:
                break
            # Each backend on its own: one that fails has its error recorded, the others run.
            time_left = backend._basware_isolated(
                JOB_IMPORT,
                label,
                functools.partial(backend._basware_cron_import, time_left),
                default=time_left,
            )
        Exchange._commit_batch(0, remaining=Exchange._due_count(backends, INBOUND_FLOW_KINDS))

    def _basware_cron_import(self, time_left):
        """This backend's share of the inbound cron; returns the cron's time left."""
        pull = self._basware_notified() or self._is_sync_due()
        return self._basware_import(pull=pull, time_left=time_left).time_left

    # === ACTIONS === #

    def action_import_documents(self):
        """Pull and import Basware's approved invoices now, in this request."""
        self.ensure_one()
        self._check_manager_rights()
        reason = self._get_pause_reason()
        if reason:
            return notification(
                self.env._("Import not started"), reason, NOTIFY_WARNING, sticky=False
            )
        # The integration books invoices whatever the manager may read or create.
        backend = self.sudo()
        run = backend._basware_import(limit=SYNC_NOW_MAX_EXCHANGES, time_left=SYNC_NOW_BUDGET)
        message, kind = backend._basware_import_summary(run)
        title = (
            self.env._("Import finished")
            if kind == NOTIFY_SUCCESS
            else self.env._("Import incomplete")
        )
        return notification(title, message, kind, sticky=False)

    def action_sync_now(self):
        """The outbound sync, then the invoices waiting in Basware."""
        result = super().action_sync_now()
        params = result.get("params") or {}
        if params.get("type") != NOTIFY_SUCCESS or not self.basware_company_code:
            return result
        backend = self.sudo()
        run = backend._basware_import(limit=SYNC_NOW_MAX_EXCHANGES, time_left=SYNC_NOW_BUDGET)
        message, kind = backend._basware_import_summary(run)
        params["message"] = f"{params.get('message') or ''} {message}".strip()
        params["type"] = kind
        return result

    def _basware_import_summary(self, run):
        """(message, notification type) of an ImportRun."""
        run.inboxed.invalidate_recordset(["state"])
        states = run.inboxed.mapped("state")
        message = self.env._(
            "%(received)s invoice(s) received from Basware: %(done)s imported, %(failed)s "
            "not imported (see the failed exchanges), %(waiting)s waiting.",
            received=len(states),
            done=states.count(queue.STATE_DONE),
            failed=states.count(queue.STATE_FAILED) + states.count(queue.STATE_DEAD),
            waiting=states.count(queue.STATE_PENDING) + states.count(queue.STATE_IN_PROGRESS),
        )
        if run.pull_error:
            message = self.env._(
                "%(summary)s The pull stopped: %(error)s", summary=message, error=run.pull_error
            )
            return message, NOTIFY_WARNING
        return message, NOTIFY_SUCCESS

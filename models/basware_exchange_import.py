"""Basware invoices into the exchange queue, each booked as a vendor bill once.

Inboxed and committed before Basware is acknowledged; bill, outcome and queued answer commit
together; a unique (backend, invoiceId) index stops two imports both creating a bill."""

import json
import logging

import psycopg2.errors

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..basware import constants as bw
from ..basware import errors as bw_errors
from ..mapping.accounting_content import document_changes, document_hash
from ..mapping.problems import PROBLEM_BILL, REASON_CANCELLED, REASON_CHANGED, Problem
from . import basware_exchange as queue
from .basware_invoice_mapping import BaswareDocumentRejected
from .common import MOVE_POSTED

_logger = logging.getLogger(__name__)

INVOICE_DEDUP_PREFIX = "invoice:"
# The kinds of the invoice flow: the inbound cron runs these, and only these.
INBOUND_FLOW_KINDS = (
    queue.KIND_ACCOUNTING_DOCUMENT,
    queue.KIND_TRANSFER_RESPONSE,
    queue.KIND_PAYMENT_RESPONSE,
)
# Only the queue writes these (see basware_exchange.PROTECTED_FIELDS).
INBOUND_PROTECTED_FIELDS = frozenset({"acknowledged"})
CONCURRENT_IMPORT_ERROR = (
    "Another worker wrote the same record at the same moment (most likely the bill of this "
    "invoice): the next attempt finds it and answers Basware."
)
# account.move context key: the bill is being posted by its import, which answers Basware.
IMPORTING_CONTEXT_KEY = "basware_importing"
VALIDATE_ANALYTIC_KEY = "validate_analytic"
MOVE_CANCEL = "cancel"


def is_rejection(error):
    """Whether Basware's user must hear of the error (the document's, or Odoo's checks). Access
    errors are Odoo's configuration: fixed and replayed without failing the invoice in Basware.
    """
    return isinstance(error, UserError) and not isinstance(error, AccessError)


class BaswareExchange(models.Model):
    _inherit = "basware.exchange"

    acknowledged = fields.Boolean(
        readonly=True,
        copy=False,
        help="Basware confirmed receipt of this accounting document (acknowledge). Until "
        "then, its import acknowledges it first. A document offered again by Basware is "
        "acknowledged again.",
    )

    def write(self, vals):
        protected = INBOUND_PROTECTED_FIELDS.intersection(vals)
        if protected and not self._is_queue_edit():
            raise AccessError(
                self.env._(
                    "These fields of a Basware exchange are its audit trail and cannot be "
                    "changed by hand: %(fields)s.",
                    fields=", ".join(sorted(protected)),
                )
            )
        return super().write(vals)

    def _quiet(self):
        """For exchanges created by the thousand: no follower, no creation message (the
        exchange's own fields say who made it and when)."""
        return self.with_context(tracking_disable=True)

    # === INBOX === #

    @api.model
    def _inbox_documents(self, backend, documents):
        """The import exchanges of a page of ``documents``, as _inbox_document gives them
        one by one: the earlier exchanges of the page found in one query, the new ones
        created in one insert."""
        offers = {}
        for document in documents:
            offers.setdefault(INVOICE_DEDUP_PREFIX + str(document["invoiceId"]), document)
        if not offers:
            return self.browse()
        earlier = self.search(
            [("backend_id", "=", backend.id), ("dedup_key", "in", list(offers))]
        ).grouped("dedup_key")
        new = self._inbox_new(
            backend, [document for key, document in offers.items() if key not in earlier]
        ).grouped("dedup_key")
        # In the page's order, as Basware listed them.
        return self.union(
            *(
                earlier[key]._offered_again(document)
                if key in earlier
                else new.get(key, self.browse())
                for key, document in offers.items()
            )
        )

    @api.model
    def _inbox_new(self, backend, documents):
        """Queue the import exchanges of ``documents``, which have none yet (_enqueue's
        values, in one insert)."""
        if not documents:
            return self.browse()
        offers = {
            INVOICE_DEDUP_PREFIX + str(document["invoiceId"]): document for document in documents
        }
        try:
            free = self._reserve_dedup_keys(
                backend, queue.KIND_ACCOUNTING_DOCUMENT, queue.DIRECTION_INBOUND, offers
            )
        except queue.CONCURRENCY_ERRORS:
            # Another worker inboxed some of them meanwhile: one by one, as it left them.
            return self.union(*(self._inbox_document(backend, document) for document in documents))
        values = [
            {
                "backend_id": backend.id,
                "kind": queue.KIND_ACCOUNTING_DOCUMENT,
                "direction": queue.DIRECTION_INBOUND,
                "dedup_key": key,
                "external_code": str(document["invoiceId"]),
                "request_payload": queue.to_json_text(document),
            }
            for key, document in offers.items()
            if key in free
        ]
        new = self._quiet()._queue_edit().create(values).with_env(self.env)
        # Keys this transaction inboxed since the caller looked: as _inbox_document finds them.
        taken = [document for key, document in offers.items() if key not in free]
        return self.union(new, *(self._inbox_document(backend, document) for document in taken))

    @api.model
    def _inbox_document(self, backend, document):
        """The import exchange of ``document``, queued once per offer; empty when another
        worker holds it or inboxed it at this moment."""
        invoice_id = str(document["invoiceId"])
        dedup_key = INVOICE_DEDUP_PREFIX + invoice_id
        existing = self._find_dedup(backend, dedup_key)
        if existing:
            return existing._offered_again(document)
        try:
            return self._quiet()._enqueue(
                backend,
                queue.KIND_ACCOUNTING_DOCUMENT,
                queue.DIRECTION_INBOUND,
                payload=document,
                dedup_key=dedup_key,
                external_code=invoice_id,
            )
        except queue.CONCURRENCY_ERRORS:
            # Another worker inboxed it meanwhile and committed: it is in its hands.
            return self.browse()

    def _offered_again(self, document):
        """Basware lists this exchange's invoice again. Unacknowledged, it is the same offer and
        stays queued; else (a re-transfer, maybe corrected) the exchange runs again on the new
        document, and an existing bill is answered, never created twice."""
        self.ensure_one()
        if self.state == queue.STATE_PENDING and not self.acknowledged:
            return self
        if not self._lock_free():
            return self.browse()
        if self.acknowledged or self.state != queue.STATE_PENDING:
            self._queue_edit()._reset_to_pending(
                request_payload=queue.to_json_text(document), acknowledged=False
            )
            self.message_post(body=self.env._("Offered again by Basware: queued again."))
        return self

    def _lock_free(self):
        """Lock these exchanges' rows unless a worker holds them (the row is locked, or in
        progress: a run commits its attempt before it starts); return those locked."""
        if not self:
            return self
        self.flush_recordset()
        query = SQL(
            "SELECT id FROM basware_exchange WHERE id IN %s AND state != %s FOR UPDATE SKIP LOCKED",
            tuple(self.ids),
            queue.STATE_IN_PROGRESS,
        )
        # None: changed by another transaction since ours began; the next run sees it.
        ids = {row[0] for row in self._quiet_rows(query) or ()}
        return self.filtered(lambda exchange: exchange.id in ids)

    def _acknowledge_documents(self, client):
        """Tell Basware these inboxed invoices arrived; return those acknowledged. The caller
        committed them first, so none is lost; 405 means acknowledged already. Exchanges a worker
        holds, and the rest after a failed call, are left to their handlers."""
        pending = self.filtered(lambda exchange: not exchange.acknowledged)._lock_free()
        done = self.browse()
        for exchange in pending:
            try:
                client.acknowledge_accounting_document(exchange.external_code)
            except bw_errors.BaswareNotFoundError:
                continue
            except bw_errors.BaswareError as error:
                _logger.warning(
                    "Basware backend %s: acknowledge of invoice %s failed (%s); its import "
                    "acknowledges it",
                    exchange.backend_id.id,
                    exchange.external_code,
                    type(error).__name__,
                )
                break
            done |= exchange
        done._queue_edit().write({"acknowledged": True})
        return done

    # === IMPORT === #

    def _document(self):
        return json.loads(self.request_payload or "{}")

    def _run_accounting_document(self, client):
        """Import one invoice: acknowledge it, create and post its bill once, answer Basware."""
        document = self._document()
        invoice_id = str(document.get("invoiceId") or self.external_code)
        self._ensure_acknowledged(client, invoice_id)
        bill = self._existing_bill(invoice_id)
        created = not bill
        if created:
            bill = self._create_bill(client, document)
        else:
            self._check_offered_again(bill, document)
        answer = self._answer_bill(bill, document, new=created)
        return {
            "invoice_id": invoice_id,
            "bill_id": bill.id,
            "bill": bill.name,
            "bill_state": bill.state,
            "created": created,
            "transfer_response": answer.external_code if answer else False,
        }

    def _ensure_acknowledged(self, client, invoice_id):
        if self.acknowledged:
            return
        client.acknowledge_accounting_document(invoice_id)
        self._queue_edit().write({"acknowledged": True})

    def _existing_bill(self, invoice_id):
        return (
            self.env["account.move"]
            .sudo()
            .search(
                [
                    ("basware_backend_id", "=", self.backend_id.id),
                    ("basware_invoice_id", "=", invoice_id),
                ],
                limit=1,
            )
        )

    def _create_bill(self, client, document):
        """The bill of ``document``, posted unless the backend keeps bills in draft. Raises
        BaswareDocumentRejected when it cannot be booked (nothing created), UniqueViolation when
        another transaction created it at the same moment (the retry finds that bill)."""
        attachments = self._download_attachments(client, document)
        # The integration books the invoice whatever the rights of whoever runs the queue.
        # A failure leaves nothing: the queue runs each exchange in a savepoint.
        backend = self.backend_id.sudo()
        bill = backend._basware_create_bill(document, attachments=attachments)
        self._post_or_hold(bill)
        # The unique index speaks now, inside the exchange's savepoint, not at the commit.
        self.env.flush_all()
        return bill

    def _post_or_hold(self, bill):
        """Post the bill unless the backend keeps bills in draft, or Odoo's auto-post would
        hold it back (a possible duplicate, an unusual amount): then a person decides."""
        reasons = bill._basware_hold_reasons()
        if reasons:
            bill._basware_hold(reasons)
        elif self.backend_id._basware_posts_bills():
            # Posted as from the bill's Confirm button, mandatory analytic plans included.
            context = {IMPORTING_CONTEXT_KEY: True, VALIDATE_ANALYTIC_KEY: True}
            bill.with_context(**context).action_post()

    def _check_offered_again(self, bill, document):
        """A booked invoice offered again: the same document is answered with its bill; a corrected
        one updates a draft bill, and raises BaswareDocumentRejected (differences named) for a
        posted or cancelled one."""
        if bill.state == MOVE_CANCEL:
            raise BaswareDocumentRejected(
                [Problem(PROBLEM_BILL, bill.name, REASON_CANCELLED)], document
            )
        if not bill.basware_document_hash or bill.basware_document_hash == document_hash(document):
            return
        changes = document_changes(bill._basware_booked_document(), document)
        if bill.state == MOVE_POSTED:
            raise BaswareDocumentRejected(
                [Problem(PROBLEM_BILL, bill.name, REASON_CHANGED, detail="; ".join(changes))],
                document,
            )
        self.backend_id.sudo()._basware_update_bill(bill.sudo(), document, changes)
        self._post_or_hold(bill)
        self.env.flush_all()

    def _download_attachments(self, client, document):
        """The invoice's files, invoice image first. Confidential ones stay in Basware, whose
        readers are restricted (Odoo's would not be); files Basware lacks (404) or withholds from
        this client (403, a tenant option) are left out."""
        invoice_id = document["invoiceId"]
        listed = [
            meta
            for meta in document.get("attachments") or ()
            if meta.get("externalCode") and not meta.get("isConfidential")
        ]
        listed.sort(key=lambda meta: meta.get("category") != bw.CATEGORY_ORIGINAL_IMAGE)
        files = []
        for meta in listed:
            try:
                file = client.get_accounting_document_attachment(invoice_id, meta["externalCode"])
            except bw_errors.BaswareScopeError:
                _logger.info("Basware serves no attachments of invoice %s", invoice_id)
                return files
            if file is None:
                continue
            files.append(
                {
                    "name": meta.get("filename") or file["filename"] or meta["externalCode"],
                    "raw": file["content"],
                    "mimetype": file["mimetype"],
                }
            )
        return files

    def _answer_bill(self, bill, document, new=False):
        """Queue Basware's success answer for ``bill`` (a posted one: a draft is answered when
        it is posted), unless an answer is already on its way (never for a ``new`` bill)."""
        if bill.state != MOVE_POSTED:
            return self.browse()
        waiting = self.browse() if new else self._open_responses(bill)
        if waiting:
            return waiting[:1]
        return self._queue_booked_response(bill, document, parent=self)

    def _get_record(self):
        """An imported accounting document's record is the bill made from it."""
        record = super()._get_record()
        if record or self.kind != queue.KIND_ACCOUNTING_DOCUMENT or not self.external_code:
            return record
        return (
            self.env["account.move"].search(
                [
                    ("basware_backend_id", "=", self.backend_id.id),
                    ("basware_invoice_id", "=", self.external_code),
                ],
                limit=1,
            )
            or None
        )

    # === FAILURES === #

    def _is_retryable(self, error):
        if self.kind == queue.KIND_ACCOUNTING_DOCUMENT and isinstance(
            error, psycopg2.errors.UniqueViolation
        ):
            return True
        return super()._is_retryable(error)

    def _failure_values(self, error, retryable, client):
        values = super()._failure_values(error, retryable, client)
        if self.kind == queue.KIND_ACCOUNTING_DOCUMENT and isinstance(
            error, psycopg2.errors.UniqueViolation
        ):
            values["error_message"] = CONCURRENT_IMPORT_ERROR
        return values

    def _record_failure(self, error, retryable, client):
        result = super()._record_failure(error, retryable, client)
        if self.kind == queue.KIND_ACCOUNTING_DOCUMENT and is_rejection(error):
            self._answer_rejection(error)
        return result

    def _answer_rejection(self, error):
        """No bill: tell Basware why, in a failed transfer response. Like the rest of the
        failure's record this must not fail: the caller's outcome would be lost."""
        try:
            with self.env.cr.savepoint():
                document = self._document()
                message = getattr(error, "response_message", None) or self.env._(
                    "Not booked in Odoo: %(reason)s", reason=str(error)
                )
                # A refusal comes after the acknowledge: the import's first step.
                self._queue_edit().write({"acknowledged": True})
                self._queue_transfer_response(
                    self.backend_id,
                    str(document.get("invoiceId") or self.external_code),
                    success=False,
                    message=message,
                    payment_block=bool(document.get("paymentBlock")),
                    parent=self,
                )
        except Exception:
            _logger.exception("Could not queue the failed transfer response of %s", self.id)

"""Odoo's answers to Basware about its invoices (transfer and payment responses).

Basware refuses a payment before the transfer answer and keeps the last payment response it got: a
bill's answers wait for the earlier ones and are never sent twice."""

import json
import uuid
from datetime import timedelta

from odoo import api, fields, models

from ..basware import constants as bw
from ..basware import errors as bw_errors
from ..basware.client import format_datetime
from ..basware.errors import shorten
from . import basware_exchange as queue

PAYMENT_DEDUP_PREFIX = "payment:"
RESPONSE_KINDS = {
    queue.KIND_TRANSFER_RESPONSE: "transferResponses",
    queue.KIND_PAYMENT_RESPONSE: "paymentResponses",
}
# Field limits of TransferResponseEntity and PaymentResponseEntity.
VOUCHER_NUMBER_MAX = 25
RESPONSE_SOURCE_SYSTEM_MAX = 32
PHASE_TWO_ERROR_CLASS = "BaswareItemRejected"


class AnswerWaiting(bw_errors.BaswareError):
    """An answer that must follow another one of the same bill waits for it. Waiting is no
    failed attempt: it lasts while the other answer is on its way, which retries (or dies)
    by its own policy."""

    retryable = True


class TransferAnswerPending(AnswerWaiting):
    """A payment is reported after the bill's transfer answer: Basware refuses it before."""

    default_message = "The bill's transfer answer is not sent yet; the payment waits for it"


class EarlierPaymentPending(AnswerWaiting):
    """The payment responses of a bill go in order: Basware keeps the last one it got."""

    default_message = (
        "An earlier payment response of the bill is not sent yet; this one waits for it"
    )


class BaswareExchange(models.Model):
    _inherit = "basware.exchange"

    # === QUEUED === #

    @api.model
    def _queue_booked_response(self, bill, document, parent=None):
        """Basware's success answer for the posted ``bill``: booked, under its number."""
        return self._queue_transfer_response(
            bill.basware_backend_id,
            bill.basware_invoice_id,
            success=True,
            message=self.env._("Booked in Odoo as %(bill)s.", bill=bill.name),
            bill=bill,
            payment_block=bool(document.get("paymentBlock")),
            parent=parent,
        )

    @api.model
    def _bill_responses(self, bill):
        """The success answers queued for ``bill`` (only those carry a bill)."""
        return self.search(
            [
                ("kind", "=", queue.KIND_TRANSFER_RESPONSE),
                ("res_model", "=", bill._name),
                ("res_id", "=", bill.id),
            ]
        )

    @api.model
    def _open_responses(self, bill):
        """Success answers for ``bill`` still on their way: queued, or failed and retried."""
        return self._bill_responses(bill).filtered(lambda exchange: exchange._on_its_way())

    @api.model
    def _queue_transfer_response(
        self,
        backend,
        invoice_id,
        *,
        success,
        message,
        bill=None,
        payment_block=False,
        parent=None,
    ):
        """A child exchange answering Basware about one invoice, its new externalCode kept through
        retries: Basware refuses a repeat of an attempt that reached it, and the retry finds that
        answer on the invoice."""
        body = self._response_body(
            backend,
            success=success,
            message=message,
            payment_block=payment_block,
            transferDate=format_datetime(fields.Datetime.now()) if success else None,
            voucherNumber1=bill.name[:VOUCHER_NUMBER_MAX] if bill else None,
        )
        return self._quiet()._enqueue(
            backend,
            queue.KIND_TRANSFER_RESPONSE,
            queue.DIRECTION_INBOUND,
            record=bill,
            payload={"invoiceId": invoice_id, "response": body},
            external_code=body["externalCode"],
            parent_id=parent.id if parent else False,
        )

    @api.model
    def _response_body(self, backend, *, success, message, payment_block, **values):
        """A transfer or payment response: a new externalCode, the flags, the message cut
        to Basware's 250 characters, the backend's source system, and ``values`` that are
        set."""
        body = {
            "externalCode": uuid.uuid4().hex,
            "success": success,
            "responseMessage": shorten(message, bw.RESPONSE_MESSAGE_MAX_LENGTH),
            "paymentBlock": payment_block,
        }
        source_system = (backend.source_system or "").strip()[:RESPONSE_SOURCE_SYSTEM_MAX]
        if source_system:
            body["sourceSystem"] = source_system
        body.update({key: value for key, value in values.items() if value is not None})
        return body

    # === WAITING === #

    def _failure_values(self, error, retryable, client):
        values = super()._failure_values(error, retryable, client)
        if isinstance(error, AnswerWaiting):
            values.update(self._waiting_values())
        return values

    def _waiting_values(self):
        """A wait is not counted as an attempt and never gives up: it looks again after
        the first retry delay."""
        delay = timedelta(seconds=self.backend_id.exchange_retry_base)
        return {
            "state": queue.STATE_FAILED,
            "attempt_count": max(self.attempt_count - 1, 0),
            "next_attempt_at": fields.Datetime.now() + delay,
        }

    # === SENT === #

    def _run_transfer_response(self, client):
        return self._send_invoice_response(client, client.post_transfer_response)

    def _run_payment_response(self, client):
        """Send one payment response, after the bill's transfer answer and after its earlier
        payment responses. One that a later response already reached Basware before (it
        was replayed after it died) is not sent: the later one tells the newer amounts."""
        bill = self._get_record()
        if bill:
            if self._open_responses(bill):
                raise TransferAnswerPending()
            if self._payment_responses(bill, "<").filtered(lambda answer: answer._on_its_way()):
                raise EarlierPaymentPending()
            sent_later = self._payment_responses(bill, ">").filtered(lambda answer: answer._sent())
            if sent_later:
                return {"superseded_by": sent_later[-1].external_code}
        return self._send_invoice_response(client, client.post_payment_response)

    def _payment_responses(self, bill, operator):
        """The payment responses of ``bill`` queued before (``<``) or after (``>``) this
        one, oldest first."""
        return self.search(
            [
                ("kind", "=", queue.KIND_PAYMENT_RESPONSE),
                ("res_model", "=", bill._name),
                ("res_id", "=", bill.id),
                ("id", operator, self.id),
            ],
            order="id",
        )

    def _on_its_way(self):
        """Queued, running, or failed and retried (waiting included)."""
        return self.state in (queue.STATE_PENDING, queue.STATE_IN_PROGRESS) or (
            self.state == queue.STATE_FAILED and self.error_retryable
        )

    def _sent(self):
        """Basware received it: done, or refused in phase two."""
        return self.state == queue.STATE_DONE or self.error_class == PHASE_TWO_ERROR_CLASS

    def _send_invoice_response(self, client, post):
        """POST the stored answer; then poll phase two, as for any write to Basware."""
        payload = json.loads(self.request_payload or "{}")
        invoice_id, body = payload["invoiceId"], payload["response"]
        try:
            response = post(invoice_id, body)
        except (bw_errors.BaswareValidationError, bw_errors.BaswareConflictError):
            if not self._answer_recorded(client, invoice_id, body):
                raise
            return {"recorded_before": True, "externalCode": body["externalCode"]}
        if response.amzn_request_id:
            self._quiet()._enqueue_request_status(response.amzn_request_id)
        return response.data

    def _answer_recorded(self, client, invoice_id, body):
        """Whether Basware has this answer already: an earlier attempt reached it, or (for a
        success) the invoice is transferred with this very bill number."""
        try:
            document = client.get_accounting_document(invoice_id) or {}
        except bw_errors.BaswareError:
            # Unknown: the refusal stands.
            return False
        recorded = document.get(RESPONSE_KINDS[self.kind]) or ()
        if any(item.get("externalCode") == body["externalCode"] for item in recorded):
            return True
        return bool(
            self.kind == queue.KIND_TRANSFER_RESPONSE
            and body.get("success")
            and document.get("processingStatus") == bw.PS_TRANSFERRED
            and body.get("voucherNumber1")
            and document.get("voucherNumber1") == body["voucherNumber1"]
        )

    def _apply_phase_two(self, status):
        """An answer Basware rejected in phase two is failed here, to be seen and replayed."""
        result = super()._apply_phase_two(status)
        if self.kind in RESPONSE_KINDS:
            messages = [
                message
                for item in status.items
                if item.is_error
                for message in (item.error_messages or [item.status])
            ]
            if messages:
                self._queue_edit().write(
                    {
                        "state": queue.STATE_FAILED,
                        "error_class": PHASE_TWO_ERROR_CLASS,
                        "error_message": "; ".join(messages),
                        "error_retryable": False,
                        "next_attempt_at": False,
                    }
                )
        return result

"""accountingDocuments: the 302 to storage, acknowledge, prebook/transfer/payment responses."""

import hashlib
import hmac
import secrets
import threading
import time

from werkzeug.wrappers import Response

from .constants import (
    CODE_CONFLICT,
    CODE_DATA,
    CODE_NOT_ALLOWED,
    HEADER_AMZN_REQUEST_ID,
    HEADER_CONTINUATION_OUT,
    PAID,
    PREBOOK_FAILED,
    PREBOOK_IN_PROGRESS,
    PREBOOKED,
    RESPONSES_KEPT,
    STANDARD_MODE,
    STORAGE_KEY_LIFETIME,
    STORAGE_PATH,
    TRANSFER_FAILED,
    TRANSFER_IN_PROGRESS,
    TRANSFERRED,
    TYPE_BUSINESS,
    WAITING_FOR_PREBOOK,
    WAITING_FOR_TRANSFER,
)
from .http import (
    ApiError,
    error,
    json_response,
    lower_args,
    parameter_error,
    parse_json,
    s3_error,
)
from .paging import has_company, is_after, page_size, updated_after
from .store import now_iso

ENTITY = "accountingDocuments"
TRANSFER_RESPONSES = "transferResponses"
PAYMENT_RESPONSES = "paymentResponses"
PREBOOK_RESPONSES = "prebookResponses"
RESPONSE_KINDS = (TRANSFER_RESPONSES, PAYMENT_RESPONSES, PREBOOK_RESPONSES)
# Statuses from which an ERP response is still accepted.
OPEN_FOR_TRANSFER_RESPONSE = (WAITING_FOR_TRANSFER, TRANSFER_IN_PROGRESS, TRANSFER_FAILED)
OPEN_FOR_PREBOOK_RESPONSE = (WAITING_FOR_PREBOOK, PREBOOK_IN_PROGRESS, PREBOOK_FAILED)
# What acknowledge moves an invoice to; any other status answers 405.
ACKNOWLEDGED_STATUS = {
    WAITING_FOR_TRANSFER: TRANSFER_IN_PROGRESS,
    WAITING_FOR_PREBOOK: PREBOOK_IN_PROGRESS,
}


class DocumentRoutes:
    """Mixin of SandboxApp."""

    def init_documents(self):
        self._storage = {}
        self._storage_lock = threading.Lock()

    def list_documents(self, request):
        """GET answers 302 to a signed storage URL holding the page, like Basware's S3 redirect."""
        args = lower_args(request)
        spec = self.endpoint(ENTITY)
        size = page_size(args, spec["pageSize"])
        rows = [
            (seq, doc) for seq, doc in self.store.items(ENTITY) if self._document_matches(doc, args)
        ]
        page, token = self.pager.page(request, rows, size, request.path)
        if not page:
            raise ApiError(404)
        location = self._storage_url({spec["wrapper"]: page}, token)
        return Response(
            status=302, headers={"Location": location, HEADER_AMZN_REQUEST_ID: request.request_id}
        )

    def _document_matches(self, doc, args):
        status = args.get("processingstatus")
        if status and status not in self.contract["processingStatuses"]:
            raise parameter_error(f"processingStatus: '{status}' is not a valid status")
        mode = args.get("p2pprocessingmode") or STANDARD_MODE
        if mode not in self.contract["p2pProcessingModes"]:
            raise parameter_error(f"p2pProcessingMode: '{mode}' is not a valid mode")
        return (
            (not status or doc["processingStatus"] == status)
            and doc.get("p2pProcessingMode", STANDARD_MODE) == mode
            and has_company(doc, args.get("companycode"))
            and is_after(doc, updated_after(args))
        )

    def _storage_url(self, body, token):
        key = secrets.token_urlsafe(18)
        with self._storage_lock:
            now = time.time()
            self._storage = {k: v for k, v in self._storage.items() if v["expires"] > now}
            self._storage[key] = {
                "body": body,
                "token": token,
                "expires": now + STORAGE_KEY_LIFETIME,
            }
        return (
            f"{self.url}{STORAGE_PATH}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Expires={STORAGE_KEY_LIFETIME}&key={key}"
            f"&X-Amz-Signature={self._storage_signature(key)}"
        )

    def _storage_signature(self, key):
        return hmac.new(self.signing_key.encode(), key.encode(), hashlib.sha256).hexdigest()

    def serve_storage(self, request):
        """The redirect target: refuses an Authorization header, serves each key once."""
        if "Authorization" in request.headers:
            return s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                "parameter, Signature query string parameter or the Authorization "
                "header should be specified",
            )
        key = request.args.get("key", "")
        signature = request.args.get("X-Amz-Signature", "")
        if not hmac.compare_digest(signature, self._storage_signature(key)):
            return s3_error(403, "SignatureDoesNotMatch", "The request signature is invalid")
        with self._storage_lock:
            entry = self._storage.pop(key, None)
        if entry is None or entry["expires"] < time.time():
            return s3_error(403, "AccessDenied", "Request has expired")
        headers = {HEADER_CONTINUATION_OUT: entry["token"]} if entry["token"] else {}
        return json_response(entry["body"], headers=headers)

    def get_document(self, request, invoice_id):
        """GET one: 404 when unknown, else 302 to storage holding AccountingDocumentResponse."""
        doc = self._document(invoice_id)
        location = self._storage_url({self.endpoint(ENTITY)["wrapper"]: [doc]}, None)
        return Response(status=302, headers={"Location": location})

    def acknowledge_document(self, request, invoice_id):
        """WaitingForTransfer -> TransferInProgress (WaitingForPrebook -> PrebookInProgress),
        once; 405 after that."""
        with self.document_lock:
            doc = self._document(invoice_id)
            status = ACKNOWLEDGED_STATUS.get(doc["processingStatus"])
            if status is None:
                raise ApiError(
                    405,
                    [
                        error(
                            invoice_id,
                            TYPE_BUSINESS,
                            CODE_NOT_ALLOWED,
                            "Accounting document is already acknowledged",
                        )
                    ],
                )
            self._save_document({**doc, "processingStatus": status})
        return json_response("Accounting document acknowledged")

    def post_document_response(self, request, invoice_id, kind):
        """prebook/transfer/paymentResponses: an object (as the spec says) or an array."""
        spec = self.endpoint(kind)
        self.check_size(request)
        body = parse_json(request)
        responses = body if isinstance(body, list) else [body]
        self.validate_all(responses, spec["schema"])
        with self.document_lock:
            doc = self._document(invoice_id)
            for response in responses:
                doc = self._apply_response(doc, kind, response)
            self._save_document(doc)
        items = [
            {
                "externalCode": r["externalCode"],
                "parentExternalCode": invoice_id,
                "status": "Success",
                "errors": [],
            }
            for r in responses
        ]
        self.record_request_status(request.request_id, spec["entityType"], "POST", items)
        return json_response(body)

    def _apply_response(self, doc, kind, response):
        used = {r.get("externalCode") for r in doc.get(kind) or ()}
        if response["externalCode"] in used:
            # prebookResponses document a 409 Conflict; the others only a 400.
            status, code = (409, CODE_CONFLICT) if kind == PREBOOK_RESPONSES else (400, CODE_DATA)
            raise ApiError(
                status,
                [
                    error(
                        response["externalCode"],
                        TYPE_BUSINESS,
                        code,
                        "externalCode: a response with this code already exists; "
                        "send a new externalCode for every response",
                    )
                ],
            )
        doc = APPLY_RESPONSE[kind](doc, response)
        doc[kind] = ((doc.get(kind) or []) + [response])[-RESPONSES_KEPT:]
        return doc

    def get_attachment(self, request, invoice_id, external_code):
        self._document(invoice_id)
        content = self.store.attachment(invoice_id, external_code)
        if content is None:
            raise ApiError(404)
        meta = next(
            (
                a
                for a in self._document(invoice_id).get("attachments") or ()
                if a.get("externalCode") == external_code
            ),
            {},
        )
        filename = meta.get("filename") or external_code
        return Response(
            content,
            content_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    def _document(self, invoice_id):
        doc = self.store.get(ENTITY, invoice_id)
        if doc is None:
            raise ApiError(404)
        return doc

    def _save_document(self, doc):
        doc["lastUpdated"] = now_iso()
        self.store.put(ENTITY, doc["invoiceId"], doc)


def _refused(response, status, code, why):
    """The business error Basware answers to a response the document's status refuses."""
    message = f"Accounting document {why}"
    return ApiError(status, [error(response["externalCode"], TYPE_BUSINESS, code, message)])


def _apply_prebook_response(doc, response):
    """WaitingForPrebook / PrebookInProgress / PrebookFailed -> Prebooked or PrebookFailed."""
    status = doc["processingStatus"]
    if status not in OPEN_FOR_PREBOOK_RESPONSE:
        reason = "already prebooked" if status == PREBOOKED else status
        raise _refused(
            response, 409, CODE_CONFLICT, f"is {reason}; a prebook response is not allowed"
        )
    # prebookDate is not saved: P2P keeps the moment the response arrives.
    return _booked(doc, response, PREBOOKED, PREBOOK_FAILED, None)


def _apply_transfer_response(doc, response):
    if doc["processingStatus"] not in OPEN_FOR_TRANSFER_RESPONSE:
        raise _refused(
            response,
            400,
            CODE_DATA,
            f"is {doc['processingStatus']}; a transfer response is not allowed",
        )
    return _booked(doc, response, TRANSFERRED, TRANSFER_FAILED, "transferDate")


def _booked(doc, response, done, failed, date_field):
    """Voucher numbers and paymentBlock are saved only on success (the spec's note)."""
    doc = dict(doc)
    if not response["success"]:
        doc["processingStatus"] = failed
        return doc
    doc["processingStatus"] = done
    doc["paymentBlock"] = response["paymentBlock"]
    for field in ("voucherNumber1", "voucherNumber2"):
        if response.get(field):
            doc[field] = response[field]
    if date_field and response.get(date_field):
        doc["voucherDate"] = response[date_field]
    return doc


def _apply_payment_response(doc, response):
    if doc["processingStatus"] not in (TRANSFERRED, PAID):
        raise _refused(
            response,
            400,
            CODE_DATA,
            f"is {doc['processingStatus']}; a payment response needs a transferred invoice",
        )
    doc = dict(doc)
    if response["success"]:
        doc["paymentBlock"] = response["paymentBlock"]
        paid = response.get("paidTotal")
        if paid is not None and doc.get("grossSum") is not None and paid >= doc["grossSum"]:
            doc["processingStatus"] = PAID
    return doc


APPLY_RESPONSE = {
    PREBOOK_RESPONSES: _apply_prebook_response,
    TRANSFER_RESPONSES: _apply_transfer_response,
    PAYMENT_RESPONSES: _apply_payment_response,
}

"""accountingDocuments: the 302 to storage, acknowledge, transfer/payment responses, files."""

import hashlib
import hmac
import secrets
import threading
import time

from werkzeug.wrappers import Response

from .constants import (
    CODE_DATA,
    CODE_NOT_ALLOWED,
    HEADER_AMZN_REQUEST_ID,
    HEADER_CONTINUATION_OUT,
    PAID,
    RESPONSES_KEPT,
    STANDARD_MODE,
    STORAGE_KEY_LIFETIME,
    STORAGE_PATH,
    TRANSFER_FAILED,
    TRANSFER_IN_PROGRESS,
    TRANSFERRED,
    TYPE_BUSINESS,
    WAITING_FOR_TRANSFER,
)
from .http import ApiError, error, json_response, lower_args, parameter_error, parse_json
from .paging import has_company, is_after, page_size, updated_after
from .store import now_iso

ENTITY = "accountingDocuments"
XML_TYPE = "application/xml"
S3_ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
    "<Message>{message}</Message></Error>"
)
RESPONSE_FIELDS = {"transferResponses": "TransferResponse", "paymentResponses": "PaymentResponse"}
# Statuses from which an ERP response is still accepted.
OPEN_FOR_TRANSFER_RESPONSE = (WAITING_FOR_TRANSFER, TRANSFER_IN_PROGRESS, TRANSFER_FAILED)


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
            return _s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                "parameter, Signature query string parameter or the Authorization "
                "header should be specified",
            )
        key = request.args.get("key", "")
        signature = request.args.get("X-Amz-Signature", "")
        if not hmac.compare_digest(signature, self._storage_signature(key)):
            return _s3_error(403, "SignatureDoesNotMatch", "The request signature is invalid")
        with self._storage_lock:
            entry = self._storage.pop(key, None)
        if entry is None or entry["expires"] < time.time():
            return _s3_error(403, "AccessDenied", "Request has expired")
        headers = {HEADER_CONTINUATION_OUT: entry["token"]} if entry["token"] else {}
        return json_response(entry["body"], headers=headers)

    def get_document(self, request, invoice_id):
        return json_response(self._document(invoice_id))

    def acknowledge_document(self, request, invoice_id):
        """WaitingForTransfer -> TransferInProgress, once; 405 after that."""
        with self.document_lock:
            doc = self._document(invoice_id)
            if doc["processingStatus"] != WAITING_FOR_TRANSFER:
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
            self._save_document({**doc, "processingStatus": TRANSFER_IN_PROGRESS})
        return json_response(
            "Accounting document acknowledged", headers={HEADER_AMZN_REQUEST_ID: request.request_id}
        )

    def post_document_response(self, request, invoice_id, kind):
        """transferResponses / paymentResponses: an object (as the spec says) or an array."""
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
        return json_response(body, headers={HEADER_AMZN_REQUEST_ID: request.request_id})

    def _apply_response(self, doc, kind, response):
        used = {r.get("externalCode") for r in doc.get(kind) or ()}
        if response["externalCode"] in used:
            raise ApiError(
                400,
                [
                    error(
                        response["externalCode"],
                        TYPE_BUSINESS,
                        CODE_DATA,
                        "externalCode: a response with this code already exists; "
                        "send a new externalCode for every response",
                    )
                ],
            )
        if kind == "transferResponses":
            doc = _apply_transfer_response(doc, response)
        else:
            doc = _apply_payment_response(doc, response)
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


def _apply_transfer_response(doc, response):
    if doc["processingStatus"] not in OPEN_FOR_TRANSFER_RESPONSE:
        raise ApiError(
            400,
            [
                error(
                    response["externalCode"],
                    TYPE_BUSINESS,
                    CODE_DATA,
                    f"Accounting document is {doc['processingStatus']}; "
                    "a transfer response is not allowed",
                )
            ],
        )
    doc = dict(doc)
    if not response["success"]:
        doc["processingStatus"] = TRANSFER_FAILED
        return doc
    doc["processingStatus"] = TRANSFERRED
    doc["paymentBlock"] = response["paymentBlock"]
    for field in ("voucherNumber1", "voucherNumber2"):
        if response.get(field):
            doc[field] = response[field]
    if response.get("transferDate"):
        doc["voucherDate"] = response["transferDate"]
    return doc


def _apply_payment_response(doc, response):
    if doc["processingStatus"] not in (TRANSFERRED, PAID):
        raise ApiError(
            400,
            [
                error(
                    response["externalCode"],
                    TYPE_BUSINESS,
                    CODE_DATA,
                    f"Accounting document is {doc['processingStatus']}; "
                    "a payment response needs a transferred invoice",
                )
            ],
        )
    doc = dict(doc)
    if response["success"]:
        doc["paymentBlock"] = response["paymentBlock"]
        paid = response.get("paidTotal")
        if paid is not None and doc.get("grossSum") is not None and paid >= doc["grossSum"]:
            doc["processingStatus"] = PAID
    return doc


def _s3_error(status, code, message):
    return Response(
        S3_ERROR.format(code=code, message=message), status=status, content_type=XML_TYPE
    )

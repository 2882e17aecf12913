"""The webhook controller: Basware's signed push notifications come in here.
Checks fail closed, in order: body size (413), the backend's secret URL token (404), HMAC
signature (401), JSON (400); the backend then stores the notification and wakes the import.
Nothing here imports a document or logs a secret; dbfilter picks the database, as usual."""

import logging

from werkzeug.exceptions import RequestEntityTooLarge

from odoo import http
from odoo.http import request

from ..models.basware_backend import BackendPaused
from ..models.basware_backend_webhook import (
    WEBHOOK_ROUTE,
    MalformedNotification,
    parse_notification,
)

_logger = logging.getLogger(__name__)

# Deliberately terse answers: a refused caller learns the status and nothing else.
DETAIL_TOO_LARGE = "Payload Too Large"
DETAIL_NOT_FOUND = "Not Found"
DETAIL_UNAUTHORIZED = "Unauthorized"
DETAIL_MALFORMED = "Malformed notification"
DETAIL_UNAVAILABLE = "Service Unavailable"


def _max_body_bytes(_controller=None):
    return request.env["basware.backend"].sudo()._basware_webhook_max_body()


def _refuse(status, detail):
    return request.make_json_response({"detail": detail}, status=status)


def _read_body(limit):
    """The raw body, or None when it is larger than ``limit`` bytes: the declared length is
    checked first, and the read is capped by werkzeug's max_content_length (also on the route,
    so form parsing obeys it), which in werkzeug 3 stops a chunked body at the limit."""
    httprequest = request.httprequest
    declared = httprequest.content_length
    if declared is not None and declared > limit:
        return None
    httprequest.max_content_length = limit
    try:
        body = httprequest.get_data(cache=True)
    except RequestEntityTooLarge:
        return None
    return None if len(body) > limit else body


class BaswareWebhookController(http.Controller):
    @http.route(
        f"{WEBHOOK_ROUTE}/<string:token>",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
        readonly=False,
        max_content_length=_max_body_bytes,
    )
    def basware_webhook(self, token, **_params):
        body = _read_body(_max_body_bytes())
        if body is None:
            return _refuse(413, DETAIL_TOO_LARGE)
        backend = request.env["basware.backend"].sudo()._basware_webhook_backend(token)
        if not backend:
            _logger.info("Basware webhook refused: unknown token")
            return _refuse(404, DETAIL_NOT_FOUND)
        try:
            signed = backend._basware_webhook_signed(body, request.httprequest.headers)
        except BackendPaused:
            # The secret cannot be decrypted (key problem): Basware may try again later.
            _logger.warning("Basware webhook of backend %s: secret unreadable", backend.id)
            return _refuse(503, DETAIL_UNAVAILABLE)
        if not signed and not backend._basware_accepts_unverified(body):
            return _refuse(401, DETAIL_UNAUTHORIZED)
        try:
            payload = parse_notification(body)
        except ValueError:
            _logger.info("Basware webhook of backend %s: body is not JSON", backend.id)
            return _refuse(400, DETAIL_MALFORMED)
        try:
            backend._basware_receive_notification(payload)
        except MalformedNotification as problem:
            _logger.info("Basware webhook of backend %s: %s", backend.id, problem)
            return _refuse(400, DETAIL_MALFORMED)
        # Basware's callback contract answers 200 with the notification itself.
        return request.make_json_response(payload, status=200)

"""What an injected fault looks like on the wire: Basware's bodies, or S3's on the storage."""

import email.utils
import math
import time
from http import HTTPStatus

from .constants import (
    CODE_CONFLICT,
    CODE_NOT_ALLOWED,
    CODE_SCHEMA,
    CODE_TOKEN,
    CODE_UNEXPECTED,
    HEADER_RETRY_AFTER,
    TYPE_BUSINESS,
    TYPE_SECURITY,
    TYPE_TECHNICAL,
    TYPE_VALIDATION,
)
from .faults import RETRY_AFTER_DATE
from .http import ApiError, error, error_response, s3_error, unauthorized

# ResponseEntityList error per status: (type, code, message). The P2P error codes have no
# rate-limit code, so 429 and 5xx are TECHNICAL UNEXPECTED_ERROR with a fitting message.
API_FAULTS = {
    400: (TYPE_VALIDATION, CODE_SCHEMA, "The request could not be validated"),
    403: (TYPE_SECURITY, CODE_TOKEN, "The access token is not valid for this request"),
    405: (TYPE_BUSINESS, CODE_NOT_ALLOWED, "Method not allowed"),
    409: (
        TYPE_BUSINESS,
        CODE_CONFLICT,
        "The request conflicts with the state of the record",
    ),
    429: (TYPE_TECHNICAL, CODE_UNEXPECTED, "Too many requests: the rate limit was exceeded"),
    500: (TYPE_TECHNICAL, CODE_UNEXPECTED, "Unexpected error"),
    502: (TYPE_TECHNICAL, CODE_UNEXPECTED, "Bad gateway: the upstream service failed"),
    503: (TYPE_TECHNICAL, CODE_UNEXPECTED, "Service temporarily unavailable"),
    504: (TYPE_TECHNICAL, CODE_UNEXPECTED, "Gateway timeout: the upstream service timed out"),
}
# Statuses Basware answers without a body.
EMPTY_FAULTS = (404,)
S3_FAULTS = {
    403: ("AccessDenied", "Access Denied"),
    429: ("SlowDown", "Please reduce your request rate."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    503: ("SlowDown", "Please reduce your request rate."),
}


def retry_after_value(seconds, fmt, now=None):
    """Retry-After text: whole seconds rounded up (never 0 for a positive wait), or a date.

    The date is rounded up to the next whole second, so a client never waits less than asked.
    """
    seconds = max(float(seconds), 0.0)
    if fmt == RETRY_AFTER_DATE:
        moment = math.ceil((time.time() if now is None else now) + seconds)
        return email.utils.formatdate(moment, usegmt=True)
    return str(math.ceil(seconds))


def _retry_headers(fault):
    if fault.retry_after is None:
        return {}
    return {HEADER_RETRY_AFTER: retry_after_value(fault.retry_after, fault.retry_after_format)}


def api_fault_response(fault, request_id):
    """The injected answer of the Basware API for fault.status."""
    status = int(fault.status)
    if status == 401:
        exc = unauthorized()
    elif status in EMPTY_FAULTS:
        exc = ApiError(status)
    else:
        err_type, code, message = API_FAULTS.get(status, _generic(status))
        exc = ApiError(status, [error(None, err_type, code, message, _phrase(status))])
    exc.headers.update(_retry_headers(fault))
    return error_response(exc, request_id)


def storage_fault_response(fault):
    """The injected answer of the redirect target (S3 XML errors, no x-amzn-RequestId)."""
    status = int(fault.status)
    code, message = S3_FAULTS.get(status, (_phrase(status).replace(" ", ""), _phrase(status)))
    return s3_error(status, code, message, _retry_headers(fault))


def _generic(status):
    err_type = TYPE_TECHNICAL if status >= 500 else TYPE_BUSINESS
    return err_type, CODE_UNEXPECTED, _phrase(status)


def _phrase(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"

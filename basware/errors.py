"""Typed errors of the Basware client.

Each carries what the exchange log needs (status, Basware's error code, externalCode, both request
ids) and whether a retry can help; messages never hold credentials or tokens."""

MESSAGE_MAX_LENGTH = 300
ELLIPSIS = "…"


class BaswareError(Exception):
    """Base class: any failure talking to Basware."""

    retryable = False
    default_message = "Basware request failed"

    def __init__(
        self,
        message=None,
        *,
        status=None,
        code=None,
        external_code=None,
        errors=None,
        request_id=None,
        amzn_request_id=None,
        retry_after=None,
        method=None,
        path=None,
    ):
        self.message = message or self.default_message
        self.status = status
        self.code = code
        self.external_code = external_code
        self.errors = list(errors or [])
        self.request_id = request_id
        self.amzn_request_id = amzn_request_id
        self.retry_after = retry_after
        self.method = method
        self.path = path
        super().__init__(self.message)

    def __str__(self):
        return self.message

    def to_dict(self):
        """A JSON-serialisable summary for the exchange log."""
        return {
            "type": type(self).__name__,
            "message": self.message,
            "status": self.status,
            "code": self.code,
            "external_code": self.external_code,
            "errors": self.errors,
            "request_id": self.request_id,
            "amzn_request_id": self.amzn_request_id,
            "retryable": self.retryable,
            "retry_after": self.retry_after,
            "method": self.method,
            "path": self.path,
        }


class BaswareConfigError(BaswareError):
    """Missing or invalid settings (URL, credentials, list key...)."""

    default_message = "The Basware connection is not configured"


class BaswareConnectionError(BaswareError):
    """Basware could not be reached: refused, DNS failure, timeout, dropped connection."""

    retryable = True
    default_message = "Basware host unreachable"


class BaswareTLSError(BaswareConnectionError):
    """The TLS handshake or certificate check failed: retrying will not fix it."""

    retryable = False
    default_message = "TLS connection to Basware failed"


class BaswareAuthError(BaswareError):
    """Basware refused the credentials or the access token (401, invalid_client)."""

    default_message = "Basware rejected the credentials: wrong client id or secret"


class BaswareScopeError(BaswareAuthError):
    """The API client is not allowed the requested scope (invalid_scope, 403)."""

    default_message = "Basware refused the requested scope"


class BaswareEnvironmentMismatch(BaswareAuthError):
    """The token was issued for another Basware environment than the configured API host."""

    default_message = "The Basware token belongs to another environment"


class BaswareRateLimitError(BaswareError):
    """Basware throttled the call (429)."""

    retryable = True
    default_message = "Basware is throttling requests"


class BaswareServerError(BaswareError):
    """Basware failed or was unavailable (5xx)."""

    retryable = True
    default_message = "Basware server error"


class BaswareValidationError(BaswareError):
    """Basware rejected the payload (400, 422); sending it again will fail again."""

    default_message = "Basware rejected the data"


class BaswareNotFoundError(BaswareError):
    """The record does not exist in Basware (404)."""

    default_message = "Record not found in Basware"


class BaswareConflictError(BaswareError):
    """The record's state does not allow the call (409, 405)."""

    default_message = "Basware refused the call in the record's current state"


class BaswareUnsafeRedirectError(BaswareError):
    """Basware redirected to a URL the connector refuses (see basware.urls); ``reason`` says
    which rule. Not retryable: the same answer would come again."""

    default_message = "Basware redirected to a URL the connector does not call"

    def __init__(self, message=None, *, reason=None, **kwargs):
        super().__init__(message, **kwargs)
        self.reason = reason


class BaswareRequestPending(BaswareError):
    """Phase two is not finished: requestStatus still says InProgress (or not known yet)."""

    retryable = True
    default_message = "Basware is still processing the request"


STATUS_ERRORS = {
    400: BaswareValidationError,
    401: BaswareAuthError,
    403: BaswareScopeError,
    404: BaswareNotFoundError,
    405: BaswareConflictError,
    409: BaswareConflictError,
    422: BaswareValidationError,
    429: BaswareRateLimitError,
}


def error_class_for_status(status):
    """The error class matching an HTTP status."""
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status]
    if status is not None and status >= 500:
        return BaswareServerError
    return BaswareError


def _clean(value):
    return value if isinstance(value, str) and value.strip() else None


def _error_item(external_code=None, type_=None, code=None, message=None, info=None):
    return {
        "externalCode": _clean(external_code),
        "type": _clean(type_),
        "code": _clean(code),
        "message": _clean(message),
        "info": _clean(info),
    }


def _items_from_list(entries):
    """ResponseEntityList errors, or the push API's errorMessages."""
    items = []
    for entry in entries:
        if isinstance(entry, dict):
            items.append(
                _error_item(
                    entry.get("externalCode"),
                    entry.get("type"),
                    entry.get("code"),
                    entry.get("message"),
                    entry.get("info"),
                )
            )
        elif isinstance(entry, str):
            items.append(_error_item(message=entry))
    return items


def _items_from_detail(detail):
    """FastAPI style bodies: {"detail": "..."} or {"detail": [{"loc", "msg", "type"}]}."""
    if isinstance(detail, str):
        return [_error_item(message=detail)]
    items = []
    for entry in detail if isinstance(detail, list) else []:
        if not isinstance(entry, dict):
            continue
        location = ".".join(str(part) for part in entry.get("loc") or [])
        message = entry.get("msg")
        if location and message:
            message = f"{location}: {message}"
        items.append(_error_item(type_=entry.get("type"), message=message))
    return items


def parse_error_body(data):
    """Normalise any Basware error body into ResponseEntityList-style dicts: P2P lists, the token
    endpoint's OAuth2 errors, the push API's errorMessages / message and FastAPI's detail bodies.
    """
    if isinstance(data, list):
        return _items_from_list(data)
    if not isinstance(data, dict):
        return []
    if isinstance(data.get("errors"), list):
        return _items_from_list(data["errors"])
    if isinstance(data.get("errorMessages"), list):
        return _items_from_list(data["errorMessages"])
    if "detail" in data:
        return _items_from_detail(data["detail"])
    if _clean(data.get("error")):
        return [_error_item(code=data["error"], message=data.get("error_description"))]
    if _clean(data.get("message")):
        return [_error_item(message=data["message"])]
    return []


def shorten(text, limit=MESSAGE_MAX_LENGTH):
    """``text`` on one line, cut to ``limit`` characters with an ellipsis marking the cut."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def describe_errors(errors):
    """Basware's first error message, its record and how many more errors came along."""
    first = next((item for item in errors if item.get("message") or item.get("code")), None)
    if first is None:
        return ""
    text = first.get("message") or first.get("code")
    if first.get("externalCode"):
        text = f"{text} (record {first['externalCode']})"
    if len(errors) > 1:
        text = f"{text} (+{len(errors) - 1} more)"
    return shorten(text)


def error_from_response(
    status,
    data,
    *,
    method=None,
    path=None,
    request_id=None,
    amzn_request_id=None,
    retry_after=None,
):
    """Build the typed error for an unexpected HTTP answer from Basware."""
    errors = parse_error_body(data)
    first = errors[0] if errors else {}
    cls = error_class_for_status(status)
    if amzn_request_id is None and isinstance(data, dict):
        amzn_request_id = _clean(data.get("requestId"))
    summary = f"{cls.default_message} (HTTP {status}"
    summary += f" on {method} {path})" if method and path else ")"
    detail = describe_errors(errors)
    return cls(
        f"{summary}: {detail}" if detail else summary,
        status=status,
        code=first.get("code"),
        external_code=first.get("externalCode"),
        errors=errors,
        request_id=request_id,
        amzn_request_id=amzn_request_id,
        retry_after=retry_after,
        method=method,
        path=path,
    )

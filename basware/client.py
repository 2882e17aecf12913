"""HTTP client for the Basware Purchase-to-Pay API, one per backend and worker.

Each call gets a token (renewed before expiry, once after a 401), a new X-BW-REQUEST-ID and retries
with backoff, all under one deadline that also cuts a slow answer (basware.transport)."""

import datetime
import decimal
import email.message
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import requests

from . import constants as c
from . import urls
from .auth import MemoryTokenStore, TokenManager, check_environment, response_body
from .errors import (
    BaswareConfigError,
    BaswareConnectionError,
    BaswareError,
    BaswareScopeError,
    BaswareServerError,
    BaswareTLSError,
    BaswareUnsafeRedirectError,
    BaswareValidationError,
    error_from_response,
)
from .request_status import RequestStatus, parse_request_statuses
from .retry import backoff_delay, parse_retry_after
from .transport import AttemptWatch, DeadlineAdapter, cap_timeout

_logger = logging.getLogger(__name__)

# Seconds of timer inaccuracy tolerated when telling a deadline cut from a plain timeout.
DEADLINE_SLACK = 0.05
METHOD_GET = "GET"
METHOD_POST = "POST"
METHOD_DELETE = "DELETE"
SCOPE_ACCESS = {METHOD_GET: "read", METHOD_DELETE: "delete"}
# Used with DELETE /v1/subscriptions, whose lastUpdated filter is mandatory.
EPOCH_START = "2000-01-01T00:00:00Z"
URL_SETTINGS = ("api_url", "token_url")
LISTS_PREFIX = c.LISTS_PATH.split("{", 1)[0]
# A bulk body is a JSON array with one record per line.
BULK_OPEN = b"[\n"
BULK_SEPARATOR = b",\n"
BULK_CLOSE = b"\n]"
# URL rules about the host alone: their messages may name the host.
HOST_REASONS = frozenset({urls.REASON_METADATA, urls.REASON_LINK_LOCAL, urls.REASON_PRIVATE})
# Settings in seconds and their upper bounds: beyond them a stuck call holds a worker.
SECONDS_BOUNDS = (
    ("connect_timeout", c.MAX_CONNECT_TIMEOUT),
    ("read_timeout", c.MAX_READ_TIMEOUT),
)


@dataclass
class ClientConfig:
    """Connection settings; the secret never shows in repr(). ``deadline``: the seconds one call may
    take, retries included, cutting even a trickling answer. ``expected_issuer``: see
    auth.issuer_mismatch."""

    api_url: str
    token_url: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    scope: str = c.DEFAULT_SCOPE
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    deadline: float = 300.0
    token_refresh_margin: float = 0.2
    user_agent: str = "basware_connector"
    expected_issuer: "str | None" = None

    def __post_init__(self):
        self.api_url = (self.api_url or "").strip().rstrip("/")
        self.token_url = (self.token_url or "").strip()
        if not self.token_url and self.api_url:
            self.token_url = self.api_url + c.TOKEN_PATH
        self.scope = " ".join((self.scope or "").split())
        if self.expected_issuer is not None:
            self.expected_issuer = self.expected_issuer.strip()

    def validate(self):
        """Raise BaswareConfigError naming the missing or invalid setting (never its value)."""
        missing = [
            name
            for name in ("api_url", "token_url", "client_id", "client_secret", "scope")
            if not getattr(self, name)
        ]
        if missing:
            raise BaswareConfigError(f"Basware settings missing: {', '.join(missing)}")
        for name in URL_SETTINGS:
            reason = urls.url_problem(getattr(self, name))
            if reason:
                # The reason only: the URL itself may carry credentials.
                raise BaswareConfigError(
                    f"Basware setting {name} is not allowed: {urls.MESSAGES[reason]}"
                )
        for name, upper in SECONDS_BOUNDS:
            if not 0 < getattr(self, name) <= upper:
                raise BaswareConfigError(
                    f"Basware setting {name} must be above 0 and at most {upper} seconds"
                )
        if not 0 < self.deadline:
            raise BaswareConfigError("Basware setting deadline must be above 0 seconds")
        if not 1 <= self.max_attempts <= c.MAX_HTTP_ATTEMPTS:
            raise BaswareConfigError(
                f"Basware setting max_attempts must be between 1 and {c.MAX_HTTP_ATTEMPTS}"
            )

    @property
    def timeout(self):
        return (self.connect_timeout, self.read_timeout)


@dataclass
class BaswareResponse:
    """A Basware answer: status, parsed JSON and the ids of the exchange."""

    status: int
    data: Any
    headers: Any
    request_id: str
    amzn_request_id: "str | None" = None
    method: str = ""
    path: str = ""
    continuation_token: "str | None" = None
    redirected: bool = False
    # The raw body, for downloads that are not JSON (invoice images).
    content: bytes = field(default=b"", repr=False)

    def to_dict(self):
        """What the exchange log stores (no headers: they are not needed and can be large)."""
        return {
            "status": self.status,
            "method": self.method,
            "path": self.path,
            "request_id": self.request_id,
            "amzn_request_id": self.amzn_request_id,
            "redirected": self.redirected,
        }


class _NoAuthorization(requests.auth.AuthBase):
    """Redirect targets must not receive credentials (also none taken from .netrc)."""

    def __call__(self, request):
        request.headers.pop(c.HEADER_AUTHORIZATION, None)
        return request


def _json_default(value):
    if isinstance(value, datetime.datetime):
        return format_datetime(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_json(value):
    """Compact UTF-8 JSON, the exact bytes that are sent (and counted against 6 MB)."""
    text = json.dumps(
        value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_json_default
    )
    return text.encode("utf-8")


def encode_record(record):
    """One record of a bulk body: compact UTF-8 JSON with sorted keys, so that the same data
    gives the same bytes whatever the order its keys were set in (and the same hash)."""
    text = json.dumps(
        record,
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
        allow_nan=False,
        default=_json_default,
    )
    return text.encode("utf-8")


def bulk_body(parts):
    """The JSON array of encoded records ``parts``, one record per line: readable where the
    body is stored, and sent as it is."""
    return BULK_OPEN + BULK_SEPARATOR.join(parts) + BULK_CLOSE


def format_datetime(value):
    """ISO 8601 in UTC with a Z, as Basware's lastUpdated filters expect."""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.replace(microsecond=0).isoformat() + "Z"
    if isinstance(value, datetime.date):
        return value.isoformat() + "T00:00:00Z"
    raise TypeError(f"cannot format {type(value).__name__} as a Basware date")


def _query_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return format_datetime(value)
    return value


def clean_params(params):
    """Query parameters without None values, booleans and dates in Basware's spelling."""
    return {k: _query_value(v) for k, v in (params or {}).items() if v is not None}


def chunk_records(records, limit, max_bytes=c.MAX_REQUEST_BYTES, encoded=None):
    """Split records into (records, body bytes) JSON arrays of at most ``limit`` records and
    ``max_bytes`` (``encoded``: the records already encoded). A record too big alone raises
    BaswareValidationError before anything is sent."""
    if limit < 1:
        raise BaswareConfigError("The bulk limit must be at least 1")
    if encoded is None:
        encoded = [encode_record(record) for record in records]
    chunks, current, parts = [], [], []
    size = len(BULK_OPEN) + len(BULK_CLOSE)
    for record, part in zip(records, encoded, strict=True):
        if len(part) + len(BULK_OPEN) + len(BULK_CLOSE) > max_bytes:
            code = record.get("externalCode") if isinstance(record, dict) else None
            raise BaswareValidationError(
                f"A record is larger than Basware's request size limit ({len(part)} bytes"
                f"{', externalCode ' + str(code) if code else ''})",
                external_code=code,
            )
        extra = len(part) + (len(BULK_SEPARATOR) if parts else 0)
        if parts and (len(parts) >= limit or size + extra > max_bytes):
            chunks.append((current, bulk_body(parts)))
            current, parts = [], []
            size = len(BULK_OPEN) + len(BULK_CLOSE)
            extra = len(part)
        current.append(record)
        parts.append(part)
        size += extra
    if parts:
        chunks.append((current, bulk_body(parts)))
    return chunks


def required_scope(method, path):
    """The scope a call needs, e.g. POST /v1/vendors -> vendors.write."""
    segments = [s for s in path.split("/") if s]
    if len(segments) < 2:
        return None
    return f"{segments[1]}.{SCOPE_ACCESS.get(method, 'write')}"


def list_items_path(list_key):
    """The path of a generic list, e.g. /v1/lists/ACC_LIST_1; unknown keys raise."""
    if list_key not in c.LIST_KEYS:
        raise BaswareConfigError(f"Unknown Basware list key {list_key!r}")
    return c.LISTS_PATH.format(list_key=list_key)


def bulk_limit(path):
    """How many records one POST to ``path`` may carry (list paths: known keys only)."""
    if path.startswith(LISTS_PREFIX):
        list_items_path(path[len(LISTS_PREFIX) :])
    return c.BULK_LIMITS.get(path, c.DEFAULT_BULK_LIMIT)


def _page_items(data, wrapper_key):
    if data is None:
        return []
    if isinstance(data, list):
        return data
    if not isinstance(data, dict):
        return []
    if wrapper_key and wrapper_key in data:
        return data[wrapper_key] or []
    lists = [value for value in data.values() if isinstance(value, list)]
    return lists[0] if len(lists) == 1 else []


def _default_wrapper_key(path):
    if path.startswith(LISTS_PREFIX):
        return c.LIST_ITEMS_KEY
    return c.WRAPPER_KEYS.get(path)


def _path_param(value):
    return quote(str(value), safe="")


class BaswareClient:
    """Talks to one Basware tenant. Not shared between threads (requests sessions are not)."""

    def __init__(self, config, token_store=None, session=None, sleep=time.sleep, clock=time.time):
        config.validate()
        self.config = config
        self.token_store = token_store if token_store is not None else MemoryTokenStore()
        self._own_session = session is None
        self.session = session if session is not None else self._new_session()
        self._sleep = sleep
        self._clock = clock
        self._tokens = TokenManager(config, self.token_store, self._post_token, clock)
        # The answer of the last call, also an error answer; None while a call runs and
        # after a call that got no answer.
        self.last_response = None

    # -- lifecycle ---------------------------------------------------------------------------

    def _new_session(self):
        session = requests.Session()
        adapter = DeadlineAdapter(*self.config.timeout)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers[c.HEADER_USER_AGENT] = self.config.user_agent
        return session

    def close(self):
        if self._own_session:
            self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        return f"<BaswareClient {self.config.api_url} client_id={self.config.client_id!r}>"

    # -- token ---------------------------------------------------------------------------------

    @property
    def token_claims(self):
        """Claims of the stored token ({} before the first call); iss and bwcid mostly."""
        token = self.token_store.load()
        return dict(token.get("claims") or {}) if token else {}

    def _post_token(self, url, data, auth, deadline=None):
        headers = {c.HEADER_ACCEPT: c.CONTENT_TYPE_JSON}
        response, _request_id = self._send(
            METHOD_POST,
            url,
            c.TOKEN_PATH,
            headers=headers,
            deadline=self._new_deadline() if deadline is None else deadline,
            data=data,
            auth=auth,
        )
        return response

    # -- sending -------------------------------------------------------------------------------

    def _new_deadline(self):
        """When a call that starts now must end (on the client's clock)."""
        return self._clock() + self.config.deadline

    def _send(self, method, url, log_path, *, headers, deadline, params=None, data=None, auth=None):
        """One HTTP exchange, retried on connection errors and 429/502/503/504; returns (response,
        our request id). Raises the last error when attempts run out or the next would start
        after ``deadline``, BaswareConnectionError when the deadline cuts an attempt short."""
        attempt = 0
        while True:
            attempt += 1
            request_id = str(uuid.uuid4())
            remaining = deadline - self._clock()
            if remaining <= 0:
                # Earlier steps of the call (token, 401 re-try, redirects) used up its time.
                raise self._deadline_error(method, log_path, request_id, sent=False)
            sent_headers = dict(headers, **{c.HEADER_REQUEST_ID: request_id})
            started = time.monotonic()
            try:
                response = self._attempt(
                    method,
                    url,
                    log_path,
                    request_id,
                    remaining,
                    params=params,
                    data=data,
                    headers=sent_headers,
                    auth=auth,
                )
            except requests.exceptions.RequestException as exc:
                error = self._connection_error(exc, method, url, log_path, request_id)
                _logger.warning(
                    "Basware %s %s failed: %s (X-BW-REQUEST-ID %s)",
                    method,
                    log_path,
                    type(exc).__name__,
                    request_id,
                )
            else:
                self._log_response(method, log_path, response, request_id, started)
                if response.status_code not in c.RETRYABLE_STATUSES:
                    return response, request_id
                error = self._http_error(response, method, log_path, request_id)
            self._sleep(self._retry_wait(error, attempt, deadline))

    def _attempt(self, method, url, log_path, request_id, remaining, **kwargs):
        """One HTTP request, its answer read in full, ended after ``remaining`` seconds."""
        response = None
        started = time.monotonic()
        with AttemptWatch(remaining) as watch:
            try:
                response = self.session.request(
                    method,
                    url,
                    # One number, for a session passed in by the caller: the client's own
                    # session applies the (connect, read) pair (see DeadlineAdapter).
                    timeout=cap_timeout(self.config.read_timeout, remaining),
                    allow_redirects=False,
                    **kwargs,
                )
            except requests.exceptions.RequestException as exc:
                # A timeout cut to the time left is the deadline too, whoever fired first.
                timed_out_at_deadline = isinstance(exc, requests.exceptions.Timeout) and (
                    time.monotonic() - started >= remaining - DEADLINE_SLACK
                )
                if not (watch.expired or timed_out_at_deadline):
                    raise
                watch.expired = True
        if watch.expired:
            # Also when an answer came: the socket may have been shut down under its body.
            _logger.warning(
                "Basware %s %s stopped at the call deadline (X-BW-REQUEST-ID %s)",
                method,
                log_path,
                request_id,
            )
            raise self._deadline_error(method, log_path, request_id)
        return response

    def _deadline_error(self, method, log_path, request_id, sent=True):
        what = "did not complete within" if sent else "not sent: it would start after"
        return BaswareConnectionError(
            f"Basware {method} {log_path} {what} the call deadline of {self.config.deadline:g} s",
            method=method,
            path=log_path,
            request_id=request_id,
        )

    def _retry_wait(self, error, attempt, deadline):
        """Seconds to wait before the next attempt, or raise ``error`` when giving up."""
        if not error.retryable:
            raise error
        if attempt >= self.config.max_attempts:
            raise _gave_up(error, f"gave up after {attempt} attempts")
        wait = error.retry_after
        if wait is None:
            wait = backoff_delay(attempt, self.config.backoff_base, self.config.backoff_max)
        if self._clock() + wait > deadline:
            raise _gave_up(error, f"gave up after {attempt} attempts: retry deadline reached")
        _logger.info(
            "Basware %s %s: retrying in %.1f s (attempt %s of %s)",
            error.method,
            error.path,
            wait,
            attempt + 1,
            self.config.max_attempts,
        )
        return wait

    def _connection_error(self, exc, method, url, log_path, request_id):
        host = urlsplit(url).hostname or url
        kwargs = {"method": method, "path": log_path, "request_id": request_id}
        if isinstance(exc, requests.exceptions.SSLError):
            return BaswareTLSError(
                f"TLS connection to Basware host {host} failed (certificate or protocol)",
                **kwargs,
            )
        if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema)):
            return BaswareConfigError(f"Invalid Basware URL for host {host}", **kwargs)
        if isinstance(exc, requests.exceptions.Timeout):
            reason = "timed out"
        elif isinstance(exc, requests.exceptions.ConnectionError):
            reason = "connection refused, name not resolved or connection dropped"
        else:
            reason = f"{type(exc).__name__}"
        return BaswareConnectionError(f"Basware host unreachable: {host} ({reason})", **kwargs)

    def _http_error(self, response, method, log_path, request_id):
        retry_after = parse_retry_after(
            response.headers.get(c.HEADER_RETRY_AFTER), now=self._clock()
        )
        return error_from_response(
            response.status_code,
            response_body(response),
            method=method,
            path=log_path,
            request_id=request_id,
            amzn_request_id=response.headers.get(c.HEADER_AMZN_REQUEST_ID),
            retry_after=retry_after,
        )

    @staticmethod
    def _log_response(method, log_path, response, request_id, started):
        _logger.info(
            "Basware %s %s -> %s (X-BW-REQUEST-ID %s, x-amzn-RequestId %s, %.0f ms)",
            method,
            log_path,
            response.status_code,
            request_id,
            response.headers.get(c.HEADER_AMZN_REQUEST_ID),
            (time.monotonic() - started) * 1000,
        )

    def _api_headers(self, token, extra=None, has_body=False):
        headers = {
            c.HEADER_ACCEPT: c.CONTENT_TYPE_JSON,
            c.HEADER_AUTHORIZATION: c.BEARER_PREFIX + token,
        }
        if has_body:
            headers[c.HEADER_CONTENT_TYPE] = c.CONTENT_TYPE_JSON
        headers.update(extra or {})
        return headers

    def _send_authorized(self, method, path, *, params, body, headers, deadline):
        """Send with a bearer token; on 401 get one new token and retry exactly once."""
        url = self.config.api_url + path

        def send(token):
            api_headers = self._api_headers(token, headers, body is not None)
            return self._send(
                method, url, path, headers=api_headers, deadline=deadline, params=params, data=body
            )

        token = self._tokens.access_token(deadline)
        response, request_id = send(token)
        if response.status_code != 401:
            return response, request_id
        _logger.info("Basware %s %s: access token refused, fetching a new one", method, path)
        # A second 401 is not retried: _call raises it as BaswareAuthError.
        return send(self._tokens.renew(rejected=token, deadline=deadline))

    def _follow_redirects(self, response, request_id, deadline, path):
        """Follow Basware's redirects (302 on accountingDocuments) without credentials, each target
        under basware.urls' rules; return the final response, its request id and the chain.
        """
        chain = []
        while response.status_code in c.REDIRECT_STATUSES:
            location = response.headers.get(c.HEADER_LOCATION)
            if not location:
                break
            if len(chain) >= c.MAX_REDIRECTS:
                raise BaswareError(
                    f"Basware redirected GET {path} more than {c.MAX_REDIRECTS} times",
                    status=response.status_code,
                    method=METHOD_GET,
                    path=path,
                    request_id=request_id,
                )
            chain.append(response)
            target = urljoin(response.url, location)
            _check_redirect_target(target, response, request_id, path)
            # Only the path: presigned query strings carry signatures.
            log_path = urlsplit(target).path
            response, request_id = self._send(
                METHOD_GET,
                target,
                log_path,
                headers={c.HEADER_ACCEPT: c.CONTENT_TYPE_JSON},
                deadline=deadline,
                auth=_NoAuthorization(),
            )
        return response, request_id, chain

    def _call(
        self,
        method,
        path,
        *,
        params=None,
        body=None,
        expected=(200,),
        headers=None,
        deadline=None,
    ):
        """One logical API call: token, request, 401 re-try and redirects share one deadline."""
        # Until this call has an answer, no earlier call's answer may pass for it.
        self.last_response = None
        if deadline is None:
            deadline = self._new_deadline()
        params = clean_params(params)
        response, request_id = self._send_authorized(
            method, path, params=params, body=body, headers=headers, deadline=deadline
        )
        chain = []
        if method == METHOD_GET and response.status_code in c.REDIRECT_STATUSES:
            response, request_id, chain = self._follow_redirects(
                response, request_id, deadline, path
            )
        result = self._wrap(response, request_id, method, path, chain)
        self.last_response = result
        if result.status not in expected:
            raise self._unexpected(response, result)
        return result

    @staticmethod
    def _wrap(response, request_id, method, path, chain):
        """The BaswareResponse of ``response``, reached through the redirects in ``chain``."""
        return BaswareResponse(
            status=response.status_code,
            data=response_body(response),
            headers=response.headers,
            request_id=request_id,
            # Basware's own id is on its first answer; the file storage may add another.
            amzn_request_id=_first_header(c.HEADER_AMZN_REQUEST_ID, [*chain, response]),
            method=method,
            path=path,
            # The final page carries the token, or else the last redirect that had one.
            continuation_token=_first_header(
                c.HEADER_CONTINUATION_TOKEN, [response, *reversed(chain)]
            ),
            redirected=bool(chain),
            content=response.content or b"",
        )

    def _unexpected(self, response, result):
        if result.redirected and result.status >= 400:
            # The redirect target (file storage) refused: an expired or broken link, which
            # a new call gets afresh. Its body is not quoted: it can echo signed parameters.
            return BaswareServerError(
                f"Basware's redirected download failed (HTTP {result.status} on "
                f"{result.method} {result.path})",
                status=result.status,
                method=result.method,
                path=result.path,
                request_id=result.request_id,
                amzn_request_id=result.amzn_request_id,
            )
        error = self._http_error(response, result.method, result.path, result.request_id)
        error.amzn_request_id = result.amzn_request_id or error.amzn_request_id
        if result.status == 401:
            _reword(
                error,
                f"Basware refused a newly issued access token (HTTP 401 on {result.method} "
                f"{result.path}): check the API client's credentials and access rights",
            )
        needed = required_scope(result.method, result.path)
        if isinstance(error, BaswareScopeError) and needed:
            _reword(error, f"{error.message} (the API client needs scope {needed})")
        return error

    # -- generic API -------------------------------------------------------------------------

    def request(self, method, path, *, params=None, json=None, expected=(200,), headers=None):
        """Call ``path`` (e.g. "/v1/vendors") and return a BaswareResponse; statuses outside
        ``expected`` raise the matching BaswareError, GET redirects are followed without
        Authorization."""
        method = method.upper()
        body = encode_json(json) if json is not None else None
        return self._call(
            method, path, params=params, body=body, expected=expected, headers=headers
        )

    def iter_pages(self, path, params=None, page_size=None, wrapper_key=None):
        """Yield the items of a GET list page by page (404: none), chained by the continuation
        token; every page repeats the same query parameters, as Basware requires.
        """
        params = dict(params or {})
        if page_size:
            limit = c.PAGE_SIZE_MAX.get(path, c.DEFAULT_PAGE_SIZE_MAX)
            params[c.PARAM_PAGE_SIZE] = max(1, min(int(page_size), limit))
        wrapper_key = wrapper_key or _default_wrapper_key(path)
        token, seen = None, set()
        while True:
            headers = {c.HEADER_CONTINUATION_TOKEN: token} if token else None
            response = self._call(
                METHOD_GET,
                path,
                params=params,
                expected=(200, c.STATUS_NOT_FOUND),
                headers=headers,
            )
            if response.status == c.STATUS_NOT_FOUND:
                return
            items = _page_items(response.data, wrapper_key)
            if items:
                yield items
            token = response.continuation_token
            if not token:
                return
            if token in seen:
                raise BaswareError(
                    f"Basware repeated a continuation token on GET {path}",
                    request_id=response.request_id,
                    amzn_request_id=response.amzn_request_id,
                )
            seen.add(token)

    def iter_items(self, path, params=None, page_size=None, wrapper_key=None):
        """Yield the records of a GET list across all pages."""
        for page in self.iter_pages(path, params, page_size, wrapper_key):
            yield from page

    def post_encoded(self, path, body):
        """POST ``body``, a JSON array encoded before (an exchange's stored payload), byte for byte
        in one request. BaswareValidationError before sending when it is no array or exceeds
        Basware's count per request or 6 MB."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        records = json.loads(body)
        if not isinstance(records, list):
            raise BaswareValidationError(
                f"A bulk POST {path} sends a JSON array of records",
                method=METHOD_POST,
                path=path,
            )
        limit = bulk_limit(path)
        if not records or len(records) > limit or len(body) > c.MAX_REQUEST_BYTES:
            raise self._does_not_fit(path, len(records), limit)
        return self._call(METHOD_POST, path, body=body)

    @staticmethod
    def _does_not_fit(path, count, limit):
        return BaswareValidationError(
            f"{count} records do not fit one POST {path} (at most {limit} records "
            f"and {c.MAX_REQUEST_BYTES} bytes): split them with chunk_records",
            method=METHOD_POST,
            path=path,
        )

    # -- invoices (accountingDocuments) ----------------------------------------------------------

    def iter_accounting_document_pages(
        self,
        processing_status=c.PS_WAITING_FOR_TRANSFER,
        company_code=None,
        page_size=None,
        last_updated=None,
        p2p_processing_mode=None,
    ):
        """Yield the accounting documents in ``processing_status`` one page at a time,
        through Basware's 302 to its file storage and its continuation tokens."""
        params = {
            c.PARAM_PROCESSING_STATUS: processing_status,
            c.PARAM_COMPANY_CODE: company_code,
            c.PARAM_LAST_UPDATED: last_updated,
            c.PARAM_P2P_PROCESSING_MODE: p2p_processing_mode,
        }
        yield from self.iter_pages(c.ACCOUNTING_DOCUMENTS_PATH, params, page_size)

    def get_accounting_document(self, invoice_id):
        """One accounting document, or None when Basware does not know the invoiceId."""
        path = c.ACCOUNTING_DOCUMENT_PATH.format(invoice_id=_path_param(invoice_id))
        response = self._call(METHOD_GET, path, expected=(200, c.STATUS_NOT_FOUND))
        if response.status == c.STATUS_NOT_FOUND:
            return None
        items = _page_items(response.data, c.ACCOUNTING_DOCUMENTS_KEY)
        if isinstance(response.data, dict) and not items and "invoiceId" in response.data:
            return response.data
        return items[0] if items else None

    def get_accounting_document_attachment(self, invoice_id, attachment_code):
        """One attachment's file as {content, mimetype, filename}, or None when Basware has none
        (404); a redirect to a pre-signed URL is followed without credentials.
        """
        path = c.ATTACHMENT_PATH.format(
            invoice_id=_path_param(invoice_id), attachment_code=_path_param(attachment_code)
        )
        response = self._call(
            METHOD_GET,
            path,
            expected=(200, c.STATUS_NOT_FOUND),
            headers={c.HEADER_ACCEPT: c.CONTENT_TYPE_ANY},
        )
        if response.status == c.STATUS_NOT_FOUND:
            return None
        content_type = response.headers.get(c.HEADER_CONTENT_TYPE) or c.CONTENT_TYPE_BINARY
        return {
            "content": response.content,
            "mimetype": content_type.split(";", 1)[0].strip(),
            "filename": _disposition_filename(response.headers.get(c.HEADER_CONTENT_DISPOSITION)),
        }

    def acknowledge_accounting_document(self, invoice_id):
        """Acknowledge an invoice; False when Basware says it already was (405)."""
        path = c.ACKNOWLEDGE_PATH.format(invoice_id=_path_param(invoice_id))
        response = self._call(METHOD_POST, path, expected=(200, c.STATUS_METHOD_NOT_ALLOWED))
        return response.status == 200

    def _post_invoice_response(self, path_template, invoice_id, response):
        body = dict(response)
        # Basware wants a new externalCode for every response, never reused.
        body.setdefault("externalCode", str(uuid.uuid4()))
        path = path_template.format(invoice_id=_path_param(invoice_id))
        return self._call(METHOD_POST, path, body=encode_json(body))

    def post_transfer_response(self, invoice_id, response):
        return self._post_invoice_response(c.TRANSFER_RESPONSES_PATH, invoice_id, response)

    def post_payment_response(self, invoice_id, response):
        return self._post_invoice_response(c.PAYMENT_RESPONSES_PATH, invoice_id, response)

    # -- request status (phase two) ----------------------------------------------------------------

    def get_request_status(self, request_id, ignore_successful_items=None):
        """Per-record results of the POST whose x-amzn-RequestId is ``request_id``."""
        path = c.REQUEST_STATUS_PATH.format(request_id=_path_param(request_id))
        params = {c.PARAM_IGNORE_SUCCESSFUL_ITEMS: ignore_successful_items}
        response = self._call(METHOD_GET, path, params=params, expected=(200, c.STATUS_NOT_FOUND))
        statuses = parse_request_statuses(response.data) if response.status == 200 else []
        for status in statuses:
            if status.request_id == request_id:
                return status
        return statuses[0] if statuses else RequestStatus.unknown(request_id)

    def acknowledge_request_status(self, request_ids):
        """Acknowledge handled request statuses; False if Basware says already done (405)."""
        if isinstance(request_ids, str):
            request_ids = [request_ids]
        request_ids = [rid for rid in request_ids if rid]
        acknowledged = True
        step = c.DEFAULT_BULK_LIMIT
        for start in range(0, len(request_ids), step):
            body = encode_json({c.REQUEST_IDS_KEY: request_ids[start : start + step]})
            response = self._call(
                METHOD_POST,
                c.REQUEST_STATUS_ACKNOWLEDGE_PATH,
                body=body,
                expected=(200, c.STATUS_METHOD_NOT_ALLOWED),
            )
            acknowledged = acknowledged and response.status == 200
        return acknowledged

    # -- push notifications ----------------------------------------------------------------------

    def list_subscriptions(self, task_type=None, task_sub_type=None):
        params = {c.PARAM_TASK_TYPE: task_type, c.PARAM_TASK_SUB_TYPE: task_sub_type}
        return list(self.iter_items(c.SUBSCRIPTIONS_PATH, params))

    def create_subscriptions(self, subscriptions):
        """Subscribe webhooks (Basware first pings each URL with a ConnectionTest task)."""
        return self._call(METHOD_POST, c.SUBSCRIPTIONS_PATH, body=encode_json(list(subscriptions)))

    def delete_subscriptions(
        self,
        task_type=c.TASK_SUB_TYPE_ALL,
        task_sub_type=c.TASK_SUB_TYPE_ALL,
        last_updated=EPOCH_START,
    ):
        params = {
            c.PARAM_TASK_TYPE: task_type,
            c.PARAM_TASK_SUB_TYPE: task_sub_type,
            c.PARAM_LAST_UPDATED: last_updated,
        }
        return self._call(
            METHOD_DELETE, c.SUBSCRIPTIONS_PATH, params=params, expected=(200, c.STATUS_NOT_FOUND)
        )

    # -- diagnostics ---------------------------------------------------------------------------

    def test_connection(self):
        """Fetch a new token and make one cheap read; return what the settings form shows. The only
        call where an unexpected token issuer raises (ordinary calls just log it).
        """
        deadline = self._new_deadline()
        self._tokens.renew(deadline=deadline)
        check_environment(self.token_claims, self.config.api_url, self.config.expected_issuer)
        response = self._call(
            METHOD_GET,
            c.REQUEST_STATUSES_PATH,
            params={c.PARAM_PAGE_SIZE: 1},
            expected=(200, c.STATUS_NOT_FOUND),
            deadline=deadline,
        )
        token = self.token_store.load() or {}
        claims = dict(token.get("claims") or {})
        return {
            "ok": True,
            "api_url": self.config.api_url,
            "issuer": claims.get(c.CLAIM_ISSUER),
            "tenant": claims.get(c.CLAIM_TENANT),
            "scope": token.get("scope"),
            "expires_at": token.get("expires_at"),
            "claims": claims,
            "status": response.status,
            "request_id": response.request_id,
            "amzn_request_id": response.amzn_request_id,
        }


def _check_redirect_target(target, response, request_id, path):
    """Raise BaswareUnsafeRedirectError when the URL rules forbid ``target``; the message never
    shows the query string (presigned URLs carry signatures) nor credentials.
    """
    reason = urls.url_problem(target)
    if reason is None:
        return
    detail = urls.MESSAGES[reason]
    if reason in HOST_REASONS:
        detail += f" ({urlsplit(target).hostname})"
    raise BaswareUnsafeRedirectError(
        f"Basware's redirect on GET {path} was not followed: {detail}",
        reason=reason,
        status=response.status_code,
        method=METHOD_GET,
        path=path,
        request_id=request_id,
        amzn_request_id=response.headers.get(c.HEADER_AMZN_REQUEST_ID),
    )


def _disposition_filename(header):
    """The file name of a Content-Disposition header, or None."""
    if not header:
        return None
    message = email.message.Message()
    message[c.HEADER_CONTENT_DISPOSITION] = header
    filename = message.get_filename()
    return os.path.basename(filename) if filename else None


def _reword(error, message):
    error.message = message
    error.args = (message,)
    return error


def _gave_up(error, reason):
    return _reword(error, f"{error.message} ({reason})")


def _first_header(name, responses):
    """The first non-empty value of header ``name`` among ``responses``, or None."""
    return next((r.headers[name] for r in responses if r.headers.get(name)), None)


__all__ = [
    "BaswareClient",
    "BaswareResponse",
    "ClientConfig",
    "bulk_body",
    "bulk_limit",
    "chunk_records",
    "clean_params",
    "encode_json",
    "encode_record",
    "format_datetime",
    "list_items_path",
    "required_scope",
]

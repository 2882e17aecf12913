"""The sandbox WSGI application: routing, authentication, scopes, faults and the request log."""

import base64
import binascii
import contextlib
import hmac
import logging
import socket
import threading
import time
import uuid

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request

from .constants import (
    CODE_TOKEN,
    CODE_UNEXPECTED,
    GRANT_TYPE,
    HEADER_AMZN_REQUEST_ID,
    HEADER_BW_REQUEST_ID,
    LOGGED_HEADERS,
    OPERATOR_PREFIX,
    SCOPE_ACTIONS,
    STORAGE_PATH,
    TOKEN_PATH,
    TOKEN_TYPE,
    TYPE_SECURITY,
    TYPE_TECHNICAL,
)
from .documents import RESPONSE_KINDS, DocumentRoutes
from .fault_responses import api_fault_response, storage_fault_response
from .faults import FaultInjector
from .http import ApiError, error, error_response, json_response, unauthorized
from .masterdata import MasterDataRoutes
from .operator import OperatorCommands
from .operator_http import OperatorRoutes
from .paging import Pager
from .push import PushRoutes
from .status import RequestStatusRoutes
from .store import Store
from .tokens import TokenIssuer, new_signing_key
from .validation import Validator, contract
from .webhooks import Notifier

_logger = logging.getLogger(__name__)
SIGNING_KEY = "signing_key"
ENTITY_PATHS = (
    "/v1/vendors",
    "/v1/accounts",
    "/v1/costCenters",
    "/v2/projects",
    "/v1/taxCodes",
    "/v1/paymentTerms",
    "/v1/matchingOrders",
    "/v1/matchingOrderLines",
)
NO_BEARER = {"token", "storage"}
DROPPED = "dropped"  # request log status of a call whose connection was closed unanswered
LOG_LIMIT = 5000


def _rules():
    rules = [
        Rule(TOKEN_PATH, endpoint="token", methods=["POST"]),
        Rule(STORAGE_PATH, endpoint="storage", methods=["GET"]),
    ]
    for path in ENTITY_PATHS:
        name = path.rsplit("/", 1)[1]
        rules += [
            Rule(path, endpoint=f"entities:{name}", methods=["GET", "POST", "DELETE"]),
            Rule(f"{path}/<external_code>", endpoint=f"entity:{name}", methods=["GET", "PATCH"]),
        ]
    rules += [
        Rule("/v1/lists/<list_key>", endpoint="entities:lists", methods=["GET", "POST", "DELETE"]),
        Rule(
            "/v1/lists/<list_key>/<external_code>",
            endpoint="entity:lists",
            methods=["GET", "PATCH"],
        ),
        Rule("/v1/accountingDocuments", endpoint="documents", methods=["GET"]),
        Rule("/v1/accountingDocuments/<invoice_id>", endpoint="document", methods=["GET"]),
        Rule(
            "/v1/accountingDocuments/<invoice_id>/acknowledge",
            endpoint="acknowledge",
            methods=["POST"],
        ),
        Rule(
            f"/v1/accountingDocuments/<invoice_id>/<any({', '.join(RESPONSE_KINDS)}):kind>",
            endpoint="document_response",
            methods=["POST"],
        ),
        Rule(
            "/v1/accountingDocuments/<invoice_id>/attachments/<external_code>",
            endpoint="attachment",
            methods=["GET"],
        ),
        Rule("/v1/requestStatus", endpoint="request_statuses", methods=["GET"]),
        Rule("/v1/requestStatus/acknowledge", endpoint="request_status_ack", methods=["POST"]),
        Rule("/v1/requestStatus/<request_id>", endpoint="request_status", methods=["GET"]),
        Rule("/v1/subscriptions", endpoint="subscriptions", methods=["GET", "POST", "DELETE"]),
        Rule("/v1/tasks", endpoint="tasks", methods=["GET"]),
        Rule("/v1/tasks/<task_id>", endpoint="task", methods=["GET"]),
    ]
    return Map(rules + OperatorRoutes.operator_rules(), strict_slashes=False)


class SandboxApp(
    MasterDataRoutes,
    RequestStatusRoutes,
    DocumentRoutes,
    PushRoutes,
    OperatorCommands,
    OperatorRoutes,
):
    """A local stand-in for the Basware P2P API (WSGI callable)."""

    def __init__(
        self,
        db_path=None,
        client_id="sandbox",
        client_secret="sandbox",
        token_lifetime=3600,
        webhook_secret=None,
        **faults,
    ):
        self.contract = contract()
        self.validator = Validator(self.contract["schemas"])
        self.store = Store(db_path)
        self.signing_key = self.store.meta(SIGNING_KEY) or new_signing_key()
        self.store.set_meta(SIGNING_KEY, self.signing_key)
        self.issuer = TokenIssuer(self.signing_key)
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = token_lifetime
        self.webhook_secret = webhook_secret
        self.faults = FaultInjector(**faults)
        self.notifier = Notifier()
        self.pager = Pager()
        self.url = ""
        self.document_lock = threading.RLock()
        self.url_map = _rules()
        self._log = []
        self._log_lock = threading.Lock()
        self.init_documents()

    # WSGI -----------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        request.request_id = str(uuid.uuid4())
        if request.path.startswith(OPERATOR_PREFIX):
            return self.dispatch_operator(request)(environ, start_response)
        entry = self._log_request(request)
        fault = self._fault(request)
        if fault and fault.drop:
            # Logged before the socket closes: the caller may read the log at once.
            entry["status"] = DROPPED
            _drop_connection(environ)
        response = self._fault_response(fault, request) if fault else self._handle(request)
        if not request.path.startswith(STORAGE_PATH):
            # Basware's gateway names every API answer, successful GETs included.
            response.headers.setdefault(HEADER_AMZN_REQUEST_ID, request.request_id)
        entry["status"] = response.status_code
        return response(environ, start_response)

    def _handle(self, request):
        try:
            endpoint, values = self.url_map.bind_to_environ(request.environ).match()
            if endpoint not in NO_BEARER:
                self._authorize(request, endpoint)
            return self._dispatch(request, endpoint, values)
        except ApiError as exc:
            return error_response(exc, request.request_id)
        except HTTPException as exc:
            return error_response(ApiError(exc.code), request.request_id)
        except Exception:  # the sandbox answers 500 like Basware and keeps serving
            _logger.exception("sandbox error on %s %s", request.method, request.path)
            return error_response(
                ApiError(500, [error(None, TYPE_TECHNICAL, CODE_UNEXPECTED, "Unexpected error")]),
                request.request_id,
            )

    def _dispatch(self, request, endpoint, values):
        kind, _sep, name = endpoint.partition(":")
        list_key = values.get("list_key")
        if list_key:
            self.check_list_key(list_key)
        if kind == "entities":
            handler = {
                "GET": self.get_entities,
                "POST": self.post_entities,
                "DELETE": self.delete_entities,
            }[request.method]
            return handler(request, name, list_key)
        if kind == "entity":
            handler = self.get_entity if request.method == "GET" else self.patch_entity
            return handler(request, name, values["external_code"], list_key)
        return self._simple_routes()[(endpoint, request.method)](request, **values)

    def _simple_routes(self):
        return {
            ("token", "POST"): self.issue_token,
            ("storage", "GET"): self.serve_storage,
            ("documents", "GET"): self.list_documents,
            ("document", "GET"): self.get_document,
            ("acknowledge", "POST"): self.acknowledge_document,
            ("document_response", "POST"): self.post_document_response,
            ("attachment", "GET"): self.get_attachment,
            ("request_statuses", "GET"): self.get_request_statuses,
            ("request_status", "GET"): self.get_request_status,
            ("request_status_ack", "POST"): self.acknowledge_request_statuses,
            ("subscriptions", "GET"): self.get_subscriptions,
            ("subscriptions", "POST"): self.post_subscriptions,
            ("subscriptions", "DELETE"): self.delete_subscriptions,
            ("tasks", "GET"): self.get_tasks,
            ("task", "GET"): self.get_tasks,
        }

    # faults -----------------------------------------------------------------------------
    def _fault(self, request):
        latency = self.faults.settings.latency
        if latency:
            time.sleep(latency)
        return self.faults.decide(request.path)

    def _fault_response(self, fault, request):
        if request.path.startswith(STORAGE_PATH):
            return storage_fault_response(fault)
        return api_fault_response(fault, request.request_id)

    # authentication ---------------------------------------------------------------------
    def issue_token(self, request):
        """POST /v1/tokens: client credentials in HTTP Basic, grant_type and scope in the form."""
        form = request.form
        for field in ("grant_type", "scope"):
            if not form.get(field):
                return _oauth_error(400, "invalid_request", f"{field} field required")
        if not self._client_ok(request.headers.get("Authorization", "")):
            return _oauth_error(401, "invalid_client")
        if form["grant_type"] != GRANT_TYPE:
            return _oauth_error(400, "unsupported_grant_type", f"grant_type must be {GRANT_TYPE}")
        scopes = form["scope"].split()
        unknown = [s for s in scopes if s not in self.contract["scopes"]]
        if unknown:
            return _oauth_error(400, "invalid_scope", f"unknown scope: {' '.join(unknown)}")
        lifetime = self.faults.settings.token_lifetime or self.token_lifetime
        token, _claims = self.issuer.issue(self.url, " ".join(scopes), lifetime)
        return json_response(
            {
                "access_token": token,
                "scope": " ".join(scopes),
                "expires_in": int(lifetime),
                "token_type": TOKEN_TYPE,
            }
        )

    def _client_ok(self, header):
        scheme, _sep, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, _sep, secret = decoded.partition(":")
        return hmac.compare_digest(
            client_id.encode(), self.client_id.encode()
        ) and hmac.compare_digest(secret.encode(), self.client_secret.encode())

    def _authorize(self, request, endpoint):
        scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
        claims = self.issuer.claims(token.strip(), self.url) if scheme.lower() == "bearer" else None
        if claims is None:
            raise unauthorized()
        needed = self._scope_needed(request, endpoint)
        if needed not in claims.get("scope", "").split():
            raise ApiError(
                403,
                [
                    error(
                        None,
                        TYPE_SECURITY,
                        CODE_TOKEN,
                        f"The access token does not have the scope {needed}",
                    )
                ],
            )

    def _scope_needed(self, request, endpoint):
        resource = request.path.split("/")[2]
        if endpoint in ("tasks", "task"):
            return "tasks.read"
        action = SCOPE_ACTIONS.get(request.method, "read")
        return f"{resource}.{action}"

    # request log ------------------------------------------------------------------------
    def _log_request(self, request):
        headers = {
            name: request.headers[name] for name in LOGGED_HEADERS if name in request.headers
        }
        scheme = request.headers.get("Authorization", "").partition(" ")[0] or None
        entry = {
            "method": request.method,
            "path": request.path,
            "query": request.args.to_dict(),
            "headers": headers,
            "request_id": headers.get(HEADER_BW_REQUEST_ID),
            "authorization": scheme is not None,
            "auth_scheme": scheme,
            "status": None,
        }
        with self._log_lock:
            self._log.append(entry)
            del self._log[:-LOG_LIMIT]
        return entry

    @property
    def requests(self):
        with self._log_lock:
            return list(self._log)

    def clear_requests(self):
        with self._log_lock:
            self._log.clear()

    def reset(self):
        """Forget all received data, tokens pages and logs; faults go back to none."""
        self.store.reset()
        self.pager.clear()
        self.faults.clear()
        self.notifier.clear()
        self.clear_requests()
        with self._storage_lock:
            self._storage.clear()


def _oauth_error(status, code, description=None):
    body = {"error": code}
    if description:
        body["error_description"] = description
    return json_response(body, status=status)


def _drop_connection(environ):
    """Close the client's socket without an answer; werkzeug then skips writing one."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed by the client: same outcome
            sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionAbortedError("sandbox fault: connection dropped")

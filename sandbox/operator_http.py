"""Operator commands over HTTP under /_sandbox (no token; loopback callers only)."""

import ipaddress
import json

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

from .constants import OPERATOR_PREFIX
from .http import json_response


class OperatorRoutes:
    """Mixin of SandboxApp."""

    @staticmethod
    def operator_rules():
        prefix = OPERATOR_PREFIX
        return [
            Rule(prefix, endpoint="op:info", methods=["GET"]),
            Rule(f"{prefix}/reset", endpoint="op:reset", methods=["POST"]),
            Rule(f"{prefix}/approve", endpoint="op:approve", methods=["POST"]),
            Rule(f"{prefix}/seed", endpoint="op:seed", methods=["POST"]),
            Rule(f"{prefix}/retransfer/<invoice_id>", endpoint="op:retransfer", methods=["POST"]),
            Rule(f"{prefix}/received/<path:entity>", endpoint="op:received", methods=["GET"]),
            Rule(f"{prefix}/faults", endpoint="op:faults", methods=["GET", "POST"]),
            Rule(f"{prefix}/fail_next", endpoint="op:fail_next", methods=["POST"]),
            Rule(f"{prefix}/requests", endpoint="op:requests", methods=["GET"]),
            Rule(f"{prefix}/webhooks", endpoint="op:webhooks", methods=["GET"]),
        ]

    def dispatch_operator(self, request):
        if not _is_loopback(request.remote_addr):
            return json_response({"error": "operator commands are for loopback callers"}, 403)
        try:
            endpoint, values = self.url_map.bind_to_environ(request.environ).match()
            handler = getattr(self, f"op_{endpoint.partition(':')[2]}")
            return handler(request, **values)
        except HTTPException as exc:
            return json_response({"error": exc.name}, exc.code)
        except (ValueError, TypeError, KeyError) as exc:
            return json_response({"error": str(exc)}, 400)

    def op_info(self, request):
        return json_response(
            {
                "url": self.url,
                "token_url": self.token_url,
                "faults": self.faults.settings.as_dict(),
                "received": {name: len(self.store.items(name)) for name in self.store.entities()},
            }
        )

    def op_reset(self, request):
        self.reset()
        return json_response({"reset": True})

    def op_approve(self, request):
        return json_response(self.approve_invoice(**_body(request)))

    def op_seed(self, request):
        kwargs = _body(request)
        count = kwargs.pop("count", 1)
        return json_response(self.seed_accounting_documents(count, **kwargs))

    def op_retransfer(self, request, invoice_id):
        return json_response(self.retransfer(invoice_id, (_body(request) or {}).get("changes")))

    def op_received(self, request, entity):
        return json_response(self.received(entity))

    def op_faults(self, request):
        if request.method == "POST":
            settings = _body(request)
            if settings.pop("clear", False):
                self.faults.clear()
            self.faults.configure(**settings)
        return json_response({**self.faults.settings.as_dict(), "pending": self.faults.pending()})

    def op_fail_next(self, request):
        self.faults.fail_next(**_body(request))
        return json_response({"pending": self.faults.pending()})

    def op_requests(self, request):
        return json_response(self.requests)

    def op_webhooks(self, request):
        return json_response(self.notifier.deliveries)

    @property
    def token_url(self):
        return f"{self.url}/v1/tokens"


def _body(request):
    raw = request.get_data()
    data = json.loads(raw) if raw.strip() else {}
    if not isinstance(data, dict):
        raise TypeError("expected a JSON object")
    return data


def _is_loopback(address):
    try:
        return ipaddress.ip_address(address or "").is_loopback
    except ValueError:
        return False

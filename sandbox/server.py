"""SandboxServer: the sandbox app on a threaded werkzeug server in a background thread."""

import logging
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import SandboxApp
from .constants import TOKEN_PATH

_logger = logging.getLogger(__name__)
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
STOP_TIMEOUT = 10.0


class _QuietHandler(WSGIRequestHandler):
    """Access log at debug level, so test output stays clean."""

    def log(self, type, message, *args):  # werkzeug's signature
        _logger.debug("%s - %s", self.address_string(), message % args)


class SandboxServer:
    """A local Basware P2P API for demos and tests.

    srv = SandboxServer(port=0); srv.start(); requests.get(srv.url + ...); srv.stop()
    Fault keyword arguments (rate_429, retry_after, retry_after_format, rate_5xx, status_5xx,
    latency, drop_rate, duplicate_webhooks, processing_delay, seed, fail_next) are the same as
    set_faults(). Faults hit the API, never POST /v1/tokens unless a fail_next() path_prefix
    names it.
    """

    def __init__(
        self,
        host="127.0.0.1",
        port=0,
        db_path=None,
        client_id="sandbox",
        client_secret="sandbox",
        token_lifetime=3600,
        webhook_secret=None,
        **faults,
    ):
        self.host = host
        self.port = port
        self.app = SandboxApp(
            db_path=db_path,
            client_id=client_id,
            client_secret=client_secret,
            token_lifetime=token_lifetime,
            webhook_secret=webhook_secret,
            **faults,
        )
        self._server = None
        self._thread = None

    # lifecycle --------------------------------------------------------------------------
    def start(self):
        if self._server is not None:
            return self
        self._server = make_server(
            self.host, self.port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self._server.daemon_threads = True
        host = "127.0.0.1" if self.host in WILDCARD_HOSTS else self.host
        host = f"[{host}]" if ":" in host else host
        self.app.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(STOP_TIMEOUT)
        self._server = self._thread = None
        self.app.notifier.wait(timeout=2.0)

    def close(self):
        """Stop and release the database."""
        self.stop()
        self.app.store.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.close()

    @property
    def url(self):
        return self.app.url

    @property
    def token_url(self):
        return self.url + TOKEN_PATH

    @property
    def client_id(self):
        return self.app.client_id

    @property
    def client_secret(self):
        return self.app.client_secret

    # faults -----------------------------------------------------------------------------
    @property
    def faults(self):
        """The FaultInjector; faults.settings holds the current shares and switches."""
        return self.app.faults

    def set_faults(self, **settings):
        """Change fault settings for this run (unknown names raise TypeError)."""
        self.app.faults.configure(**settings)

    def clear_faults(self):
        self.app.faults.clear()

    def fail_next(
        self, status, count=1, retry_after=None, path_prefix=None, retry_after_format=None
    ):
        """Answer the next count calls (optionally only under path_prefix) with status;
        status "drop" closes the connection without an answer. The token endpoint is only
        hit when path_prefix names it ("/v1/tokens"). retry_after_format: "seconds" or
        "date" for these calls (default: the retry_after_format setting)."""
        self.app.faults.fail_next(status, count, retry_after, path_prefix, retry_after_format)

    # state and operator commands --------------------------------------------------------
    def reset(self):
        self.app.reset()

    def received(self, entity):
        return self.app.received(entity)

    def approve_invoice(self, **kwargs):
        return self.app.approve_invoice(**kwargs)

    def seed_accounting_documents(self, n, **kwargs):
        return self.app.seed_accounting_documents(n, **kwargs)

    def retransfer(self, invoice_id, changes=None):
        return self.app.retransfer(invoice_id, changes)

    @property
    def requests(self):
        """Log of the API calls seen: method, path, query, headers, authorization, status."""
        return self.app.requests

    def clear_requests(self):
        self.app.clear_requests()

    @property
    def webhook_deliveries(self):
        return list(self.app.notifier.deliveries)

    def wait_webhooks(self, timeout=10.0):
        self.app.notifier.wait(timeout)

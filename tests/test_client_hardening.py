"""The client against small throwaway servers on loopback: slow answers and redirects.

The sandbox answers like Basware; these servers answer like a broken or hostile peer
(one byte per second, redirects to where the connector must not go).
"""

import datetime
import ipaddress
import json
import ssl
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from odoo.tests.common import BaseCase

from ..basware import BaswareClient, ClientConfig, errors, urls
from ..basware import constants as bw

DOCUMENT = bw.ACCOUNTING_DOCUMENT_PATH.format(invoice_id="INV-1")
VENDORS = bw.VENDORS_PATH
HOP_PATH = "/_hop/"
STORAGE_PATH = "/_storage/page"
SIGNATURE = "X-Amz-Signature=6b1f9c-secret-signature"
PAGE = {"accountingDocuments": [{"invoiceId": "INV-1"}]}
# A slow peer gives up after this long: it ends the test quickly if the client does not.
DRIP_SECONDS = 12
# Deadline and read timeout of the slow-answer tests, and the margin the bound allows.
DEADLINE, READ_TIMEOUT, MARGIN = 3.0, 2.0, 1.5


class ScriptedServer:
    """A threaded HTTP server on 127.0.0.1 whose answers a test sets per path.

    ``routes`` maps (method, path) to ``answer(handler)``; a path ending in "/" also
    matches what follows it. Tokens are handed out unless a test overrides the route.
    """

    def __init__(self, tls_context=None):
        self.requests = []
        self.routes = {("POST", bw.TOKEN_PATH): self.answer_token}
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass  # keep the test output clean

            def do_GET(self):
                server.dispatch(self)

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                server.dispatch(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        scheme = "http"
        if tls_context:
            self.httpd.socket = tls_context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    def dispatch(self, handler):
        path = urlsplit(handler.path).path
        self.requests.append(
            {"method": handler.command, "path": path, "headers": dict(handler.headers)}
        )
        for (method, route), answer in self.routes.items():
            if method == handler.command and (
                path == route or (route.endswith("/") and path.startswith(route))
            ):
                return answer(handler)
        return self.send(handler, 404, {"message": "no route"})

    def paths(self, method="GET"):
        return [entry["path"] for entry in self.requests if entry["method"] == method]

    @staticmethod
    def send(handler, status, body=None, headers=None):
        data = json.dumps(body).encode() if body is not None else b""
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Type", bw.CONTENT_TYPE_JSON)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def answer_token(self, handler):
        token = {"access_token": "token-1", "token_type": "Bearer", "expires_in": 3600}
        self.send(handler, 200, token)

    def drip(self, handler, data):
        """Send ``data`` one byte a second, until sent, the client leaves or time is up."""
        try:
            for index in range(min(len(data), DRIP_SECONDS)):
                if self.stopping.is_set():
                    return
                handler.wfile.write(data[index : index + 1])
                handler.wfile.flush()
                time.sleep(1)
        except OSError:
            return  # the client shut the connection: what the tests expect
        handler.close_connection = True


def raw_answer(body):
    data = json.dumps(body).encode()
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: {bw.CONTENT_TYPE_JSON}\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    return head.encode(), data


def loopback_certificate(folder):
    """A self-signed certificate for 127.0.0.1: paths of the certificate and of its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = f"{folder}/cert.pem", f"{folder}/key.pem"
    with open(cert_path, "wb") as cert_file:
        cert_file.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as key_file:
        key_file.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_path, key_path


class ScriptedServerCase(BaseCase):
    tls = False

    def setUp(self):
        super().setUp()
        self.certificate = None
        tls_context = None
        if self.tls:
            folder = tempfile.TemporaryDirectory()
            self.addCleanup(folder.cleanup)
            self.certificate, key_path = loopback_certificate(folder.name)
            tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            tls_context.load_cert_chain(self.certificate, key_path)
        self.server = ScriptedServer(tls_context)
        self.server.__enter__()
        self.addCleanup(self.server.__exit__, None, None, None)

    def make_client(self, **overrides):
        values = {
            "api_url": self.server.url,
            "client_id": "client-hardening",
            "client_secret": "cs-hardening-2c9d",
            "max_attempts": 3,
            "backoff_base": 0.05,
            "backoff_max": 0.2,
            "deadline": 30.0,
        }
        values.update(overrides)
        client = BaswareClient(ClientConfig(**values))
        self.addCleanup(client.close)
        if self.certificate:
            client.session.verify = self.certificate
            # Else a CA bundle named in the environment would replace it.
            client.session.trust_env = False
        return client


class TestSlowAnswers(ScriptedServerCase):
    """Item 15: one deadline bounds a whole call, also against an answer that trickles in."""

    def drip_route(self, method, path, drip_head):
        head, body = raw_answer({"vendorEntities": []})

        def answer(handler):
            if drip_head:
                self.server.drip(handler, head + body)
            else:
                handler.wfile.write(head)
                self.server.drip(handler, body)

        self.server.routes[(method, path)] = answer

    def assertCutAtDeadline(self, call):
        client = self.make_client(deadline=DEADLINE, read_timeout=READ_TIMEOUT)
        started = time.monotonic()
        with self.assertRaises(errors.BaswareConnectionError) as caught:
            call(client)
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, DEADLINE + MARGIN)
        self.assertGreater(elapsed, DEADLINE - MARGIN)
        self.assertIs(type(caught.exception), errors.BaswareConnectionError)
        self.assertTrue(caught.exception.retryable)
        self.assertIn(f"within the call deadline of {DEADLINE:g} s", str(caught.exception))
        return client, caught.exception

    def test_slow_status_line_and_headers(self):
        self.drip_route("GET", VENDORS, drip_head=True)
        _client, error = self.assertCutAtDeadline(lambda c: c.request("GET", VENDORS))
        self.assertEqual((error.method, error.path), ("GET", VENDORS))
        self.assertTrue(error.request_id)

    def test_slow_body(self):
        self.drip_route("GET", VENDORS, drip_head=False)
        client, _error = self.assertCutAtDeadline(lambda c: c.request("GET", VENDORS))
        self.assertEqual(self.server.paths(), [VENDORS], "no retry after the deadline")
        # The pool holds no broken connection: the client's next call works.
        self.server.routes[("GET", VENDORS)] = lambda h: self.server.send(h, 200, [])
        self.assertEqual(client.request("GET", VENDORS).status, 200)

    def test_slow_token_endpoint(self):
        self.drip_route("POST", bw.TOKEN_PATH, drip_head=True)
        self.assertCutAtDeadline(lambda c: c.request("GET", VENDORS))
        self.assertEqual(self.server.paths(), [], "the API is not called after the deadline")


class TestSlowAnswersOverTLS(TestSlowAnswers):
    """The same over TLS, as Basware is reached: the socket is shut down below TLS."""

    tls = True

    def test_tls_answer(self):
        self.server.routes[("GET", VENDORS)] = lambda h: self.server.send(h, 200, [])
        self.assertEqual(self.make_client().request("GET", VENDORS).status, 200)


class TestRedirectTargets(ScriptedServerCase):
    """Item 16: a redirect is followed only to a URL the connector could be set to."""

    def redirect_to(self, location):
        self.server.routes[("GET", DOCUMENT)] = lambda h: self.server.send(
            h, 302, headers={bw.HEADER_LOCATION: location, bw.HEADER_AMZN_REQUEST_ID: "amzn-1"}
        )

    def serve_storage(self):
        self.server.routes[("GET", STORAGE_PATH)] = lambda h: self.server.send(h, 200, PAGE)

    def assertRefused(self, location, reason):
        self.redirect_to(location)
        client = self.make_client()
        with self.assertRaises(errors.BaswareUnsafeRedirectError) as caught:
            client.get_accounting_document("INV-1")
        error = caught.exception
        self.assertEqual(error.reason, reason)
        self.assertFalse(error.retryable)
        self.assertEqual((error.status, error.method), (302, "GET"))
        self.assertEqual(error.amzn_request_id, "amzn-1")
        message = str(error)
        self.assertIn(urls.MESSAGES[reason], message)
        self.assertNotIn("Signature", message)
        self.assertNotIn("secret", message)
        self.assertNotIn("pw", message)
        self.assertEqual(self.server.paths(), [DOCUMENT], "the target is not called")
        return error

    def test_followed_to_a_loopback_target(self):
        self.serve_storage()
        self.redirect_to(f"{STORAGE_PATH}?{SIGNATURE}")
        document = self.make_client().get_accounting_document("INV-1")
        self.assertEqual(document, PAGE["accountingDocuments"][0])
        self.assertEqual(self.server.paths(), [DOCUMENT, STORAGE_PATH])

    def test_metadata_address(self):
        error = self.assertRefused(
            f"http://169.254.169.254/latest/meta-data/iam?{SIGNATURE}", urls.REASON_METADATA
        )
        self.assertIn("169.254.169.254", str(error), "the refused host is named")

    def test_metadata_in_legacy_and_ipv6_forms(self):
        self.assertRefused("https://2852039166/latest/meta-data/", urls.REASON_METADATA)
        self.server.requests.clear()
        self.assertRefused("https://[::ffff:a9fe:a9fe]/latest/", urls.REASON_METADATA)

    def test_private_address(self):
        self.assertRefused(f"https://10.0.0.7/bucket/page?{SIGNATURE}", urls.REASON_PRIVATE)

    def test_plain_http_elsewhere(self):
        self.assertRefused(f"http://storage.example.com/page?{SIGNATURE}", urls.REASON_PLAIN_HTTP)

    def test_credentials_in_the_target(self):
        self.serve_storage()
        target = f"http://user:pw@127.0.0.1:{self.server.httpd.server_port}{STORAGE_PATH}"
        self.assertRefused(f"{target}?{SIGNATURE}", urls.REASON_CREDENTIALS)

    def test_hop_limit(self):
        def hop(handler):
            number = int(urlsplit(handler.path).path.rsplit("/", 1)[1])
            if number < self.hops:
                location = f"{HOP_PATH}{number + 1}"
                return self.server.send(handler, 302, headers={bw.HEADER_LOCATION: location})
            return self.server.send(handler, 200, PAGE)

        self.server.routes[("GET", HOP_PATH)] = hop
        self.redirect_to(f"{HOP_PATH}1")
        client = self.make_client()
        self.hops = bw.MAX_REDIRECTS
        self.assertEqual(client.get_accounting_document("INV-1")["invoiceId"], "INV-1")
        self.assertEqual(len(self.server.paths()), 1 + bw.MAX_REDIRECTS)
        self.server.requests.clear()
        self.hops = bw.MAX_REDIRECTS + 1
        with self.assertRaises(errors.BaswareError) as caught:
            client.get_accounting_document("INV-1")
        self.assertIn(f"more than {bw.MAX_REDIRECTS} times", str(caught.exception))
        self.assertFalse(caught.exception.retryable)
        self.assertEqual(len(self.server.paths()), 1 + bw.MAX_REDIRECTS, "no hop past the limit")

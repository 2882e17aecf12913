"""Signed push notifications to subscribers' webhook URLs."""

import hashlib
import hmac
import json
import logging
import threading

import requests

from .constants import HEADER_SIGNATURE, WEBHOOK_TIMEOUT

_logger = logging.getLogger(__name__)


def sign(body, secret):
    """Hex HMAC-SHA256 of the raw body, keyed with the subscription's authentication token."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class Notifier:
    """Posts notifications; each delivery attempt is recorded in .deliveries."""

    def __init__(self, timeout=WEBHOOK_TIMEOUT):
        self.timeout = timeout
        self.deliveries = []
        self._lock = threading.Lock()
        self._threads = []

    def deliver(self, url, payload, secret):
        """Post one notification now; returns the HTTP status, or None when unreachable."""
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json", HEADER_SIGNATURE: sign(body, secret)}
        status, error = None, None
        try:
            response = requests.post(url, data=body, headers=headers, timeout=self.timeout)
            status = response.status_code
        except requests.RequestException as exc:
            error = type(exc).__name__
            _logger.info("webhook %s unreachable: %s", url, error)
        with self._lock:
            self.deliveries.append(
                {
                    "url": url,
                    "taskId": payload.get("taskId"),
                    "taskType": payload.get("taskType"),
                    "documentId": payload.get("documentId"),
                    "status": status,
                    "error": error,
                }
            )
        return status

    def push(self, url, payload, secret, copies=1):
        """Deliver in a background thread, so the API answer never waits for the subscriber."""

        def run():
            for _copy in range(copies):
                self.deliver(url, payload, secret)

        thread = threading.Thread(target=run, name="sandbox-webhook", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def wait(self, timeout=10.0):
        """Wait for pending deliveries (tests and the CLI, before exiting)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def clear(self):
        with self._lock:
            self.deliveries.clear()

"""Benchmark of the webhook controller: how fast Odoo acknowledges a burst of notifications.

Starts an Odoo HTTP server on the scratch database (no cron threads: the import it wakes
is not what is measured), then posts signed AccountingDocuments notifications from several
threads at once, each timed from request to answer. Prints p50, p90, p99 and the maximum,
the answers' statuses, and checks that each notification was stored once (a repeat of
every tenth one is answered and not stored again). Target: p99 at most 50 ms.

    bash scripts/bench.sh webhook [--notifications 500 --threads 4 --workers 0]

``--workers 0`` (the default) runs Odoo's threaded server; more runs its prefork server
with that many worker processes, as production does (it needs gevent installed completely
for the long-polling process the prefork server starts).

Each thread waits for its answer before it posts the next notification, so the latency
under a burst is about the number of threads divided by the server's throughput: the
figures depend on the machine's cores as much as on the code.
"""

import hashlib
import hmac
import json
import statistics
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from ..basware.signature import DEFAULT_SIGNATURE_HEADER
from ..models.basware_backend_webhook import WEBHOOK_ROUTE
from .common import (
    CLIENT_ID,
    CLIENT_SECRET,
    OdooServer,
    odoo_env,
    parse_args,
    percentile,
    say,
)

WEBHOOK_SECRET = "bench-webhook-secret"
# Nothing listens there: acknowledging a notification never calls Basware.
UNUSED_API_URL = "http://127.0.0.1:9"
WARM_UP = 40
REPEAT_EVERY = 10
REQUEST_TIMEOUT = 30
TARGET_P99_MS = 50.0


def make_backend(env):
    return env["basware.backend"].create(
        {
            "name": "Webhook benchmark",
            "environment": "test",
            "api_url": UNUSED_API_URL,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "webhook_secret": WEBHOOK_SECRET,
        }
    )


def signed_notification():
    payload = {
        "taskId": str(uuid.uuid4()),
        "taskStatus": "New",
        "taskType": "AccountingDocuments",
        "taskSubType": "WaitingForTransfer",
        "documentId": uuid.uuid4().hex,
        "expirationTime": "2030-01-01T00:00:00Z",
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    signature = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", DEFAULT_SIGNATURE_HEADER: signature}


class Burst:
    """Signed notifications posted from ``threads`` threads, one session per thread."""

    def __init__(self, url, threads):
        self.url, self.threads = url, threads
        self._local = threading.local()

    def _session(self):
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def _post(self, notification):
        body, headers = notification
        started = time.perf_counter()
        response = self._session().post(
            self.url, data=body, headers=headers, timeout=REQUEST_TIMEOUT
        )
        return (time.perf_counter() - started) * 1000, response.status_code

    def run(self, notifications):
        """[(milliseconds, status)] of each notification, and the burst's seconds."""
        started = time.perf_counter()
        with ThreadPoolExecutor(self.threads) as pool:
            results = list(pool.map(self._post, notifications))
        return results, time.perf_counter() - started


def report(label, results, seconds):
    latencies = [milliseconds for milliseconds, _status in results]
    statuses = Counter(status for _milliseconds, status in results)
    p99 = percentile(latencies, 0.99)
    say(
        f"{label:<28} {len(results):>5} requests  {len(results) / seconds:>7.0f} req/s  "
        f"p50 {statistics.median(latencies):>6.1f} ms  p90 {percentile(latencies, 0.9):>6.1f} ms  "
        f"p99 {p99:>6.1f} ms  max {max(latencies):>6.1f} ms  statuses {dict(statuses)}"
    )
    return p99


def stored_count(env, backend):
    env.cr.rollback()  # a fresh snapshot: the server committed meanwhile
    return env["basware.exchange"].search_count(
        [("backend_id", "=", backend.id), ("kind", "=", "webhook_notification")]
    )


def main(argv):
    args = parse_args(argv, __doc__, notifications=500, threads=4, workers=0)
    with odoo_env(args) as env:
        backend = make_backend(env)
        env.cr.commit()
        with OdooServer(args.database, args.workers) as server:
            url = f"{server.url}{WEBHOOK_ROUTE}/{backend.webhook_token}"
            burst = Burst(url, args.threads)
            say(
                f"webhook burst: {args.notifications} signed notifications from "
                f"{args.threads} threads, Odoo with {args.workers or 'no'} workers"
                f"{'' if args.workers else ' (threaded server)'}"
            )
            burst.run([signed_notification() for _index in range(WARM_UP)])
            notifications = [signed_notification() for _index in range(args.notifications)]
            results, seconds = burst.run(notifications)
            p99 = report("new notifications", results, seconds)
            repeats = notifications[::REPEAT_EVERY]
            report("repeated notifications", *burst.run(repeats))
        stored = stored_count(env, backend) - WARM_UP
        say(
            f"stored exchanges: {stored} for {len(notifications)} notifications "
            f"and {len(repeats)} repeats (expected {len(notifications)})"
        )
        verdict = "met" if p99 <= TARGET_P99_MS else "NOT met"
        say(f"target p99 <= {TARGET_P99_MS:.0f} ms: {verdict} ({p99:.1f} ms)")

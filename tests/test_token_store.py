"""The access token between workers and calls.

The client keeps its token in memory: the token store (a database row, for a backend) is
read when the token is not fresh any more, not for every call. Two workers needing a new
token at once ask Basware once: the second waits for the first and takes its token.
"""

import threading
import time

from odoo.tests import TransactionCase, tagged
from odoo.tests.common import BaseCase

from ..basware import BaswareClient, ClientConfig, MemoryTokenStore
from ..basware import constants as bw
from ..models import basware_crypto
from ..sandbox import SandboxServer
from .common import encryption_key

CLIENT_ID = "token-memory"
CLIENT_SECRET = "cs-token-memory-7d21"
CALLS = 5
WAIT_TIMEOUT = 30


class CountingStore(MemoryTokenStore):
    """A memory store that counts how often the client reads it."""

    def __init__(self, token=None):
        super().__init__(token)
        self.loads = 0

    def load(self):
        self.loads += 1
        return super().load()


class TestTokenInMemory(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = SandboxServer(port=0, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        cls.sandbox.start()
        cls.addClassCleanup(cls.sandbox.close)

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    def make_client(self, store, clock=None):
        config = ClientConfig(
            api_url=self.sandbox.url,
            token_url=self.sandbox.token_url,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        )
        client = (
            BaswareClient(config, store, clock=clock) if clock else BaswareClient(config, store)
        )
        self.addCleanup(client.close)
        return client

    def token_calls(self):
        return [entry for entry in self.sandbox.requests if entry["path"] == bw.TOKEN_PATH]

    def test_many_calls_read_the_store_only_to_get_the_first_token(self):
        store = CountingStore()
        client = self.make_client(store)
        for _call in range(CALLS):
            client.request("GET", bw.VENDORS_PATH, expected=(200, 404))
        self.assertEqual(len(self.token_calls()), 1)
        # Empty before the lock, empty under it: then the token is fetched and kept.
        self.assertEqual(store.loads, 2)

    def test_a_token_another_worker_stored_is_read_once(self):
        first = self.make_client(MemoryTokenStore())
        first.request("GET", bw.VENDORS_PATH, expected=(200, 404))
        store = CountingStore(first.token_store.load())
        second = self.make_client(store)
        for _call in range(CALLS):
            second.request("GET", bw.VENDORS_PATH, expected=(200, 404))
        self.assertEqual(store.loads, 1)
        self.assertEqual(len(self.token_calls()), 1, "the stored token serves the second client")

    def test_a_token_past_its_refresh_margin_is_read_again_then_renewed(self):
        store = CountingStore()
        now = [1000.0]
        client = self.make_client(store, clock=lambda: now[0])
        client.request("GET", bw.VENDORS_PATH, expected=(200, 404))
        loads = store.loads
        # The sandbox's tokens live an hour: past the margin, memory is not trusted.
        now[0] += 3590
        client.request("GET", bw.VENDORS_PATH, expected=(200, 404))
        self.assertGreater(store.loads, loads)
        self.assertEqual(len(self.token_calls()), 2)


@tagged("post_install", "-at_install")
class TestTokenRefreshAcrossWorkers(TransactionCase):
    """Real transactions on a committed backend."""

    def setUp(self):
        super().setUp()
        self.enterContext(encryption_key(basware_crypto.generate_key()))
        with self.env.registry.cursor() as cr:
            self.backend_id = self.env(cr=cr)["basware.backend"].create({"name": "Refresh"}).id
        self.addCleanup(self._drop_committed)

    def _drop_committed(self):
        with self.env.registry.cursor() as cr:
            self.env(cr=cr)["basware.backend"].browse(self.backend_id).unlink()

    def _store(self):
        return self.env["basware.backend"].browse(self.backend_id)._get_token_store()

    def _wait_for_a_lock_wait(self):
        """Until a transaction of this database waits for a row lock."""
        deadline = time.monotonic() + WAIT_TIMEOUT
        while time.monotonic() < deadline:
            with self.env.registry.cursor() as cr:
                cr.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                if cr.fetchone()[0]:
                    return
            time.sleep(0.05)
        self.fail("the second worker never waited for the lock")

    def test_a_worker_waiting_for_a_refresh_takes_the_new_token(self):
        token = {"access_token": "renewed.by.a", "expires_at": time.time() + 3600}
        seen, errors = [], []

        def worker_b():
            try:
                store = self._store()
                with store.locked():
                    seen.append(store.load())
            except Exception as error:  # noqa: BLE001 - reported to the test below
                errors.append(error)

        worker_a = self._store()
        with worker_a.locked():
            worker_a.save(token)
            thread = threading.Thread(target=worker_b)
            thread.start()
            self._wait_for_a_lock_wait()
        thread.join(WAIT_TIMEOUT)
        self.assertFalse(thread.is_alive())
        self.assertEqual(errors, [])
        self.assertEqual([token["access_token"] for token in seen], ["renewed.by.a"])

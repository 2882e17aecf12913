"""The client keeps its access token in memory: the token store (a database row, for a
backend) is read when the token is not fresh any more, not for every call."""

from odoo.tests.common import BaseCase

from ..basware import BaswareClient, ClientConfig, MemoryTokenStore
from ..basware import constants as bw
from ..sandbox import SandboxServer

CLIENT_ID = "token-memory"
CLIENT_SECRET = "cs-token-memory-7d21"
CALLS = 5


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

import json
import os
import tempfile
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest.mock import patch

from cryptography.fernet import Fernet

from odoo.tests import HttpCase, TransactionCase, new_test_user
from odoo.tools import SQL, config

from ..basware import constants as bw
from ..basware.client import bulk_limit, chunk_records
from ..models import basware_crypto
from ..sandbox import SandboxServer

CLIENT_ID = "sandbox"
CLIENT_SECRET = "cs-5f2b9e1a-test-secret"
WEBHOOK_SECRET = "whsec-7c1d0f3e-webhook"
UNUSED_LOCAL_URL = "http://127.0.0.1:9"  # discard port: nothing listens there


def vendor(index, **values):
    """A minimal valid Basware VendorEntity."""
    record = {
        "externalCode": f"V-{index:05d}",
        "vendorCode": f"{index:05d}",
        "name": f"Vendor {index}",
        "companies": [{"companyCode": "C100"}],
    }
    record.update(values)
    return record


def matching_order(code, supplier_code, company_code="C100", **values):
    """A minimal valid Basware OrderEntity (matchingOrders)."""
    record = {
        "externalCode": code,
        "orderNumber": code,
        "sourceSystem": "ODOO",
        "companyCode": company_code,
        "organizationElementCode": company_code,
        "currencyCode": "EUR",
        "supplierCode": supplier_code,
    }
    record.update(values)
    return record


def purchase_tax(env, name, amount, **values):
    """A purchase tax of ``amount`` percent, ``values`` on top."""
    return env["account.tax"].create(
        {
            "name": name,
            "amount": amount,
            "amount_type": "percent",
            "type_tax_use": "purchase",
            **values,
        }
    )


def run_now(exchanges, deadline=None):
    """Run ``exchanges``, held by the caller, in this transaction as the queue cron runs
    them: one client per backend; return how many ran."""
    processed = 0
    for backend, group in exchanges.grouped("backend_id").items():
        processed += exchanges._run_for_backend(backend, iter(group), deadline)
    return processed


def post_records(client, path, records):
    """POST ``records`` as the queue sends them: cut by ``chunk_records``, one request each."""
    return [
        client.post_encoded(path, body) for _chunk, body in chunk_records(records, bulk_limit(path))
    ]


def enqueue_post(exchange_model, backend, kind, endpoint, records):
    """Queue ``records`` for ``endpoint`` as the sync does: one exchange per HTTP write."""
    chunks = chunk_records(list(records), bulk_limit(endpoint))
    return exchange_model._enqueue_chunks(backend, kind, endpoint, chunks)


@contextmanager
def encryption_key(key):
    """Run with ``key`` as the server's basware_encryption_key (a false key: none at all).

    The environment variable and the key file are out of reach meanwhile: only ``key`` counts.
    """
    runtime_options = config.options.maps[0]
    missing = object()
    previous = runtime_options.get(basware_crypto.KEY_OPTION, missing)
    runtime_options[basware_crypto.KEY_OPTION] = key or ""
    try:
        with patch.dict(os.environ), tempfile.TemporaryDirectory() as empty_data_dir:
            os.environ.pop(basware_crypto.KEY_ENV_VAR, None)
            # Without a key, an empty data directory: no key file on this machine counts.
            no_key_file = {} if key else {"data_dir": empty_data_dir}
            with patch.dict(runtime_options, no_key_file):
                yield
    finally:
        if previous is missing:
            runtime_options.pop(basware_crypto.KEY_OPTION, None)
        else:
            runtime_options[basware_crypto.KEY_OPTION] = previous


class BaswareBackendCase(TransactionCase):
    """A company, a backend with secrets, and a fresh encryption key for the class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.encryption_key = Fernet.generate_key().decode()
        cls._enter_class_context(encryption_key(cls.encryption_key))
        # The token store works in cursors of its own: let them share the test transaction.
        cls.registry_enter_test_mode_cls()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.env.company
        cls.backend = cls.env["basware.backend"].create(
            {
                "name": "Basware Test",
                "company_id": cls.company.id,
                "environment": "test",
                "api_url": UNUSED_LOCAL_URL,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "webhook_secret": WEBHOOK_SECRET,
                "basware_company_code": "C100",
            }
        )

    @classmethod
    def _enter_class_context(cls, context_manager):
        value = context_manager.__enter__()
        cls.addClassCleanup(context_manager.__exit__, None, None, None)
        return value

    @classmethod
    def _new_user(cls, login, groups, company=None, **values):
        company = company or cls.company
        return new_test_user(cls.env, login=login, groups=groups, company_id=company.id, **values)

    def raw_backend_row(self, backend):
        """The backend's database row as text, read past the ORM."""
        self.env.flush_all()
        self.env.cr.execute(
            SQL("SELECT row_to_json(b)::text FROM basware_backend b WHERE id = %s", backend.id)
        )
        return self.env.cr.fetchone()[0]

    def raw_column(self, backend, column):
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT %s FROM basware_backend WHERE id = %s",
                SQL.identifier(column),
                backend.id,
            )
        )
        return self.env.cr.fetchone()[0]


class BaswareSandboxCase(BaswareBackendCase):
    """A backend pointed at a local sandbox server started for the class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = cls._enter_class_context(
            SandboxServer(port=0, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        )
        cls.backend.write({"api_url": cls.sandbox.url, "token_url": cls.sandbox.token_url})

    def setUp(self):
        super().setUp()
        self.sandbox.reset()


class QueueCase(BaswareSandboxCase):
    """A sandbox backend tuned for the queue's own retries, a manager and a user."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend.write(
            {
                "exchange_max_attempts": 3,
                "exchange_retry_base": 60,
                "exchange_retry_max": 600,
                # one HTTP attempt per exchange attempt: the queue's own retries are under test
                "request_max_attempts": 1,
                "request_status_delay": 0,
            }
        )
        cls.Exchange = cls.env["basware.exchange"]
        cls.exchange_class = type(cls.Exchange)
        cls.manager = cls._new_user("bw_queue_manager", "basware_connector.group_basware_manager")
        cls.basware_user = cls._new_user("bw_queue_user", "basware_connector.group_basware_user")

    def _posted_request_id(self):
        """POST one vendor to the sandbox through the backend's client; return Basware's id."""
        client = self.backend._get_client()
        post_records(client, bw.VENDORS_PATH, [vendor(uuid.uuid4().int % 90000)])
        return client.last_response.amzn_request_id

    def _poll(self, request_id=None, **values):
        """A requestStatus exchange tracking ``request_id`` (default: a new vendor POST)."""
        return self.Exchange._enqueue(
            self.backend,
            "request_status",
            "outbound",
            tracked_request_id=request_id or self._posted_request_id(),
            **values,
        )

    def _vendor_post(self, count=1, start=0):
        records = [vendor(start + index) for index in range(count)]
        return enqueue_post(self.Exchange, self.backend, "vendor", "/v1/vendors", records)


def start_key_and_sandbox(test_class):
    """A fresh encryption key and a running sandbox for ``test_class``, undone after it.

    For test classes that cannot be a BaswareBackendCase (real commits, HTTP cases).
    """
    key_context = encryption_key(Fernet.generate_key().decode())
    key_context.__enter__()
    test_class.addClassCleanup(key_context.__exit__, None, None, None)
    sandbox = SandboxServer(port=0, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    sandbox.start()
    test_class.addClassCleanup(sandbox.stop)
    return sandbox


class CommittedBackendMixin:
    """For tests whose workers commit, as outside tests: a sandbox backend created and
    committed in a cursor of its own, and dropped after the test with what it left.

    Mixed into a TransactionCase or an HttpCase (never a BaswareBackendCase: those share
    the test transaction).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = start_key_and_sandbox(cls)

    def committed(self, work):
        """``work(env)`` in a transaction of its own, committed."""
        with self.env.registry.cursor() as cr:
            return work(self.env(cr=cr))

    def committed_backend(self, name, **values):
        """The id of a new sandbox backend, committed; dropped after the test."""

        def create(env):
            return env["basware.backend"].create(
                {
                    "name": name,
                    "environment": "test",
                    "api_url": self.sandbox.url,
                    "token_url": self.sandbox.token_url,
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    **values,
                }
            )

        backend_id = self.committed(create).id
        self.addCleanup(self.committed, lambda env: self.drop_committed(env, backend_id))
        return backend_id

    def drop_committed(self, env, backend_id):
        """Delete the backend and its exchanges (a test adds what else it committed)."""
        env["basware.exchange"].search([("backend_id", "=", backend_id)]).unlink()
        env["basware.backend"].browse(backend_id).unlink()


class Json2Case(HttpCase):
    """A sandbox backend, and API keys of a Basware manager and a Basware user, for calls
    over Odoo's JSON-2 API (/json/2/<model>/<method>) as an integrator makes them."""

    backend_name = "JSON-2"
    company_code = "C100"
    key_lifetime = timedelta(hours=1)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = start_key_and_sandbox(cls)
        cls.backend = cls.env["basware.backend"].create(
            {
                "name": cls.backend_name,
                "environment": "test",
                "api_url": cls.sandbox.url,
                "token_url": cls.sandbox.token_url,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "basware_company_code": cls.company_code,
            }
        )
        prefix = cls.backend_name.lower().replace(" ", "_").replace("-", "")
        cls.manager_key = cls._api_key(
            f"bw_{prefix}_manager", "basware_connector.group_basware_manager"
        )
        cls.user_key = cls._api_key(f"bw_{prefix}_user", "basware_connector.group_basware_user")

    @classmethod
    def _api_key(cls, login, group):
        user = new_test_user(cls.env, login=login, groups=group)
        return (
            cls.env["res.users.apikeys"]
            .with_user(user)
            ._generate(
                scope="rpc", name="integration", expiration_date=datetime.now() + cls.key_lifetime
            )
        )

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    def call_json2(self, key, model, method, ids):
        return self.url_open(
            f"/json/2/{model}/{method}",
            data=json.dumps({"ids": ids}),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )

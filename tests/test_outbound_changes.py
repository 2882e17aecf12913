"""What leaves a record reaches Basware too: a contact, an address or a bank account that
leaves a vendor, a line deleted from an order; and a change committed while a flow runs
is sent by the next run at the latest.

Where the write date decides, the tests work as Odoo does outside tests: each step in a
transaction of its own, committed, and the vendor master set up an hour before the first
run, so that only what changed since is examined again.
"""

import time
from contextlib import contextmanager, nullcontext
from datetime import timedelta
from unittest.mock import patch

from odoo import SUPERUSER_ID, Command, api
from odoo.modules.registry import Registry
from odoo.tests import tagged
from odoo.tests.common import BaseCase, get_db_name
from odoo.tools import SQL

from ..basware import constants as bw
from ..models import basware_exchange
from .common import CLIENT_ID, CLIENT_SECRET, start_key_and_sandbox
from .test_sync_outbound import SyncCase

TRUSTED_IBAN = "FI2112345600000785"
OTHER_IBAN = "FI5542345670000081"
# How long before the first run the vendor master was set up.
MASTER_AGE = timedelta(hours=1)
WRITER_SECONDS = 1.5


@tagged("post_install", "-at_install")
class TestVendorChangesCommitted(BaseCase):
    """Committed transactions on separate cursors, as the crons and the users' requests
    work: no test transaction is open meanwhile, so the write dates decide alone."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        cls.sandbox = start_key_and_sandbox(cls)

    def setUp(self):
        super().setUp()
        self.sandbox.reset()
        with self._env() as env:
            backend = env["basware.backend"].create(
                {
                    "name": "Outbound changes",
                    "environment": "test",
                    "api_url": self.sandbox.url,
                    "token_url": self.sandbox.token_url,
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "basware_company_code": "C100",
                    "request_max_attempts": 1,
                    "request_status_delay": 0,
                }
            )
            vendor = self._vendor(env, "Baltic Timber Oy", "ap@baltictimber.example", "100")
            other = self._vendor(env, "Lapland Pulp Oy", "ap@laplandpulp.example", "200")
            self.backend_id, self.vendor_id, self.other_id = backend.id, vendor.id, other.id
            self.person_id = vendor.child_ids.filtered(lambda child: child.type == "contact").id
            self.address_id = vendor.child_ids.filtered(lambda child: child.type == "delivery").id
            self.bank_id = vendor.bank_ids.id
            self._age(env, vendor | other)
        self.addCleanup(self._drop)

    @staticmethod
    def _vendor(env, name, email, street_number):
        """A vendor with a contact person, a delivery address and a trusted bank account."""
        return env["res.partner"].create(
            {
                "name": name,
                "is_company": True,
                "supplier_rank": 1,
                "street": f"Satamakatu {street_number}",
                "city": "Kotka",
                "country_id": env.ref("base.fi").id,
                "email": email,
                "child_ids": [
                    Command.create(
                        {"name": f"{name} Purchasing", "type": "contact", "email": "buy@" + email}
                    ),
                    Command.create(
                        {
                            "name": f"{name} Warehouse",
                            "type": "delivery",
                            "street": f"Varastotie {street_number}",
                            "city": "Hamina",
                        }
                    ),
                ],
                "bank_ids": [
                    Command.create(
                        {
                            "acc_number": TRUSTED_IBAN if street_number == "100" else OTHER_IBAN,
                            "allow_out_payment": True,
                        }
                    )
                ],
            }
        )

    @staticmethod
    def _age(env, vendors):
        """The vendors, their contacts and bank accounts were written MASTER_AGE ago."""
        env.flush_all()
        partner_ids = tuple((vendors | vendors.child_ids).ids)
        bank_ids = tuple(vendors.bank_ids.ids)
        for table, ids in (("res_partner", partner_ids), ("res_partner_bank", bank_ids)):
            env.cr.execute(
                SQL(
                    "UPDATE %s SET create_date = create_date - %s, write_date = write_date - %s "
                    "WHERE id IN %s",
                    SQL.identifier(table),
                    MASTER_AGE,
                    MASTER_AGE,
                    ids,
                )
            )
        env.invalidate_all()

    @contextmanager
    def _env(self):
        """A superuser environment on a cursor of its own, committed at the end."""
        with self.registry.cursor() as cr:
            yield api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})

    @contextmanager
    def _committing(self):
        """The connector commits as it does outside tests (per batch, per exchange)."""
        with patch.object(basware_exchange, "in_test_mode", return_value=False):
            yield

    def _run(self, env=None):
        """One run of the vendor flow and of the queue, phase two included, committed."""
        with self._committing(), self._env() if env is None else nullcontext(env) as run_env:
            backend = run_env["basware.backend"].browse(self.backend_id)
            backend._basware_sync_outbound(flows=["vendor"])
            Exchange = run_env["basware.exchange"]
            for _round in range(10):
                Exchange._process_backend_queue(backend, limit=1000)
                if not Exchange._due_count(backend):
                    break

    def _stored(self, partner_id):
        """The vendor as Basware holds it."""
        with self._env() as env:
            binding = env["basware.binding"].search(
                [
                    ("backend_id", "=", self.backend_id),
                    ("res_model", "=", "res.partner"),
                    ("res_id", "=", partner_id),
                ]
            )
            code = binding.external_code
        return {vendor["externalCode"]: vendor for vendor in self.sandbox.received("vendors")}[code]

    @staticmethod
    def _names(stored, key):
        return {item["name"] for item in stored.get(key, [])}

    @staticmethod
    def _accounts(stored):
        return {
            identifier["id"]
            for mean in stored.get("paymentMeans", [])
            for account in mean["financialAccounts"]
            for identifier in account["financialAccountIdentifiers"]
        }

    def test_a_deleted_contact_leaves_the_vendor(self):
        self._run()
        stored = self._stored(self.vendor_id)
        self.assertIn("Baltic Timber Oy Purchasing", self._names(stored, "contacts"))
        with self._env() as env:
            env["res.partner"].browse(self.person_id).unlink()
        self._run()
        stored = self._stored(self.vendor_id)
        self.assertEqual(self._names(stored, "contacts"), {"Baltic Timber Oy"})
        self.assertIn("Baltic Timber Oy Warehouse", self._names(stored, "addresses"))

    def test_a_deleted_address_leaves_the_vendor(self):
        self._run()
        self.assertIn(
            "Baltic Timber Oy Warehouse", self._names(self._stored(self.vendor_id), "addresses")
        )
        with self._env() as env:
            env["res.partner"].browse(self.address_id).unlink()
        self._run()
        stored = self._stored(self.vendor_id)
        self.assertEqual(self._names(stored, "addresses"), {"Baltic Timber Oy"})
        self.assertIn("Baltic Timber Oy Purchasing", self._names(stored, "contacts"))

    def test_an_address_moved_to_another_vendor_leaves_the_first(self):
        self._run()
        with self._env() as env:
            env["res.partner"].browse(self.address_id).parent_id = self.other_id
        self._run()
        self.assertNotIn(
            "Baltic Timber Oy Warehouse", self._names(self._stored(self.vendor_id), "addresses")
        )
        self.assertIn(
            "Baltic Timber Oy Warehouse", self._names(self._stored(self.other_id), "addresses")
        )

    def test_a_bank_account_moved_to_another_vendor_leaves_the_first(self):
        self._run()
        self.assertEqual(self._accounts(self._stored(self.vendor_id)), {TRUSTED_IBAN})
        with self._env() as env:
            env["res.partner.bank"].browse(self.bank_id).partner_id = self.other_id
        self._run()
        self.assertEqual(self._accounts(self._stored(self.vendor_id)), set())
        self.assertEqual(self._accounts(self._stored(self.other_id)), {TRUSTED_IBAN, OTHER_IBAN})

    def test_a_change_committed_during_a_run_is_sent_by_the_next_run_at_the_latest(self):
        """A bank account removed (Odoo archives it) in a transaction that began before a
        run and commits once the run has its snapshot; a rename that commits only after
        the run."""
        self._run()
        with self._env() as writer:
            writer["res.partner.bank"].browse(self.bank_id).unlink()
            writer.flush_all()
            # The writer's transaction lasts longer than the mark's precision (a second).
            time.sleep(WRITER_SECONDS)
            with self._env() as run_env:
                # The run's transaction has its snapshot before the writer commits, as a
                # cron's does once it has read its job.
                run_env["basware.backend"].browse(self.backend_id).name  # noqa: B018
                writer.cr.commit()
                self._run(run_env)
        self._run()
        self.assertEqual(self._accounts(self._stored(self.vendor_id)), set())

        with self._env() as writer:
            writer["res.partner"].browse(self.vendor_id).name = "Baltic Timber Group Oy"
            writer.flush_all()
            self._run()
        self._run()
        self.assertEqual(self._stored(self.vendor_id)["name"], "Baltic Timber Group Oy")

    def _drop(self):
        with self._env() as env:
            env["basware.exchange"].search([("backend_id", "=", self.backend_id)]).unlink()
            env["basware.backend"].browse(self.backend_id).unlink()
            vendors = env["res.partner"].browse([self.vendor_id, self.other_id])
            (vendors.child_ids | vendors).unlink()


@tagged("post_install", "-at_install")
class TestOrderLineRemoval(SyncCase):
    """Odoo deletes an order line only while its order is a draft (again, after its
    cancellation) or with its order: Basware gets the line marked deleted."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.product, cls.order = cls._confirmed_order("Pallet", "PALLET", 5, 12.0)
        cls.order.order_line = [
            Command.create({"product_id": cls.product.id, "product_qty": 3, "price_unit": 11.0})
        ]
        cls.kept, cls.removed = cls.order.order_line.sorted("id")

    def _sync_all(self):
        """Vendors, then orders, then their lines once Basware accepted the orders."""
        for _round in range(3):
            self._sync(["vendor", "purchase_order"])
            self._run_queue()

    def _stored_lines(self):
        return {line["externalCode"]: line for line in self.sandbox.received("matchingOrderLines")}

    def _line_code(self, line_id):
        return self.Binding.search(
            [
                ("backend_id", "=", self.backend.id),
                ("res_model", "=", "purchase.order.line"),
                ("res_id", "=", line_id),
            ]
        ).external_code

    def test_a_line_deleted_from_a_reset_order_is_deleted_in_basware(self):
        self._sync_all()
        removed_id, removed_code = self.removed.id, self._line_code(self.removed.id)
        self.assertIs(self._stored_lines()[removed_code]["isDeleted"], False)
        # No run sees the cancellation: the order is reset to draft, loses a line and is
        # confirmed again in between.
        self.order.button_cancel()
        self.order.button_draft()
        self.removed.unlink()
        self.order.button_confirm()
        self._sync_all()
        lines = self._stored_lines()
        self.assertIs(lines[removed_code]["isDeleted"], True)
        self.assertIs(lines[removed_code]["isClosed"], True)
        self.assertEqual(lines[removed_code]["quantity"], 3.0, "the line as it was")
        self.assertIs(lines[self._line_code(self.kept.id)]["isDeleted"], False)
        binding = self.Binding.search(
            [("res_id", "=", removed_id), ("external_code", "=", removed_code)]
        )
        self.assertEqual(binding.sync_state, "done", binding.sync_message)

        self.sandbox.clear_requests()
        self._sync_all()
        self.assertFalse(self._posts(bw.MATCHING_ORDER_LINES_PATH), "the deletion goes once")

    def test_the_lines_of_a_deleted_order_are_deleted_in_basware(self):
        self._sync_all()
        codes = [self._line_code(line.id) for line in self.order.order_line]
        self.order.button_cancel()
        self.order.unlink()
        self._sync_all()
        lines = self._stored_lines()
        self.assertEqual([lines[code]["isDeleted"] for code in codes], [True, True])

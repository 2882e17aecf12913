"""Bad records isolated: a write Basware refuses as a whole no longer takes its good
records down with it.

The records Basware's 400 names are rejected with its reason and the others go on; a
refusal naming none (or a server error that lasts) splits the write in halves until each
bad record stands alone. Records rejected for a whole-write failure keep no payload hash:
the next run that examines them sends them again.
"""

from odoo.tests import tagged
from odoo.tools import mute_logger

from ..basware import constants as bw
from .common import run_now
from .test_sync_outbound import QUEUE_LOGGER, SyncCase

CLIENT_LOGGER = "odoo.addons.basware_connector.basware.client"
# The sandbox's answer to an injected 400: a ResponseEntityList naming no record.
UNNAMED_REFUSAL = "The request could not be validated"


@tagged("post_install", "-at_install")
class TestBadRecordsIsolated(SyncCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.others = cls.Partner.create(
            [{"name": f"Isolated Vendor {index}", "supplier_rank": 1} for index in range(3)]
        )
        cls.vendors = cls.vendor | cls.others

    def _queue_vendors(self):
        [result] = self._sync(["vendor"])
        return result.exchanges

    def _stored_codes(self):
        return {vendor["externalCode"] for vendor in self.sandbox.received("vendors")}

    def _code(self, partner):
        return self._binding(partner).external_code

    @mute_logger(QUEUE_LOGGER)
    def _run_refusing(self, code):
        """Run the queue; Basware refuses as a whole, naming no record, every write that
        holds the record ``code``."""
        for _round in range(50):
            exchange = self.Exchange._claim_due(self.backend, 1)
            if not exchange:
                return
            if exchange.endpoint and code in (exchange.request_payload or ""):
                self.sandbox.fail_next(400, path_prefix=bw.VENDORS_PATH)
            run_now(exchange)
        self.fail("the queue does not end")

    @mute_logger(QUEUE_LOGGER)
    def test_the_records_a_400_names_are_rejected_and_the_others_go_through(self):
        odd_currency = self.env["res.currency"].create({"name": "XB", "symbol": "xb"})
        bad = self.others[1]
        self.env["res.partner.bank"].create(
            {
                "partner_id": bad.id,
                "acc_number": "FI2112345600000785",
                "allow_out_payment": True,
                "currency_id": odd_currency.id,
            }
        )
        write = self._queue_vendors()
        self.assertEqual(len(write), 1)
        self._run_queue()

        self.assertEqual((write.state, write.error_class), ("failed", "BaswareValidationError"))
        binding = self._binding(bad)
        self.assertEqual(binding.sync_state, "error")
        self.assertIn("currencyCode", binding.sync_message)
        self.assertFalse(binding.payload_hash, "not counted as sent")
        self.assertIn("Basware rejected this vendor", bad.message_ids[0].body)
        [follow_up] = write.child_ids.filtered("endpoint")
        self.assertEqual(follow_up.state, "done")
        self.assertEqual(len(follow_up.binding_ids), 3)
        good = self.vendors - bad
        self.assertEqual(self._stored_codes(), {self._code(partner) for partner in good})
        for partner in good:
            self.assertEqual(self._binding(partner).sync_state, "done")

        bad.bank_ids.currency_id = self.env.ref("base.EUR")
        fixed = self._queue_vendors()
        self.assertEqual(write.state, "superseded", "none of its records is left with it")
        self.assertEqual(write.superseded_by_ids, follow_up | fixed)
        self._run_queue()
        self.assertIn(self._code(bad), self._stored_codes())
        self.assertEqual(self._binding(bad).sync_state, "done")

    @mute_logger(QUEUE_LOGGER)
    def test_a_400_naming_no_record_splits_the_write_in_halves(self):
        write = self._queue_vendors()
        self.sandbox.fail_next(400, path_prefix=bw.VENDORS_PATH)
        run_now(write)
        self.assertEqual(write.state, "superseded")
        halves = write.child_ids
        self.assertEqual(write.superseded_by_ids, halves)
        self.assertEqual([len(half.binding_ids) for half in halves], [2, 2])
        self.assertIn("two halves", write.message_ids[0].body)
        self._run_queue()
        self.assertEqual(set(halves.mapped("state")), {"done"})
        self.assertEqual(len(self._stored_codes()), 4)
        bindings = self.Binding.search([("backend_id", "=", self.backend.id)])
        self.assertEqual(set(bindings.mapped("sync_state")), {"done"})

    def test_halves_until_the_bad_record_stands_alone(self):
        bad = self.others[0]
        self._queue_vendors()
        self._run_refusing(self._code(bad))

        binding = self._binding(bad)
        self.assertEqual(binding.sync_state, "error")
        self.assertIn(UNNAMED_REFUSAL, binding.sync_message)
        self.assertFalse(binding.payload_hash)
        self.assertIn(UNNAMED_REFUSAL, bad.message_ids[0].body)
        [alone] = binding.last_exchange_id
        self.assertEqual((alone.state, len(alone.binding_ids)), ("failed", 1))
        good = self.vendors - bad
        self.assertEqual(self._stored_codes(), {self._code(partner) for partner in good})
        for partner in good:
            self.assertEqual(self._binding(partner).sync_state, "done")
        posts = [entry for entry in self.sandbox.requests if entry["path"] == bw.VENDORS_PATH]
        # 4 → 2 + 2 → (1 + 1) + 2: five writes, three of them refused.
        self.assertEqual(len(posts), 5)

    @mute_logger(QUEUE_LOGGER, CLIENT_LOGGER)
    def test_a_server_error_that_lasts_splits_the_write(self):
        write = self._queue_vendors()
        self.sandbox.fail_next(500, count=3, path_prefix=bw.VENDORS_PATH)
        for _attempt in range(3):
            run_now(write)
        self.assertEqual(write.state, "superseded")
        self.assertEqual(len(write.child_ids), 2)
        self._run_queue()
        self.assertEqual(len(self._stored_codes()), 4)

    @mute_logger(QUEUE_LOGGER, CLIENT_LOGGER)
    def test_an_outage_is_not_split_and_its_records_are_examined_again(self):
        """A 503 or a 429 says nothing about the records: no halves, which would only
        multiply the calls; the records are rejected without a hash, and the next run that
        examines them sends them again, although their payload did not change."""
        write = self._queue_vendors()
        self.sandbox.fail_next(503, count=3, path_prefix=bw.VENDORS_PATH)
        for _attempt in range(3):
            run_now(write)
        self.assertEqual(write.state, "dead")
        self.assertFalse(write.child_ids)
        bindings = write.binding_ids
        self.assertEqual(set(bindings.mapped("sync_state")), {"error"})
        self.assertEqual(set(bindings.mapped("payload_hash")), {False})

        # A change outside the payload brings the vendors into the next run.
        self.vendors.write({"comment": "Examined again"})
        again = self._queue_vendors()
        self.assertEqual(len(again.binding_ids), 4)
        self.assertEqual(write.state, "superseded")
        self._run_queue()
        self.assertEqual(len(self._stored_codes()), 4)

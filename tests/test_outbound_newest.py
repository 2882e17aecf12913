"""Newest wins: an older payload of a record never reaches Basware after a newer one.

A write about to be sent leaves out the records a newer exchange carries, and ends
superseded, unsent, when that is all of them; a replayed done write is rebuilt from its
records as they are now. What Basware holds is read back over HTTP.
"""

import psycopg2.errors

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL, mute_logger

from ..basware import constants as bw
from .common import CLIENT_ID, CLIENT_SECRET, run_now, start_key_and_sandbox
from .test_sync_outbound import QUEUE_LOGGER, SyncCase

IBAN_A = "FI2112345600000785"
IBAN_B = "DE89370400440532013000"
IBAN_C = "GB29NWBK60161331926819"


def stored_iban(vendor):
    means = vendor["paymentMeans"][0]
    return means["financialAccounts"][0]["financialAccountIdentifiers"][0]["id"]


class NewestCase(SyncCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bank = cls.env["res.partner.bank"].create(
            {"partner_id": cls.vendor.id, "acc_number": IBAN_A, "allow_out_payment": True}
        )

    def _stored_vendor(self, partner=None):
        """The vendor as Basware holds it, read over HTTP."""
        code = self._binding(partner or self.vendor).external_code
        return self.backend._get_client().request("GET", f"{bw.VENDORS_PATH}/{code}").data

    def _queue_vendors(self):
        [result] = self._sync(["vendor"])
        return result.exchanges

    @mute_logger(QUEUE_LOGGER)
    def _fail_once(self, exchange, status=503):
        self.sandbox.fail_next(status, path_prefix=bw.VENDORS_PATH)
        run_now(exchange)


@tagged("post_install", "-at_install")
class TestNewestWins(NewestCase):
    def test_a_retried_older_write_does_not_overwrite_a_newer_one(self):
        """IBAN A → B → C, B's write retried after C's was sent: Basware ends with C."""
        self._queue_vendors()
        self._run_queue()
        self.assertEqual(stored_iban(self._stored_vendor()), IBAN_A)

        self.bank.acc_number = IBAN_B
        write_b = self._queue_vendors()
        self._fail_once(write_b)
        self.assertEqual((write_b.state, write_b.error_retryable), ("failed", True))

        self.bank.acc_number = IBAN_C
        write_c = self._queue_vendors()
        self._run_queue()
        self.assertEqual(write_c.state, "done")
        self.assertEqual(write_b.state, "failed", "B's retry is not due yet")
        self.sandbox.clear_requests()

        write_b.with_user(self.manager).action_process_now()
        self.assertEqual(write_b.state, "superseded")
        self.assertEqual(write_b.superseded_by_ids, write_c)
        self.assertFalse(self._posts(bw.VENDORS_PATH), "B is not sent")
        self.assertEqual(stored_iban(self._stored_vendor()), IBAN_C)
        binding = self._binding(self.vendor)
        self.assertEqual(binding.last_exchange_id, write_c)
        self.assertEqual(binding.sync_state, "done")

    def test_a_chunk_sends_only_the_records_no_newer_write_carries(self):
        other = self.Partner.create({"name": "Baltic Pulp AS", "supplier_rank": 1})
        both = self._queue_vendors()
        self.assertEqual(len(both.binding_ids), 2)
        self._fail_once(both)

        self.vendor.name = "Nordic Paper Group Oy"
        newer = self._queue_vendors()
        self.assertEqual(newer.binding_ids, self._binding(self.vendor))
        self._run_queue()
        self.sandbox.clear_requests()

        both.with_user(self.manager).action_process_now()
        self._run_queue()
        self.assertEqual(both.state, "done")
        [post] = self._posts(bw.VENDORS_PATH)
        sent = [vendor["externalCode"] for vendor in self.sandbox.received("vendors")]
        self.assertEqual(len(sent), 2)
        self.assertNotIn(self._binding(self.vendor).external_code, both.request_payload)
        self.assertIn(self._binding(other).external_code, both.request_payload)
        self.assertIn(str(newer.id), both.message_ids[0].body, "the newer write is named")
        self.assertEqual(self._stored_vendor()["name"], "Nordic Paper Group Oy")
        self.assertEqual(self._stored_vendor(other)["name"], "Baltic Pulp AS")
        self.assertEqual(self._binding(other).sync_state, "done")
        self.assertEqual(post["status"], 200)

    def test_an_older_answer_does_not_settle_a_newer_payload(self):
        """Basware accepting an older payload says nothing of the newer one still queued."""
        self.backend.request_status_delay = 3600
        first = self._queue_vendors()
        run_now(first)
        [poll] = first.child_ids
        self.vendor.name = "Nordic Paper Renamed"
        newer = self._queue_vendors()
        run_now(poll)
        self.assertEqual(poll.state, "done")
        binding = self._binding(self.vendor)
        self.assertEqual(binding.sync_state, "sent")
        self.assertEqual(binding.last_exchange_id, newer)

    @mute_logger(QUEUE_LOGGER)
    def test_a_stopped_write_is_superseded_once_its_record_is_queued_again(self):
        refused = self._queue_vendors()
        self._fail_once(refused, status=400)
        self.assertEqual((refused.state, refused.error_retryable), ("failed", False))
        self.vendor.name = "Nordic Paper Fixed Oy"
        newer = self._queue_vendors()
        self.assertEqual(refused.state, "superseded")
        self.assertEqual(refused.superseded_by_ids, newer)
        self.assertEqual(newer.state, "pending")

    def test_superseded_writes_are_counted_and_purged_like_done_ones(self):
        self._queue_vendors()
        self._run_queue()
        self.bank.acc_number = IBAN_B
        write_b = self._queue_vendors()
        self._fail_once(write_b)
        self.bank.acc_number = IBAN_C
        self._queue_vendors()
        self._run_queue()
        write_b.with_user(self.manager).action_process_now()
        self.assertEqual(self.backend.dashboard_superseded_today, 1)
        action = self.backend.action_open_superseded_today()
        self.assertEqual(self.Exchange.search(action["domain"]), write_b)
        write_b._queue_edit().date_done = "2000-01-01 00:00:00"
        self.Exchange._cron_purge_done()
        self.assertFalse(write_b.exists())


@tagged("post_install", "-at_install")
class TestReplayRebuilds(NewestCase):
    def test_replaying_an_old_done_write_sends_the_record_as_it_is_now(self):
        first = self._queue_vendors()
        self._run_queue()
        self.bank.acc_number = IBAN_C
        self._queue_vendors()
        self._run_queue()
        self.assertIn(IBAN_A, first.request_payload)

        first.with_user(self.manager).action_replay()
        self.assertNotIn(IBAN_A, first.request_payload)
        self.assertIn(IBAN_C, first.request_payload)
        [before] = first.message_ids.attachment_ids
        self.assertIn(IBAN_A, before.raw.decode())
        self.assertEqual(self._binding(self.vendor).last_exchange_id, first)
        self._run_queue()
        self.assertEqual(first.state, "done")
        self.assertEqual(stored_iban(self._stored_vendor()), IBAN_C)

    def test_a_write_of_deleted_records_cannot_be_replayed(self):
        contact_vendor = self.Partner.create({"name": "Short Lived Oy", "supplier_rank": 1})
        self.vendor.supplier_rank = 0
        write = self._queue_vendors()
        self._run_queue()
        self.assertEqual(write.binding_ids.mapped("res_id"), contact_vendor.ids)
        contact_vendor.unlink()
        with self.assertRaisesRegex(UserError, "none of its records can be sent again"):
            write.with_user(self.manager).action_replay()
        self.assertEqual(write.state, "done")


@tagged("post_install", "-at_install")
class TestNewerWaitsForTheSend(TransactionCase):
    """Committed transactions: a worker sending a record's payload holds its binding until
    it commits, so that a newer payload is queued (and sent) only after it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = start_key_and_sandbox(cls)

    def _committed_write(self):
        with self.env.registry.cursor() as cr:
            env = self.env(cr=cr)
            partner = env["res.partner"].create(
                {"name": "Concurrent Paper Oy", "is_company": True, "supplier_rank": 1}
            )
            backend = env["basware.backend"].create(
                {
                    "name": "Newest waits",
                    "environment": "test",
                    "api_url": self.sandbox.url,
                    "token_url": self.sandbox.token_url,
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "basware_company_code": "C100",
                    "vendor_domain": f"[('id', '=', {partner.id})]",
                }
            )
            [result] = backend._basware_sync_outbound(["vendor"])
            ids = (backend.id, partner.id, result.exchanges.id)
        self.addCleanup(self._drop_committed, *ids)
        return ids

    def test_a_newer_payload_waits_for_the_send_of_the_older(self):
        backend_id, partner_id, exchange_id = self._committed_write()
        with self.env.registry.cursor() as worker_cr:
            worker = self.env(cr=worker_cr)
            backend = worker["basware.backend"].browse(backend_id)
            # The worker has sent the write and not committed its outcome yet.
            worker["basware.exchange"].browse(exchange_id)._run_post(backend._get_client())
            with self.env.registry.cursor() as sync_cr:
                sync = self.env(cr=sync_cr)
                sync_cr.execute(SQL("SET LOCAL lock_timeout = '300ms'"))
                sync["res.partner"].browse(partner_id).name = "Concurrent Paper Group Oy"
                with (
                    self.assertRaises(psycopg2.errors.LockNotAvailable),
                    mute_logger("odoo.sql_db"),
                ):
                    sync["basware.backend"].browse(backend_id)._basware_sync_outbound(["vendor"])
                sync_cr.rollback()
            worker_cr.rollback()

    def _drop_committed(self, backend_id, partner_id, exchange_id):
        with self.env.registry.cursor() as cr:
            env = self.env(cr=cr)
            env["basware.exchange"].search([("backend_id", "=", backend_id)]).unlink()
            env["basware.backend"].browse(backend_id).unlink()
            env["res.partner"].browse(partner_id).unlink()

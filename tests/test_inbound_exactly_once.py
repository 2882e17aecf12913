"""Each Basware invoice gives one bill, whatever offers it again or runs it twice.

The first class works in the test transaction: a second pull, a replay, a re-transfer.
The second works with committed transactions and separate cursors, as workers do: a
worker killed between acknowledge and post, one killed after posting and before the
answer, and two cursors importing the same invoice at the same moment.
"""

import json
import threading
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL, mute_logger

from ..basware import constants as bw
from ..models import basware_exchange as queue
from ..models.basware_exchange_import import CONCURRENT_IMPORT_ERROR, INBOUND_FLOW_KINDS
from .common import CommittedBackendMixin
from .inbound_common import (
    COMPANY_CODE,
    DOCUMENTS_PATH,
    InboundCase,
    approve,
    basware_document,
    booking_values,
    calls,
    transfer_responses,
)

INBOUND_LOGGER = "odoo.addons.basware_connector.models.basware_exchange_import"
QUEUE_LOGGER = "odoo.addons.basware_connector.models.basware_exchange"
SQL_LOGGER = "odoo.sql_db"
THREAD_TIMEOUT = 60


@tagged("post_install", "-at_install")
class TestOfferedAgain(InboundCase):
    def test_pulled_twice_is_inboxed_once(self):
        invoice_id = self.approve()["invoiceId"]
        client = self.backend._get_client()
        first = self.backend._basware_pull_documents(client, acknowledge=False)
        second = self.backend._basware_pull_documents(client, acknowledge=False)
        self.assertEqual(len(first), 1)
        self.assertEqual(first, second)
        self.assertFalse(first.acknowledged)

        # An acknowledge that fails leaves the invoice listed: the next pull finds its inbox.
        self.sandbox.fail_next(503, path_prefix=f"{DOCUMENTS_PATH}/{invoice_id}/acknowledge")
        with mute_logger(INBOUND_LOGGER):
            third = self.backend._basware_pull_documents(client)
        self.assertEqual(third, first)
        self.assertFalse(first.acknowledged)
        self.assertEqual(self.status_of(invoice_id), bw.PS_WAITING_FOR_TRANSFER)
        fourth = self.backend._basware_pull_documents(client)
        self.assertEqual(fourth, first)
        self.assertTrue(first.acknowledged)

        self.run_queue()
        self.assertEqual(self.import_exchange(invoice_id), first)
        bill = self.bills_of(invoice_id)
        self.assertEqual(len(bill), 1)
        self.assertTransferredAs(invoice_id, bill)
        self.assertEqual(len(transfer_responses(self.sandbox, invoice_id)), 1)

    def test_an_acknowledge_basware_has_already_counts_as_done(self):
        invoice_id = self.approve()["invoiceId"]
        client = self.backend._get_client()
        exchange = self.backend._basware_pull_documents(client)
        self.assertTrue(exchange.acknowledged)
        # As if the flag were lost with a rolled-back attempt: the import acknowledges again.
        exchange._queue_edit().write({"acknowledged": False})

        self.run_queue()

        acknowledges = calls(self.sandbox, "POST", f"{invoice_id}/acknowledge")
        self.assertEqual([entry["status"] for entry in acknowledges], [200, 405])
        self.assertEqual(exchange.state, queue.STATE_DONE)
        self.assertTransferredAs(invoice_id, self.bills_of(invoice_id))

    def test_replay_of_an_imported_invoice_creates_no_second_bill(self):
        invoice_id = self.approve()["invoiceId"]
        self.import_documents()
        bill = self.bills_of(invoice_id)
        exchange = self.import_exchange(invoice_id)

        exchange.with_user(self.manager).action_replay()
        self.run_queue()

        self.assertEqual(self.bills_of(invoice_id), bill)
        self.assertEqual(exchange.state, queue.STATE_DONE)
        answers = exchange.child_ids.filtered(
            lambda child: child.kind == queue.KIND_TRANSFER_RESPONSE
        )
        self.assertEqual(len(answers), 2)
        self.assertEqual(set(answers.mapped("state")), {queue.STATE_DONE})
        # Basware refused the second answer: it holds the first, with this very bill.
        self.assertEqual(len(transfer_responses(self.sandbox, invoice_id)), 1)
        self.assertTransferredAs(invoice_id, bill)

    def test_retransfer_of_an_imported_invoice_is_answered_with_the_same_bill(self):
        invoice_id = self.approve()["invoiceId"]
        self.import_documents()
        bill = self.bills_of(invoice_id)

        self.sandbox.retransfer(invoice_id)
        result = self.import_documents()

        self.assertIn("1 imported", result["params"]["message"])
        self.assertEqual(self.bills_of(invoice_id), bill)
        self.assertEqual(len(self.import_exchange(invoice_id)), 1)
        responses = transfer_responses(self.sandbox, invoice_id)
        self.assertEqual([r["voucherNumber1"] for r in responses], [bill.name, bill.name])
        self.assertEqual(len({r["externalCode"] for r in responses}), 2)
        self.assertTransferredAs(invoice_id, bill)

    def test_retransfer_after_a_failed_answer_is_imported_once_fixed(self):
        invoice_id = self.approve(supplier_code="V-3999")["invoiceId"]
        with mute_logger(QUEUE_LOGGER):
            self.import_documents()
        exchange = self.import_exchange(invoice_id)
        self.assertEqual(exchange.state, queue.STATE_FAILED)
        self.assertEqual(self.status_of(invoice_id), bw.PS_TRANSFER_FAILED)

        self.env["res.partner"].create({"name": "Late Vendor", "ref": "V-3999"})
        self.sandbox.retransfer(invoice_id)
        self.import_documents()

        self.assertEqual(self.import_exchange(invoice_id), exchange)
        self.assertEqual(exchange.state, queue.STATE_DONE)
        bill = self.bills_of(invoice_id)
        self.assertEqual(len(bill), 1)
        self.assertTransferredAs(invoice_id, bill)
        success = [r["success"] for r in transfer_responses(self.sandbox, invoice_id)]
        self.assertEqual(success, [False, True])

    def test_an_answer_that_reached_basware_is_not_sent_twice(self):
        """The attempt failed here after Basware took the answer: the retry finds it there."""
        self.backend.invoice_post_mode = "draft"
        invoice_id = self.approve()["invoiceId"]
        self.import_documents()
        bill = self.bills_of(invoice_id)
        bill.action_post()
        answer = self.Exchange._bill_responses(bill)
        body = json.loads(answer.request_payload)["response"]
        self.backend._get_client().post_transfer_response(invoice_id, body)

        self.run_queue()

        self.assertEqual(answer.state, queue.STATE_DONE)
        self.assertTrue(json.loads(answer.response_payload)["recorded_before"])
        self.assertEqual(len(transfer_responses(self.sandbox, invoice_id)), 1)
        self.assertTransferredAs(invoice_id, bill)

    def test_a_new_inbox_of_an_imported_invoice_finds_its_bill(self):
        """The import exchange of a long-imported invoice was purged; Basware offers it again."""
        invoice_id = self.approve()["invoiceId"]
        self.import_documents()
        bill = self.bills_of(invoice_id)
        old = self.import_exchange(invoice_id)
        (old.child_ids.child_ids | old.child_ids | old).unlink()

        self.sandbox.retransfer(invoice_id)
        self.import_documents()

        new = self.import_exchange(invoice_id)
        self.assertEqual(new.state, queue.STATE_DONE, new.error_message)
        self.assertEqual(self.bills_of(invoice_id), bill)
        self.assertTransferredAs(invoice_id, bill)


class WorkerKilled(BaseException):
    """Stands for a killed process: nothing in the flow may catch it."""


@tagged("post_install", "-at_install")
class TestCommittedWorkers(CommittedBackendMixin, TransactionCase):
    """Real transactions: the setup and every worker run commit as outside tests."""

    def setUp(self):
        super().setUp()
        self.sandbox.reset()
        self.record_refs = []
        self.backend_id = self.committed_backend(
            "Inbound committed",
            basware_company_code=COMPANY_CODE,
            request_max_attempts=1,
            # phase two is not part of these tests: its polls are not due yet
            request_status_delay=3600,
        )
        self.record_refs = self.committed(self._booking_records)

    # --- committed setup and cleanup ---------------------------------------------------

    @staticmethod
    def _booking_records(env):
        """The vendor, account and tax the invoices book to, committed."""
        values = booking_values(" (committed)")
        records = [
            env["res.partner"].create(values["vendor"]),
            env["account.account"].create(values["account"]),
            env["account.tax"].create(values["tax"]),
        ]
        return [(record._name, record.id) for record in records]

    def drop_committed(self, env, backend_id):
        """The bills go first, the records they book to last."""
        bills = env["account.move"].search([("basware_backend_id", "=", backend_id)])
        bills.filtered(lambda bill: bill.state == "posted").button_draft()
        env["ir.attachment"].search(
            [("res_model", "=", "account.move"), ("res_id", "in", bills.ids)]
        ).unlink()
        bills.with_context(force_delete=True).unlink()
        result = super().drop_committed(env, backend_id)
        for model, record_id in reversed(self.record_refs):
            env[model].browse(record_id).unlink()
        return result

    # --- workers -----------------------------------------------------------------------

    def _worker(self, work):
        """``work(env)`` in a transaction of its own, committing as a cron worker does."""
        with patch.object(queue, "in_test_mode", return_value=False):
            return self.committed(work)

    def _import(self, env):
        env["basware.backend"].browse(self.backend_id)._basware_import()

    def _process(self, env, ids=None):
        backend = env["basware.backend"].browse(self.backend_id)
        Exchange = env["basware.exchange"]
        if ids:
            Exchange._run_for_backend(backend, Exchange._iter_claim_ids(backend, ids))
        else:
            Exchange._process_backend_queue(backend, kinds=INBOUND_FLOW_KINDS)

    def _read(self, invoice_id):
        """(bill names and states, import exchange states, their answers' states), committed."""
        with self.env.registry.cursor() as cr:
            env = self.env(cr=cr)
            bills = env["account.move"].search(
                [
                    ("basware_backend_id", "=", self.backend_id),
                    ("basware_invoice_id", "=", invoice_id),
                ]
            )
            imports = env["basware.exchange"].search(
                [
                    ("backend_id", "=", self.backend_id),
                    ("kind", "=", queue.KIND_ACCOUNTING_DOCUMENT),
                    ("external_code", "=", invoice_id),
                ],
                order="id",
            )
            answers = imports.child_ids.filtered(
                lambda child: child.kind == queue.KIND_TRANSFER_RESPONSE
            ).sorted("id")
            return (
                [(bill.name, bill.state) for bill in bills],
                [(exchange.state, exchange.acknowledged) for exchange in imports],
                answers.mapped("state"),
            )

    def _approve(self):
        return approve(self.sandbox, self.env)["invoiceId"]

    def _requeue_stuck(self):
        """The stuck requeue, once the backend's runs in progress are older than its delay."""

        def requeue(env):
            Exchange = env["basware.exchange"]
            started = fields.Datetime.now() - timedelta(minutes=Exchange._stuck_minutes() + 1)
            env.cr.execute(
                SQL(
                    "UPDATE basware_exchange SET date_started = %s "
                    "WHERE backend_id = %s AND state = %s",
                    started,
                    self.backend_id,
                    queue.STATE_IN_PROGRESS,
                )
            )
            return Exchange._requeue_stuck()

        self.assertTrue(self.committed(requeue))

    def _backend_class(self):
        return type(self.env["basware.backend"])

    def _exchange_class(self):
        return type(self.env["basware.exchange"])

    # --- tests -------------------------------------------------------------------------

    def test_worker_killed_between_acknowledge_and_post_recovers(self):
        invoice_id = self._approve()

        def killed(backend, document, attachments=()):
            raise WorkerKilled()

        with (
            patch.object(self._backend_class(), "_basware_create_bill", killed),
            self.assertRaises(WorkerKilled),
        ):
            self._worker(self._import)
        bills, imports, answers = self._read(invoice_id)
        self.assertEqual(bills, [])
        # Inboxed and acknowledged; the killed attempt stays counted, for the requeue.
        self.assertEqual(imports, [(queue.STATE_IN_PROGRESS, True)])
        self.assertEqual(answers, [])
        self.assertEqual(
            basware_document(self.sandbox, invoice_id)["processingStatus"],
            bw.PS_TRANSFER_IN_PROGRESS,
        )

        self._requeue_stuck()
        self._worker(self._import)
        bills, imports, answers = self._read(invoice_id)
        [(name, state)] = bills
        self.assertEqual(state, "posted")
        self.assertEqual(imports, [(queue.STATE_DONE, True)])
        self.assertEqual(answers, [queue.STATE_DONE])
        document = basware_document(self.sandbox, invoice_id)
        self.assertEqual(
            (document["processingStatus"], document["voucherNumber1"]),
            (bw.PS_TRANSFERRED, name),
        )
        self.assertEqual(len(transfer_responses(self.sandbox, invoice_id)), 1)

    def test_worker_killed_after_posting_sends_the_answer_next_run(self):
        invoice_id = self._approve()

        def killed(exchange, client):
            raise WorkerKilled()

        with (
            patch.object(self._exchange_class(), "_run_transfer_response", killed),
            self.assertRaises(WorkerKilled),
        ):
            self._worker(self._import)
        bills, imports, answers = self._read(invoice_id)
        [(name, state)] = bills
        self.assertEqual(state, "posted", "the bill and its import's outcome are committed")
        self.assertEqual(imports, [(queue.STATE_DONE, True)])
        self.assertEqual(answers, [queue.STATE_IN_PROGRESS], "the killed attempt is counted")
        self.assertFalse(transfer_responses(self.sandbox, invoice_id))

        self._requeue_stuck()
        self._worker(self._import)
        bills, imports, answers = self._read(invoice_id)
        self.assertEqual(bills, [(name, "posted")])
        self.assertEqual(answers, [queue.STATE_DONE])
        [response] = transfer_responses(self.sandbox, invoice_id)
        self.assertEqual(response["voucherNumber1"], name)
        self.assertEqual(
            basware_document(self.sandbox, invoice_id)["processingStatus"], bw.PS_TRANSFERRED
        )

    def _inboxed(self):
        """An approved invoice, pulled, committed and acknowledged; return its id."""
        invoice_id = self._approve()

        def pull(env):
            backend = env["basware.backend"].browse(self.backend_id)
            with backend._get_client() as client:
                backend._basware_pull_documents(client)

        self._worker(pull)
        return invoice_id

    def _run_at_once(self, *works):
        """Run each ``work(env)`` in its own thread and committed transaction, together."""
        errors = []

        def run(work):
            try:
                self.committed(work)
            except Exception as error:  # noqa: BLE001 - reported to the test below
                errors.append(error)

        threads = [threading.Thread(target=run, args=(work,)) for work in works]
        # Patched once for both threads: patching is not thread-safe.
        with patch.object(queue, "in_test_mode", return_value=False):
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(THREAD_TIMEOUT)
        self.assertFalse(any(thread.is_alive() for thread in threads), "a worker hangs")
        self.assertEqual(errors, [])

    def test_two_pulls_at_once_inbox_each_invoice_once(self):
        invoice_ids = sorted(self._approve() for _index in range(3))
        barrier = threading.Barrier(2, timeout=THREAD_TIMEOUT)
        exchange_class = self._exchange_class()
        inbox_new = exchange_class._inbox_new

        def together(exchanges, backend, documents):
            # Both pulls looked the page up and found nothing: both insert it.
            barrier.wait()
            return inbox_new(exchanges, backend, documents)

        def pull(env):
            backend = env["basware.backend"].browse(self.backend_id)
            with backend._get_client() as client:
                backend._basware_pull_documents(client)

        with patch.object(exchange_class, "_inbox_new", together):
            self._run_at_once(pull, pull)
        with self.env.registry.cursor() as cr:
            imports = self.env(cr=cr)["basware.exchange"].search(
                [
                    ("backend_id", "=", self.backend_id),
                    ("kind", "=", queue.KIND_ACCOUNTING_DOCUMENT),
                ]
            )
            self.assertEqual(sorted(imports.mapped("external_code")), invoice_ids)
            self.assertEqual(set(imports.mapped("acknowledged")), {True})
        acknowledges = [
            entry
            for entry in self.sandbox.requests
            if entry["method"] == "POST" and entry["path"].endswith("/acknowledge")
        ]
        self.assertEqual(len(acknowledges), len(invoice_ids))

    def test_two_workers_on_the_same_invoice_make_one_bill(self):
        invoice_id = self._inboxed()
        barrier = threading.Barrier(2, timeout=THREAD_TIMEOUT)

        def worker(env):
            barrier.wait()
            self._process(env)

        self._run_at_once(worker, worker)
        bills, imports, answers = self._read(invoice_id)
        self.assertEqual(len(bills), 1)
        self.assertEqual(imports, [(queue.STATE_DONE, True)])
        self.assertEqual(answers, [queue.STATE_DONE])
        self.assertEqual(len(transfer_responses(self.sandbox, invoice_id)), 1)

    def test_two_imports_of_one_invoice_at_once_make_one_bill(self):
        """Past the exchange's lock: two import exchanges of one invoice, each run by its
        own cursor while the other creates the bill. The unique index keeps one."""
        invoice_id = self._inboxed()

        def second_inbox(env):
            Exchange = env["basware.exchange"]
            first = Exchange.search([("external_code", "=", invoice_id)])
            backend = env["basware.backend"].browse(self.backend_id)
            copy = Exchange._enqueue(
                backend,
                queue.KIND_ACCOUNTING_DOCUMENT,
                queue.DIRECTION_INBOUND,
                payload=first._document(),
                dedup_key=f"second:{invoice_id}",
                external_code=invoice_id,
            )
            copy._queue_edit().write({"acknowledged": True})
            return first.id, copy.id

        first_id, second_id = self._worker(second_inbox)
        barrier = threading.Barrier(2, timeout=THREAD_TIMEOUT)
        create_bill = self._backend_class()._basware_create_bill

        def together(backend, document, attachments=()):
            barrier.wait()
            return create_bill(backend, document, attachments=attachments)

        with (
            patch.object(self._backend_class(), "_basware_create_bill", together),
            # The unique index refuses the second bill: PostgreSQL's error is logged.
            mute_logger(QUEUE_LOGGER, SQL_LOGGER),
        ):
            self._run_at_once(
                lambda env: self._process(env, [first_id]),
                lambda env: self._process(env, [second_id]),
            )
        bills, imports, _answers = self._read(invoice_id)
        self.assertEqual(len(bills), 1)
        states = sorted(state for state, _ack in imports)
        self.assertEqual(states, [queue.STATE_DONE, queue.STATE_FAILED])
        with self.env.registry.cursor() as cr:
            failed = self.env(cr=cr)["basware.exchange"].search(
                [("id", "in", [first_id, second_id]), ("state", "=", queue.STATE_FAILED)]
            )
            self.assertTrue(failed.error_retryable)
            self.assertEqual(failed.error_message, CONCURRENT_IMPORT_ERROR)
            failed_id = failed.id

        # Its retry finds the bill and answers with its number.
        self._worker(lambda env: self._process(env, [failed_id]))
        self._worker(self._process)
        bills_after, imports, answers = self._read(invoice_id)
        self.assertEqual(bills_after, bills)
        self.assertEqual(sorted(state for state, _ack in imports), [queue.STATE_DONE] * 2)
        self.assertEqual(set(answers), {queue.STATE_DONE})
        [(name, _state)] = bills
        self.assertEqual(
            [r["voucherNumber1"] for r in transfer_responses(self.sandbox, invoice_id)], [name]
        )

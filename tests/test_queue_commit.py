"""Commit per exchange, shown with real transactions: committed rows, separate cursors.

A worker killed while it runs the third of three exchanges loses only that one: the
outcomes of the first two are committed, the third's attempt too, and once the stuck
requeue puts it back the next run sends only the third.
"""

from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from ..basware import constants as bw
from ..models import basware_exchange
from .common import CommittedBackendMixin, enqueue_post, vendor


class WorkerKilled(BaseException):
    """Stands for a killed process: nothing in the queue may catch it."""


@tagged("post_install", "-at_install")
class TestCommitPerExchange(CommittedBackendMixin, TransactionCase):
    def _committed_setup(self):
        """A backend and three one-vendor writes, committed as a real enqueue would be."""
        backend_id = self.committed_backend(
            "Commit per exchange",
            request_max_attempts=1,
            # phase two is not part of this test: its polls are not due yet
            request_status_delay=3600,
        )

        def enqueue(env):
            backend = env["basware.backend"].browse(backend_id)
            exchanges = env["basware.exchange"]
            for index in range(3):
                exchanges |= enqueue_post(
                    exchanges, backend, "vendor", bw.VENDORS_PATH, [vendor(index)]
                )
            return exchanges.ids

        return backend_id, self.committed(enqueue)

    def _run_queue(self, backend_id):
        """One worker run in its own transaction, committing as outside tests."""
        with (
            patch.object(basware_exchange, "in_test_mode", return_value=False),
            self.env.registry.cursor() as cr,
        ):
            env = self.env(cr=cr)
            env["basware.exchange"]._process_backend_queue(
                env["basware.backend"].browse(backend_id)
            )

    def _requeue_stuck(self, exchange_id):
        """The stuck requeue, once the run of ``exchange_id`` is older than the stuck delay."""
        with self.env.registry.cursor() as cr:
            env = self.env(cr=cr)
            Exchange = env["basware.exchange"]
            started = fields.Datetime.now() - timedelta(minutes=Exchange._stuck_minutes() + 1)
            cr.execute(
                SQL(
                    "UPDATE basware_exchange SET date_started = %s WHERE id = %s",
                    started,
                    exchange_id,
                )
            )
            return Exchange._requeue_stuck().ids

    def _read_states(self, ids):
        with self.env.registry.cursor() as cr:
            exchanges = self.env(cr=cr)["basware.exchange"].browse(ids)
            return [(exchange.state, exchange.attempt_count) for exchange in exchanges]

    def _vendor_posts(self):
        return [
            entry
            for entry in self.sandbox.requests
            if entry["method"] == "POST" and entry["path"] == bw.VENDORS_PATH
        ]

    def test_outcomes_survive_a_killed_worker(self):
        backend_id, ids = self._committed_setup()
        exchange_class = type(self.env["basware.exchange"])
        run_post = exchange_class._run_post

        def killed_on_third(exchange, client):
            if exchange.id == ids[2]:
                raise WorkerKilled()
            return run_post(exchange, client)

        with (
            patch.object(exchange_class, "_run_post", killed_on_third),
            self.assertRaises(WorkerKilled),
        ):
            self._run_queue(backend_id)
        # The killed attempt was committed before its handler ran: it stays counted.
        self.assertEqual(self._read_states(ids), [("done", 1), ("done", 1), ("in_progress", 1)])
        self.assertEqual(len(self._vendor_posts()), 2)

        self._run_queue(backend_id)
        self.assertEqual(self._read_states(ids)[2], ("in_progress", 1), "left to the requeue")
        self.assertEqual(self._requeue_stuck(ids[2]), [ids[2]])
        self._run_queue(backend_id)
        self.assertEqual(self._read_states(ids), [("done", 1), ("done", 1), ("done", 2)])
        posts = self._vendor_posts()
        self.assertEqual(len(posts), 3, "nothing is sent twice")
        self.assertEqual(len({entry["request_id"] for entry in posts}), 3)

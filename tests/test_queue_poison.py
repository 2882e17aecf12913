"""A poison exchange ends: one whose run kills its worker is dead after Max Attempts kills.

Real worker processes on the test database, killed with SIGKILL as the hard time limit or
the OOM killer do: the attempt each one began is committed before its handler runs, the
stuck requeue counts each interrupted run, and never takes a live worker's run for a dead
one, however old it is.
"""

import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from unittest.mock import patch

from odoo.tests import TransactionCase, tagged
from odoo.tools import config

from ..basware import constants as bw
from ..models import basware_crypto
from ..models import basware_exchange as queue
from .common import CommittedBackendMixin, enqueue_post, vendor

# Loading a registry takes seconds, more on a busy machine.
START_TIMEOUT = 300
EXIT_TIMEOUT = 30
# How long a handler blocks: the test kills the worker long before.
BLOCKED_SECONDS = 600
RUNNING = "running"
DB_OPTIONS = ("db_host", "db_port", "db_user", "db_password")

# A cron worker in a process of its own: it runs the backend's queue, whose handler
# blocks after telling the test which exchange it runs.
WORKER = f"""
import sys, time
from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry
from odoo.tools import config

db_name, backend_id = sys.argv[1], int(sys.argv[2])
config.parse_config(sys.argv[3:])
registry = Registry(db_name)


def blocked(exchange, client):
    print("{RUNNING}", exchange.id, flush=True)
    time.sleep({BLOCKED_SECONDS})


registry["basware.exchange"]._run_post = blocked
with registry.cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {{}})
    env["basware.exchange"]._process_backend_queue(env["basware.backend"].browse(backend_id))
"""


@tagged("post_install", "-at_install")
class TestPoisonExchange(CommittedBackendMixin, TransactionCase):
    def setUp(self):
        super().setUp()
        # Two attempts allowed, and one vendor write.
        self.backend_id = self.committed_backend("Poison exchange", exchange_max_attempts=2)
        self.exchange_id = self.committed(self._enqueue).id

    def _enqueue(self, env):
        backend = env["basware.backend"].browse(self.backend_id)
        return enqueue_post(
            env["basware.exchange"], backend, queue.KIND_VENDOR, bw.VENDORS_PATH, [vendor(1)]
        )

    # --- workers -----------------------------------------------------------------------

    def _worker_args(self):
        args = [f"--addons-path={','.join(config['addons_path'])}", "--log-level=warn"]
        args += [f"--{option}={config[option]}" for option in DB_OPTIONS if config.get(option)]
        return [self.env.cr.dbname, str(self.backend_id), *args]

    def _start_worker(self):
        """A worker process running the backend's queue; return it once its handler runs."""
        stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed by a cleanup
        self.addCleanup(stderr.close)
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(sys.path),
            **{basware_crypto.KEY_ENV_VAR: config[basware_crypto.KEY_OPTION]},
        )
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER, *self._worker_args()],
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        self.addCleanup(self._kill, worker)
        line = self._read_line(worker)
        if line.split() != [RUNNING, str(self.exchange_id)]:
            stderr.seek(0)
            self.fail(f"the worker did not run the exchange: {line!r}\n{stderr.read()[-3000:]}")
        return worker

    @staticmethod
    def _read_line(worker):
        deadline = time.monotonic() + START_TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(worker.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if selector.select(timeout=deadline - time.monotonic()):
                    return worker.stdout.readline()
        return ""

    @staticmethod
    def _kill(worker):
        """SIGKILL, as the hard time limit and the OOM killer do: nothing runs after it."""
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=EXIT_TIMEOUT)
        worker.stdout.close()

    # --- the queue, seen from outside -----------------------------------------------------

    def _read(self):
        with self.env.registry.cursor() as cr:
            exchange = self.env(cr=cr)["basware.exchange"].browse(self.exchange_id)
            return {
                "state": exchange.state,
                "attempts": exchange.attempt_count,
                "interrupted": exchange.interrupted_count,
                "error_class": exchange.error_class,
                "error_message": exchange.error_message,
                "due": bool(exchange.next_attempt_at),
                "chatter": exchange.message_ids.mapped("body"),
            }

    def _requeue_stuck_of_any_age(self):
        """The stuck requeue, committed, as if every run began long ago: only the lock
        tells a live run from a dead one."""
        with self.env.registry.cursor() as cr:
            Exchange = self.env(cr=cr)["basware.exchange"]
            with patch.object(type(Exchange), "_stuck_minutes", return_value=-1):
                return Exchange._requeue_stuck().ids

    # --- tests -------------------------------------------------------------------------

    def test_an_exchange_that_kills_its_workers_ends_dead(self):
        worker = self._start_worker()
        running = self._read()
        self.assertEqual((running["state"], running["attempts"]), ("in_progress", 1))
        self.assertNotIn(self.exchange_id, self._requeue_stuck_of_any_age(), "its worker is alive")
        self._kill(worker)
        self.assertEqual(self._read()["state"], "in_progress", "the killed attempt stays")

        self.assertIn(self.exchange_id, self._requeue_stuck_of_any_age())
        requeued = self._read()
        self.assertEqual(
            (requeued["state"], requeued["attempts"], requeued["interrupted"]), ("failed", 1, 1)
        )
        self.assertEqual(requeued["error_class"], queue.STUCK_ERROR_CLASS)
        self.assertTrue(requeued["due"], "retried at once")

        # Claimed first again, it kills its second worker: Max Attempts (2) interruptions.
        self._kill(self._start_worker())
        self.assertIn(self.exchange_id, self._requeue_stuck_of_any_age())
        dead = self._read()
        self.assertEqual((dead["state"], dead["attempts"], dead["interrupted"]), ("dead", 2, 2))
        self.assertIn("interrupted 2 time(s) (worker killed: time limit", dead["error_message"])
        self.assertFalse(dead["due"])
        self.assertTrue(any("Basware exchange stopped" in body for body in dead["chatter"]))

"""The sandbox command line, run as `python -m sandbox` from the addon root."""

import json
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from odoo.tests.common import BaseCase

from ..sandbox import SandboxServer

ADDON_ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ("serve", "reset", "approve", "received", "faults")
RUN_TIMEOUT = 30
START_TIMEOUT = 20
URL_LINE = re.compile(r"Basware sandbox at (http://\S+)")


def sandbox_env(**values):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    return {**env, **values}


class TestSandboxCommandLine(BaseCase):
    def run_cli(self, *args, env=None):
        return subprocess.run(
            [sys.executable, "-m", "sandbox", *args],
            cwd=ADDON_ROOT,
            env=env or sandbox_env(),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )

    def test_help(self):
        result = self.run_cli("--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        for command in COMMANDS:
            self.assertIn(command, result.stdout)
        for command in COMMANDS:
            with self.subTest(command=command):
                result = self.run_cli(command, "--help")
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertIn(f"python -m sandbox {command}", result.stdout)
        result = self.run_cli("serve", "--help")
        self.assertIn("--retry-after-format {seconds,date}", result.stdout)
        self.assertIn("--prebook", self.run_cli("approve", "--help").stdout)
        # fault options say what they do, with their unit and range
        faults_help = " ".join(self.run_cli("faults", "--help").stdout.split())
        self.assertIn("share of API calls answered 429 Too Many Requests, 0.0 to 1.0", faults_help)
        self.assertIn("seconds added before every answer", faults_help)
        self.assertIn("500 to 599", faults_help)
        # A broken environment value does not break --help, only the run that uses it.
        broken = sandbox_env(SANDBOX_PORT="not-a-port")
        self.assertEqual(self.run_cli("serve", "--help", env=broken).returncode, 0)
        result = self.run_cli("received", "vendors", env=broken)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--port", result.stderr)

    def start_serve(self, *args):
        handle, db = tempfile.mkstemp(suffix=".sqlite3")
        os.close(handle)
        self.addCleanup(os.remove, db)
        proc = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "serve", "--port", "0", "--db", db, *args],
            cwd=ADDON_ROOT,
            env=sandbox_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.addCleanup(self._reap, proc)
        return proc, self._read_url(proc)

    def _read_url(self, proc):
        deadline = time.monotonic() + START_TIMEOUT
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not selector.select(timeout=deadline - time.monotonic()):
                    break
                line = proc.stdout.readline()
                if not line:
                    break
                match = URL_LINE.search(line)
                if match:
                    return match.group(1)
        self.fail(f"the sandbox did not start: {proc.poll()} {proc.stderr.read()}")

    @staticmethod
    def _reap(proc):
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=RUN_TIMEOUT)

    def test_serve_stops_cleanly_on_sigint_and_sigterm(self):
        for signum in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=signum.name):
                proc, url = self.start_serve("--retry-after-format", "date")
                faults = requests.get(url + "/_sandbox/faults", timeout=RUN_TIMEOUT).json()
                self.assertEqual(faults["retry_after_format"], "date")
                proc.send_signal(signum)
                out, err = proc.communicate(timeout=RUN_TIMEOUT)
                self.assertEqual(proc.returncode, 0, err)
                self.assertIn("sandbox stopped", out)
                self.assertNotIn("Traceback", err)
                with self.assertRaises(requests.ConnectionError):
                    requests.get(url + "/_sandbox", timeout=RUN_TIMEOUT)

    def test_serve_on_a_busy_port_says_so(self):
        with SandboxServer(port=0) as busy:
            port = busy.url.rsplit(":", 1)[1]
            with tempfile.TemporaryDirectory() as folder:
                db = os.path.join(folder, "sandbox.sqlite3")
                result = self.run_cli("serve", "--port", port, "--db", db)
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot listen", result.stderr)
        self.assertNotIn("Traceback", result.stderr)

    def test_received_summarizes_by_default(self):
        proc, url = self.start_serve()
        port = url.rsplit(":", 1)[1]
        self.assertEqual(self.run_cli("approve", "--count", "3", "--port", port).returncode, 0)
        result = self.run_cli("received", "accountingDocuments", "--port", port, "--limit", "2")
        self.assertEqual(result.returncode, 0, result.stderr)
        summary = json.loads(result.stdout)
        self.assertEqual(summary["count"], 3)
        self.assertEqual(len(summary["last"]), 2)
        self.assertEqual(set(summary["last"][0]) & {"codingRows", "attachments"}, set())
        self.assertIn("invoiceId", summary["last"][0])
        result = self.run_cli("received", "accountingDocuments", "--port", port, "--all")
        records = json.loads(result.stdout)
        self.assertEqual(len(records), 3)
        self.assertIn("codingRows", records[0])
        proc.send_signal(signal.SIGTERM)

"""What the benchmarks share: an Odoo environment on a scratch database, the sandbox
(and its operator commands), a backend pointed at it, an Odoo HTTP server in a process of
its own, and a counter of SQL queries and seconds."""

import argparse
import os
import resource
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import requests
from cryptography.fernet import Fernet

import odoo
import odoo.tools
from odoo import api, sql_db
from odoo.modules.registry import Registry
from odoo.tools import config

from ..basware.constants import TOKEN_PATH
from ..sandbox.constants import OPERATOR_PREFIX

CLIENT_ID = "bench"
CLIENT_SECRET = "bench-secret"
ADDON_DIR = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 30
STOP_TIMEOUT = 30
OPERATOR_TIMEOUT = 30
ODOO_BIN = Path(odoo.tools.__file__).resolve().parents[2] / "odoo-bin"


def parse_args(argv, description, **defaults):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--database", required=True)
    for name, value in defaults.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    return parser.parse_args(argv)


@contextmanager
def odoo_env(args):
    """A superuser environment whose work is committed (a benchmark is not a test)."""
    os.environ.setdefault("BASWARE_ENCRYPTION_KEY", Fernet.generate_key().decode())
    registry = Registry(args.database)
    with registry.cursor() as cr:
        yield api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})


@contextmanager
def sandbox():
    """The sandbox in a process of its own, as Basware would be: it does not share
    Odoo's interpreter (and its lock) with the code under measure."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            str(port),
            "--db",
            ":memory:",
            "serve",
            "--client-id",
            CLIENT_ID,
            "--client-secret",
            CLIENT_SECRET,
        ],
        cwd=ADDON_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_port(port, process)
        yield SimpleNamespace(
            url=url, token_url=url + TOKEN_PATH, pid=process.pid, operator=Operator(url)
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


class Operator:
    """The sandbox's operator commands (what a Basware user does), over its HTTP API."""

    def __init__(self, url):
        self.url = url + OPERATOR_PREFIX
        self.session = requests.Session()

    def _call(self, method, path, body=None):
        response = self.session.request(
            method, self.url + path, json=body, timeout=OPERATOR_TIMEOUT
        )
        if response.status_code != 200:
            raise RuntimeError(f"sandbox {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    def approve(self, **values):
        """Approve one invoice (it waits for transfer); with notify, Basware pushes it."""
        return self._call("POST", "/approve", values)

    def received(self, entity):
        return self._call("GET", f"/received/{entity}")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, process, timeout=STARTUP_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the sandbox stopped at start-up")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("the sandbox did not start in time")


def make_backend(env, server):
    return env["basware.backend"].create(
        {
            "name": "Benchmark",
            "environment": "test",
            "api_url": server.url,
            "token_url": server.token_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "basware_company_code": "BENCH",
            "request_status_delay": 0,
            "exchange_batch_size": 1000,
        }
    )


class OdooServer:
    """Odoo serving HTTP on the benchmark's database, in a process of its own.

    ``workers`` 0 runs Odoo's threaded server, more its prefork server; ``cron_threads``
    cron workers run beside it (0: none). ``port``: a free one unless given.
    """

    def __init__(self, database, workers=0, cron_threads=0, port=None):
        self.port = port or free_port()
        # The prefork server also opens a long-polling port: a free one, not the default.
        self.url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable,
            str(ODOO_BIN),
            "server",
            "-c",
            config["config"],
            "-d",
            database,
            # One database and no filter, as a single-database production server runs:
            # a request without session (a webhook) then does not list the databases,
            # which opens a new PostgreSQL connection each time.
            "--db-filter",
            "",
            "--http-port",
            str(self.port),
            "--gevent-port",
            str(free_port()),
            "--max-cron-threads",
            str(cron_threads),
            "--workers",
            str(workers),
            "--log-level",
            "warn",
        ]
        # The environment carries the encryption key the backend's secret was stored under.
        self.process = subprocess.Popen(
            command, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def __enter__(self):
        try:
            wait_for_port(self.port, self.process)
        except RuntimeError:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=STOP_TIMEOUT)
        errors = self.process.stderr.read().decode(errors="replace").strip()
        if errors:
            say("odoo server log:\n" + errors[-4000:])


def peak_memory_mb():
    """The peak resident memory of this process (Odoo's) so far, in MB."""
    # Linux counts ru_maxrss in kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values, fraction):
    """The nearest-rank percentile of ``values`` (``fraction`` 0.5 is the median)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def process_cpu(pid):
    """CPU seconds process ``pid`` has used so far, or None where /proc does not tell."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            # After the command name in parentheses: utime and stime are fields 14 and 15.
            values = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(values[11]) + int(values[12])) / os.sysconf("SC_CLK_TCK")


class Meter:
    """Seconds and SQL queries of one measured step, and the CPU seconds it cost Odoo's
    process and the other processes in ``others`` ({label: pid}); entered again, it adds
    up.

    The CPU seconds tell Odoo's own work from the time spent waiting for PostgreSQL, the
    sandbox, or other processes of a busy machine. Queries are counted over every cursor
    of this process (the token store and the crons' progress use their own).
    """

    def __init__(self, env, label, others=None):
        self.env, self.label = env, label
        self.others = others or {}
        self.seconds = self.queries = self.cpu = 0
        self.others_cpu = {}

    def __enter__(self):
        self._queries = sql_db.sql_counter
        self._started = time.perf_counter()
        self._cpu = time.process_time()
        self._others = {label: process_cpu(pid) for label, pid in self.others.items()}
        return self

    def __exit__(self, *exc_info):
        # Added up: a step measured in several rounds gives its total.
        self.seconds += time.perf_counter() - self._started
        self.cpu += time.process_time() - self._cpu
        self.queries += sql_db.sql_counter - self._queries
        for label, pid in self.others.items():
            before, after = self._others[label], process_cpu(pid)
            if before is not None and after is not None:
                self.others_cpu[label] = self.others_cpu.get(label, 0.0) + after - before

    def report(self, records):
        rate = records / self.seconds if self.seconds else float("inf")
        per_record = self.queries / records if records else 0
        say(
            f"{self.label:<40} {records:>7} records  {self.seconds:>8.2f} s  "
            f"{rate:>9.0f} rec/s  {self.queries:>7} queries  {per_record:>6.3f} q/rec"
        )
        cpu = ", ".join(
            f"{label} {seconds:.2f} s"
            for label, seconds in [("Odoo", self.cpu), *self.others_cpu.items()]
        )
        say(f"{'':<40} CPU: {cpu}; Odoo's peak memory so far {peak_memory_mb():.0f} MB")


def say(text):
    """The benchmark's figures go to standard output, not to the log."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()

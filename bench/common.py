"""What the benchmarks share: an Odoo environment on a scratch database, the sandbox,
a backend pointed at it, and a counter of SQL queries and seconds."""

import argparse
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

from cryptography.fernet import Fernet

import odoo
from odoo import api
from odoo.modules.registry import Registry

from ..basware.constants import TOKEN_PATH

CLIENT_ID = "bench"
CLIENT_SECRET = "bench-secret"
ADDON_DIR = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 30


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
        yield SimpleNamespace(url=url, token_url=url + TOKEN_PATH, pid=process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


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
    process and the other processes in ``others`` ({label: pid}).

    The CPU seconds tell Odoo's own work from the time spent waiting for PostgreSQL, the
    sandbox, or other processes of a busy machine.
    """

    def __init__(self, env, label, others=None):
        self.env, self.label = env, label
        self.others = others or {}
        self.seconds = self.queries = self.cpu = 0
        self.others_cpu = {}

    def __enter__(self):
        self._queries = self.env.cr.sql_log_count
        self._started = time.perf_counter()
        self._cpu = time.process_time()
        self._others = {label: process_cpu(pid) for label, pid in self.others.items()}
        return self

    def __exit__(self, *exc_info):
        self.seconds = time.perf_counter() - self._started
        self.cpu = time.process_time() - self._cpu
        self.queries = self.env.cr.sql_log_count - self._queries
        for label, pid in self.others.items():
            before, after = self._others[label], process_cpu(pid)
            if before is not None and after is not None:
                self.others_cpu[label] = after - before

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
        say(f"{'':<40} CPU: {cpu}")


def say(text):
    """The benchmark's figures go to standard output, not to the log."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()

"""Command line: python -m sandbox serve|reset|approve|received|faults (from the addon root).

serve runs the sandbox until Ctrl-C (SIGINT) or SIGTERM. The other commands talk to a
running sandbox on SANDBOX_PORT through its /_sandbox operator URLs; when none answers
they work on the SANDBOX_DB file directly.
"""

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

import requests

from .app import SandboxApp
from .constants import OPERATOR_PREFIX
from .faults import RETRY_AFTER_FORMATS
from .server import SandboxServer

DEFAULT_PORT = 8900
DEFAULT_DB = ".build/sandbox.sqlite3"
OPERATOR_TIMEOUT = 30.0
# Fault flag dest -> (env variable, type); the dest is the set_faults() name, except below.
FAULT_OPTIONS = {
    "rate_429": ("SANDBOX_RATE_429", float),
    "retry_after": ("SANDBOX_RETRY_AFTER", float),
    "retry_after_format": ("SANDBOX_RETRY_AFTER_FORMAT", str),
    "rate_5xx": ("SANDBOX_RATE_5XX", float),
    "status_5xx": ("SANDBOX_STATUS_5XX", int),
    "latency": ("SANDBOX_LATENCY", float),
    "drop_rate": ("SANDBOX_DROP_RATE", float),
    "short_token_lifetime": ("SANDBOX_SHORT_TOKEN_LIFETIME", int),
    "processing_delay": ("SANDBOX_PROCESSING_DELAY", float),
    "seed": ("SANDBOX_SEED", int),
}
SETTING_NAMES = {"short_token_lifetime": "token_lifetime"}
# What each fault option does, with its unit and range.
FAULT_HELP = {
    "rate_429": "share of API calls answered 429 Too Many Requests, 0.0 to 1.0",
    "retry_after": "seconds the 429 answers ask to wait (Retry-After), >= 0",
    "retry_after_format": "how Retry-After is written: seconds or an HTTP date",
    "rate_5xx": "share of API calls answered with a server error, 0.0 to 1.0",
    "status_5xx": "the server error status, 500 to 599 (default 503)",
    "latency": "seconds added before every answer, >= 0",
    "drop_rate": "share of API calls whose connection is closed without an answer, 0.0 to 1.0",
    "short_token_lifetime": "lifetime of new access tokens in seconds, >= 1",
    "processing_delay": "seconds before a write's requestStatus is no longer pending, >= 0",
    "seed": "seed of the random shares, so a run repeats (integer)",
}
DEFAULT_RECEIVED_LIMIT = 20
FAULT_CHOICES = {"retry_after_format": RETRY_AFTER_FORMATS}
TRUE_VALUES = ("1", "true", "yes", "on")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _env(name, default=None):
    return os.environ.get(name) or default


def _add_fault_options(parser):
    group = parser.add_argument_group(
        "faults (also from SANDBOX_* environment variables); shares apply to API calls, "
        "never to the token endpoint"
    )
    for name, (env, kind) in FAULT_OPTIONS.items():
        group.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=kind,
            choices=FAULT_CHOICES.get(name),
            default=None,
            help=f"{FAULT_HELP[name]} (env {env})",
        )
    group.add_argument(
        "--duplicate-webhooks",
        action="store_true",
        default=None,
        help="deliver every notification twice (env SANDBOX_DUPLICATE_WEBHOOKS)",
    )


def _fault_settings(args):
    settings = {}
    for name, (env, kind) in FAULT_OPTIONS.items():
        value = getattr(args, name, None)
        if value is None and _env(env) is not None:
            value = kind(_env(env))
        if value is not None:
            settings[SETTING_NAMES.get(name, name)] = value
    duplicate = getattr(args, "duplicate_webhooks", None)
    if duplicate is None and _env("SANDBOX_DUPLICATE_WEBHOOKS"):
        duplicate = _env("SANDBOX_DUPLICATE_WEBHOOKS").lower() in TRUE_VALUES
    if duplicate is not None:
        settings["duplicate_webhooks"] = duplicate
    return settings


def _location_options(parser, defaults=True):
    """--port and --db, before or after the command (after it, only when given)."""

    def default(value):
        return value if defaults else argparse.SUPPRESS

    # String defaults: argparse converts them only when used, so --help never fails on them.
    parser.add_argument(
        "--port",
        type=int,
        default=default(_env("SANDBOX_PORT", str(DEFAULT_PORT))),
        help=f"env SANDBOX_PORT, default {DEFAULT_PORT}",
    )
    parser.add_argument(
        "--db",
        default=default(_env("SANDBOX_DB", DEFAULT_DB)),
        help="sqlite file (env SANDBOX_DB); ':memory:' keeps nothing",
    )


def _parser():
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    _location_options(parser)
    shared = argparse.ArgumentParser(add_help=False)
    _location_options(shared, defaults=False)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the sandbox until Ctrl-C", parents=[shared])
    serve.add_argument("--host", default=_env("SANDBOX_HOST", "127.0.0.1"))
    serve.add_argument("--client-id", default=_env("SANDBOX_CLIENT_ID", "sandbox"))
    serve.add_argument("--client-secret", default=_env("SANDBOX_CLIENT_SECRET", "sandbox"))
    serve.add_argument("--token-lifetime", type=int, default=_env("SANDBOX_TOKEN_LIFETIME", "3600"))
    _add_fault_options(serve)

    commands.add_parser("reset", help="forget everything the sandbox received", parents=[shared])

    approve = commands.add_parser(
        "approve", help="approve invoice(s): WaitingForTransfer", parents=[shared]
    )
    approve.add_argument("--count", type=int, default=1)
    approve.add_argument("--vendor", help="externalCode or vendorCode of a received vendor")
    approve.add_argument("--supplier-code")
    approve.add_argument("--company-code")
    approve.add_argument("--currency")
    approve.add_argument("--invoice-number")
    approve.add_argument("--invoice-date", help="YYYY-MM-DD")
    approve.add_argument("--due-date", help="YYYY-MM-DD")
    approve.add_argument("--amount", dest="net_amount", type=float)
    approve.add_argument("--tax-percent", type=float)
    approve.add_argument("--tax-code")
    approve.add_argument("--account")
    approve.add_argument("--cost-center")
    approve.add_argument("--project")
    approve.add_argument("--order", help="externalCode of a received matchingOrder")
    approve.add_argument(
        "--order-line",
        dest="order_lines",
        action="append",
        help="externalCode of a received matchingOrderLine (repeatable)",
    )
    approve.add_argument("--credit-note", action="store_true", default=None)
    approve.add_argument("--description")
    approve.add_argument(
        "--coding-rows",
        type=json.loads,
        help='explicit coding rows as JSON, e.g. [{"accountCode": "4000", "netTotal": 60}]',
    )
    approve.add_argument("--gross-sum", type=float, help="grossSum instead of the rows' total")
    approve.add_argument(
        "--prebook",
        action="store_true",
        default=None,
        help="WaitingForPrebook instead (the ERP answers with prebookResponses)",
    )

    received = commands.add_parser(
        "received",
        help="summarize what the sandbox received (--all for the records)",
        parents=[shared],
    )
    received.add_argument(
        "entity",
        help="vendors, accounts, lists/ACC_LIST_1, matchingOrderLines, accountingDocuments, ...",
    )
    received.add_argument(
        "--all", action="store_true", help="print the records themselves, up to --limit"
    )
    received.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_RECEIVED_LIMIT,
        help=f"at most this many records (default {DEFAULT_RECEIVED_LIMIT}; 0 for all)",
    )

    faults = commands.add_parser(
        "faults", help="show or change the faults of a running sandbox", parents=[shared]
    )
    faults.add_argument("--clear", action="store_true")
    _add_fault_options(faults)
    return parser


def serve(args):
    """Run until SIGINT or SIGTERM, then stop the server and exit 0."""
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    server = SandboxServer(
        host=args.host,
        port=args.port,
        db_path=args.db,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_lifetime=args.token_lifetime,
        **_fault_settings(args),
    )
    stop = threading.Event()
    for signum in STOP_SIGNALS:
        # Our own handler, also when a parent shell started us with SIGINT ignored.
        signal.signal(signum, lambda *_args: stop.set())
    try:
        server.start()
    except OSError as exc:
        server.close()
        sys.exit(f"sandbox: cannot listen on {args.host}:{args.port} ({exc.strerror or exc})")
    _say(
        f"Basware sandbox at {server.url}\n"
        f"  token URL:     {server.token_url}\n"
        f"  client id:     {server.client_id}\n"
        f"  client secret: {server.client_secret}\n"
        f"  state:         {args.db}\n"
        f"  operator:      {server.url}{OPERATOR_PREFIX}\n"
        "Ctrl-C stops it."
    )
    try:
        while not stop.wait(0.5):
            continue
    finally:
        server.close()
    _say("sandbox stopped")


def _say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _operator(args, method, path, body=None):
    """Call a running sandbox; None when nothing listens on the port."""
    url = f"http://127.0.0.1:{args.port}{OPERATOR_PREFIX}{path}"
    try:
        response = requests.request(method, url, json=body, timeout=OPERATOR_TIMEOUT)
    except requests.ConnectionError:
        return None
    if response.status_code != 200:
        sys.exit(f"sandbox: {response.json().get('error', response.text)}")
    return response.json()


def _local(args):
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    return SandboxApp(db_path=args.db)


def _approve_kwargs(args):
    names = (
        "vendor",
        "supplier_code",
        "company_code",
        "currency",
        "invoice_number",
        "invoice_date",
        "due_date",
        "net_amount",
        "tax_percent",
        "tax_code",
        "account",
        "cost_center",
        "project",
        "order",
        "order_lines",
        "credit_note",
        "description",
        "prebook",
        "coding_rows",
        "gross_sum",
    )
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def run_command(args):
    if args.command == "reset":
        result = _operator(args, "POST", "/reset")
        if result is None:
            _local(args).reset()
        return {"reset": True}
    if args.command == "approve":
        kwargs = _approve_kwargs(args)
        result = _operator(args, "POST", "/seed", {"count": args.count, **kwargs})
        if result is None:
            app = _local(args)
            result = app.seed_accounting_documents(args.count, **kwargs)
            app.notifier.wait()
        return result
    if args.command == "received":
        result = _operator(args, "GET", f"/received/{args.entity}")
        records = result if result is not None else _local(args).received(args.entity)
        return _received_view(args, records)
    body = {"clear": args.clear, **_fault_settings(args)}
    result = _operator(args, "POST", "/faults", body)
    if result is None:
        sys.exit("sandbox: no sandbox is running on port %d" % args.port)
    return result


def _received_view(args, records):
    """A count and the last records' key fields; with --all, the records themselves."""
    shown = records[-args.limit :] if args.limit > 0 else records
    if args.all:
        return shown
    return {
        "entity": args.entity,
        "count": len(records),
        "last": [_summary(record) for record in shown],
        "hint": "--all prints the records themselves",
    }


# Fields that tell a record apart, in the order they are looked for.
SUMMARY_KEYS = (
    "invoiceId",
    "externalCode",
    "vendorCode",
    "accountCode",
    "code",
    "orderNumber",
    "lineNumber",
    "invoiceNumber",
    "companyCode",
    "processingStatus",
    "success",
    "voucherNumber1",
    "name",
)


def _summary(record):
    return {key: record[key] for key in SUMMARY_KEYS if key in record}


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            serve(args)
            return
        result = run_command(args)
    except (ValueError, KeyError, TypeError) as exc:
        sys.exit(f"sandbox: {exc}")
    _say(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

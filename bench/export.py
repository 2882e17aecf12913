"""Benchmark of the outbound sync: vendors and purchase orders to the sandbox.

Each vendor has an address and a trusted bank account; each order N lines, partly
received. The master data is dated an hour before the first sync, as a warm run finds
it. Prints, for each step, records/s, seconds, SQL queries (per run and per record), the
CPU seconds of Odoo, PostgreSQL and the sandbox, and Odoo's peak memory so far; and a
profile of the cold vendor sync and of the cold orders.

Targets on a 2-core machine, at 100,000 vendors and 20,000 orders × 10 lines: a cold
vendor export (phase-two requestStatus included) at 2,000 vendors/s or more; a warm run
of each flow with nothing changed in 2 s at most; one changed vendor sent (phase two
included) in 1 s at most; Odoo's memory within 1 GB; queries per run that grow with the
changes, not with the master.

    make bench              (or: bash scripts/bench.sh export --vendors 10000 --orders 2000)
"""

import cProfile
import io
import pstats

from odoo import Command
from odoo.tools import SQL

from ..models.basware_sync_flow import FLOW_KEYS
from .common import Meter, make_backend, odoo_env, parse_args, peak_memory_mb, sandbox, say

PROFILE_LINES = 18
ADDON_PROFILE_LINES = 30
ADDON_PACKAGE = "basware_connector"
# Records created per transaction: the benchmark's own memory stays below the sync's.
CREATE_BATCH = 2000
ORDER_BATCH = 200
# The master data was written this long before the first sync (beyond the flows' margin).
MASTER_AGE = "1 hour"
MASTER_TABLES = ("res_partner", "res_partner_bank", "purchase_order", "purchase_order_line")
RECEIVED_QUANTITY = 4


def create_vendors(env, count):
    """``count`` vendors, each with its address and a trusted bank account; their ids."""
    country = env.ref("base.fi")
    ids = []
    for start in range(0, count, CREATE_BATCH):
        indexes = range(start, min(start + CREATE_BATCH, count))
        partners = env["res.partner"].create(
            [
                {
                    "name": f"Bench Vendor {index}",
                    "is_company": True,
                    "supplier_rank": 1,
                    "street": f"Benchmark Street {index}",
                    "zip": "00100",
                    "city": "Helsinki",
                    "country_id": country.id,
                    "email": f"ap{index}@vendor.example",
                }
                for index in indexes
            ]
        )
        env["res.partner.bank"].create(
            [
                {
                    "partner_id": partner.id,
                    "acc_number": f"FI21 1234 5600 {index:06d}",
                    "allow_out_payment": True,
                }
                for index, partner in zip(indexes, partners, strict=True)
            ]
        )
        ids += partners.ids
        commit(env)
    return ids


def create_orders(env, vendor_ids, count, lines):
    """``count`` confirmed orders of ``lines`` lines each, partly received; their ids."""
    product = env["product.product"].create(
        {"name": "Bench product", "default_code": "BENCH", "type": "consu"}
    )
    ids = []
    for start in range(0, count, ORDER_BATCH):
        orders = env["purchase.order"].create(
            [
                {
                    "partner_id": vendor_ids[index % len(vendor_ids)],
                    "order_line": [
                        Command.create(
                            {"product_id": product.id, "product_qty": 10, "price_unit": 2.5 + line}
                        )
                        for line in range(lines)
                    ],
                }
                for index in range(start, min(start + ORDER_BATCH, count))
            ]
        )
        orders.button_confirm()
        orders.order_line.qty_received = RECEIVED_QUANTITY
        ids += orders.ids
        commit(env)
    return ids


def commit(env):
    env.cr.commit()
    env.invalidate_all()


def date_master_back(env):
    """The master data was written MASTER_AGE before the first sync."""
    for table in MASTER_TABLES:
        env.cr.execute(
            SQL(
                "UPDATE %(table)s SET create_date = create_date - %(age)s::interval, "
                "write_date = write_date - %(age)s::interval",
                table=SQL.identifier(table),
                age=MASTER_AGE,
            )
        )
    commit(env)


def sync(env, backend, flows):
    """One cycle: detect and queue, then run the queue (phase two included) until empty."""
    backend._basware_sync_outbound(flows=flows)
    exchanges = env["basware.exchange"]
    for _round in range(20):
        exchanges._process_backend_queue(backend, limit=100000)
        if not exchanges._due_count(backend):
            return


def processes(env, server):
    """The processes besides Odoo's that a sync keeps busy: {label: pid}."""
    env.cr.execute(SQL("SELECT pg_backend_pid()"))
    return {"PostgreSQL": env.cr.fetchone()[0], "sandbox": server.pid}


def measure(env, backend, flows, label, records, others, profile=False):
    profiler = cProfile.Profile() if profile else None
    with Meter(env, label, others) as meter:
        if profiler:
            profiler.enable()
        sync(env, backend, flows)
        if profiler:
            profiler.disable()
    meter.report(records)
    if profiler:
        say_profile(profiler)


def say_profile(profiler):
    """Where Odoo's time goes: the busiest functions, then the addon's own, by the time
    spent in them and in what they call."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(PROFILE_LINES)
    stats.sort_stats("cumulative").print_stats(ADDON_PACKAGE, ADDON_PROFILE_LINES)
    say(out.getvalue())


def check_payment_means(env, backend, vendor_id):
    """The trusted bank accounts go out as payment means (else the figures lie)."""
    vendor = env["res.partner"].browse(vendor_id)
    if not vendor._basware_vendor_values(backend).get("paymentMeans"):
        raise RuntimeError("the benchmark's bank accounts are not sent: are they trusted?")


def main(argv):
    args = parse_args(argv, __doc__, vendors=10000, orders=2000, lines=10)
    with odoo_env(args) as env, sandbox() as server:
        backend = make_backend(env, server)
        say(f"creating {args.vendors} vendors and {args.orders} orders × {args.lines} lines")
        vendor_ids = create_vendors(env, args.vendors)
        order_ids = create_orders(
            env, vendor_ids[: max(args.orders // 4, 1)], args.orders, args.lines
        )
        date_master_back(env)
        check_payment_means(env, backend, vendor_ids[0])
        say(f"Odoo's peak memory after creating the data: {peak_memory_mb():.0f} MB")
        others = processes(env, server)
        vendors = len(vendor_ids)
        measure(env, backend, ["vendor"], "vendors, cold", vendors, others)
        measure(env, backend, ["vendor"], "vendors, warm (nothing changed)", vendors, others)
        changed = env["res.partner"].browse(vendor_ids[vendors // 2])
        changed.name += " (renamed)"
        commit(env)
        measure(env, backend, ["vendor"], f"one changed vendor of {vendors}", 1, others)
        # Where the cold time goes: the same work again (hashes forgotten), profiled.
        backend._basware_forget_hashes("vendor")
        backend.sync_flow_ids.filtered(lambda flow: flow.flow == "vendor").high_water_mark = False
        commit(env)
        measure(env, backend, ["vendor"], "vendors, resent (profiled)", vendors, others, True)
        # Orders first, then their lines once Basware accepted the orders.
        orders = len(order_ids)
        lines = orders * args.lines
        measure(env, backend, ["purchase_order"], "orders, cold", orders, others, True)
        measure(env, backend, ["purchase_order"], "order lines, cold", lines, others)
        masters = [flow for flow in FLOW_KEYS if flow not in ("vendor", "purchase_order")]
        measure(env, backend, masters, "other master data, cold", 0, others)
        for flow in FLOW_KEYS:
            scope = {"vendor": vendors, "purchase_order": orders + lines}.get(flow, 0)
            measure(env, backend, [flow], f"{flow}, warm (nothing changed)", scope, others)
        failed = env["basware.exchange"].search_count([("state", "in", ("failed", "dead"))])
        say(f"failed or dead exchanges: {failed}")
        say(f"Odoo's peak memory: {peak_memory_mb():.0f} MB")

"""Benchmark of the outbound sync: vendors and purchase orders to the sandbox.

Prints records/s, seconds and SQL queries per record, cold (first sync) and warm (nothing
changed), the CPU seconds of Odoo, PostgreSQL and the sandbox, and a profile of the cold
vendor sync. Targets on a 2-core machine: 10,000 vendors in at most 10 s end to end;
queries growing with the batches, not the records; a warm sync in at most 2 s.

    make bench              (or: bash scripts/bench.sh export --vendors 10000 --orders 2000)
"""

import cProfile
import io
import pstats

from odoo import Command
from odoo.tools import SQL

from .common import Meter, make_backend, odoo_env, parse_args, sandbox, say

PROFILE_LINES = 18
ADDON_PROFILE_LINES = 30
ADDON_PACKAGE = "basware_connector"


def create_vendors(env, count):
    country = env.ref("base.fi")
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
            for index in range(count)
        ]
    )
    env["res.partner.bank"].create(
        [
            {"partner_id": partner.id, "acc_number": f"FI21 1234 5600 {index:06d}"}
            for index, partner in enumerate(partners)
        ]
    )
    return partners


def create_orders(env, vendors, count, lines):
    product = env["product.product"].create(
        {"name": "Bench product", "default_code": "BENCH", "type": "consu"}
    )
    orders = env["purchase.order"].create(
        [
            {
                "partner_id": vendors[index % len(vendors)].id,
                "order_line": [
                    Command.create(
                        {"product_id": product.id, "product_qty": 10, "price_unit": 2.5 + line}
                    )
                    for line in range(lines)
                ],
            }
            for index in range(count)
        ]
    )
    orders.button_confirm()
    orders.order_line.qty_received = 4
    return orders


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


def main(argv):
    args = parse_args(argv, __doc__, vendors=10000, orders=2000, lines=10)
    with odoo_env(args) as env, sandbox() as server:
        backend = make_backend(env, server)
        say(f"creating {args.vendors} vendors and {args.orders} orders × {args.lines} lines")
        vendors = create_vendors(env, args.vendors)
        orders = create_orders(env, vendors[: max(args.orders // 4, 1)], args.orders, args.lines)
        env.cr.commit()
        others = processes(env, server)
        measure(env, backend, ["vendor"], "vendors, cold", len(vendors), others)
        measure(env, backend, ["vendor"], "vendors, warm (nothing changed)", len(vendors), others)
        # Where the cold time goes: the same work again (hashes forgotten), profiled.
        backend._basware_forget_hashes("vendor")
        backend.sync_flow_ids.filtered(lambda flow: flow.flow == "vendor").high_water_mark = False
        measure(env, backend, ["vendor"], "vendors, resent (profiled)", len(vendors), others, True)
        # Orders first, then their lines once Basware accepted the orders.
        measure(env, backend, ["purchase_order"], "orders, cold", len(orders), others, True)
        lines = len(orders.order_line)
        measure(env, backend, ["purchase_order"], "order lines, cold", lines, others)
        measure(env, backend, ["purchase_order"], "purchase orders, warm", len(orders), others)
        failed = env["basware.exchange"].search_count([("state", "in", ("failed", "dead"))])
        say(f"failed or dead exchanges: {failed}")
        env.cr.rollback()

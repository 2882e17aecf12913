# The whole loop of `make demo`, run by scripts/demo.sh inside `odoo-bin shell` while
# the demo's Odoo server and Basware sandbox run beside it:
#   1. seed a small distribution company (vendors with bank accounts, products, cost
#      centers, confirmed purchase orders with receipts) and point the demo backend at
#      the sandbox, with a webhook subscription to the running Odoo;
#   2. export everything to Basware (Sync now until Basware has accepted all of it);
#   3. have the sandbox approve invoices against those orders (one with a split cost
#      center, one credit note, one coded to a cost center Basware does not know in
#      Odoo); the sandbox pushes signed webhooks and the running Odoo imports them;
#   4. wait for the bills and print a summary.
# Settings come from the environment (BW_DEMO_*), never pasted into this file.
# pylint: disable=undefined-variable

import os
import sys
import time

import requests

from odoo import Command

SANDBOX_URL = os.environ["BW_DEMO_SANDBOX_URL"]
ODOO_URL = os.environ["BW_DEMO_ODOO_URL"]
BACKEND_XMLID = "basware_connector.basware_backend_demo_sandbox"
WEBHOOK_SECRET = "demo-webhook-secret"
SYNC_ROUNDS = 10
IMPORT_TIMEOUT = float(os.environ.get("BW_DEMO_IMPORT_TIMEOUT", "90"))
HTTP_TIMEOUT = 30
PLAN_NAME = "Departments"
COST_CENTERS = [("SALES", "Sales"), ("OPS", "Operations"), ("ADMIN", "Administration")]
UNKNOWN_COST_CENTER = "CC-MARKETING"
VENDORS = [
    ("DEMO-V001", "Nordic Office Supply Oy", "FI", "FI2112345600000785"),
    ("DEMO-V002", "Baltic Freight AB", "SE", "SE4550000000058398257466"),
    ("DEMO-V003", "Rhein Furniture GmbH", "DE", "DE89370400440532013000"),
]


def say(text=""):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def operator(path, **body):
    response = requests.post(f"{SANDBOX_URL}/_sandbox{path}", json=body, timeout=HTTP_TIMEOUT)
    response.raise_for_status()
    return response.json()


def fresh():
    """End the shell's transaction: the next read sees what the server committed."""
    env.cr.commit()
    env.invalidate_all()


# === 1. Seed ================================================================== #


def purchase_taxes(company):
    Tax = env["account.tax"]
    found = []
    for amount in (24.0, 10.0):
        tax = Tax.search(
            [
                ("company_id", "=", company.id),
                ("type_tax_use", "=", "purchase"),
                ("amount_type", "=", "percent"),
                ("amount", "=", amount),
                ("price_include", "=", False),
            ],
            limit=1,
        ) or Tax.create(
            {
                "name": f"Purchase {amount:g}%",
                "amount": amount,
                "type_tax_use": "purchase",
                "company_id": company.id,
            }
        )
        found.append(tax)
    return found


def seed_company(backend):
    company = backend.company_id
    plan = env["account.analytic.plan"].search([("name", "=", PLAN_NAME)], limit=1)
    plan = plan or env["account.analytic.plan"].create({"name": PLAN_NAME})
    centers = {}
    for code, name in COST_CENTERS:
        centers[code] = env["account.analytic.account"].search(
            [("plan_id", "=", plan.id), ("code", "=", code)], limit=1
        ) or env["account.analytic.account"].create(
            {"name": name, "code": code, "plan_id": plan.id, "company_id": company.id}
        )
    mapping = backend.analytic_mapping_ids[:1]
    if mapping:
        mapping.plan_id = plan
    else:
        env["basware.analytic.mapping"].create(
            {
                "backend_id": backend.id,
                "plan_id": plan.id,
                "target": "cost_center",
                "coding_field": "costCenterCode",
            }
        )
    vendors = []
    for ref, name, country, iban in VENDORS:
        partner = env["res.partner"].search([("ref", "=", ref)], limit=1) or env[
            "res.partner"
        ].create(
            {
                "name": name,
                "ref": ref,
                "is_company": True,
                "supplier_rank": 1,
                "country_id": env.ref(f"base.{country.lower()}").id,
                "bank_ids": [Command.create({"acc_number": iban})],
            }
        )
        vendors.append(partner)
    goods_tax, service_tax = purchase_taxes(company)
    product = env["product.product"]
    paper = product.create(
        {"name": "Copy paper A4, box of 5", "default_code": "DEMO-PAPER", "standard_price": 24.0}
    )
    chair = product.create(
        {"name": "Ergonomic office chair", "default_code": "DEMO-CHAIR", "standard_price": 310.0}
    )
    freight = product.create(
        {"name": "Freight, pallet", "default_code": "DEMO-FREIGHT", "type": "service"}
    )
    orders = [
        order(
            vendors[0],
            [(paper, 20, 24.0, goods_tax), (chair, 2, 310.0, goods_tax)],
            {centers["SALES"].id: 100},
        ),
        order(
            vendors[1],
            [(freight, 1, 800.0, service_tax)],
            {centers["OPS"].id: 60, centers["ADMIN"].id: 40},
        ),
        order(vendors[2], [(chair, 6, 295.0, goods_tax)], {centers["ADMIN"].id: 100}),
    ]
    return orders


def order(vendor, lines, distribution):
    purchase = env["purchase.order"].create(
        {
            "partner_id": vendor.id,
            "order_line": [
                Command.create(
                    {
                        "product_id": product.id,
                        "product_qty": quantity,
                        "price_unit": price,
                        "tax_ids": [Command.set(tax.ids)],
                        "analytic_distribution": {
                            str(key): share for key, share in distribution.items()
                        },
                    }
                )
                for product, quantity, price, tax in lines
            ],
        }
    )
    purchase.button_confirm()
    # Without the Inventory app receipts are entered on the order lines.
    for line in purchase.order_line:
        line.qty_received = line.product_qty
    return purchase


def configure_backend(backend):
    backend.write(
        {
            "active": True,
            "api_url": SANDBOX_URL,
            "token_url": SANDBOX_URL + "/v1/tokens",
            "client_id": os.environ["SANDBOX_CLIENT_ID"],
            "client_secret": os.environ["SANDBOX_CLIENT_SECRET"],
            "webhook_secret": WEBHOOK_SECRET,
            # The sandbox answers at once: no need to wait a minute for phase two.
            "request_status_delay": 0,
        }
    )
    env["ir.config_parameter"].set_param("web.base.url", ODOO_URL)
    env["ir.config_parameter"].set_param("web.base.url.freeze", "True")


# === 2. Export ================================================================ #


def export_all(backend):
    for _round in range(SYNC_ROUNDS):
        backend.action_sync_now()
        fresh()
        bindings = env["basware.binding"].search([("backend_id", "=", backend.id)])
        if bindings and all(state in ("done", "error") for state in bindings.mapped("sync_state")):
            break
        time.sleep(1)
    return env["basware.binding"].search([("backend_id", "=", backend.id)])


# === 3. Approve in Basware ===================================================== #


def external_codes(backend, records):
    """The external codes the sync gave ``records`` in Basware, in record order."""
    bindings = env["basware.binding"].search(
        [
            ("backend_id", "=", backend.id),
            ("res_model", "=", records._name),
            ("res_id", "in", records.ids),
        ],
        order="res_id",
    )
    return bindings.mapped("external_code")


def order_code(backend, purchase):
    return external_codes(backend, purchase)[0]


def line_codes(backend, purchase):
    return external_codes(backend, purchase.order_line)


def approve_invoices(backend, orders):
    office, freight, furniture = orders
    approved = [
        ("order, two lines", operator("/approve", order=order_code(backend, office))),
        (
            "split cost center 60/40",
            operator(
                "/approve",
                coding_rows=[
                    {
                        "orderLine": line_codes(backend, freight)[0],
                        "matchedQuantity": 0.6,
                        "netTotal": 480.0,
                        "costCenterCode": "OPS",
                    },
                    {
                        "orderLine": line_codes(backend, freight)[0],
                        "matchedQuantity": 0.4,
                        "netTotal": 320.0,
                        "costCenterCode": "ADMIN",
                    },
                ],
            ),
        ),
        ("order", operator("/approve", order=order_code(backend, furniture))),
        (
            "credit note, one chair",
            operator(
                "/approve",
                credit_note=True,
                coding_rows=[
                    {
                        "orderLine": line_codes(backend, office)[1],
                        "matchedQuantity": 1,
                        "netTotal": 310.0,
                    }
                ],
            ),
        ),
        (
            "unmapped cost center",
            operator(
                "/approve",
                coding_rows=[
                    {
                        "orderLine": line_codes(backend, furniture)[0],
                        "matchedQuantity": 1,
                        "netTotal": 295.0,
                        "costCenterCode": UNKNOWN_COST_CENTER,
                    },
                ],
            ),
        ),
    ]
    return approved


# === 4. Wait and report ======================================================== #


def wait_for_bills(backend, approved):
    invoice_ids = [doc["invoiceId"] for _label, doc in approved]
    deadline = time.monotonic() + IMPORT_TIMEOUT
    while True:
        fresh()
        outcomes = import_outcomes(backend, invoice_ids)
        if all(outcomes.values()) or time.monotonic() > deadline:
            return outcomes
        time.sleep(1)


def import_outcomes(backend, invoice_ids):
    bills = env["account.move"].search(
        [("basware_backend_id", "=", backend.id), ("basware_invoice_id", "in", invoice_ids)]
    )
    by_invoice = {bill.basware_invoice_id: bill for bill in bills}
    failed = env["basware.exchange"].search(
        [
            ("backend_id", "=", backend.id),
            ("kind", "=", "accounting_document"),
            ("external_code", "in", invoice_ids),
            ("state", "in", ("failed", "dead")),
        ]
    )
    failures = {exchange.external_code: exchange for exchange in failed}
    return {
        invoice_id: by_invoice.get(invoice_id) or failures.get(invoice_id) or None
        for invoice_id in invoice_ids
    }


def report(bindings, approved, outcomes):
    say()
    say("Basware demo: the whole loop")
    say("-" * 78)
    entities = {}
    for binding in bindings:
        counts = entities.setdefault(binding.entity, {"sent": 0, "accepted": 0})
        counts["sent"] += 1
        counts["accepted"] += binding.sync_state == "done"
    say(f"{'Odoo → Basware':<28}{'sent':>8}{'accepted':>10}")
    labels = dict(bindings._fields["entity"]._description_selection(env))
    for entity, counts in sorted(entities.items()):
        say(f"  {labels.get(entity, entity):<26}{counts['sent']:>8}{counts['accepted']:>10}")
    say()
    say(f"{'Basware → Odoo':<28}{'invoiceId':<34}outcome")
    posted = failed = 0
    for label, doc in approved:
        outcome = outcomes.get(doc["invoiceId"])
        if outcome and outcome._name == "account.move":
            posted += 1
            text = f"{outcome.name} ({outcome.state}, {outcome.amount_total:.2f})"
        elif outcome:
            failed += 1
            problems = [
                line.lstrip("- ") for line in (outcome.error_message or "").splitlines()[1:]
            ]
            text = f"FAILED: {'; '.join(problems)[:60]}"
        else:
            text = "not imported yet"
        say(f"  {label:<26}{doc['invoiceId'][:32]:<34}{text}")
    say("-" * 78)
    say(f"bills posted: {posted}   failed: {failed}   waiting: {len(approved) - posted - failed}")
    say(f"Dashboard: {ODOO_URL}/odoo/action-basware_connector.basware_dashboard_action")
    return posted


def main():
    # Seeding as superuser; the Basware buttons as the administrator presses them.
    global env
    env = env(su=True, context={"tracking_disable": True})
    backend = env.ref(BACKEND_XMLID)
    as_admin = backend.with_user(env.ref("base.user_admin"))
    say("seeding vendors, products, cost centers and confirmed orders with receipts")
    configure_backend(backend)
    orders = seed_company(backend)
    fresh()
    say("subscribing to Basware's invoice notifications")
    as_admin.action_subscribe_webhooks()
    fresh()
    say("exporting to Basware (Sync now)")
    bindings = export_all(as_admin)
    say("approving invoices in Basware; each rings Odoo's webhook")
    approved = approve_invoices(backend, orders)
    outcomes = wait_for_bills(backend, approved)
    posted = report(bindings, approved, outcomes)
    if not posted:
        raise SystemExit("no bill was posted: see the Odoo log above")


main()

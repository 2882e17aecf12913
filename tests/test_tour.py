"""The administrator's walk through the product, in a real headless Chromium."""

import base64
import os
import unittest
from pathlib import Path
from unittest.mock import patch

from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser, _find_executable

from .common import CLIENT_ID, CLIENT_SECRET, start_key_and_sandbox

TOUR = "basware_admin_tour"
START_URL = "/odoo/action-basware_connector.basware_backend_action"
SCREENSHOT_PREFIX = "basware-screenshot:"
# Where the tour's screenshots go when asked for (make screenshots); never in a plain run.
SCREENSHOTS_ENV = "BASWARE_SCREENSHOTS_DIR"
TOUR_TIMEOUT = 180


def _require_browser(test_case):
    """Fail, never skip, when the browser test cannot run here."""
    try:
        import websocket  # noqa: F401 - Odoo's browser driver needs it
    except ImportError:
        test_case.fail("websocket-client is missing: run `make setup` (test-requirements.txt)")
    try:
        _find_executable()
    except unittest.SkipTest:
        test_case.fail("Chromium is missing: run `make setup`, which installs it with apt-get")


@tagged("post_install", "-at_install")
class TestAdminTour(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = start_key_and_sandbox(cls)

    def setUp(self):
        super().setUp()
        _require_browser(self)
        self._seed_odoo()
        # An invoice approved in Basware, coded to a cost center Odoo does not know.
        self.sandbox.approve_invoice(
            supplier_code="TOURV",
            company_code="C100",
            currency=self.env.company.currency_id.name,
            account="600900",
            tax_code="VAT24-TOUR",
            tax_percent=24.0,
            cost_center="CC-TOUR",
            net_amount=100.0,
            notify=False,
        )

    def _seed_odoo(self):
        env = self.env
        env["res.partner"].create({"name": "Tour Supplies Ltd", "ref": "TOURV", "supplier_rank": 1})
        env["account.account"].create(
            {"name": "Tour Expenses", "code": "600900", "account_type": "expense"}
        )
        group = env["account.tax.group"].create({"name": "VAT 24%"})
        env["account.tax"].create(
            {
                "name": "Tour Purchase 24%",
                "tax_group_id": group.id,
                "amount": 24.0,
                "type_tax_use": "purchase",
                "basware_code": "VAT24-TOUR",
            }
        )
        plan = env["account.analytic.plan"].search([("parent_id", "=", False)], limit=1)
        plan = plan or env["account.analytic.plan"].create({"name": "Departments"})
        env["account.analytic.account"].create(
            {"name": "Tour Cost Center", "code": "CC-TOUR-ODOO", "plan_id": plan.id}
        )

    def test_admin_tour(self):
        code = (
            f"window.bwTour = {{sandboxUrl: {self.sandbox.url!r}, clientId: {CLIENT_ID!r}, "
            f"clientSecret: {CLIENT_SECRET!r}}}; "
            f"odoo.startTour({TOUR!r}, {{stepDelay: 0, keepWatchBrowser: false, debug: false, "
            f"startUrl: {START_URL!r}, delayToCheckUndeterminisms: 0}})"
        )
        with _screenshots(os.environ.get(SCREENSHOTS_ENV)):
            self.start_tour(START_URL, TOUR, login="admin", code=code, timeout=TOUR_TIMEOUT)
        backend = self.env["basware.backend"].search([("name", "=", "Basware Tour")])
        bill = self.env["account.move"].search([("basware_backend_id", "=", backend.id)])
        self.assertEqual(bill.state, "posted")
        self.assertEqual(
            set(bill.invoice_line_ids.analytic_distribution),
            {str(self.env["account.analytic.account"].search([("code", "=", "CC-TOUR-ODOO")]).id)},
        )


def _screenshots(folder):
    """Save a PNG of the page each time the tour logs a screenshot name, into ``folder``."""
    if not folder:
        return patch.object(ChromeBrowser, "_handle_console", ChromeBrowser._handle_console)
    original = ChromeBrowser._handle_console
    Path(folder).mkdir(parents=True, exist_ok=True)

    def handle_console(browser, type, args=None, stackTrace=None, **kw):
        message = str(browser._from_remoteobject(args[0])) if args else ""
        if message.startswith(SCREENSHOT_PREFIX):
            name = message[len(SCREENSHOT_PREFIX) :]
            future = browser._websocket_send("Page.captureScreenshot", with_future=True)
            future.add_done_callback(
                lambda done, name=name: (Path(folder) / f"{name}.png").write_bytes(
                    base64.b64decode(done.result()["data"])
                )
            )
        return original(browser, type, args=args, stackTrace=stackTrace, **kw)

    return patch.object(ChromeBrowser, "_handle_console", handle_console)

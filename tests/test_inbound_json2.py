"""Import documents and Replay are callable by an integrator over Odoo's JSON-2 API with an
API key of a Basware manager; a Basware user's key is refused."""

from odoo.tests import tagged
from odoo.tools import mute_logger

from ..basware import constants as bw
from ..models import basware_exchange as queue
from .common import Json2Case
from .inbound_common import (
    COMPANY_CODE,
    QUEUE_LOGGER,
    approve,
    basware_document,
    create_booking_records,
)

FORBIDDEN = 403


@tagged("post_install", "-at_install")
class TestInboundOverJson2(Json2Case):
    backend_name = "JSON-2 inbound"
    company_code = COMPANY_CODE

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        create_booking_records(cls.env)

    def _call(self, key, model, method, ids):
        return self.call_json2(key, model, method, ids)

    def _import(self, key):
        return self._call(key, "basware.backend", "action_import_documents", self.backend.ids)

    def _bill(self, invoice_id):
        return self.env["account.move"].search([("basware_invoice_id", "=", invoice_id)])

    def test_manager_key_imports_documents(self):
        invoice_id = approve(self.sandbox, self.env)["invoiceId"]
        response = self._import(self.manager_key)
        self.assertEqual(response.status_code, 200, response.text)
        notification = response.json()
        self.assertEqual(notification["params"]["type"], "success")
        self.assertIn("1 imported", notification["params"]["message"])
        document = basware_document(self.sandbox, invoice_id)
        self.assertEqual(document["processingStatus"], bw.PS_TRANSFERRED)
        self.assertEqual(document["voucherNumber1"], self._bill(invoice_id).name)

    def test_user_key_is_refused(self):
        invoice_id = approve(self.sandbox, self.env)["invoiceId"]
        response = self._import(self.user_key)
        self.assertEqual(response.status_code, FORBIDDEN, response.text)
        self.assertFalse(self.sandbox.requests)
        self.assertEqual(
            basware_document(self.sandbox, invoice_id)["processingStatus"],
            bw.PS_WAITING_FOR_TRANSFER,
        )

    def test_replay_after_the_fix_by_a_manager_only(self):
        invoice_id = approve(self.sandbox, self.env, account="601302")["invoiceId"]
        with mute_logger(QUEUE_LOGGER):
            self._import(self.manager_key)
        exchange = self.env["basware.exchange"].search([("external_code", "=", invoice_id)])
        self.assertEqual(exchange.state, queue.STATE_FAILED)
        self.assertFalse(self._bill(invoice_id))
        self.env["account.account"].create(
            {"name": "Paper (late)", "code": "601302", "account_type": "expense"}
        )

        refused = self._call(self.user_key, "basware.exchange", "action_replay", exchange.ids)
        self.assertEqual(refused.status_code, FORBIDDEN, refused.text)
        exchange.invalidate_recordset()
        self.assertEqual(exchange.state, queue.STATE_FAILED)

        replayed = self._call(self.manager_key, "basware.exchange", "action_replay", exchange.ids)
        self.assertEqual(replayed.status_code, 200, replayed.text)
        exchange.invalidate_recordset()
        self.assertEqual(exchange.state, queue.STATE_PENDING)

        self._import(self.manager_key)
        bill = self._bill(invoice_id)
        self.assertEqual(bill.state, "posted")
        document = basware_document(self.sandbox, invoice_id)
        self.assertEqual(document["processingStatus"], bw.PS_TRANSFERRED)
        self.assertEqual(document["voucherNumber1"], bill.name)

"""Import documents and Replay are callable by an integrator over Odoo's JSON-2 API with an
API key of a Basware manager; a Basware user's key is refused."""

import json
from datetime import datetime, timedelta

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..basware import constants as bw
from ..models import basware_exchange as spine
from .common import CLIENT_ID, CLIENT_SECRET, start_key_and_sandbox
from .inbound_common import COMPANY_CODE, approve, basware_document, create_booking_records

API_KEY_LIFETIME = timedelta(hours=1)
FORBIDDEN = 403
SPINE_LOGGER = "odoo.addons.basware_connector.models.basware_exchange"


@tagged("post_install", "-at_install")
class TestInboundOverJson2(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = start_key_and_sandbox(cls)
        cls.backend = cls.env["basware.backend"].create(
            {
                "name": "JSON-2 inbound",
                "environment": "test",
                "api_url": cls.sandbox.url,
                "token_url": cls.sandbox.token_url,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "basware_company_code": COMPANY_CODE,
            }
        )
        create_booking_records(cls.env)
        cls.manager_key = cls._api_key(
            "bw_inbound_json2_manager", "basware_connector.group_basware_manager"
        )
        cls.user_key = cls._api_key("bw_inbound_json2_user", "basware_connector.group_basware_user")

    @classmethod
    def _api_key(cls, login, group):
        user = new_test_user(cls.env, login=login, groups=group)
        return (
            cls.env["res.users.apikeys"]
            .with_user(user)
            ._generate(
                scope="rpc", name="integration", expiration_date=datetime.now() + API_KEY_LIFETIME
            )
        )

    def setUp(self):
        super().setUp()
        self.sandbox.reset()

    def _call(self, key, model, method, ids):
        return self.url_open(
            f"/json/2/{model}/{method}",
            data=json.dumps({"ids": ids}),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )

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
        with mute_logger(SPINE_LOGGER):
            self._import(self.manager_key)
        exchange = self.env["basware.exchange"].search([("external_code", "=", invoice_id)])
        self.assertEqual(exchange.state, spine.STATE_FAILED)
        self.assertFalse(self._bill(invoice_id))
        self.env["account.account"].create(
            {"name": "Paper (late)", "code": "601302", "account_type": "expense"}
        )

        refused = self._call(self.user_key, "basware.exchange", "action_replay", exchange.ids)
        self.assertEqual(refused.status_code, FORBIDDEN, refused.text)
        exchange.invalidate_recordset()
        self.assertEqual(exchange.state, spine.STATE_FAILED)

        replayed = self._call(self.manager_key, "basware.exchange", "action_replay", exchange.ids)
        self.assertEqual(replayed.status_code, 200, replayed.text)
        exchange.invalidate_recordset()
        self.assertEqual(exchange.state, spine.STATE_PENDING)

        self._import(self.manager_key)
        bill = self._bill(invoice_id)
        self.assertEqual(bill.state, "posted")
        document = basware_document(self.sandbox, invoice_id)
        self.assertEqual(document["processingStatus"], bw.PS_TRANSFERRED)
        self.assertEqual(document["voucherNumber1"], bill.name)

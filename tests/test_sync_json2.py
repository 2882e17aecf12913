"""Sync now is callable by an integrator over Odoo's JSON-2 API with an API key."""

import json
from datetime import datetime, timedelta

from odoo.tests import HttpCase, new_test_user, tagged

from .common import CLIENT_ID, CLIENT_SECRET, start_key_and_sandbox

API_KEY_LIFETIME = timedelta(hours=1)


@tagged("post_install", "-at_install")
class TestSyncNowOverJson2(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = start_key_and_sandbox(cls)
        cls.backend = cls.env["basware.backend"].create(
            {
                "name": "JSON-2",
                "environment": "test",
                "api_url": cls.sandbox.url,
                "token_url": cls.sandbox.token_url,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "basware_company_code": "C100",
            }
        )
        cls.env["res.partner"].create({"name": "JSON-2 Vendor", "supplier_rank": 1})
        cls.manager_key = cls._api_key(
            "bw_json2_manager", "basware_connector.group_basware_manager"
        )
        cls.user_key = cls._api_key("bw_json2_user", "basware_connector.group_basware_user")

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

    def _call(self, key, method):
        return self.url_open(
            f"/json/2/basware.backend/{method}",
            data=json.dumps({"ids": [self.backend.id]}),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )

    def test_manager_key_runs_sync_now(self):
        response = self._call(self.manager_key, "action_sync_now")
        self.assertEqual(response.status_code, 200, response.text)
        notification = response.json()
        self.assertEqual(notification["params"]["type"], "success")
        self.assertIn("sent", notification["params"]["message"])
        vendors = [v["name"] for v in self.sandbox.received("vendors")]
        self.assertIn("JSON-2 Vendor", vendors)

    def test_user_key_is_refused(self):
        response = self._call(self.user_key, "action_sync_now")
        self.assertEqual(response.status_code, 403, response.text)
        self.assertFalse(self.sandbox.received("vendors"))

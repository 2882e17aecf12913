"""Sync now is callable by an integrator over Odoo's JSON-2 API with an API key."""

from odoo.tests import tagged

from .common import Json2Case


@tagged("post_install", "-at_install")
class TestSyncNowOverJson2(Json2Case):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.partner"].create({"name": "JSON-2 Vendor", "supplier_rank": 1})

    def _call(self, key, method):
        return self.call_json2(key, "basware.backend", method, self.backend.ids)

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

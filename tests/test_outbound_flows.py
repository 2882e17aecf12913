"""A flow is switched off and on from the backend's form and stays listed."""

from odoo.tests import Form, tagged

from .test_sync_outbound import SyncCase


def flow_of(backend, key):
    return backend.sync_flow_ids.filtered(lambda flow: flow.flow == key)


# The backend form counts the bills from Basware: its users also work in Invoicing.
AP_MANAGER_GROUPS = "basware_connector.group_basware_manager,account.group_account_invoice"


@tagged("post_install", "-at_install")
class TestFlowSwitch(SyncCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ap_manager = cls._new_user("bw_flows_ap_manager", AP_MANAGER_GROUPS)

    def _switch(self, key, enabled):
        """Tick or untick a flow on the backend's form, as an AP manager does."""
        backend = self.backend.with_user(self.ap_manager)
        index = backend.sync_flow_ids.mapped("flow").index(key)
        with Form(backend) as form, form.sync_flow_ids.edit(index) as line:
            line.enabled = enabled

    def test_switched_off_flow_stays_listed_and_the_runs_go_on(self):
        self._switch("vendor", False)
        flows = self.backend.with_user(self.manager).sync_flow_ids
        self.assertEqual(len(flows), 6, "the switched-off flow is still on the form")
        self.assertFalse(flow_of(self.backend, "vendor").enabled)

        self.backend._cron_sync_flow("vendor")
        self.backend._cron_sync_flow("payment_term")
        result = self.backend.with_user(self.manager).action_sync_now()
        self.assertEqual(result["params"]["type"], "success", result["params"]["message"])
        self.assertFalse(self._binding(self.vendor), "a switched-off flow sends nothing")
        self.assertTrue(flow_of(self.backend, "payment_term").last_success_date)
        self.assertEqual(len(self.backend.sync_flow_ids), 6, "no flow was made again")

        self._switch("vendor", True)
        self.assertTrue(flow_of(self.backend, "vendor").enabled)
        self.backend._cron_sync_flow("vendor")
        self.assertEqual(self._binding(self.vendor).sync_state, "sent")

    def test_switched_off_flow_is_left_out_of_the_preview(self):
        self._switch("vendor", False)
        action = self.backend.with_user(self.manager).action_preview_sync()
        preview = self.env["basware.sync.preview"].browse(action["res_id"])
        self.assertNotIn("vendor", preview.line_ids.mapped("entity"))
        self.assertIn("payment_term", preview.line_ids.mapped("entity"))

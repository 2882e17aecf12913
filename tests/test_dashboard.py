from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged

from .common import QueueCase


@tagged("post_install", "-at_install")
class TestDashboard(QueueCase):
    """The backend card: counts, lag and the lists its counters open, on real exchanges."""

    def _exchange(self, state, created=None, **values):
        exchange = self.Exchange._enqueue(self.backend, "vendor", "outbound", **values)
        exchange._queue_edit().write({"state": state})
        if created:
            self.env.cr.execute(
                "UPDATE basware_exchange SET create_date = %s WHERE id = %s",
                (created, exchange.id),
            )
        return exchange

    def _open(self, action):
        return self.Exchange.search(action["domain"])

    def test_counters_and_the_lists_they_open(self):
        now = fields.Datetime.now()
        waiting = self._exchange("pending", created=now - timedelta(minutes=42))
        waiting |= self._exchange("in_progress")
        failed = self._exchange("failed")
        dead = self._exchange("dead") | self._exchange("dead")
        done = self._exchange("done")
        done._queue_edit().write({"date_done": now})
        yesterday = self._exchange("done")
        yesterday._queue_edit().write({"date_done": now - timedelta(days=2)})
        self.env.invalidate_all()
        backend = self.backend
        self.assertEqual(
            (
                backend.dashboard_pending_count,
                backend.dashboard_failed_count,
                backend.dashboard_dead_count,
                backend.dashboard_done_today,
            ),
            (2, 1, 2, 1),
        )
        self.assertEqual(backend.dashboard_lag, "42 min")
        self.assertEqual(self._open(backend.action_open_waiting_exchanges()), waiting)
        self.assertEqual(self._open(backend.action_open_failed_exchanges()), failed)
        self.assertEqual(self._open(backend.action_open_dead_exchanges()), dead)
        self.assertEqual(self._open(backend.action_open_done_today()), done)

    def test_other_backends_do_not_count(self):
        other = self.backend.copy({"name": "Other Basware"})
        self.Exchange._enqueue(other, "vendor", "outbound")._queue_edit().write({"state": "failed"})
        self.env.invalidate_all()
        self.assertEqual(self.backend.dashboard_failed_count, 0)
        self.assertEqual(other.dashboard_failed_count, 1)
        self.assertEqual(self.backend.dashboard_lag, "none")

    def test_flows_show_their_last_success(self):
        flows = self.env["basware.sync.flow"].search([("backend_id", "=", self.backend.id)])
        self.assertTrue(flows, "a backend has its flows")
        vendor_flow = flows.filtered(lambda flow: flow.flow == "vendor")
        vendor_flow.write({"last_success_date": "2026-03-04 10:00:00", "last_sent_count": 17})
        html = str(self.backend.with_context(tz="UTC", lang="en_US").dashboard_flows)
        self.assertIn("Vendors", html)
        self.assertIn("17", html)
        self.assertIn("03/04/2026", html)
        self.assertIn("never", html, "flows that never ran say so")

    def test_lag_in_words(self):
        backend = self.backend
        self.assertEqual(backend._format_lag(timedelta(seconds=5)), "5 s")
        self.assertEqual(backend._format_lag(timedelta(hours=3, minutes=5)), "3 h")
        self.assertEqual(backend._format_lag(timedelta(days=3)), "3 days")

    def test_today_follows_the_user_time_zone(self):
        tokyo = self.backend.with_context(tz="Asia/Tokyo")
        with patch.object(
            fields.Date, "context_today", return_value=fields.Date.to_date("2026-05-10")
        ):
            self.assertEqual(str(tokyo._today_start()), "2026-05-09 15:00:00")

    def test_dashboard_view_loads(self):
        action = self.env.ref("basware_connector.basware_dashboard_action")
        views = self.env["basware.backend"].get_views([(False, "kanban")], {"action_id": action.id})
        arch = views["views"]["kanban"]["arch"]
        for button in ("action_sync_now", "action_preview_sync", "action_open_failed_exchanges"):
            self.assertIn(button, arch)

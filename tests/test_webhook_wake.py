"""A burst of notifications wakes the import cron with one trigger, shown with real
transactions: the trigger a notification counts on cannot be taken by a run before the
notification is committed, and the trigger a run is taking is never counted on."""

import psycopg2.errors

from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL, mute_logger

IMPORT_CRON = "basware_connector.ir_cron_basware_import_documents"


@tagged("post_install", "-at_install")
class TestImportWokenOncePerBurst(TransactionCase):
    def setUp(self):
        super().setUp()
        self.cron_id = self.env.ref(IMPORT_CRON).id
        self._committed(self._drop_triggers)
        self.addCleanup(self._committed, self._drop_triggers)

    def _committed(self, work):
        """``work(env)`` in a transaction of its own, committed."""
        with self.env.registry.cursor() as cr:
            return work(self.env(cr=cr))

    def _drop_triggers(self, env):
        env.cr.execute(SQL("DELETE FROM ir_cron_trigger WHERE cron_id = %s", self.cron_id))

    def _triggers(self, env):
        env.cr.execute(SQL("SELECT count(*) FROM ir_cron_trigger WHERE cron_id = %s", self.cron_id))
        return env.cr.fetchone()[0]

    def _notification_wakes(self, env):
        """What the webhook does once it stored a notification."""
        env["basware.backend"].sudo()._basware_wake_import()

    def _already_woken(self, env):
        cron = env["ir.cron"].browse(self.cron_id)
        return env["basware.backend"].sudo()._basware_import_already_woken(cron)

    def test_first_notification_adds_a_trigger_and_the_next_ones_none(self):
        self._committed(self._notification_wakes)
        self.assertEqual(self._committed(self._triggers), 1)
        for _notification in range(3):
            self._committed(self._notification_wakes)
        self.assertEqual(self._committed(self._triggers), 1)

    def test_a_run_cannot_take_the_trigger_before_the_notification_commits(self):
        self._committed(self._notification_wakes)
        with self.env.registry.cursor() as notification_cr:
            self.assertTrue(self._already_woken(self.env(cr=notification_cr)))
            with self.env.registry.cursor() as run_cr:
                run_cr.execute("SET LOCAL lock_timeout = '200ms'")
                # What Odoo's cron runner does first when it takes the job.
                clear = self.env(cr=run_cr)["ir.cron"]._clear_schedule
                with (
                    self.assertRaises(psycopg2.errors.LockNotAvailable),
                    mute_logger("odoo.sql_db"),
                ):
                    clear({"id": self.cron_id})
                run_cr.rollback()
            notification_cr.commit()
            with self.env.registry.cursor() as run_cr:
                self.env(cr=run_cr)["ir.cron"]._clear_schedule({"id": self.cron_id})
        self.assertEqual(self._committed(self._triggers), 0)

    def test_the_trigger_a_run_is_taking_is_not_counted_on(self):
        self._committed(self._notification_wakes)
        with self.env.registry.cursor() as run_cr:
            # A run took the job: its trigger is deleted, not yet committed.
            self.env(cr=run_cr)["ir.cron"]._clear_schedule({"id": self.cron_id})
            with self.env.registry.cursor() as notification_cr:
                env = self.env(cr=notification_cr)
                self.assertFalse(self._already_woken(env))
                self._notification_wakes(env)
            run_cr.commit()
        # The run ends; the notification's own trigger calls the next one.
        self.assertEqual(self._committed(self._triggers), 1)

    def test_a_trigger_taken_since_the_notification_began_is_not_counted_on(self):
        self._committed(self._notification_wakes)
        with self.env.registry.cursor() as notification_cr:
            env = self.env(cr=notification_cr)
            # The notification's transaction has begun (its snapshot is taken).
            notification_cr.execute("SELECT 1")
            with self.env.registry.cursor() as run_cr:
                self.env(cr=run_cr)["ir.cron"]._clear_schedule({"id": self.cron_id})
            with self.assertNoLogs("odoo.sql_db", "ERROR"):
                self.assertFalse(self._already_woken(env))
            self._notification_wakes(env)
        self.assertEqual(self._committed(self._triggers), 1)

"""The connector's scheduled actions run by Odoo's own cron runner, within its soft budget.

Odoo 19 gives a cron run a few seconds (cron_end_time) and runs the job again while it
reports work left; the queue must still start work inside that budget.
"""

from odoo.tests import tagged

from ..models import basware_exchange as queue
from .inbound_common import InboundCase

IMPORT_CRON = "basware_connector.ir_cron_basware_import_documents"


@tagged("post_install", "-at_install")
class TestCronBudget(InboundCase):
    def test_import_cron_answers_the_notification(self):
        self.backend.last_sync_date = self.env.cr.now()
        document = self.approve()
        notification = self.Exchange._enqueue(
            self.backend,
            queue.KIND_WEBHOOK,
            queue.DIRECTION_INBOUND,
            payload={"taskId": "task-cron", "documentId": document["invoiceId"]},
            dedup_key="task:task-cron",
        )
        self.env.ref(IMPORT_CRON).method_direct_trigger()
        self.env.invalidate_all()
        self.assertEqual(notification.state, queue.STATE_DONE)
        self.assertTransferredAs(document["invoiceId"], self.bills_of(document["invoiceId"]))

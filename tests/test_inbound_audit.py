"""The audit trail of imported bills: the purge of old done exchanges keeps every exchange
that a person must still resolve, with its parents and children."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models import basware_exchange as spine
from .inbound_common import DOCUMENTS_PATH, InboundCase, basware_document

SPINE_LOGGER = "odoo.addons.basware_connector.models.basware_exchange"
BAD_REQUEST = 400


class AuditCase(InboundCase):
    def import_invoice(self, **values):
        """Approve, import and answer one invoice; return its bill and the document as
        Basware served it."""
        invoice_id = self.approve(**values)["invoiceId"]
        served = basware_document(self.sandbox, invoice_id)
        self.import_documents()
        self.run_queue()
        return self.bills_of(invoice_id), served

    def family(self, exchange):
        """The exchange and all its descendants."""
        family = exchange
        while children := family.child_ids - family:
            family |= children
        return family

    def purge_old(self, exchanges):
        """Date ``exchanges`` back beyond the retention, then run the purge."""
        old = fields.Datetime.now() - timedelta(days=spine.DEFAULT_RETENTION_DAYS + 1)
        exchanges._spine().write({"date_done": old})
        return self.Exchange._cron_purge_done()


@tagged("post_install", "-at_install")
class TestPurgeKeepsOpenExchanges(AuditCase):
    def test_a_failed_answer_keeps_its_done_import(self):
        invoice_id = self.approve()["invoiceId"]
        self.sandbox.fail_next(
            BAD_REQUEST, path_prefix=f"{DOCUMENTS_PATH}/{invoice_id}/transferResponses"
        )
        with mute_logger(SPINE_LOGGER):
            self.import_documents()
            self.run_queue()
        exchange = self.import_exchange(invoice_id)
        answer = exchange.child_ids
        self.assertEqual(exchange.state, spine.STATE_DONE)
        self.assertEqual(answer.mapped("state"), [spine.STATE_FAILED])

        self.assertEqual(self.purge_old(exchange | answer), 0)
        self.assertEqual(answer.parent_id, exchange)

    def test_a_dead_phase_two_poll_keeps_its_whole_line(self):
        bill, _served = self.import_invoice()
        exchange = self.import_exchange(bill.basware_invoice_id)
        family = self.family(exchange)
        poll = family.filtered(lambda member: member.kind == spine.KIND_REQUEST_STATUS)
        self.assertEqual(poll.parent_id.parent_id, exchange)
        poll._spine().write({"state": spine.STATE_DEAD})

        self.assertEqual(self.purge_old(family), 0)
        self.assertEqual(self.family(exchange), family)

    def test_a_failed_import_keeps_the_answer_it_gave(self):
        invoice_id = self.approve(account="601397")["invoiceId"]
        with mute_logger(SPINE_LOGGER):
            self.import_documents()
            self.run_queue()
        exchange = self.import_exchange(invoice_id)
        answer = exchange.child_ids
        self.assertEqual(exchange.state, spine.STATE_FAILED)
        self.assertEqual(answer.mapped("state"), [spine.STATE_DONE])

        self.assertEqual(self.purge_old(self.family(exchange)), 0)
        self.assertEqual(exchange.child_ids, answer)

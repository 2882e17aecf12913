"""Helpers of the inbound flow tests: a vendor, a GL account and a tax Odoo can book
Basware invoices on, invoices approved by the sandbox operator, and what Basware saw."""

from ..basware import constants as bw
from ..models import basware_exchange as queue
from .common import QueueCase

COMPANY_CODE = "C100"
VENDOR_CODE = "V-3001"
ACCOUNT_CODE = "601301"
TAX_CODE = "VAT24"
TAX_PERCENT = 24.0
DOCUMENTS_PATH = bw.ACCOUNTING_DOCUMENTS_PATH
# The exchange queue logs each failed attempt: tests of failures mute it.
QUEUE_LOGGER = "odoo.addons.basware_connector.models.basware_exchange"


def booking_values(suffix=""):
    """Values of the vendor, account and tax the inbound tests book invoices on."""
    return {
        "vendor": {"name": f"Inbound Paper Oy{suffix}", "ref": VENDOR_CODE, "supplier_rank": 1},
        "account": {"name": f"Paper{suffix}", "code": ACCOUNT_CODE, "account_type": "expense"},
        "tax": {
            "name": f"Purchase 24%{suffix}",
            "amount": TAX_PERCENT,
            "amount_type": "percent",
            "type_tax_use": "purchase",
            "basware_code": TAX_CODE,
        },
    }


def create_booking_records(env, suffix=""):
    values = booking_values(suffix)
    return (
        env["res.partner"].create(values["vendor"]),
        env["account.account"].create(values["account"]),
        env["account.tax"].create(values["tax"]),
    )


def approve(sandbox, env, net=100.0, account=ACCOUNT_CODE, **values):
    """An invoice a Basware user approved: one coding row on ``account`` with 24% tax."""
    values.setdefault("supplier_code", VENDOR_CODE)
    values.setdefault("company_code", COMPANY_CODE)
    values.setdefault("currency", env.company.currency_id.name)
    values.setdefault("payment_term", "")
    rows = [
        {"accountCode": account, "netTotal": net, "taxCode": TAX_CODE, "taxPercent": TAX_PERCENT}
    ]
    return sandbox.approve_invoice(notify=False, coding_rows=rows, **values)


def basware_document(sandbox, invoice_id):
    """The invoice as Basware holds it now."""
    return sandbox.app.store.get("accountingDocuments", invoice_id)


def transfer_responses(sandbox, invoice_id=None):
    return [
        response
        for response in sandbox.received("transferResponses")
        if invoice_id is None or response["invoiceId"] == invoice_id
    ]


def calls(sandbox, method, path_part):
    return [
        entry
        for entry in sandbox.requests
        if entry["method"] == method and path_part in entry["path"]
    ]


class InboundCase(QueueCase):
    """A sandbox backend of company code C100 that can book the approved invoices."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Move = cls.env["account.move"]
        cls.vendor, cls.account, cls.tax = create_booking_records(cls.env)

    def approve(self, **values):
        return approve(self.sandbox, self.env, **values)

    def import_documents(self):
        return self.backend.with_user(self.manager).action_import_documents()

    def run_queue(self, kinds=None):
        """Run every due exchange (of ``kinds``) until none is left."""
        for _round in range(10):
            self.Exchange._process_backend_queue(self.backend, limit=1000, kinds=kinds)
            if not self.Exchange._due_count(self.backend, kinds):
                return

    def bills_of(self, invoice_id):
        return self.Move.search(
            [("basware_backend_id", "=", self.backend.id), ("basware_invoice_id", "=", invoice_id)]
        )

    def import_exchange(self, invoice_id):
        return self.Exchange.search(
            [
                ("backend_id", "=", self.backend.id),
                ("kind", "=", queue.KIND_ACCOUNTING_DOCUMENT),
                ("external_code", "=", invoice_id),
            ]
        )

    def status_of(self, invoice_id):
        return basware_document(self.sandbox, invoice_id)["processingStatus"]

    def assertTransferredAs(self, invoice_id, bill):
        document = basware_document(self.sandbox, invoice_id)
        self.assertEqual(document["processingStatus"], bw.PS_TRANSFERRED)
        self.assertEqual(document["voucherNumber1"], bill.name)

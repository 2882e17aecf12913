"""Code mappings made by hand or CSV, and the "Unmapped codes" work list they empty."""

import json

import psycopg2

from odoo.exceptions import ValidationError
from odoo.tools import mute_logger

from ..models.basware_invoice_mapping import BaswareDocumentRejected
from .test_invoice_mapping import InvoiceMappingCase


def vat24_row(net, cost_center, account="601101"):
    """A coding row at 24% VAT on ``cost_center``."""
    return {
        "accountCode": account,
        "taxCode": "VAT24",
        "taxPercent": 24.0,
        "netTotal": net,
        "costCenterCode": cost_center,
    }


class TestCodeMapping(InvoiceMappingCase):
    def _rejected_import(self, document):
        """An accounting document exchange that failed on ``document``'s codes."""
        exchange = self.env["basware.exchange"]._enqueue(
            self.backend,
            "accounting_document",
            "inbound",
            payload=document,
            external_code=document["invoiceId"],
            dedup_key=f"document:{document['invoiceId']}",
        )
        with self.assertRaises(BaswareDocumentRejected) as caught:
            self.backend._basware_create_bill(document)
        exchange._record_failure(caught.exception, False, None)
        return exchange

    def _map(self, kind, code, **target):
        return self.env["basware.code.mapping"].create(
            {"backend_id": self.backend.id, "kind": kind, "code": code, **target}
        )

    def test_mapped_codes_come_first(self):
        other_vendor = self.env["res.partner"].create({"name": "Basware's own number"})
        self._map("vendor", "SUP-77", partner_id=other_vendor.id)
        self._map("account", "9999", account_id=self.services.id)
        self._map("cost_center", "OLD-NORTH", analytic_account_id=self.cc_north.id)
        document = self.approve(
            supplier_code="SUP-77",
            rows=[vat24_row(100.0, "OLD-NORTH", account="9999")],
        )
        bill = self.backend._basware_create_bill(document)
        self.assertEqual(bill.partner_id, other_vendor)
        line = bill.invoice_line_ids
        self.assertEqual(line.account_id, self.services)
        self.assertEqual(line.analytic_distribution, {str(self.cc_north.id): 100.0})

    def test_mapping_needs_its_record_and_is_unique(self):
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            self._map("vendor", "SUP-1")
        self._map("vendor", " SUP-1 ", partner_id=self.vendor.id)
        self.assertTrue(
            self.env["basware.code.mapping"].search([("code", "=", "SUP-1")]),
            "codes are stored without surrounding blanks",
        )
        with (
            self.assertRaises(psycopg2.IntegrityError),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self._map("vendor", "SUP-1", partner_id=self.vendor.id)

    def test_csv_import(self):
        result = self.env["basware.code.mapping"].load(
            ["backend_id/id", "kind", "code", "account_id/id", "tax_id/id"],
            [
                [self._xmlid(self.backend), "account", "7000", self._xmlid(self.supplies), ""],
                [self._xmlid(self.backend), "tax", "T-STD", "", self._xmlid(self.tax_24)],
            ],
        )
        self.assertFalse(result["messages"], result["messages"])
        mappings = self.env["basware.code.mapping"].browse(result["ids"])
        self.assertEqual(
            mappings.mapped("record_name"), [self.supplies.display_name, self.tax_24.display_name]
        )

    def _xmlid(self, record):
        return record.get_external_id()[record.id] or record.export_data(["id"])["datas"][0][0]

    def test_unmapped_codes_list_and_map_and_replay(self):
        first = self._rejected_import(self.approve(rows=[vat24_row(50.0, "CC-X")]))
        second = self._rejected_import(
            self.approve(
                rows=[
                    vat24_row(70.0, "CC-X"),
                    vat24_row(10.0, "CC-N", account="4711"),
                ]
            )
        )
        self.assertEqual(first.unmapped_codes, [["cost_center", "CC-X"]])
        self.env.flush_all()
        rows = self.env["basware.unmapped.code"].search([("backend_id", "=", self.backend.id)])
        self.assertEqual(
            {(row.kind, row.code, row.invoice_count) for row in rows},
            {("cost_center", "CC-X", 2), ("account", "4711", 1)},
        )
        cc_row = rows.filtered(lambda row: row.code == "CC-X")
        self.assertEqual(cc_row._waiting_exchanges(), first | second)
        action = cc_row.action_map()
        self.assertEqual(action["context"]["default_code"], "CC-X")
        mapping = (
            self.env["basware.code.mapping"]
            .with_context(**action["context"])
            .create({"analytic_account_id": self.cc_north.id})
        )
        mapping.action_replay_waiting()
        self.assertEqual((first.state, second.state), ("pending", "pending"))
        # the first now maps in full; the second still waits on account 4711
        bill = self.backend._basware_create_bill(json.loads(first.request_payload))
        self.assertEqual(
            bill.invoice_line_ids.analytic_distribution, {str(self.cc_north.id): 100.0}
        )

    def test_success_clears_the_unmapped_codes(self):
        exchange = self._rejected_import(self.approve(rows=[vat24_row(50.0, "CC-Y")]))
        self.assertTrue(exchange.unmapped_codes)
        exchange._record_success({"ok": True}, None)
        self.assertFalse(exchange.unmapped_codes)
        self.env.flush_all()
        self.assertFalse(self.env["basware.unmapped.code"].search([("code", "=", "CC-Y")]))

    def test_a_rate_without_tax_code_maps_as_its_rate(self):
        self.backend.invoice_tax_by_percent = False
        document = self.approve([{"accountCode": "601101", "netTotal": 10.0, "taxPercent": 14}])
        exchange = self._rejected_import(document)
        self.assertEqual(exchange.unmapped_codes, [["tax", "14%"]])
        self._map("tax", "14%", tax_id=self.tax_14.id)
        bill = self.backend._basware_create_bill(document)
        self.assertEqual(bill.invoice_line_ids.tax_ids, self.tax_14)

    def test_dashboard_counts_the_unmapped_codes(self):
        self._rejected_import(
            self.approve(
                rows=[
                    {
                        "accountCode": "4712",
                        "taxCode": "VAT24",
                        "taxPercent": 24.0,
                        "netTotal": 5.0,
                    },
                ]
            )
        )
        self.env.flush_all()
        self.backend.invalidate_recordset()
        self.assertEqual(self.backend.dashboard_unmapped_count, 1)
        action = self.backend.action_open_unmapped_codes()
        codes = self.env["basware.unmapped.code"].search(action["domain"])
        self.assertEqual(codes.mapped("code"), ["4712"])

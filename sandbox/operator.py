"""Operator commands: what a Basware user would do in P2P (approve invoices), plus inspection."""

import uuid
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from .constants import (
    STANDARD_MODE,
    TASK_ACCOUNTING_DOCUMENTS,
    WAITING_FOR_PREBOOK,
    WAITING_FOR_TRANSFER,
)
from .documents import RESPONSE_KINDS
from .store import now_iso

DOCUMENTS = "accountingDocuments"
SYNTHETIC_SUPPLIER = "SANDBOX-SUPPLIER"
DEFAULT_COMPANY = "SANDBOX"
DEFAULT_ACCOUNT = "4000"
DEFAULT_CURRENCY = "EUR"
PAYMENT_DAYS = 30
CENT = Decimal("0.01")
# Bytes served as the invoice image: a minimal one-page PDF.
PDF_IMAGE = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def cents(amount):
    """``amount`` rounded to the cent half up, as accounting rounds (Python's round() works
    on the binary float: 1.575 would give 1.57)."""
    return float(Decimal(repr(amount)).quantize(CENT, rounding=ROUND_HALF_UP))


class OperatorCommands:
    """Mixin of SandboxApp."""

    def approve_invoice(
        self,
        invoice_id=None,
        vendor=None,
        supplier_code=None,
        company_code=None,
        currency=None,
        invoice_number=None,
        invoice_date=None,
        due_date=None,
        net_amount=100.0,
        tax_percent=24.0,
        tax_code=None,
        account=None,
        cost_center=None,
        project=None,
        order=None,
        order_lines=None,
        credit_note=False,
        description=None,
        prebook=False,
        notify=True,
        coding_rows=None,
        gross_sum=None,
        payment_term=None,
        reference_number=None,
        extra=None,
    ):
        """Create a WaitingForTransfer accountingDocument and push its notification.

        prebook: create it WaitingForPrebook instead (the ERP answers with prebookResponses;
        retransfer() then offers it for transfer, as a P2P user approving it would).

        vendor: externalCode or vendorCode of a received vendor (default: the last received
        one, else a synthetic supplier). order: externalCode of a received matchingOrder (all
        its lines are invoiced); order_lines: externalCodes of received matchingOrderLines.
        Without lines, one coding row books net_amount on account / cost_center / project.

        coding_rows: explicit coding rows instead, each a dict of StandardCodingEntity fields
        with a positive netTotal (a credit note turns the amounts negative); taxSum defaults
        to netTotal x taxPercent, grossTotal to their sum; "orderLine" names a received
        matchingOrderLine whose order, line number, coding and tax fill the row's defaults.
        gross_sum: the document's grossSum instead of the rows' total (a wrong total).
        payment_term / reference_number: paymentTermCode / referenceNumber of the header.
        extra: more AccountingDocumentEntity header fields, set as given (exchangeRateCompany,
        grossSumCompany, parentInvoiceBumId...).
        """
        sign = -1 if credit_note else 1
        if coding_rows:
            rows = [self._explicit_row(row, sign) for row in coding_rows]
            lines = [
                self.store.get("matchingOrderLines", row["orderLine"])
                for row in coding_rows
                if row.get("orderLine")
            ]
        else:
            rows = None
            lines = self._order_lines(order, order_lines)
        order_header = self._line_order(lines[0]) if lines else None
        vendor_record = self._vendor(
            vendor, supplier_code or (order_header or {}).get("supplierCode")
        )
        header = self._header(
            invoice_id, vendor_record, supplier_code, company_code, currency, order_header
        )
        if payment_term is not None:
            header["paymentTermCode"] = payment_term
        if reference_number is not None:
            header["referenceNumber"] = reference_number
        if rows:
            for row in rows:
                row.setdefault(
                    "accountCode",
                    self._first_code("accounts", "accountCode", header["companyCode"])
                    or DEFAULT_ACCOUNT,
                )
        elif lines:
            rows = [self._order_row(line, tax_percent, sign) for line in lines]
        else:
            rows = [
                self._free_row(
                    header["companyCode"],
                    net_amount * sign,
                    tax_percent,
                    tax_code,
                    account,
                    cost_center,
                    project,
                )
            ]
        doc = self._complete_document(
            header,
            rows,
            invoice_number,
            invoice_date,
            due_date,
            tax_percent,
            description,
            credit_note,
        )
        if gross_sum is not None:
            doc["grossSum"] = gross_sum
        doc.update(extra or {})
        if prebook:
            doc.update(processingStatus=WAITING_FOR_PREBOOK, prebookResponses=[])
        problems = self.validator.errors(doc, "AccountingDocumentEntity")
        if problems:
            raise ValueError("; ".join(problems))
        self._store_document(doc)
        if notify:
            self.notify(TASK_ACCOUNTING_DOCUMENTS, doc["processingStatus"], doc["invoiceId"])
        return doc

    def seed_accounting_documents(self, count, **kwargs):
        """count approved invoices (for paging tests); kwargs as for approve_invoice."""
        return [self.approve_invoice(**kwargs) for _index in range(int(count))]

    def retransfer(self, invoice_id, changes=None):
        """Offer an invoice again, as when a P2P user re-sends it to the ERP; ``changes``:
        header fields (codingRows included) a user corrected before re-sending it."""
        with self.document_lock:
            doc = self.store.get(DOCUMENTS, invoice_id)
            if doc is None:
                raise KeyError(invoice_id)
            doc.update(changes or {})
            doc.update(processingStatus=WAITING_FOR_TRANSFER, lastUpdated=now_iso())
            self.store.put(DOCUMENTS, invoice_id, doc)
        self.notify(TASK_ACCOUNTING_DOCUMENTS, WAITING_FOR_TRANSFER, invoice_id)
        return doc

    def received(self, entity):
        """Stored records of one entity: an endpoint name ('vendors', 'lists/ACC_LIST_1',
        'lists' for every list, 'requestStatus', 'tasks', ...) or 'transferResponses' /
        'paymentResponses' / 'prebookResponses' (each with its invoiceId)."""
        if entity in RESPONSE_KINDS:
            return [
                {"invoiceId": doc["invoiceId"], **response}
                for _seq, doc in self.store.items(DOCUMENTS)
                for response in doc.get(entity) or ()
            ]
        if entity == "lists":
            return [
                record
                for name in self.store.entities()
                if name.startswith("lists/")
                for _seq, record in self.store.items(name)
            ]
        return [_public(record) for _seq, record in self.store.items(entity)]

    # building blocks ----------------------------------------------------------------------
    def _order_lines(self, order, order_lines):
        codes = list(order_lines or ())
        if order:
            if self.store.get("matchingOrders", order) is None:
                raise ValueError(f"matchingOrder '{order}' has not been received")
            codes += [
                line["externalCode"]
                for _s, line in self.store.items("matchingOrderLines")
                if line.get("orderExternalCode") == order and line["externalCode"] not in codes
            ]
        lines = []
        for code in codes:
            line = self.store.get("matchingOrderLines", code)
            if line is None:
                raise ValueError(f"matchingOrderLine '{code}' has not been received")
            lines.append(line)
        return lines

    def _line_order(self, line):
        code = line.get("orderExternalCode")
        order = self.store.get("matchingOrders", code)
        if order is None:
            raise ValueError(f"matchingOrder '{code}' has not been received")
        return order

    def _vendor(self, wanted, supplier_code):
        vendors = [v for _s, v in self.store.items("vendors")]
        key = wanted or supplier_code
        if key:
            for vendor in vendors:
                if key in (vendor.get("externalCode"), vendor.get("vendorCode")):
                    return vendor
            if wanted:
                raise ValueError(f"vendor '{wanted}' has not been received")
            return None
        return vendors[-1] if vendors else None

    def _header(self, invoice_id, vendor, supplier_code, company_code, currency, order):
        vendor = vendor or {}
        companies = vendor.get("companies") or [{}]
        company = (
            company_code
            or (order or {}).get("companyCode")
            or companies[0].get("companyCode")
            or DEFAULT_COMPANY
        )
        return {
            "invoiceId": invoice_id or uuid.uuid4().hex,
            "bumid": str(uuid.uuid4()),
            "p2pProcessingMode": STANDARD_MODE,
            "processingStatus": WAITING_FOR_TRANSFER,
            "companyCode": company,
            "organizationCode": (order or {}).get("organizationElementCode"),
            "supplierCode": (
                supplier_code
                or vendor.get("vendorCode")
                or (order or {}).get("supplierCode")
                or SYNTHETIC_SUPPLIER
            ),
            "supplierName": vendor.get("name") or (order or {}).get("supplierName"),
            "currencyCode": currency or (order or {}).get("currencyCode") or DEFAULT_CURRENCY,
            "paymentBlock": False,
            "paymentTermCode": (vendor.get("paymentTerms") or {}).get("paymentTermCode"),
        }

    def _free_row(self, company, net, tax_percent, tax_code, account, cost_center, project):
        tax = cents(net * tax_percent / 100)
        return {
            "externalCode": uuid.uuid4().hex,
            "rowIndex": 1,
            "accountCode": account
            or self._first_code("accounts", "accountCode", company)
            or DEFAULT_ACCOUNT,
            "costCenterCode": cost_center
            or self._first_code("costCenters", "costCenterCode", company),
            "projectCode": project,
            "taxCode": tax_code,
            "taxPercent": tax_percent,
            "netTotal": cents(net),
            "taxSum": tax,
            "grossTotal": cents(net + tax),
        }

    def _order_row(self, line, tax_percent, sign):
        order = self._line_order(line)
        coding = (line.get("orderLineCoding") or [{}])[0]
        quantity = line["quantity"] - (line.get("invoicedQuantity") or 0)
        net = line.get("netSum")
        if net is None:
            net = (line.get("netPrice") or 0) * line["quantity"]
        net = cents(net * quantity / line["quantity"] * sign)
        percent = line.get("taxPercent", tax_percent)
        tax = cents(net * (percent or 0) / 100)
        receipts = line.get("goodsReceipts") or [{}]
        return {
            "externalCode": uuid.uuid4().hex,
            "accountCode": coding.get("accountCode"),
            "costCenterCode": coding.get("costCenterCode"),
            "projectCode": coding.get("projectCode"),
            "taxCode": line.get("taxCode") or coding.get("taxCode"),
            "taxPercent": percent,
            "netTotal": net,
            "taxSum": tax,
            "grossTotal": cents(net + tax),
            "orderNumber": order["orderNumber"],
            "orderLineNumber": line["lineNumber"],
            "goodsReceiptNumber": receipts[-1].get("goodsReceiptNumber"),
            "matchedQuantity": quantity * sign,
            "matchedNetSum": net,
            "matchingType": 0,
            "productCode": line.get("productCode"),
            "productName": line.get("productName"),
        }

    def _explicit_row(self, spec, sign):
        """A coding row from explicit fields; amounts given positive, signed here."""
        spec = dict(spec)
        line_code = spec.pop("orderLine", None)
        row = {}
        if line_code:
            line = self.store.get("matchingOrderLines", line_code)
            if line is None:
                raise ValueError(f"matchingOrderLine '{line_code}' has not been received")
            order = self._line_order(line)
            coding = (line.get("orderLineCoding") or [{}])[0]
            receipts = line.get("goodsReceipts") or [{}]
            row.update(
                accountCode=coding.get("accountCode"),
                costCenterCode=coding.get("costCenterCode"),
                projectCode=coding.get("projectCode"),
                taxCode=line.get("taxCode") or coding.get("taxCode"),
                taxPercent=line.get("taxPercent"),
                orderNumber=order["orderNumber"],
                orderLineNumber=line["lineNumber"],
                goodsReceiptNumber=receipts[-1].get("goodsReceiptNumber"),
                matchingType=0,
                productCode=line.get("productCode"),
                productName=line.get("productName"),
            )
        row.update(spec)
        net = float(row["netTotal"])
        tax = row.get("taxSum")
        if tax is None:
            tax = cents(net * (row.get("taxPercent") or 0) / 100)
        row.update(
            externalCode=row.get("externalCode") or uuid.uuid4().hex,
            netTotal=cents(net * sign),
            taxSum=cents(tax * sign),
            grossTotal=cents((net + tax) * sign),
        )
        if row.get("taxSum2") is not None:
            row["taxSum2"] = cents(row["taxSum2"] * sign)
        if row.get("matchedQuantity") is not None:
            row["matchedQuantity"] = row["matchedQuantity"] * sign
            row.setdefault("matchedNetSum", row["netTotal"])
        return {key: value for key, value in row.items() if value is not None}

    def _first_code(self, entity, field, company):
        for _seq, record in self.store.items(entity):
            companies = record.get("companies") or ()
            if not companies or any(c.get("companyCode") == company for c in companies):
                return record.get(field)
        return None

    def _complete_document(
        self,
        header,
        rows,
        invoice_number,
        invoice_date,
        due_date,
        tax_percent,
        description,
        credit_note,
    ):
        for index, row in enumerate(rows, start=1):
            row["rowIndex"] = index
        net = cents(sum(r["netTotal"] for r in rows))
        tax = cents(sum(r["taxSum"] for r in rows))
        issued = date.fromisoformat(invoice_date) if invoice_date else date.today()
        due = date.fromisoformat(due_date) if due_date else issued + timedelta(days=PAYMENT_DAYS)
        sequence = len(self.store.items(DOCUMENTS)) + 1
        number = invoice_number or f"SBX-{sequence:05d}"
        attachment = {
            "externalCode": uuid.uuid4().hex,
            "category": "ORIGINALIMAGE",
            "filename": f"{number}.pdf",
            "isConfidential": False,
            "creationTime": now_iso(),
        }
        doc = {
            **header,
            "invoiceNumber": number,
            "invoiceTypeCode": "CreditNote" if credit_note else "Invoice",
            "invoiceDate": f"{issued.isoformat()}T00:00:00",
            "baseLineDate": f"{issued.isoformat()}T00:00:00",
            "dueDate": f"{due.isoformat()}T00:00:00",
            "netSum": net,
            "taxSum1": tax,
            "taxPercent1": tax_percent,
            "grossSum": cents(net + tax),
            "description": description,
            "orderNumbers": sorted({r["orderNumber"] for r in rows if r.get("orderNumber")}),
            "codingRows": [{k: v for k, v in r.items() if v is not None} for r in rows],
            "attachments": [attachment],
            "transferParameters": [{"key": "InvoiceBatchId", "value": uuid.uuid4().hex}],
            "transferResponses": [],
            "paymentResponses": [],
            "lastUpdated": now_iso(),
        }
        return {k: v for k, v in doc.items() if v is not None}

    def _store_document(self, doc):
        self.store.put(DOCUMENTS, doc["invoiceId"], doc)
        attachment = doc["attachments"][0]
        self.store.put_attachment(doc["invoiceId"], attachment["externalCode"], PDF_IMAGE)


def _public(record):
    return {k: v for k, v in record.items() if not k.startswith("_")}

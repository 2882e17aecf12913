"""The accounting content of a Basware accounting document, to tell a corrected re-transfer apart.

Only what a bill is booked from counts: status, responses, attachments, custom text and voucherDate
(set from our transferDate) change without changing the books."""

import hashlib
import json

HEADER_KEYS = (
    "companyCode",
    "supplierCode",
    "currencyCode",
    "invoiceNumber",
    "invoiceDate",
    "baseLineDate",
    "dueDate",
    "paymentTermCode",
    "referenceNumber",
    "supplierBankIBAN",
    "supplierBankBBAN",
    "netSum",
    "grossSum",
    "taxSum1",
    "taxSum2",
    "exchangeRateCompany",
    "grossSumCompany",
    "parentInvoiceBumId",
)
ROW_KEYS = (
    "accountCode",
    "costCenterCode",
    "projectCode",
    "profitCenterCode",
    "businessUnitCode",
    "internalOrderCode",
    "employeeCode",
    "customerCode",
    "fixedAssetCode",
    *(f"dimCode{number}" for number in range(1, 11)),
    "taxCode",
    "taxPercent",
    "taxPercent2",
    "netTotal",
    "grossTotal",
    "taxSum",
    "taxSum2",
    "orderNumber",
    "orderLineNumber",
    "matchedQuantity",
    "allocatedQuantity",
)
# Amounts compare to the millionth: 100 and 100.0 are one amount.
NUMBER_DIGITS = 6
ROWS_KEY = "codingRows"


def _normal(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return round(float(value), NUMBER_DIGITS)
    return str(value).strip()


def _picked(record, keys):
    return {key: _normal(record.get(key)) for key in keys if record.get(key) not in (None, "")}


def _row_key(row, position):
    return str(row.get("rowIndex") or position)


def accounting_content(document):
    """The header and coding-row fields a bill is booked from, normalised."""
    rows = document.get(ROWS_KEY) or ()
    return {
        "header": _picked(document, HEADER_KEYS),
        "rows": {
            _row_key(row, position): _picked(row, ROW_KEYS)
            for position, row in enumerate(rows, start=1)
        },
    }


def document_hash(document):
    """SHA-256 of the document's accounting content: equal for documents booked alike."""
    text = json.dumps(accounting_content(document), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _field_changes(before, after, prefix=""):
    return [
        f"{prefix}{key} {before.get(key, '-')} → {after.get(key, '-')}"
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    ]


def document_changes(before, after):
    """What changed in the accounting content from ``before`` to ``after``, one phrase
    each: ``grossSum 124.0 → 130.0``, ``row 2 accountCode 6000 → 6010``, ``row 3 added``."""
    old, new = accounting_content(before), accounting_content(after)
    changes = _field_changes(old["header"], new["header"])
    for key in sorted(set(old["rows"]) | set(new["rows"]), key=lambda k: (len(k), k)):
        if key not in new["rows"]:
            changes.append(f"row {key} removed")
        elif key not in old["rows"]:
            changes.append(f"row {key} added")
        else:
            changes += _field_changes(old["rows"][key], new["rows"][key], f"row {key} ")
    return changes

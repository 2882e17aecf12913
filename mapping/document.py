"""Reading a Basware accounting document: its codes, dates, rows, amounts and rates.

Plain values in, plain values out: the ORM side turns the codes into records.
"""

import math
from datetime import datetime

DATE_FORMAT = "%Y-%m-%d"
DATE_LENGTH = 10
# Tax rates compare to the ten-thousandth of a percent.
RATE_DIGITS = 4

# How Basware's exchangeRateCompany is quoted (a backend setting).
RATE_COMPANY_PER_INVOICE = "company_per_invoice"
RATE_INVOICE_PER_COMPANY = "invoice_per_company"
RATE_QUOTES = [
    (RATE_COMPANY_PER_INVOICE, "Company currency per unit of invoice currency"),
    (RATE_INVOICE_PER_COMPANY, "Invoice currency per unit of company currency"),
]

# The header fields whose codes a binding or a code mapping may name.
HEADER_CODE_KEYS = ("supplierCode", "paymentTermCode")
ROW_CODE_KEYS = ("accountCode", "taxCode", "orderLineNumber")


def to_date(value):
    """The date of a Basware date-time (``2025-03-01T00:00:00``), None when empty; ValueError when
    the text is no date.
    """
    if not value:
        return None
    return datetime.strptime(str(value)[:DATE_LENGTH], DATE_FORMAT).date()


def to_float(value):
    return None if value is None else float(value)


def code_of(value):
    """A Basware code as text without surrounding spaces ('' when absent)."""
    return str(value).strip() if value not in (None, False) else ""


def fallback_id(code, prefix):
    """The record id in a fallback code made of ``prefix`` and an id, else None."""
    if prefix and code.startswith(prefix) and code[len(prefix) :].isdigit():
        return int(code[len(prefix) :])
    return None


def coding_rows(document):
    """The document's coding rows in Basware's order (rowIndex)."""
    return sorted(document.get("codingRows") or [], key=lambda row: row.get("rowIndex") or 0)


def row_number(row, index):
    """The row's number as Basware's user sees it: its rowIndex, else its position."""
    return row.get("rowIndex") or index


def document_codes(document, rows, row_keys=()):
    """Every code of the document a binding or a code mapping may name, sorted; ``row_keys``
    are the row fields read besides the account, tax and order line."""
    keys = [*ROW_CODE_KEYS, *row_keys]
    codes = {code_of(document.get(key)) for key in HEADER_CODE_KEYS}
    codes |= {code_of(row.get(key)) for row in rows for key in keys}
    return sorted(code for code in codes if code)


def row_net(row):
    """The row's net amount: netTotal, else grossTotal less taxSum; None when it has neither."""
    net = to_float(row.get("netTotal"))
    if net is None and row.get("grossTotal") is not None:
        net = float(row["grossTotal"]) - (to_float(row.get("taxSum")) or 0.0)
    return net


def gross_total(document, rows):
    """Basware's gross sum, else the sum of the rows' gross totals."""
    gross = to_float(document.get("grossSum"))
    if gross is None:
        gross = sum(
            (to_float(row.get("netTotal")) or 0.0) + (to_float(row.get("taxSum")) or 0.0)
            for row in rows
        )
    return gross


def order_quantity(row, amount):
    """The quantity billed on the row's order line (in its unit), which Odoo counts as
    billed: Basware's matched quantity, else its allocated one, else None. Its sign is the
    amount's, so a line that takes an amount off also takes its quantity off."""
    for key in ("matchedQuantity", "allocatedQuantity"):
        quantity = abs(to_float(row.get(key)) or 0.0)
        if quantity:
            return math.copysign(quantity, amount or 1.0)
    return None


def row_rates(row):
    """(charged, self-assessed) tax rates of a row: taxPercent, and taxPercent2 of a reverse
    charge. A row that states the nominal rate twice but charges no tax (taxSum 0) charges 0."""
    percent = to_float(row.get("taxPercent")) or 0.0
    percent2 = to_float(row.get("taxPercent2")) or 0.0
    tax_sum = to_float(row.get("taxSum"))
    if percent2 and percent == percent2 and tax_sum is not None and not tax_sum:
        percent = 0.0
    return round(percent, RATE_DIGITS), round(percent2, RATE_DIGITS)


def states_tax(row):
    """Whether a row without tax code carries a tax: a rate or a tax amount."""
    tax_sums = (to_float(row.get("taxSum")) or 0.0, to_float(row.get("taxSum2")) or 0.0)
    return any((*row_rates(row), *tax_sums))


def rate_code(charged, self_assessed):
    """The code of a row's rates, for code mappings: ``24%``, ``0% +21% self-assessed``."""
    code = f"{charged:g}%"
    if self_assessed:
        code += f" +{self_assessed:g}% self-assessed"
    return code


def basware_rate(document, quote=RATE_COMPANY_PER_INVOICE):
    """Company currency per unit of invoice currency as Basware states it, else None: its
    company gross sum over its gross sum, else exchangeRateCompany read as ``quote`` says."""
    gross = to_float(document.get("grossSum"))
    gross_company = to_float(document.get("grossSumCompany"))
    if gross and gross_company:
        return abs(gross_company / gross)
    rate = to_float(document.get("exchangeRateCompany"))
    if not rate or rate < 0:
        return None
    if quote == RATE_INVOICE_PER_COMPANY:
        return 1.0 / rate
    return rate


def refunded_invoice(document, field_name=None):
    """(bumid, number) of the invoice a credit note refunds: parentInvoiceBumId, and the
    number in the document field ``field_name`` names; '' where not stated."""
    field_name = (field_name or "").strip()
    number = code_of(document.get(field_name)) if field_name else ""
    return code_of(document.get("parentInvoiceBumId")), number


def line_name(document, row, order_line_name=""):
    """The label of a row's bill line: the order line's, else the first text Basware gives."""
    return (
        order_line_name
        or code_of(row.get("productName"))
        or code_of(row.get("accountName"))
        or code_of(document.get("description"))
        or code_of(document.get("invoiceNumber"))
        or code_of(row.get("accountCode"))
    )

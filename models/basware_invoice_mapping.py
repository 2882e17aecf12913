"""Basware accounting documents as Odoo vendor bills: map, validate, then create a draft.

A document (AccountingDocumentEntity) is mapped as a whole before anything is created:
every code of the header and of the coding rows is resolved, and every problem is
collected, so Basware's user learns all that is missing at once. The bill is then created
in a savepoint with one line per coding row (each row's net amount is exact on its line),
Odoo follows Basware's tax amounts where they differ by rounding only, and the total is
checked against Basware's gross sum; a failed check rolls the bill back.

Codes are looked up the way the outbound sync sends them: the backend's bindings first,
then the record's own code (Reference, account code, Basware Code), then the fallback code
the sync builds from a prefix and the record's id.
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field

from markupsafe import Markup

from odoo import Command, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import float_compare, float_round

from odoo.addons.base.models.res_bank import sanitize_account_number

from ..basware.accounting_document import document_hash
from .account_tax import TaxRates
from .basware_analytic_mapping import TARGET_COST_CENTER, TARGET_LIST, TARGET_PROJECT
from .basware_binding import (
    ENTITY_ACCOUNT,
    ENTITY_ORDER_LINE,
    ENTITY_PAYMENT_TERM,
    ENTITY_TAX_CODE,
    ENTITY_VENDOR,
)
from .basware_codes import ANALYTIC_PREFIX, PAYMENT_TERM_PREFIX, TAX_CODE_PREFIX

MOVE_IN_INVOICE = "in_invoice"
MOVE_IN_REFUND = "in_refund"
TAX_USE_PURCHASE = "purchase"
TAX_TYPE_PERCENT = "percent"
PRICE_PRECISION = "Product Price"
FULL_SHARE = 100.0
DEFAULT_TOLERANCE = 0.01
# Basware's responseMessage is 1 to 250 characters.
RESPONSE_MESSAGE_MAX = 250
ELLIPSIS = "…"
CATEGORY_ORIGINAL_IMAGE = "ORIGINALIMAGE"

# What a problem is about (the ``kind`` of BaswareDocumentRejected.unmapped).
KIND_VENDOR = "vendor"
KIND_COMPANY = "company"
KIND_CURRENCY = "currency"
KIND_PAYMENT_TERM = "payment_term"
KIND_ACCOUNT = "account"
KIND_TAX = "tax"
KIND_COST_CENTER = "cost_center"
KIND_PROJECT = "project"
KIND_LIST_ITEM = "list_item"
KIND_ORDER_LINE = "order_line"
KIND_CODING_ROWS = "coding_rows"
KIND_AMOUNT = "amount"
KIND_DATE = "date"
KIND_PERIOD = "period"
KIND_TOTAL = "total"
KIND_BILL = "bill"
ANALYTIC_KINDS = {
    TARGET_COST_CENTER: KIND_COST_CENTER,
    TARGET_PROJECT: KIND_PROJECT,
    TARGET_LIST: KIND_LIST_ITEM,
}
# Labels of Basware's responseMessage, read by Basware's users: plain English.
KIND_LABELS = {
    KIND_VENDOR: "vendor",
    KIND_COMPANY: "company",
    KIND_CURRENCY: "currency",
    KIND_PAYMENT_TERM: "payment term",
    KIND_ACCOUNT: "GL account",
    KIND_TAX: "tax code",
    KIND_COST_CENTER: "cost center",
    KIND_PROJECT: "project",
    KIND_LIST_ITEM: "dimension",
    KIND_ORDER_LINE: "order line",
    KIND_CODING_ROWS: "coding rows",
    KIND_AMOUNT: "amount of row",
    KIND_DATE: "date",
    KIND_PERIOD: "accounting period",
    KIND_TOTAL: "total",
    KIND_BILL: "bill",
}

# Why a code did not resolve.
REASON_UNKNOWN = "unknown"
REASON_OTHER_COMPANY = "of another company"
REASON_ARCHIVED = "archived"
REASON_AMBIGUOUS = "ambiguous"
REASON_MISSING = "missing"
REASON_INVALID = "invalid"
REASON_LOCKED = "locked"
REASON_MISMATCH = "differs"
REASON_REFUSED = "refused"
REASON_NO_RATE = "without exchange rate"

RATE_COMPANY_PER_INVOICE = "company_per_invoice"
RATE_INVOICE_PER_COMPANY = "invoice_per_company"
RATE_QUOTES = [
    (RATE_COMPANY_PER_INVOICE, "Company currency per unit of invoice currency"),
    (RATE_INVOICE_PER_COMPANY, "Invoice currency per unit of company currency"),
]
VALUATION_REAL_TIME = "real_time"
RATE_DIGITS = 4

ACCOUNTING_DATE_BASWARE = "basware"
ACCOUNTING_DATE_ODOO = "odoo"
ACCOUNTING_DATE_SOURCES = [
    (ACCOUNTING_DATE_BASWARE, "Basware's voucher date, else its baseline date"),
    (ACCOUNTING_DATE_ODOO, "Odoo's rule from the invoice date"),
]
ACCOUNTING_DATE_ODOO_LABEL = dict(ACCOUNTING_DATE_SOURCES)[ACCOUNTING_DATE_ODOO]


@dataclass
class Problem:
    """One reason the document cannot become a bill: a code of some kind, and why."""

    kind: str
    code: str
    reason: str
    rows: list = field(default_factory=list)
    detail: str = ""

    def describe(self):
        """``label code reason``, e.g. ``GL account 4000 unknown (rows 1, 3)``."""
        label = KIND_LABELS.get(self.kind, self.kind)
        text = f"{label} {self.code or '-'} {self.reason}"
        if self.rows:
            text += f" (rows {', '.join(str(row) for row in self.rows)})"
        if self.detail:
            text += f": {self.detail}"
        return text


class BaswareDocumentRejected(UserError):
    """A Basware accounting document that cannot become a bill, with every reason why.

    ``unmapped`` lists the (kind, code) that failed; ``problems`` the same with the reason;
    ``response_message`` is the short text for Basware's transfer response, ``str(error)``
    the full detail for the exchange.
    """

    def __init__(self, problems, document=None):
        self.problems = list(problems)
        self.unmapped = [(problem.kind, problem.code) for problem in self.problems]
        document = document or {}
        header = (
            f"Basware invoice {document.get('invoiceNumber') or '-'} "
            f"({document.get('invoiceId') or '-'}) cannot become a vendor bill:"
        )
        lines = [f"- {problem.describe()}" for problem in self.problems]
        super().__init__("\n".join([header, *lines]))

    @property
    def response_message(self):
        """At most 250 characters naming the codes Odoo could not map, for Basware's user."""
        return shorten(
            "Not booked in Odoo: " + "; ".join(self._grouped_descriptions()) + ".",
            RESPONSE_MESSAGE_MAX,
        )

    def _grouped_descriptions(self):
        """One phrase per (reason, kind): ``GL account 4000, 4010 unknown``."""
        grouped = defaultdict(list)
        for problem in self.problems:
            grouped[problem.reason, problem.kind].append(problem)
        phrases = []
        for (reason, kind), problems in grouped.items():
            codes = list(dict.fromkeys(problem.code for problem in problems if problem.code))
            parts = (KIND_LABELS.get(kind, kind), ", ".join(codes), reason)
            phrase = " ".join(part for part in parts if part)
            if len(problems) == 1 and problems[0].detail:
                # A check that failed (total, period, Odoo's refusal) says by how much or why.
                phrase += f": {problems[0].detail}"
            phrases.append(phrase)
        return phrases


def shorten(text, size):
    """``text`` cut to ``size`` characters, an ellipsis marking the cut."""
    return text if len(text) <= size else text[: size - len(ELLIPSIS)] + ELLIPSIS


def to_date(value):
    """The date part of a Basware date-time (``2025-03-01T00:00:00``), None when empty.

    :raise ValueError: when the text is no date
    """
    if not value:
        return None
    return fields.Date.to_date(str(value)[:10])


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


class InvoiceMapping:
    """The mapping of one accounting document for one backend.

    ``bill_values()`` resolves everything and raises BaswareDocumentRejected with all the
    problems found; ``complete(bill)`` aligns the created bill on Basware's amounts.
    """

    def __init__(self, backend, document):
        self.backend = backend
        self.env = backend.env
        self.company = backend.company_id
        self.document = document
        self.problems = {}
        self.rows = sorted(
            document.get("codingRows") or [], key=lambda row: row.get("rowIndex") or 0
        )
        self.sign = 1
        self.currency = self.env["res.currency"]
        self.row_taxes = {}
        self.due_date = None
        self.bindings = None
        self.code_mappings = None
        # Company currency per unit of the invoice's currency, where Basware states it.
        self.rate = None
        # {row index: Basware's account} of the rows whose account Odoo computes.
        self.valued_rows = {}
        # Where Basware's figure was booked instead of Odoo's: shown on the bill.
        self.notes = []

    # Problems

    def problem(self, kind, code, reason, row=None, detail=""):
        key = (kind, code, reason)
        problem = self.problems.get(key)
        if problem is None:
            problem = self.problems[key] = Problem(kind, code, reason, detail=detail)
        if row is not None and row not in problem.rows:
            problem.rows.append(row)

    def raise_problems(self):
        if self.problems:
            raise BaswareDocumentRejected(self.problems.values(), self.document)

    # Lookups shared by every kind of code

    def in_company(self, records):
        """The records usable in the backend's company (its own, shared or a parent's)."""
        usable = records.filtered_domain(records._check_company_domain(self.company))
        return usable.with_prefetch(records._prefetch_ids)

    def document_codes(self):
        """Every code of the document a binding or a code mapping may name."""
        keys = ["accountCode", "taxCode", "orderLineNumber"]
        keys += self.backend.analytic_mapping_ids.filtered("active").mapped("coding_field")
        codes = {code_of(self.document.get(key)) for key in ("supplierCode", "paymentTermCode")}
        codes |= {code_of(row.get(key)) for row in self.rows for key in keys}
        return sorted(code for code in codes if code)

    def mapped(self, kind, codes):
        """{code: record} of the backend's code mappings of ``kind`` among ``codes``; the
        mappings of every code of the document are read in one query."""
        if self.code_mappings is None:
            self.code_mappings = self.env["basware.code.mapping"]._lookup_codes(
                self.backend, self.document_codes()
            )
        return {
            code: self.code_mappings[kind, code]
            for code in codes
            if (kind, code) in self.code_mappings
        }

    def load_bindings(self):
        """The backend's bindings of the document's codes, in one query."""
        self.bindings = defaultdict(list)
        codes = self.document_codes()
        if not codes:
            return
        bindings = self.env["basware.binding"].search_fetch(
            [("backend_id", "=", self.backend.id), ("code", "in", codes)],
            ["entity", "code", "res_model", "res_id"],
        )
        for binding in bindings:
            self.bindings[binding.entity, binding.code].append((binding.res_model, binding.res_id))

    def bound(self, entity, codes):
        """{code: records} bound to ``codes`` for ``entity``, deleted records left out."""
        if self.bindings is None:
            self.load_bindings()
        refs = {code: self.bindings.get((entity, code)) for code in codes if code}
        ids = defaultdict(set)
        for code_refs in refs.values():
            for res_model, res_id in code_refs or ():
                ids[res_model].add(res_id)
        existing = {
            model: set(self.env[model].browse(sorted(model_ids)).exists().ids)
            for model, model_ids in ids.items()
        }
        result = {}
        for code, code_refs in refs.items():
            records = [
                self.env[res_model].with_context(active_test=False).browse(res_id)
                for res_model, res_id in code_refs or ()
                if res_id in existing[res_model]
            ]
            if records and len({record._name for record in records}) == 1:
                result[code] = records[0].union(*records)
        return result

    def pick(self, kind, code, candidates, row=None):
        """The one usable record among ``candidates`` of ``code``, or a problem and None."""
        if not candidates:
            self.problem(kind, code, REASON_UNKNOWN, row)
            return None
        usable = self.in_company(candidates)
        if not usable:
            self.problem(kind, code, REASON_OTHER_COMPANY, row)
            return None
        if "active" in usable._fields:
            active = usable.filtered("active")
            if not active:
                self.problem(kind, code, REASON_ARCHIVED, row)
                return None
            usable = active
        if len(usable) > 1:
            self.problem(kind, code, REASON_AMBIGUOUS, row)
            return None
        return usable

    def by_code(self, model, codes, code_field, prefix=None, domain=None):
        """{code: records} of ``model`` whose ``code_field`` is the code, or whose id is in a
        fallback code made of ``prefix`` and the id; archived ones included (one query)."""
        codes = {code for code in codes if code}
        if not codes:
            return {}
        Model = self.env[model].with_company(self.company).with_context(active_test=False)
        ids = {code: fallback_id(code, prefix) for code in codes}
        search = Domain(code_field, "in", sorted(codes))
        if any(ids.values()):
            search |= Domain("id", "in", [record_id for record_id in ids.values() if record_id])
        records = Model.search(search & Domain(domain or []))
        result = defaultdict(lambda: Model.browse())
        for record in records:
            value = code_of(record[code_field])
            if value in codes:
                result[value] |= record
        for code, record_id in ids.items():
            if record_id and not result.get(code):
                # The sync sends this code only while the record has no code of its own.
                result[code] = records.filtered(
                    lambda record, rid=record_id, code=code: (
                        record.id == rid and record._basware_code(self.backend) == code
                    )
                )
        # Read together: pick() looks at each code's records apart.
        return {
            code: found.with_prefetch(records._prefetch_ids)
            for code, found in result.items()
            if found
        }

    def resolve(self, entity, codes, fallback, kind=None):
        """{code: record} of ``codes``: the backend's code mappings of ``kind`` first (a
        person mapped them), then the bindings, then ``fallback(codes)``."""
        codes = {code for code in codes if code}
        candidates = self.mapped(kind, codes)
        unmapped = codes - set(candidates)
        if unmapped:
            candidates.update(self.bound(entity, unmapped))
        missing = codes - set(candidates)
        if missing:
            candidates.update(fallback(missing))
        return candidates

    # The header

    def check_company(self):
        code = code_of(self.document.get("companyCode"))
        expected = code_of(self.backend.basware_company_code)
        if not expected or code != expected:
            self.problem(KIND_COMPANY, code, REASON_OTHER_COMPANY if code else REASON_MISSING)

    def map_currency(self):
        code = code_of(self.document.get("currencyCode")).upper()
        if not code:
            self.problem(KIND_CURRENCY, code, REASON_MISSING)
            return
        currencies = (
            self.env["res.currency"].with_context(active_test=False).search([("name", "=", code)])
        )
        if not currencies:
            self.problem(KIND_CURRENCY, code, REASON_UNKNOWN)
        elif not currencies.active:
            self.problem(KIND_CURRENCY, code, REASON_ARCHIVED)
        else:
            self.currency = currencies

    def map_rate(self, invoice_date):
        """Basware's company rate of a foreign-currency invoice; without one, Odoo's rate
        of the invoice date, which must exist (Odoo would silently take 1.0)."""
        if not self.currency or self.currency == self.company.currency_id:
            return
        self.rate = self.basware_rate()
        if self.rate:
            return
        on = invoice_date or fields.Date.context_today(self.backend)
        if not self.has_odoo_rate(on):
            self.problem(
                KIND_CURRENCY,
                self.currency.name,
                REASON_NO_RATE,
                detail=f"Basware sent no exchangeRateCompany or grossSumCompany, and Odoo has "
                f"no {self.currency.name} rate on or before {fields.Date.to_string(on)}",
            )

    def basware_rate(self):
        """Company currency per unit of invoice currency as Basware states it: its company
        gross sum over its gross sum, else exchangeRateCompany quoted as the backend says."""
        gross = to_float(self.document.get("grossSum"))
        gross_company = to_float(self.document.get("grossSumCompany"))
        if gross and gross_company:
            return abs(gross_company / gross)
        rate = to_float(self.document.get("exchangeRateCompany"))
        if not rate or rate < 0:
            return None
        if self.backend.invoice_rate_quote == RATE_INVOICE_PER_COMPANY:
            return 1.0 / rate
        return rate

    def has_odoo_rate(self, on):
        companies = [False, *self.company.parent_ids.ids]
        return bool(
            self.env["res.currency.rate"]
            .sudo()
            .search_count(
                [
                    ("currency_id", "=", self.currency.id),
                    ("name", "<=", on),
                    ("company_id", "in", companies),
                ],
                limit=1,
            )
        )

    def map_vendor(self):
        code = code_of(self.document.get("supplierCode"))
        if not code:
            self.problem(KIND_VENDOR, code, REASON_MISSING)
            return None
        candidates = self.resolve(ENTITY_VENDOR, {code}, self.vendors_by_code, KIND_VENDOR)
        vendor = self.pick(KIND_VENDOR, code, candidates.get(code))
        return vendor.commercial_partner_id if vendor else None

    def vendors_by_code(self, codes):
        """Partners by Reference, then by the sync's fallback code, then by Tax ID."""
        [code] = codes
        Partner = self.env["res.partner"].with_context(active_test=False)
        company = Domain(Partner._check_company_domain(self.company))
        by_ref = Partner.search(Domain("ref", "=", code) & company)
        if by_ref:
            return {code: by_ref.commercial_partner_id}
        partner_id = fallback_id(code, self.backend.vendor_code_prefix)
        if partner_id:
            partner = Partner.browse(partner_id).exists()
            if partner and partner._basware_vendor_code(self.backend) == code:
                return {code: partner.commercial_partner_id}
        by_vat = Partner.search(Domain("vat", "=", code.replace(" ", "").upper()) & company)
        return {code: by_vat.commercial_partner_id} if by_vat else {}

    def map_payment_term(self):
        code = code_of(self.document.get("paymentTermCode"))
        if not code:
            return None
        candidates = self.resolve(
            ENTITY_PAYMENT_TERM,
            {code},
            lambda codes: self.by_code(
                "account.payment.term", codes, "basware_code", PAYMENT_TERM_PREFIX
            ),
            KIND_PAYMENT_TERM,
        )
        return self.pick(KIND_PAYMENT_TERM, code, candidates.get(code))

    def header_date(self, key):
        try:
            return to_date(self.document.get(key))
        except ValueError:
            self.problem(KIND_DATE, str(self.document.get(key)), REASON_INVALID, detail=key)
            return None

    def odoo_dates(self):
        return self.backend.invoice_accounting_date == ACCOUNTING_DATE_ODOO

    def accounting_date(self, invoice_date):
        """Basware's voucher date, else its baseline date; in Odoo mode, none (Odoo
        derives it from the invoice date, on the first open day of a locked period)."""
        if self.odoo_dates():
            return None
        return self.header_date("voucherDate") or self.header_date("baseLineDate") or invoice_date

    def check_period(self, accounting_date, has_tax):
        """Basware's accounting date must be open; in Odoo mode Odoo moves it instead."""
        if self.odoo_dates():
            return
        locks = self.company._get_lock_date_violations(
            accounting_date,
            fiscalyear=True,
            sale=False,
            purchase=True,
            tax=has_tax,
            hard=True,
        )
        if locks:
            lock_date, _field_name = max(locks)
            self.problem(
                KIND_PERIOD,
                fields.Date.to_string(accounting_date),
                REASON_LOCKED,
                detail=f"until {fields.Date.to_string(lock_date)}; the backend's Accounting "
                f'Date setting "{ACCOUNTING_DATE_ODOO_LABEL}" books it on the first open day',
            )

    # The coding rows

    def row_number(self, row, index):
        return row.get("rowIndex") or index

    def map_accounts(self):
        codes = {code_of(row.get("accountCode")) for row in self.rows}
        candidates = self.resolve(
            ENTITY_ACCOUNT,
            codes,
            lambda missing: self.by_code(
                "account.account",
                missing,
                "code",
                domain=self.env["account.account"]._check_company_domain(self.company),
            ),
            KIND_ACCOUNT,
        )
        accounts = {}
        for index, row in enumerate(self.rows, start=1):
            code = code_of(row.get("accountCode"))
            number = self.row_number(row, index)
            if not code:
                self.problem(KIND_ACCOUNT, "", REASON_MISSING, number)
                continue
            accounts[index] = self.pick(KIND_ACCOUNT, code, candidates.get(code), number)
        return accounts

    def refund(self):
        return self.sign < 0

    def row_rates(self, row):
        """TaxRates Basware states for a row: taxPercent charged, taxPercent2 self-assessed
        (a reverse charge). A row that states the nominal rate twice but charges no tax
        (taxSum 0) charges 0."""
        percent = to_float(row.get("taxPercent")) or 0.0
        percent2 = to_float(row.get("taxPercent2")) or 0.0
        tax_sum = to_float(row.get("taxSum"))
        if percent2 and percent == percent2 and tax_sum is not None and not tax_sum:
            percent = 0.0
        return TaxRates(round(percent, RATE_DIGITS), round(percent2, RATE_DIGITS))

    def check_self_assessed(self, taxes, row, code, number):
        """A row stating a second tax needs taxes that self-assess that rate."""
        if row.get("taxPercent2") is None or not taxes:
            return
        stated = self.row_rates(row).self_assessed
        booked = taxes._basware_rates(refund=self.refund()).self_assessed
        if float_compare(stated, booked, precision_digits=RATE_DIGITS):
            self.problem(
                KIND_TAX,
                code,
                REASON_MISMATCH,
                number,
                detail=f"self-assesses {booked:g}%, Basware {stated:g}%",
            )

    def map_taxes(self):
        codes = {code_of(row.get("taxCode")) for row in self.rows}
        candidates = self.resolve(
            ENTITY_TAX_CODE,
            codes,
            lambda missing: self.by_code(
                "account.tax",
                missing,
                "basware_code",
                TAX_CODE_PREFIX,
                domain=[("type_tax_use", "=", TAX_USE_PURCHASE)],
            ),
            KIND_TAX,
        )
        taxes = {}
        for index, row in enumerate(self.rows, start=1):
            code = code_of(row.get("taxCode"))
            number = self.row_number(row, index)
            if code:
                taxes[index] = self.pick(KIND_TAX, code, candidates.get(code), number)
                self.check_self_assessed(taxes[index], row, code, number)
            else:
                taxes[index] = self.tax_of_rate(row, number)
        return taxes

    @staticmethod
    def rate_code(rates):
        """The code of a row's rates, for code mappings: ``24%``, ``0% +21% self-assessed``."""
        code = f"{rates.charged:g}%"
        if rates.self_assessed:
            code += f" +{rates.self_assessed:g}% self-assessed"
        return code

    def tax_of_rate(self, row, number):
        """A row without tax code: no tax when it carries none, else the only purchase tax
        that charges and self-assesses its rates (when the backend allows it)."""
        rates = self.row_rates(row)
        tax_sum = to_float(row.get("taxSum")) or 0.0
        tax_sum2 = to_float(row.get("taxSum2")) or 0.0
        Tax = self.env["account.tax"]
        if not any((*rates, tax_sum, tax_sum2)):
            return Tax
        code = self.rate_code(rates)
        mapped = self.env["basware.code.mapping"]._lookup(self.backend, KIND_TAX, {code})
        if mapped:
            taxes = self.pick(KIND_TAX, code, mapped[code], number)
            self.check_self_assessed(taxes, row, code, number)
            return taxes
        if not self.backend.invoice_tax_by_percent:
            self.problem(KIND_TAX, code, REASON_MISSING, number)
            return None
        taxes = self._purchase_taxes_by_rate().get(rates, Tax)
        return self.pick(KIND_TAX, code, taxes, number)

    def _purchase_taxes_by_rate(self):
        if not hasattr(self, "_taxes_by_rate"):
            taxes = self.env["account.tax"].search(
                [
                    *self.env["account.tax"]._check_company_domain(self.company),
                    ("type_tax_use", "=", TAX_USE_PURCHASE),
                    ("amount_type", "=", TAX_TYPE_PERCENT),
                ]
            )
            self._taxes_by_rate = defaultdict(lambda: self.env["account.tax"])
            for tax in taxes:
                self._taxes_by_rate[tax._basware_rates(refund=self.refund())] |= tax
        return self._taxes_by_rate

    def map_analytics(self):
        """{row index: {analytic account ids}} from the coding fields of the backend's
        analytic mappings; a row field no mapping reads is ignored."""
        analytics = defaultdict(list)
        for mapping in self.backend.analytic_mapping_ids.filtered("active"):
            kind = ANALYTIC_KINDS[mapping.target]
            codes = {code_of(row.get(mapping.coding_field)) for row in self.rows}
            candidates = self.resolve(
                mapping._binding_entity(),
                codes,
                lambda missing, mapping=mapping: self.by_code(
                    "account.analytic.account",
                    missing,
                    "code",
                    ANALYTIC_PREFIX,
                    domain=[("plan_id", "child_of", mapping.plan_id.id)],
                ),
                kind,
            )
            for index, row in enumerate(self.rows, start=1):
                code = code_of(row.get(mapping.coding_field))
                if not code:
                    continue
                account = self.pick(kind, code, candidates.get(code), self.row_number(row, index))
                if account:
                    analytics[index].append(account.id)
        return analytics

    def map_order_lines(self, vendor):
        """{row index: purchase.order.line} of the rows matched to an order line."""
        wanted = {
            index: (code_of(row.get("orderNumber")), code_of(row.get("orderLineNumber")))
            for index, row in enumerate(self.rows, start=1)
            if code_of(row.get("orderLineNumber"))
        }
        line_codes = {line_code for _order, line_code in wanted.values()}
        candidates = self.resolve(ENTITY_ORDER_LINE, line_codes, self.order_lines_by_number)
        lines = {}
        for index, (order_code, line_code) in wanted.items():
            code = f"{order_code}/{line_code}" if order_code else line_code
            number = self.row_number(self.rows[index - 1], index)
            found = candidates.get(line_code, self.env["purchase.order.line"])
            if order_code:
                found = found.filtered(lambda line, name=order_code: line.order_id.name == name)
            line = self.pick(KIND_ORDER_LINE, code, found, number)
            if line and vendor and line.order_id.partner_id.commercial_partner_id != vendor:
                self.problem(KIND_ORDER_LINE, code, REASON_OTHER_COMPANY, number, "other vendor")
                continue
            if line:
                lines[index] = line
        return lines

    def order_lines_by_number(self, codes):
        """Order lines by lineNumber, which the sync sends as the line's id."""
        ids = [int(code) for code in codes if code.isdigit()]
        lines = self.env["purchase.order.line"].browse(ids).exists()
        return {str(line.id): line for line in lines}

    # Amounts

    def row_net(self, row, number):
        net = to_float(row.get("netTotal"))
        if net is None and row.get("grossTotal") is not None:
            net = float(row["grossTotal"]) - (to_float(row.get("taxSum")) or 0.0)
        if net is None:
            self.problem(KIND_AMOUNT, str(number), REASON_MISSING, number)
            return 0.0
        return net

    def gross_total(self):
        """Basware's gross sum, else the sum of the rows' gross totals."""
        gross = to_float(self.document.get("grossSum"))
        if gross is None:
            gross = sum(
                (to_float(row.get("netTotal")) or 0.0) + (to_float(row.get("taxSum")) or 0.0)
                for row in self.rows
            )
        return gross

    def price(self, amount, quantity):
        """(unit price, discount) giving exactly ``amount`` for ``quantity``.

        The unit price is rounded to Odoo's price precision; when that rounding changes the
        line's total, the price is rounded up and a discount (unrounded during the import,
        as Odoo's own e-invoice imports do) brings the total back to Basware's amount.
        """
        digits = self.env["decimal.precision"].precision_get(PRICE_PRECISION)
        price = float_round(amount / quantity, precision_digits=digits)
        if self.currency.compare_amounts(price * quantity, amount) == 0:
            return price, 0.0
        price = float_round(amount / quantity, precision_digits=digits, rounding_method="UP")
        return price, (1.0 - amount / (price * quantity)) * FULL_SHARE

    def line_values(self, index, row, account, taxes, analytic_ids, order_line):
        number = self.row_number(row, index)
        amount = self.sign * self.row_net(row, number)
        name = self.line_name(row, order_line)
        quantity = self.order_quantity(row, amount) if order_line else None
        if order_line and not quantity:
            # Freight or a price correction on the order: billed, but no quantity of it.
            name = f"{order_line.order_id.name}: {name}"
            order_line = None
        price, discount = self.price(amount, quantity or 1.0)
        values = {
            "name": name,
            "tax_ids": [Command.set(taxes.ids)],
            "quantity": quantity or 1.0,
            "price_unit": price,
        }
        if order_line and self.valued_in_real_time(order_line.product_id):
            # stock_account books it on the stock valuation account; an account given
            # here would override that rule.
            self.valued_rows[index] = account
        else:
            values["account_id"] = account.id
        if discount:
            values["discount"] = discount
        if analytic_ids:
            key = ",".join(str(analytic_id) for analytic_id in sorted(set(analytic_ids)))
            values["analytic_distribution"] = {key: FULL_SHARE}
        if order_line:
            values.update(
                purchase_line_id=order_line.id,
                product_id=order_line.product_id.id,
                product_uom_id=order_line.product_uom_id.id,
            )
        return values

    @staticmethod
    def order_quantity(row, amount):
        """The quantity billed on the row's order line (in its unit), which Odoo counts as
        billed: Basware's matched quantity, else its allocated one, else None. Its sign is
        the amount's, whatever sign Basware gives it, so a line that takes an amount off
        also takes its quantity off."""
        for key in ("matchedQuantity", "allocatedQuantity"):
            quantity = abs(to_float(row.get(key)) or 0.0)
            if quantity:
                return math.copysign(quantity, amount or 1.0)
        return None

    @staticmethod
    def valued_in_real_time(product):
        """stock_account's rule: a storable product valued in real time is billed on its
        stock valuation account (only where stock_account is installed)."""
        return bool(
            "valuation" in product._fields
            and product.is_storable
            and product.valuation == VALUATION_REAL_TIME
        )

    def line_name(self, row, order_line):
        return (
            (order_line.name if order_line else "")
            or code_of(row.get("productName"))
            or code_of(row.get("accountName"))
            or code_of(self.document.get("description"))
            or code_of(self.document.get("invoiceNumber"))
            or code_of(row.get("accountCode"))
        )

    # The bill

    def bill_values(self):
        """The values of the bill, or BaswareDocumentRejected with every problem found."""
        self.check_company()
        self.map_currency()
        vendor = self.map_vendor()
        term = self.map_payment_term()
        invoice_date = self.header_date("invoiceDate")
        due_date = self.header_date("dueDate")
        accounting_date = self.accounting_date(invoice_date)
        if not self.rows:
            self.problem(KIND_CODING_ROWS, "", REASON_MISSING)
        self.sign = -1 if float_compare(self.gross_total(), 0.0, precision_digits=6) < 0 else 1
        self.map_rate(invoice_date)
        accounts = self.map_accounts()
        taxes = self.map_taxes()
        analytics = self.map_analytics()
        order_lines = self.map_order_lines(vendor)
        has_tax = any(taxes.values())
        self.check_period(
            accounting_date or invoice_date or fields.Date.context_today(self.backend), has_tax
        )
        self.raise_problems()
        lines = []
        for index, row in enumerate(self.rows, start=1):
            self.row_taxes[index] = taxes[index]
            lines.append(
                self.line_values(
                    index,
                    row,
                    accounts[index],
                    taxes[index],
                    analytics[index],
                    order_lines.get(index),
                )
            )
        self.raise_problems()
        values = {
            "move_type": MOVE_IN_REFUND if self.sign < 0 else MOVE_IN_INVOICE,
            "partner_id": vendor.id,
            "currency_id": self.currency.id,
            "ref": code_of(self.document.get("invoiceNumber")) or False,
            "invoice_date": invoice_date or False,
            "invoice_payment_term_id": term.id if term else False,
            "basware_invoice_id": self.document["invoiceId"],
            "basware_backend_id": self.backend.id,
            "basware_bumid": code_of(self.document.get("bumid")) or False,
            "invoice_line_ids": [Command.create(line) for line in lines],
        }
        if accounting_date:
            values["date"] = accounting_date
        if self.sign < 0:
            values.update(self.refunded_values(vendor))
        if due_date and not term:
            values["invoice_date_due"] = due_date
        bank = self.vendor_bank(vendor)
        if bank:
            values["partner_bank_id"] = bank.id
        reference = code_of(self.document.get("referenceNumber"))
        if reference:
            values["payment_reference"] = reference
        if self.backend.invoice_journal_id:
            values["journal_id"] = self.backend.invoice_journal_id.id
        orders = self.env["purchase.order.line"].union(*order_lines.values()).order_id
        if orders:
            values["invoice_origin"] = ", ".join(orders.mapped("name"))
        self.due_date = due_date
        return values

    def refunded_values(self, vendor):
        """A credit note reverses the bill of the invoice Basware names: its bumid
        (parentInvoiceBumId), or its number in the document field the backend names."""
        bumid = code_of(self.document.get("parentInvoiceBumId"))
        field_name = (self.backend.invoice_refunded_field or "").strip()
        number = code_of(self.document.get(field_name)) if field_name else ""
        if not bumid and not number:
            return {}
        domain = Domain("move_type", "=", MOVE_IN_INVOICE) & Domain("partner_id", "=", vendor.id)
        named = Domain.FALSE
        if bumid:
            named |= Domain("basware_bumid", "=", bumid)
        if number:
            named |= Domain("ref", "=", number)
        Move = self.env["account.move"].with_company(self.company)
        refunded = Move.search(domain & named & Domain("company_id", "=", self.company.id))
        refunded = refunded.filtered(lambda bill: bill.state == "posted") or refunded
        if len(refunded) != 1:
            named = " / ".join(code for code in (number, bumid) if code)
            self.notes.append(
                f"Basware names the refunded invoice {named}; Odoo has "
                f"{'no' if not refunded else 'more than one'} bill of this vendor for it."
            )
            return {}
        return {"reversed_entry_id": refunded.id}

    def vendor_bank(self, vendor):
        """The vendor's bank account Basware names (IBAN, else BBAN), when Odoo knows it.

        An account Odoo does not know is not created: the bill keeps Odoo's default one,
        and the vendor's bank accounts stay what the AP team checked in Odoo.
        """
        numbers = {
            sanitize_account_number(self.document.get(key))
            for key in ("supplierBankIBAN", "supplierBankBBAN")
        } - {False}
        if not numbers:
            return None
        banks = vendor.bank_ids.filtered(lambda bank: bank.sanitized_acc_number in numbers)
        return banks[:1] or None

    def complete(self, bill):
        """Align the created bill on Basware: its rate, its due date, its tax amounts where
        they differ by rounding only, its company-currency total; then check its total."""
        if self.rate:
            # Set once the bill exists: its creation computes the rate of its date.
            bill.invoice_currency_rate = 1.0 / self.rate
        if (
            self.due_date
            and bill.invoice_payment_term_id
            and bill.invoice_date_due != self.due_date
        ):
            # Basware's approved due date wins over the term's computation.
            bill.write({"invoice_payment_term_id": False, "invoice_date_due": self.due_date})
        self.follow_basware_taxes(bill)
        self.follow_company_total(bill)
        self.check_total(bill)
        self.note_valuation(bill)
        self.raise_problems()

    def basware_tax_amounts(self):
        """{taxes: [charged, self-assessed]}: Basware's amounts (taxSum, taxSum2) over the
        rows; an amount is None where a row of those taxes does not state it (Odoo's amount
        then stands)."""
        amounts = {}
        for index, row in enumerate(self.rows, start=1):
            taxes = self.row_taxes.get(index)
            if not taxes:
                continue
            stated = (
                to_float(row.get("taxSum")),
                to_float(row.get("taxSum2")) if row.get("taxPercent2") is not None else None,
            )
            total = amounts.setdefault(taxes, [0.0, 0.0])
            for position, amount in enumerate(stated):
                if amount is None or total[position] is None:
                    total[position] = None
                else:
                    total[position] += self.sign * amount
        return amounts

    def follow_basware_taxes(self, bill):
        """Where Odoo's tax differs from Basware's by no more than the tolerance, Odoo's
        tax lines take Basware's amount (as Odoo's own e-invoice imports do), and the
        difference is noted on the bill. The bill is opened for edits only when a tax line
        changes: that re-syncs all its lines."""
        adjustments = defaultdict(float)
        for taxes, (charged, self_assessed) in self.basware_tax_amounts().items():
            self.tax_adjustments(bill, taxes, charged, self_assessed, adjustments)
        adjustments = {line: amount for line, amount in adjustments.items() if amount}
        if not adjustments:
            return
        with bill._get_edi_creation():
            for tax_line, amount in adjustments.items():
                tax_line.amount_currency += amount

    def tax_adjustments(self, bill, taxes, charged, self_assessed, adjustments):
        """Add to ``adjustments`` ({tax line: amount}) what gives Odoo's tax lines of
        ``taxes`` Basware's ``charged`` and ``self_assessed`` amounts."""
        flat = taxes.flatten_taxes_hierarchy()
        tax_lines = bill.line_ids.filtered(lambda line: line.tax_line_id in flat)
        if not tax_lines:
            return
        sign = -1 if bill.is_inbound(include_receipts=True) else 1
        assessed_lines = tax_lines.filtered(lambda line: line.tax_repartition_line_id.factor < 0)
        charged_lines = (tax_lines - assessed_lines) or tax_lines
        if charged is not None:
            difference = self.tax_difference(
                bill, taxes, charged, sign * sum(tax_lines.mapped("amount_currency"))
            )
            if difference:
                adjustments[charged_lines[0]] += sign * difference
        if self_assessed is not None and assessed_lines:
            booked = -sign * sum(assessed_lines.mapped("amount_currency"))
            difference = self.tax_difference(bill, taxes, self_assessed, booked, "self-assessed ")
            if difference:
                # Both sides move: what the vendor charged stays as it is.
                adjustments[assessed_lines[0]] -= sign * difference
                adjustments[charged_lines[0]] += sign * difference

    def tax_difference(self, bill, taxes, expected, booked, what=""):
        """Basware's ``expected`` amount minus Odoo's ``booked`` one, when it is a rounding
        difference (noted on the bill); 0.0 when none, or when it is more (a problem)."""
        currency = bill.currency_id
        difference = currency.round(expected - currency.round(booked))
        if currency.is_zero(difference):
            return 0.0
        name = ", ".join(taxes.mapped("name"))
        if (
            float_compare(
                abs(difference),
                self.backend.invoice_total_tolerance,
                precision_digits=currency.decimal_places,
            )
            > 0
        ):
            if what:
                self.problem(
                    KIND_TAX,
                    name,
                    REASON_MISMATCH,
                    detail=f"{what}tax {expected:.{currency.decimal_places}f}, Odoo computes "
                    f"{booked:.{currency.decimal_places}f}",
                )
            return 0.0
        self.notes.append(
            f"{what.capitalize()}{name}: Basware's {currency.format(expected)} booked, Odoo "
            f"computed {currency.format(booked)}."
        )
        return difference

    def follow_company_total(self, bill):
        """A foreign-currency bill's company-currency total is Basware's grossSumCompany:
        a rounding difference of the lines' conversions goes to the largest line, and is
        noted on the bill; more than that is a problem."""
        gross_company = to_float(self.document.get("grossSumCompany"))
        if gross_company is None or bill.currency_id == bill.company_currency_id:
            return
        currency = bill.company_currency_id
        terms = bill.line_ids.filtered(lambda line: line.display_type == "payment_term")
        booked = abs(sum(terms.mapped("balance")))
        expected = abs(gross_company)
        difference = currency.round(expected - booked)
        if currency.is_zero(difference):
            return
        # Each converted line may round by half a cent.
        tolerance = self.backend.invoice_total_tolerance * max(len(bill.line_ids) - len(terms), 1)
        if self.total_differs(expected, booked, currency, tolerance, f" {currency.name}"):
            return
        lines = bill.invoice_line_ids or bill.line_ids - terms
        largest = max(lines, key=lambda line: abs(line.balance))
        direction = 1 if largest.balance >= 0 else -1
        with bill._get_edi_creation():
            largest.balance += direction * difference
        self.notes.append(
            f"Company currency total: Basware's {currency.format(expected)} booked, Odoo "
            f"computed {currency.format(booked)}."
        )

    def check_total(self, bill):
        expected = abs(self.gross_total())
        tolerance = self.backend.invoice_total_tolerance
        self.total_differs(expected, bill.amount_total, bill.currency_id, tolerance)

    def total_differs(self, expected, booked, currency, tolerance, unit=""):
        """Whether Odoo's ``booked`` total is off Basware's ``expected`` one by more than
        ``tolerance``: a problem then."""
        digits = currency.decimal_places
        if float_compare(abs(expected - booked), tolerance, precision_digits=digits) <= 0:
            return False
        self.problem(
            KIND_TOTAL,
            f"{expected:.{digits}f}{unit}",
            REASON_MISMATCH,
            detail=f"Odoo computes {booked:.{digits}f}{unit}",
        )
        return True

    def note_valuation(self, bill):
        """Where Odoo's valuation rule books a row on another account than Basware coded,
        Odoo's account stands and the bill says so."""
        if not self.valued_rows:
            return
        lines = bill.invoice_line_ids.sorted("id")
        for index, account in self.valued_rows.items():
            line = lines[index - 1]
            if line.account_id != account:
                self.notes.append(
                    f"Row {self.row_number(self.rows[index - 1], index)}: booked on "
                    f"{line.account_id.display_name} (stock valuation of "
                    f"{line.product_id.display_name}); Basware coded {account.display_name}."
                )

    def notes_html(self):
        if not self.notes:
            return ""
        items = Markup("").join(Markup("<li>%s</li>") % note for note in self.notes)
        return Markup("<p>Import notes:</p><ul>%s</ul>") % items


class BaswareBackend(models.Model):
    _inherit = "basware.backend"

    invoice_total_tolerance = fields.Float(
        "Total Tolerance",
        default=DEFAULT_TOLERANCE,
        digits=(16, 4),
        help="Largest difference, in the invoice's currency, accepted between Odoo's total "
        "of a bill and Basware's gross sum, and between Odoo's and Basware's amount of one "
        "tax (Odoo then follows Basware's tax amount).",
    )
    invoice_journal_id = fields.Many2one(
        "account.journal",
        "Bill Journal",
        domain="[('type', '=', 'purchase'), ('company_id', 'parent_of', company_id)]",
        check_company=True,
        help="Purchase journal of the bills made from Basware invoices. Empty: the "
        "company's first purchase journal (or one in the invoice's currency).",
    )
    invoice_accounting_date = fields.Selection(
        ACCOUNTING_DATE_SOURCES,
        "Accounting Date",
        required=True,
        default=ACCOUNTING_DATE_BASWARE,
        help="Where the accounting date of a bill comes from: Basware's voucher date, else "
        "its baseline date; or Odoo's own rule from the invoice date.",
    )
    invoice_rate_quote = fields.Selection(
        RATE_QUOTES,
        "Exchange Rate Quote",
        required=True,
        default=RATE_COMPANY_PER_INVOICE,
        help="How Basware's exchangeRateCompany is quoted. It is used for a foreign-currency "
        "invoice that carries no grossSumCompany (the company-currency gross sum over the "
        "gross sum gives the rate without doubt).",
    )
    invoice_refunded_field = fields.Char(
        "Refunded Invoice Field",
        help="A field of Basware's accounting document (e.g. text1) that holds the number of "
        "the invoice a credit note refunds. A credit note is linked to the vendor's bill of "
        "that number, or to the bill of the invoice its parentInvoiceBumId names.",
    )
    invoice_review_user_id = fields.Many2one(
        "res.users",
        "Bill Reviewer",
        domain="[('share', '=', False)]",
        help="Who gets the to-do activity on an imported bill held back in draft as a "
        "possible duplicate or for an unusual amount. Empty: the backend's creator.",
    )
    invoice_tax_by_percent = fields.Boolean(
        "Tax by Rate",
        default=True,
        help="A coding row with a tax rate but no tax code takes the only purchase tax of "
        "that rate in the company; off, such a row is rejected.",
    )

    _invoice_tolerance_positive = models.Constraint(
        "CHECK(invoice_total_tolerance >= 0)",
        "The total tolerance cannot be negative.",
    )

    def _basware_create_bill(self, document, attachments=()):
        """A draft vendor bill (or refund) of the accounting document ``document``.

        ``attachments``: [{"name", "raw", "mimetype"}], the first (the invoice image)
        becomes the bill's main attachment.

        :raise BaswareDocumentRejected: with every code that does not map and every check
            that fails; nothing is left created
        """
        self.ensure_one()
        mapping = InvoiceMapping(self, document)
        values = mapping.bill_values()
        values["basware_document_hash"] = document_hash(document)
        Move = self.env["account.move"].with_company(self.company_id)
        try:
            # As Odoo's e-invoice imports: a correcting discount keeps all its digits, so
            # each line's amount is Basware's.
            with self.env.cr.savepoint(), Move._disable_discount_precision():
                # Its creation note is the one _basware_attach logs, naming the invoice.
                bill = Move.with_context(mail_create_nolog=True).create(values).with_env(Move.env)
                mapping.complete(bill)
                bill._basware_attach(attachments, document, mapping.notes_html())
        except BaswareDocumentRejected:
            raise
        except ValidationError as error:
            raise self._basware_refused(error, document) from error
        except UserError as error:
            if type(error) is not UserError:
                raise
            raise self._basware_refused(error, document) from error
        return bill

    def _basware_update_bill(self, bill, document, changes):
        """Rebook the draft ``bill`` on the corrected ``document``: its header and lines are
        the document's now, and the bill's chatter names what changed.

        :raise BaswareDocumentRejected: as for a new bill; the draft is left as it was
        """
        self.ensure_one()
        mapping = InvoiceMapping(self, document)
        values = mapping.bill_values()
        for key in ("basware_invoice_id", "basware_backend_id"):
            values.pop(key)
        values["basware_document_hash"] = document_hash(document)
        values["invoice_line_ids"] = [Command.clear(), *values["invoice_line_ids"]]
        try:
            with self.env.cr.savepoint(), bill._disable_discount_precision():
                bill.write(values)
                mapping.complete(bill)
                bill._basware_store_document(document)
        except BaswareDocumentRejected:
            raise
        except (ValidationError, UserError) as error:
            if type(error) not in (ValidationError, UserError):
                raise
            raise self._basware_refused(error, document) from error
        body = self.env._(
            "Basware offered the invoice again, corrected: the draft now follows it (%(changes)s).",
            changes="; ".join(changes),
        )
        bill._message_log(body=Markup("<p>%s</p>%s") % (body, mapping.notes_html()))
        return bill

    @api.model
    def _basware_refused(self, error, document):
        """Odoo itself refused the bill (a constraint): rejected with Odoo's reason."""
        reason = str(error.args[0] if error.args else error)
        return BaswareDocumentRejected(
            [Problem(KIND_BILL, "", REASON_REFUSED, detail=reason)], document
        )


class AccountMove(models.Model):
    _inherit = "account.move"

    def _basware_attach(self, attachments, document, notes=""):
        """Attach the downloaded files; the first (the invoice image) is the main one."""
        self.ensure_one()
        files = [file for file in attachments or () if file.get("raw")]
        records = self.env["ir.attachment"]
        if files:
            records = records.create(
                [
                    {
                        "name": file.get("name") or document.get("invoiceNumber") or "invoice",
                        "raw": file["raw"],
                        "mimetype": file.get("mimetype") or False,
                        "res_model": self._name,
                        "res_id": self.id,
                    }
                    for file in files
                ]
            )
            # The main attachment is no line's business: the write skips the re-sync of
            # every line that any write of a bill runs.
            self.with_context(skip_invoice_sync=True)._message_set_main_attachment_id(
                records[:1], force=True, filter_xml=False
            )
        self._basware_store_document(document)
        body = self.env._(
            "Created from the Basware invoice %(number)s (%(invoice_id)s).",
            number=document.get("invoiceNumber") or "-",
            invoice_id=document.get("invoiceId"),
        )
        self._message_log(body=Markup("<p>%s</p>%s") % (body, notes), attachment_ids=records.ids)

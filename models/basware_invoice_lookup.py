"""How the codes of a Basware document find Odoo records, the way the outbound sync sent
them: a person's code mapping first, then the backend's bindings, then the record's own
code (Reference, account code, Basware Code) or the fallback code made of a prefix and id.
"""

from collections import defaultdict

from odoo.fields import Domain
from odoo.tools import float_compare

from odoo.addons.base.models.res_bank import sanitize_account_number

from ..mapping.codes import ANALYTIC_PREFIX, PAYMENT_TERM_PREFIX, TAX_CODE_PREFIX
from ..mapping.document import (
    RATE_DIGITS,
    code_of,
    coding_rows,
    document_codes,
    fallback_id,
    rate_code,
    row_number,
    row_rates,
    states_tax,
)
from ..mapping.problems import (
    PROBLEM_ACCOUNT,
    PROBLEM_COST_CENTER,
    PROBLEM_LIST_ITEM,
    PROBLEM_ORDER_LINE,
    PROBLEM_PAYMENT_TERM,
    PROBLEM_PROJECT,
    PROBLEM_TAX,
    PROBLEM_VENDOR,
    REASON_AMBIGUOUS,
    REASON_ARCHIVED,
    REASON_MISMATCH,
    REASON_MISSING,
    REASON_OTHER_COMPANY,
    REASON_UNKNOWN,
    Problems,
)
from .account_tax import TaxRates
from .basware_analytic_mapping import TARGET_COST_CENTER, TARGET_LIST, TARGET_PROJECT
from .basware_binding import (
    ENTITY_ACCOUNT,
    ENTITY_ORDER_LINE,
    ENTITY_PAYMENT_TERM,
    ENTITY_TAX_CODE,
    ENTITY_VENDOR,
)
from .common import TAX_USE_PURCHASE

TAX_TYPE_PERCENT = "percent"
ANALYTIC_PROBLEMS = {
    TARGET_COST_CENTER: PROBLEM_COST_CENTER,
    TARGET_PROJECT: PROBLEM_PROJECT,
    TARGET_LIST: PROBLEM_LIST_ITEM,
}


class CodeLookup:
    """The records a document's codes name for one backend, read in few queries; each code
    that does not resolve to one usable record is a problem."""

    def __init__(self, backend, document):
        self.backend = backend
        self.env = backend.env
        self.company = backend.company_id
        self.document = document
        self.rows = coding_rows(document)
        self.problems = Problems()
        self.bindings = None
        self.code_mappings = None
        # -1 for a credit note: its taxes are matched on their refund repartition.
        self.sign = 1
        self.taxes_by_rate = None

    def in_company(self, records):
        """The records usable in the backend's company (its own, shared or a parent's)."""
        usable = records.filtered_domain(records._check_company_domain(self.company))
        return usable.with_prefetch(records._prefetch_ids)

    def document_codes(self):
        """Every code of the document a binding or a code mapping may name."""
        coding_fields = self.backend.analytic_mapping_ids.filtered("active").mapped("coding_field")
        return document_codes(self.document, self.rows, coding_fields)

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
            self.problems.add(kind, code, REASON_UNKNOWN, row)
            return None
        usable = self.in_company(candidates)
        if not usable:
            self.problems.add(kind, code, REASON_OTHER_COMPANY, row)
            return None
        if "active" in usable._fields:
            active = usable.filtered("active")
            if not active:
                self.problems.add(kind, code, REASON_ARCHIVED, row)
                return None
            usable = active
        if len(usable) > 1:
            self.problems.add(kind, code, REASON_AMBIGUOUS, row)
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

    # The vendor and the payment term

    def map_vendor(self):
        code = code_of(self.document.get("supplierCode"))
        if not code:
            self.problems.add(PROBLEM_VENDOR, code, REASON_MISSING)
            return None
        candidates = self.resolve(ENTITY_VENDOR, {code}, self.vendors_by_code, PROBLEM_VENDOR)
        vendor = self.pick(PROBLEM_VENDOR, code, candidates.get(code))
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
            PROBLEM_PAYMENT_TERM,
        )
        return self.pick(PROBLEM_PAYMENT_TERM, code, candidates.get(code))

    # The coding rows

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
            PROBLEM_ACCOUNT,
        )
        accounts = {}
        for index, row in enumerate(self.rows, start=1):
            code = code_of(row.get("accountCode"))
            number = row_number(row, index)
            if not code:
                self.problems.add(PROBLEM_ACCOUNT, "", REASON_MISSING, number)
                continue
            accounts[index] = self.pick(PROBLEM_ACCOUNT, code, candidates.get(code), number)
        return accounts

    def refund(self):
        return self.sign < 0

    def check_self_assessed(self, taxes, row, code, number):
        """A row stating a second tax needs taxes that self-assess that rate."""
        if row.get("taxPercent2") is None or not taxes:
            return
        stated = TaxRates(*row_rates(row)).self_assessed
        booked = taxes._basware_rates(refund=self.refund()).self_assessed
        if float_compare(stated, booked, precision_digits=RATE_DIGITS):
            self.problems.add(
                PROBLEM_TAX,
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
            PROBLEM_TAX,
        )
        taxes = {}
        for index, row in enumerate(self.rows, start=1):
            code = code_of(row.get("taxCode"))
            number = row_number(row, index)
            if code:
                taxes[index] = self.pick(PROBLEM_TAX, code, candidates.get(code), number)
                self.check_self_assessed(taxes[index], row, code, number)
            else:
                taxes[index] = self.tax_of_rate(row, number)
        return taxes

    def tax_of_rate(self, row, number):
        """A row without tax code: no tax when it carries none, else the only purchase tax
        that charges and self-assesses its rates (when the backend allows it)."""
        Tax = self.env["account.tax"]
        if not states_tax(row):
            return Tax
        rates = TaxRates(*row_rates(row))
        code = rate_code(*rates)
        mapped = self.env["basware.code.mapping"]._lookup(self.backend, PROBLEM_TAX, {code})
        if mapped:
            taxes = self.pick(PROBLEM_TAX, code, mapped[code], number)
            self.check_self_assessed(taxes, row, code, number)
            return taxes
        if not self.backend.invoice_tax_by_percent:
            self.problems.add(PROBLEM_TAX, code, REASON_MISSING, number)
            return None
        taxes = self.purchase_taxes_by_rate().get(rates, Tax)
        return self.pick(PROBLEM_TAX, code, taxes, number)

    def purchase_taxes_by_rate(self):
        """{TaxRates: purchase taxes} of the company's percent taxes, read once."""
        if self.taxes_by_rate is None:
            Tax = self.env["account.tax"]
            taxes = Tax.search(
                [
                    *Tax._check_company_domain(self.company),
                    ("type_tax_use", "=", TAX_USE_PURCHASE),
                    ("amount_type", "=", TAX_TYPE_PERCENT),
                ]
            )
            self.taxes_by_rate = defaultdict(lambda: Tax)
            for tax in taxes:
                self.taxes_by_rate[tax._basware_rates(refund=self.refund())] |= tax
        return self.taxes_by_rate

    def map_analytics(self):
        """{row index: {analytic account ids}} from the coding fields of the backend's
        analytic mappings; a row field no mapping reads is ignored."""
        analytics = defaultdict(list)
        for mapping in self.backend.analytic_mapping_ids.filtered("active"):
            kind = ANALYTIC_PROBLEMS[mapping.target]
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
                account = self.pick(kind, code, candidates.get(code), row_number(row, index))
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
            number = row_number(self.rows[index - 1], index)
            found = candidates.get(line_code, self.env["purchase.order.line"])
            if order_code:
                found = found.filtered(lambda line, name=order_code: line.order_id.name == name)
            line = self.pick(PROBLEM_ORDER_LINE, code, found, number)
            if line and vendor and line.order_id.partner_id.commercial_partner_id != vendor:
                self.problems.add(
                    PROBLEM_ORDER_LINE, code, REASON_OTHER_COMPANY, number, "other vendor"
                )
                continue
            if line:
                lines[index] = line
        return lines

    def order_lines_by_number(self, codes):
        """Order lines by lineNumber, which the sync sends as the line's id."""
        ids = [int(code) for code in codes if code.isdigit()]
        lines = self.env["purchase.order.line"].browse(ids).exists()
        return {str(line.id): line for line in lines}

    def vendor_bank(self, vendor):
        """The vendor's bank account Basware names (IBAN, else BBAN) when Odoo has it, else the
        bill's default. None is created: a vendor's accounts stay those the AP team checked.
        """
        numbers = {
            sanitize_account_number(self.document.get(key))
            for key in ("supplierBankIBAN", "supplierBankBBAN")
        } - {False}
        if not numbers:
            return None
        banks = vendor.bank_ids.filtered(lambda bank: bank.sanitized_acc_number in numbers)
        return banks[:1] or None

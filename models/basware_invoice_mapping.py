"""Basware accounting documents as vendor bill values, every problem found at once.

The whole document is mapped before anything is created, so Basware's user learns all that is
missing in one answer."""

from collections import defaultdict

from markupsafe import Markup

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import float_compare, float_round

from ..mapping.amounts import stated_tax_amounts, unit_price
from ..mapping.document import (
    basware_rate,
    code_of,
    gross_total,
    line_name,
    order_quantity,
    refunded_invoice,
    row_net,
    row_number,
    to_date,
    to_float,
)
from ..mapping.problems import (
    PROBLEM_AMOUNT,
    PROBLEM_CODING_ROWS,
    PROBLEM_COMPANY,
    PROBLEM_CURRENCY,
    PROBLEM_DATE,
    PROBLEM_PERIOD,
    PROBLEM_TAX,
    PROBLEM_TOTAL,
    REASON_ARCHIVED,
    REASON_INVALID,
    REASON_LOCKED,
    REASON_MISMATCH,
    REASON_MISSING,
    REASON_NO_RATE,
    REASON_OTHER_COMPANY,
    REASON_UNKNOWN,
    rejection_text,
    response_message,
)
from .basware_invoice_lookup import CodeLookup
from .common import FULL_SHARE, MOVE_IN_INVOICE, MOVE_IN_REFUND, MOVE_POSTED

PRICE_PRECISION = "Product Price"
VALUATION_REAL_TIME = "real_time"

# Where a bill's accounting date comes from (a backend setting).
ACCOUNTING_DATE_BASWARE = "basware"
ACCOUNTING_DATE_ODOO = "odoo"
ACCOUNTING_DATE_SOURCES = [
    (ACCOUNTING_DATE_BASWARE, "Basware's voucher date, else its baseline date"),
    (ACCOUNTING_DATE_ODOO, "Odoo's rule from the invoice date"),
]
ACCOUNTING_DATE_ODOO_LABEL = dict(ACCOUNTING_DATE_SOURCES)[ACCOUNTING_DATE_ODOO]


class BaswareDocumentRejected(UserError):
    """A Basware document that cannot become a bill, with every reason. ``unmapped``: the (kind,
    code) that failed; ``response_message``: the short text for Basware; ``str(error)``: the
    detail."""

    def __init__(self, problems, document=None):
        self.problems = list(problems)
        self.unmapped = [(problem.kind, problem.code) for problem in self.problems]
        super().__init__(rejection_text(self.problems, document))

    @property
    def response_message(self):
        return response_message(self.problems)


class InvoiceMapping(CodeLookup):
    """The mapping of one accounting document for one backend: ``bill_values()`` resolves
    everything, or raises BaswareDocumentRejected with all the problems found."""

    def __init__(self, backend, document):
        super().__init__(backend, document)
        self.currency = self.env["res.currency"]
        self.row_taxes = {}
        self.due_date = None
        # Company currency per unit of the invoice's currency, where Basware states it.
        self.rate = None
        # {row index: Basware's account} of the rows whose account Odoo computes.
        self.valued_rows = {}
        # Where Basware's figure was booked instead of Odoo's: shown on the bill.
        self.notes = []

    def raise_problems(self):
        if self.problems:
            raise BaswareDocumentRejected(self.problems, self.document)

    # The header

    def check_company(self):
        code = code_of(self.document.get("companyCode"))
        expected = code_of(self.backend.basware_company_code)
        if not expected or code != expected:
            self.problems.add(
                PROBLEM_COMPANY, code, REASON_OTHER_COMPANY if code else REASON_MISSING
            )

    def map_currency(self):
        code = code_of(self.document.get("currencyCode")).upper()
        if not code:
            self.problems.add(PROBLEM_CURRENCY, code, REASON_MISSING)
            return
        currencies = (
            self.env["res.currency"].with_context(active_test=False).search([("name", "=", code)])
        )
        if not currencies:
            self.problems.add(PROBLEM_CURRENCY, code, REASON_UNKNOWN)
        elif not currencies.active:
            self.problems.add(PROBLEM_CURRENCY, code, REASON_ARCHIVED)
        else:
            self.currency = currencies

    def map_rate(self, invoice_date):
        """Basware's company rate of a foreign-currency invoice; without one, Odoo's rate
        of the invoice date, which must exist (Odoo would silently take 1.0)."""
        if not self.currency or self.currency == self.company.currency_id:
            return
        self.rate = basware_rate(self.document, self.backend.invoice_rate_quote)
        if self.rate:
            return
        on = invoice_date or fields.Date.context_today(self.backend)
        if not self.has_odoo_rate(on):
            self.problems.add(
                PROBLEM_CURRENCY,
                self.currency.name,
                REASON_NO_RATE,
                detail=f"Basware sent no exchangeRateCompany or grossSumCompany, and Odoo has "
                f"no {self.currency.name} rate on or before {fields.Date.to_string(on)}",
            )

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

    def header_date(self, key):
        try:
            return to_date(self.document.get(key))
        except ValueError:
            self.problems.add(PROBLEM_DATE, str(self.document.get(key)), REASON_INVALID, detail=key)
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
            self.problems.add(
                PROBLEM_PERIOD,
                fields.Date.to_string(accounting_date),
                REASON_LOCKED,
                detail=f"until {fields.Date.to_string(lock_date)}; the backend's Accounting "
                f'Date setting "{ACCOUNTING_DATE_ODOO_LABEL}" books it on the first open day',
            )

    # Amounts

    def row_amount(self, row, number):
        """The row's net amount; a row without one is a problem."""
        net = row_net(row)
        if net is None:
            self.problems.add(PROBLEM_AMOUNT, str(number), REASON_MISSING, number)
            return 0.0
        return net

    def round_price(self, value, up=False):
        """``value`` rounded (half-up, or up) to Odoo's price precision."""
        digits = self.env["decimal.precision"].precision_get(PRICE_PRECISION)
        return float_round(
            value, precision_digits=digits, rounding_method="UP" if up else "HALF-UP"
        )

    def line_values(self, index, row, account, taxes, analytic_ids, order_line):
        number = row_number(row, index)
        amount = self.sign * self.row_amount(row, number)
        name = line_name(self.document, row, order_line.name if order_line else "")
        quantity = order_quantity(row, amount) if order_line else None
        if order_line and not quantity:
            # Freight or a price correction on the order: billed, but no quantity of it.
            name = f"{order_line.order_id.name}: {name}"
            order_line = None
        price, discount = unit_price(
            amount, quantity or 1.0, self.round_price, self.currency.compare_amounts
        )
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
    def valued_in_real_time(product):
        """stock_account's rule: a storable product valued in real time is billed on its
        stock valuation account (only where stock_account is installed)."""
        return bool(
            "valuation" in product._fields
            and product.is_storable
            and product.valuation == VALUATION_REAL_TIME
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
            self.problems.add(PROBLEM_CODING_ROWS, "", REASON_MISSING)
        gross = gross_total(self.document, self.rows)
        self.sign = -1 if float_compare(gross, 0.0, precision_digits=6) < 0 else 1
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
        bumid, number = refunded_invoice(self.document, self.backend.invoice_refunded_field)
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
        refunded = refunded.filtered(lambda bill: bill.state == MOVE_POSTED) or refunded
        if len(refunded) != 1:
            named = " / ".join(code for code in (number, bumid) if code)
            self.notes.append(
                f"Basware names the refunded invoice {named}; Odoo has "
                f"{'no' if not refunded else 'more than one'} bill of this vendor for it."
            )
            return {}
        return {"reversed_entry_id": refunded.id}

    # The created bill

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

    def follow_basware_taxes(self, bill):
        """Within the tolerance, Odoo's tax lines take Basware's amounts (as Odoo's e-invoice
        imports do), noted on the bill. The bill is opened for edits only when a tax line
        changes: that re-syncs all its lines."""
        adjustments = defaultdict(float)
        for taxes, (charged, self_assessed) in stated_tax_amounts(
            self.rows, self.row_taxes, self.sign
        ).items():
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
                self.problems.add(
                    PROBLEM_TAX,
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
        expected = abs(gross_total(self.document, self.rows))
        tolerance = self.backend.invoice_total_tolerance
        self.total_differs(expected, bill.amount_total, bill.currency_id, tolerance)

    def total_differs(self, expected, booked, currency, tolerance, unit=""):
        """Whether Odoo's ``booked`` total is off Basware's ``expected`` one by more than
        ``tolerance``: a problem then."""
        digits = currency.decimal_places
        if float_compare(abs(expected - booked), tolerance, precision_digits=digits) <= 0:
            return False
        self.problems.add(
            PROBLEM_TOTAL,
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
                    f"Row {row_number(self.rows[index - 1], index)}: booked on "
                    f"{line.account_id.display_name} (stock valuation of "
                    f"{line.product_id.display_name}); Basware coded {account.display_name}."
                )

    def notes_html(self):
        if not self.notes:
            return ""
        items = Markup("").join(Markup("<li>%s</li>") % note for note in self.notes)
        return Markup("<p>Import notes:</p><ul>%s</ul>") % items

"""Why a Basware document cannot become a bill: all the problems, in full for the exchange and
grouped into the transfer response's responseMessage (1 to 250 characters).
"""

from collections import defaultdict
from dataclasses import dataclass, field

from ..basware.constants import RESPONSE_MESSAGE_MAX_LENGTH
from ..basware.errors import shorten

# What a problem is about. The values are stored (unmapped codes, code mappings): keep them.
PROBLEM_VENDOR = "vendor"
PROBLEM_COMPANY = "company"
PROBLEM_CURRENCY = "currency"
PROBLEM_PAYMENT_TERM = "payment_term"
PROBLEM_ACCOUNT = "account"
PROBLEM_TAX = "tax"
PROBLEM_COST_CENTER = "cost_center"
PROBLEM_PROJECT = "project"
PROBLEM_LIST_ITEM = "list_item"
PROBLEM_ORDER_LINE = "order_line"
PROBLEM_CODING_ROWS = "coding_rows"
PROBLEM_AMOUNT = "amount"
PROBLEM_DATE = "date"
PROBLEM_PERIOD = "period"
PROBLEM_TOTAL = "total"
PROBLEM_BILL = "bill"
# Labels of Basware's responseMessage, read by Basware's users: plain English.
PROBLEM_LABELS = {
    PROBLEM_VENDOR: "vendor",
    PROBLEM_COMPANY: "company",
    PROBLEM_CURRENCY: "currency",
    PROBLEM_PAYMENT_TERM: "payment term",
    PROBLEM_ACCOUNT: "GL account",
    PROBLEM_TAX: "tax code",
    PROBLEM_COST_CENTER: "cost center",
    PROBLEM_PROJECT: "project",
    PROBLEM_LIST_ITEM: "dimension",
    PROBLEM_ORDER_LINE: "order line",
    PROBLEM_CODING_ROWS: "coding rows",
    PROBLEM_AMOUNT: "amount of row",
    PROBLEM_DATE: "date",
    PROBLEM_PERIOD: "accounting period",
    PROBLEM_TOTAL: "total",
    PROBLEM_BILL: "bill",
}

# Why a code did not resolve, or a check failed.
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
REASON_CANCELLED = "cancelled in Odoo"
REASON_CHANGED = "changed after booking"

RESPONSE_PREFIX = "Not booked in Odoo: "


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
        label = PROBLEM_LABELS.get(self.kind, self.kind)
        text = f"{label} {self.code or '-'} {self.reason}"
        if self.rows:
            text += f" (rows {', '.join(str(row) for row in self.rows)})"
        if self.detail:
            text += f": {self.detail}"
        return text


class Problems:
    """The problems of one document, one per (kind, code, reason), naming the rows."""

    def __init__(self):
        self._problems = {}

    def add(self, kind, code, reason, row=None, detail=""):
        key = (kind, code, reason)
        problem = self._problems.get(key)
        if problem is None:
            problem = self._problems[key] = Problem(kind, code, reason, detail=detail)
        if row is not None and row not in problem.rows:
            problem.rows.append(row)

    def __bool__(self):
        return bool(self._problems)

    def __iter__(self):
        return iter(self._problems.values())


def rejection_text(problems, document=None):
    """The full account of ``problems``, one line each, for the exchange."""
    document = document or {}
    header = (
        f"Basware invoice {document.get('invoiceNumber') or '-'} "
        f"({document.get('invoiceId') or '-'}) cannot become a vendor bill:"
    )
    return "\n".join([header, *(f"- {problem.describe()}" for problem in problems)])


def grouped_descriptions(problems):
    """One phrase per (reason, kind): ``GL account 4000, 4010 unknown``."""
    grouped = defaultdict(list)
    for problem in problems:
        grouped[problem.reason, problem.kind].append(problem)
    phrases = []
    for (reason, kind), same in grouped.items():
        codes = list(dict.fromkeys(problem.code for problem in same if problem.code))
        parts = (PROBLEM_LABELS.get(kind, kind), ", ".join(codes), reason)
        phrase = " ".join(part for part in parts if part)
        if len(same) == 1 and same[0].detail:
            # A check that failed (total, period, Odoo's refusal) says by how much or why.
            phrase += f": {same[0].detail}"
        phrases.append(phrase)
    return phrases


def response_message(problems):
    """Basware's responseMessage naming the codes Odoo could not map, within its limit."""
    text = RESPONSE_PREFIX + "; ".join(grouped_descriptions(problems)) + "."
    return shorten(text, RESPONSE_MESSAGE_MAX_LENGTH)

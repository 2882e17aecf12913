"""pageSize and continuation tokens, the way Basware pages its GET lists."""

import threading
import uuid

from .constants import HEADER_CONTINUATION_IN
from .http import parameter_error
from .store import parse_iso

MAX_TOKENS = 10000


class Pager:
    """Keyset paging: a continuation token remembers the query and the last seq served."""

    def __init__(self):
        self._tokens = {}
        self._lock = threading.Lock()

    def page(self, request, rows, page_size, path):
        """(items of this page, next token or None). rows: (seq, item) in seq order."""
        query = _query_key(request, path)
        after = self._resume(request, query)
        rows = [(seq, item) for seq, item in rows if seq > after]
        page, rest = rows[:page_size], rows[page_size:]
        token = self._remember(query, page[-1][0]) if rest else None
        return [item for _seq, item in page], token

    def clear(self):
        with self._lock:
            self._tokens.clear()

    def _resume(self, request, query):
        token = request.headers.get(HEADER_CONTINUATION_IN)
        if not token:
            return 0
        with self._lock:
            saved = self._tokens.get(token)
        if saved is None:
            raise parameter_error(f"{HEADER_CONTINUATION_IN}: unknown or expired token")
        if saved[0] != query:
            raise parameter_error(
                f"{HEADER_CONTINUATION_IN}: the query parameters differ from the first page's"
            )
        return saved[1]

    def _remember(self, query, last_seq):
        token = str(uuid.uuid4())
        with self._lock:
            if len(self._tokens) >= MAX_TOKENS:
                self._tokens.pop(next(iter(self._tokens)))
            self._tokens[token] = (query, last_seq)
        return token


def _query_key(request, path):
    args = sorted((key.lower(), value) for key, value in request.args.items(multi=True))
    return (path, tuple(args))


def page_size(args, limits):
    """The pageSize parameter checked against the endpoint's documented range."""
    raw = args.get("pagesize")
    if raw in (None, ""):
        return limits["default"]
    try:
        size = int(raw)
    except ValueError:
        raise parameter_error(f"pageSize: '{raw}' is not an integer") from None
    if not limits["min"] <= size <= limits["max"]:
        raise parameter_error(f"pageSize: must be between {limits['min']} and {limits['max']}")
    return size


def updated_after(args):
    """The lastUpdated filter as a datetime, or None."""
    raw = args.get("lastupdated")
    if not raw:
        return None
    parsed = parse_iso(raw)
    if parsed is None:
        raise parameter_error(f"lastUpdated: '{raw}' is not a valid date-time")
    return parsed


def is_after(record, moment):
    if moment is None:
        return True
    stamp = parse_iso(record.get("lastUpdated") or "")
    return stamp is not None and stamp > moment


def has_company(record, company_code):
    if not company_code:
        return True
    if record.get("companyCode") == company_code:
        return True
    return any(c.get("companyCode") == company_code for c in record.get("companies") or ())

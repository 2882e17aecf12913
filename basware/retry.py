"""Backoff arithmetic shared by the HTTP client and the Odoo exchange scheduler."""

import email.utils
import math
import random
import time
from dataclasses import dataclass
from datetime import timedelta, timezone

# 2 ** 60 seconds is far beyond any cap: stop growing there to keep floats finite.
MAX_EXPONENT = 60


def backoff_delay(attempt, base, cap, jitter=True, rng=random.random):
    """Seconds before retry number ``attempt`` (from 1): ``base * 2 ** (attempt - 1)`` capped at
    ``cap``. ``jitter`` draws it in the upper half (equal jitter): workers spread out while the
    wait still grows."""
    attempt = max(int(attempt), 1)
    base = max(float(base), 0.0)
    cap = max(float(cap), 0.0)
    delay = min(cap, base * 2.0 ** min(attempt - 1, MAX_EXPONENT))
    if not jitter:
        return delay
    half = delay / 2.0
    return half + rng() * half


def parse_retry_after(value, now=None):
    """Seconds a ``Retry-After`` value asks for (delta seconds or an HTTP date), never negative;
    None when missing or unreadable.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until_http_date(text, now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(seconds, 0.0)


def _seconds_until_http_date(text, now):
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        # RFC 9110 dates are always GMT.
        moment = moment.replace(tzinfo=timezone.utc)
    current = time.time() if now is None else now
    return max(moment.timestamp() - current, 0.0)


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` bounds the attempts; with ``horizon`` instead, retries go on until
    that long after the exchange was created (requestStatus results can take minutes)."""

    base: float
    cap: float
    max_attempts: "int | None" = None
    horizon: "timedelta | None" = None

    def delay(self, attempt, retry_after=None):
        """Seconds until the next attempt, never more than the cap."""
        delay = backoff_delay(attempt, self.base, self.cap)
        if retry_after and math.isfinite(retry_after):
            # Basware's Retry-After wins over our backoff, up to our cap.
            delay = max(delay, float(retry_after))
        return min(delay, self.cap)

    def gives_up(self, attempt, created, next_attempt):
        if self.horizon is not None:
            return next_attempt > created + self.horizon
        return attempt >= self.max_attempts

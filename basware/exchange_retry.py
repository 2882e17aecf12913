"""When a failed exchange of the queue is tried again, and when it gives up: pure arithmetic."""

import math
from dataclasses import dataclass
from datetime import timedelta

from .retry import backoff_delay


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

"""Fault injection: shares of failing calls (seeded, so runs repeat) and deterministic next-N.

Faults target the API. The token endpoint is a separate service: it only fails when a
fail_next() path_prefix names it explicitly (path_prefix="/v1/tokens").
"""

import dataclasses
import random
import threading

from .constants import TOKEN_PATH

DROP = "drop"  # fail_next status meaning "close the socket without answering"
RETRY_AFTER_SECONDS = "seconds"
RETRY_AFTER_DATE = "date"  # an HTTP date, as RFC 9110 allows
RETRY_AFTER_FORMATS = (RETRY_AFTER_SECONDS, RETRY_AFTER_DATE)


@dataclasses.dataclass
class FaultSettings:
    rate_429: float = 0.0
    retry_after: float = 1
    retry_after_format: str = RETRY_AFTER_SECONDS
    rate_5xx: float = 0.0
    status_5xx: int = 503
    latency: float = 0.0
    drop_rate: float = 0.0
    token_lifetime: int | None = None
    duplicate_webhooks: bool = False
    processing_delay: float = 0.0
    seed: int | None = 0

    def as_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Fault:
    """What to do with one call: answer status (with Retry-After) or drop the connection."""

    status: int | str
    retry_after: float | None = None
    retry_after_format: str = RETRY_AFTER_SECONDS

    @property
    def drop(self):
        return self.status == DROP


@dataclasses.dataclass
class _Pending:
    status: int | str
    count: int
    retry_after: float | None
    path_prefix: str | None
    retry_after_format: str | None = None

    def matches(self, path):
        if self.path_prefix and not path.startswith(self.path_prefix):
            return False
        return not is_token_path(path) or _names_token_path(self.path_prefix)


def is_token_path(path):
    return path.rstrip("/") == TOKEN_PATH


def _names_token_path(prefix):
    return bool(prefix) and prefix.startswith(TOKEN_PATH)


def _check_format(value):
    if value is not None and value not in RETRY_AFTER_FORMATS:
        raise ValueError(f"retry_after_format must be one of {', '.join(RETRY_AFTER_FORMATS)}")


class FaultInjector:
    """Decides, per call, whether and how to fail it. Thread-safe."""

    def __init__(self, **settings):
        self._lock = threading.Lock()
        self.settings = FaultSettings()
        self._pending = []
        self._rng = random.Random(0)
        self.configure(**settings)

    def configure(self, fail_next=(), **settings):
        """Change some settings; unknown names raise TypeError. fail_next: [(status, n), ...]."""
        unknown = set(settings) - {f.name for f in dataclasses.fields(FaultSettings)}
        if unknown:
            raise TypeError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        _check_format(settings.get("retry_after_format"))
        with self._lock:
            self.settings = dataclasses.replace(self.settings, **settings)
            if "seed" in settings:
                self._rng = random.Random(self.settings.seed)
        for entry in fail_next or ():
            if isinstance(entry, dict):
                self.fail_next(**entry)
            else:
                self.fail_next(*entry)

    def clear(self):
        with self._lock:
            self.settings = FaultSettings()
            self._rng = random.Random(self.settings.seed)
            self._pending.clear()

    def fail_next(
        self, status, count=1, retry_after=None, path_prefix=None, retry_after_format=None
    ):
        """Answer the next count calls (under path_prefix, if given) with status, or DROP.

        The token endpoint is only hit when path_prefix names it ("/v1/tokens").
        retry_after_format ("seconds" or "date") overrides the setting for these calls.
        """
        _check_format(retry_after_format)
        pending = _Pending(status, int(count), retry_after, path_prefix, retry_after_format)
        with self._lock:
            self._pending.append(pending)

    def pending(self):
        with self._lock:
            return [dataclasses.asdict(p) for p in self._pending]

    def decide(self, path):
        """The Fault for this call, or None to serve it normally."""
        with self._lock:
            fault = self._take_pending(path)
            if fault or is_token_path(path):
                return fault
            settings = self.settings
            if settings.drop_rate and self._rng.random() < settings.drop_rate:
                return Fault(DROP)
            if settings.rate_429 and self._rng.random() < settings.rate_429:
                return Fault(429, settings.retry_after, settings.retry_after_format)
            if settings.rate_5xx and self._rng.random() < settings.rate_5xx:
                return Fault(settings.status_5xx)
        return None

    def _take_pending(self, path):
        for pending in self._pending:
            if not pending.matches(path):
                continue
            pending.count -= 1
            if pending.count <= 0:
                self._pending.remove(pending)
            retry_after = pending.retry_after
            if retry_after is None and pending.status == 429:
                retry_after = self.settings.retry_after
            fmt = pending.retry_after_format or self.settings.retry_after_format
            return Fault(pending.status, retry_after, fmt)
        return None

"""HTTP transport of the Basware client: one deadline that also bounds a slow answer.

requests' read timeout bounds each read, not the answer, so an AttemptWatch shuts the socket of the
client's own session down at the deadline (an outside session gets timeouts only)."""

import contextlib
import contextvars
import socket
import threading
import time

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

# Shortest timeout handed to a socket: zero would make it non-blocking.
MIN_TIMEOUT = 0.01
SOCKS_SCHEME_PREFIX = "socks"

_current_watch = contextvars.ContextVar("basware_attempt_watch", default=None)


def cap_timeout(timeout, remaining):
    """``timeout`` cut to the ``remaining`` seconds of the deadline (never below MIN_TIMEOUT)."""
    return max(min(timeout, remaining), MIN_TIMEOUT)


class AttemptWatch:
    """Context manager bounding one HTTP attempt, body read included: shuts its sockets down
    ``seconds`` from now (``expired`` tells). The timer is joined on exit, so a connection back
    in the pool is never shut down afterwards."""

    def __init__(self, seconds):
        self.deadline = time.monotonic() + seconds
        self.expired = False
        self._connections = set()
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True
        self._context_token = None

    def remaining(self):
        return self.deadline - time.monotonic()

    def watch(self, connection):
        """Register a connection used by this attempt (shut down at once if expired)."""
        with self._lock:
            self._connections.add(connection)
            expired = self.expired
        if expired:
            _shutdown(connection.sock)

    def _expire(self):
        with self._lock:
            self.expired = True
            connections = list(self._connections)
        for connection in connections:
            _shutdown(connection.sock)

    def __enter__(self):
        self._context_token = _current_watch.set(self)
        self._timer.start()
        return self

    def __exit__(self, *exc_info):
        self._timer.cancel()
        self._timer.join()
        _current_watch.reset(self._context_token)


def _shutdown(sock):
    """End every read and write under way on ``sock`` (from another thread)."""
    if sock is None:
        return
    # Below TLS: SSLSocket.shutdown would drop its TLS object under the reading thread.
    # urllib3's TLS-in-TLS wrapper keeps the real socket in .socket.
    raw = getattr(sock, "socket", sock)
    # Already closed, or not a socket: nothing left to stop.
    with contextlib.suppress(OSError, TypeError):
        socket.socket.shutdown(raw, socket.SHUT_RDWR)


def _watch_current(connection):
    watch = _current_watch.get()
    if watch is not None:
        watch.watch(connection)


class _WatchedConnectionMixin:
    """Registers the connection with the running attempt's watch before it is used."""

    def connect(self):
        _watch_current(self)
        return super().connect()

    def request(self, *args, **kwargs):
        _watch_current(self)
        return super().request(*args, **kwargs)

    def request_chunked(self, *args, **kwargs):
        # urllib3 1.x sends chunked bodies through this method.
        _watch_current(self)
        return super().request_chunked(*args, **kwargs)


class WatchedHTTPConnection(_WatchedConnectionMixin, HTTPConnection):
    pass


class WatchedHTTPSConnection(_WatchedConnectionMixin, HTTPSConnection):
    pass


class WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


WATCHED_POOL_CLASSES = {"http": WatchedHTTPConnectionPool, "https": WatchedHTTPSConnectionPool}


class DeadlineAdapter(HTTPAdapter):
    """The client's adapter: watched connections, (connect, read) timeouts from the settings cut to
    the attempt's time left. Callers' ``timeout`` is ignored: some test harnesses wrap
    Session.send and raise short ones."""

    def __init__(self, connect_timeout, read_timeout):
        self._timeouts = (connect_timeout, read_timeout)
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        result = super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = WATCHED_POOL_CLASSES
        return result

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith(SOCKS_SCHEME_PREFIX):
            # SOCKS proxies bring connection classes of their own: timeouts only there.
            manager.pool_classes_by_scheme = WATCHED_POOL_CLASSES
        return manager

    def attempt_timeouts(self):
        watch = _current_watch.get()
        if watch is None:
            return self._timeouts
        remaining = watch.remaining()
        return tuple(cap_timeout(timeout, remaining) for timeout in self._timeouts)

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        return super().send(request, stream, self.attempt_timeouts(), verify, cert, proxies)

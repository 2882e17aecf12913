"""OAuth2 client credentials for Basware, with a pluggable token store.

``POST /v1/tokens`` issues bearer JWTs without a refresh token: a new one is asked for shortly
before the current one expires."""

import base64
import binascii
import hashlib
import json
import logging
import threading
from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from . import constants as c
from .errors import (
    BaswareAuthError,
    BaswareConfigError,
    BaswareEnvironmentMismatch,
    BaswareScopeError,
    error_from_response,
    parse_error_body,
)

_logger = logging.getLogger(__name__)
# How much of a non-JSON error body (a proxy's HTML page, say) is kept as its message.
NON_JSON_ERROR_CHARS = 200


@runtime_checkable
class TokenStore(Protocol):
    """Where the current access token lives (memory, or an Odoo record). Tokens are dicts:
    access_token, token_type, scope, expires_at (epoch seconds), claims, obtained_at, expires_in
    and fingerprint (the settings it was issued for)."""

    def load(self) -> "dict | None": ...

    def save(self, token: dict) -> None: ...

    def locked(self) -> AbstractContextManager:
        """Serialise refreshes: the client re-loads inside the lock before fetching."""


class MemoryTokenStore:
    """Token store for one process."""

    def __init__(self, token=None):
        self._token = dict(token) if token else None
        self._lock = threading.Lock()

    def load(self):
        return dict(self._token) if self._token else None

    def save(self, token):
        self._token = dict(token) if token else None

    def locked(self):
        return self._lock

    def __repr__(self):
        return f"<MemoryTokenStore {'with' if self._token else 'without'} token>"


def decode_jwt_claims(token):
    """The claims of a JWT, unverified ({} when unreadable): only read to show the tenant (bwcid)
    and compare the issuer with the host; Basware verifies the token on every call.
    """
    if not isinstance(token, str):
        return {}
    parts = token.split(".")
    if len(parts) < 2:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        return {}
    return claims if isinstance(claims, dict) else {}


def url_host(url):
    """Lower case host name of a URL, also for bare host names ("api.basware.com")."""
    if not url:
        return None
    text = str(url).strip()
    host = urlsplit(text if "//" in text else "//" + text).hostname
    return host.lower() if host else None


def url_origin(url):
    """Scheme and host of a URL ("https://api.basware.com"), or None."""
    parts = urlsplit(str(url or "").strip())
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def issuer_mismatch(claims, api_url, expected_issuer=None):
    """Why the token's issuer does not fit, else None. ``expected_issuer`` None: the API URL's
    scheme and host; ``""``: no check. Hosts are compared, so trailing slash and case do not
    matter."""
    if expected_issuer == "":
        return None
    issuer = claims.get(c.CLAIM_ISSUER) if claims else None
    expected_host = url_host(url_origin(api_url) if expected_issuer is None else expected_issuer)
    issuer_host, api_host = url_host(issuer), url_host(api_url)
    if not (issuer_host and expected_host) or issuer_host == expected_host:
        return None
    tenant = claims.get(c.CLAIM_TENANT)
    issued = f"The Basware token was issued by {issuer_host}"
    issued += f" for tenant {tenant}" if tenant else ""
    if expected_host == api_host:
        issued += f" but the API URL points to {api_host}"
    else:
        issued += f", not by the expected issuer {expected_host} (API URL host {api_host})"
    return f"{issued}: the credentials may belong to another Basware environment"


def check_environment(claims, api_url, expected_issuer=None):
    """Raise BaswareEnvironmentMismatch for an unexpected token issuer. Only the connection test
    calls it: Basware's test environment issuer is undocumented, so ordinary calls must not fail
    on a guess."""
    message = issuer_mismatch(claims, api_url, expected_issuer)
    if message:
        raise BaswareEnvironmentMismatch(message)


def refresh_margin(lifetime, ratio):
    """Seconds before expiry to renew a token: ``ratio`` of its lifetime, at least
    MIN_REFRESH_MARGIN, at most half the lifetime so short-lived tokens are still used.
    """
    lifetime = max(float(lifetime or 0), 0.0)
    margin = max(lifetime * ratio, c.MIN_REFRESH_MARGIN)
    return min(margin, lifetime / 2.0)


def settings_fingerprint(config):
    """Identifies the settings a token was issued for (never includes the secret)."""
    raw = f"{config.token_url}\n{config.client_id}\n{config.scope}\n{config.api_url}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


class TokenManager:
    """Hands out valid access tokens, fetched through ``post`` (the client's retrying sender). The
    token stays in memory while fresh; the store (a database row) is read again only when it is
    not, under the refresh lock, so a client making a thousand calls reads it once."""

    def __init__(self, config, store, post, clock):
        self.config = config
        self.store = store
        self._post = post
        self._clock = clock
        self._fingerprint = settings_fingerprint(config)
        self._token = None

    def current(self):
        """The token in memory, else the stored one, if still fresh for these settings;
        else None."""
        if self._is_fresh(self._token):
            return self._token
        return self._load()

    def _load(self):
        """The stored token if it is still fresh for these settings (kept in memory), else
        None."""
        token = self.store.load()
        if not self._is_fresh(token):
            return None
        self._token = token
        return token

    def access_token(self, deadline=None):
        """A fresh access token, fetched (once, under the store's lock) when needed."""
        token = self.current()
        if token is None:
            with self.store.locked():
                # Another worker may have refreshed while we waited for the lock.
                token = self._load() or self._fetch_and_save(deadline)
        return token["access_token"]

    def renew(self, rejected=None, deadline=None):
        """A new token after Basware refused ``rejected`` (401), or unconditionally."""
        with self.store.locked():
            # The store, not memory: another worker may have renewed it already.
            token = self._load()
            if token is None or rejected is None or token["access_token"] == rejected:
                token = self._fetch_and_save(deadline)
        return token["access_token"]

    def _is_fresh(self, token):
        if not token or not token.get("access_token"):
            return False
        if token.get("fingerprint") != self._fingerprint:
            return False
        expires_at = float(token.get("expires_at") or 0)
        lifetime = token.get("expires_in") or expires_at - float(token.get("obtained_at") or 0)
        margin = refresh_margin(lifetime, self.config.token_refresh_margin)
        return self._clock() < expires_at - margin

    def _fetch_and_save(self, deadline=None):
        token = self.fetch(deadline)
        self.store.save(token)
        self._token = token
        return token

    def fetch(self, deadline=None):
        """Ask Basware for a new token (no store involved)."""
        obtained_at = self._clock()
        response = self._post(
            self.config.token_url,
            data={"grant_type": c.GRANT_TYPE_CLIENT_CREDENTIALS, "scope": self.config.scope},
            # Bytes: requests would encode text credentials as latin-1.
            auth=(self.config.client_id.encode(), self.config.client_secret.encode()),
            deadline=deadline,
        )
        body = response_body(response)
        if response.status_code != 200:
            raise self._token_error(response.status_code, body)
        return self._token_from_body(body, obtained_at)

    def _token_from_body(self, body, obtained_at):
        if not isinstance(body, dict) or not body.get("access_token"):
            raise BaswareAuthError("The Basware token endpoint answered without an access token")
        claims = decode_jwt_claims(body["access_token"])
        self._note_issuer(claims)
        expires_in = _expires_in(body, claims, obtained_at)
        return {
            "access_token": body["access_token"],
            "token_type": body.get("token_type") or c.TOKEN_TYPE_BEARER,
            "scope": body.get("scope") or claims.get(c.CLAIM_SCOPE) or self.config.scope,
            "expires_in": expires_in,
            "obtained_at": obtained_at,
            "expires_at": obtained_at + expires_in,
            "claims": claims,
            "fingerprint": self._fingerprint,
        }

    def _note_issuer(self, claims):
        # Logged, not raised: only the connection test fails on it (see check_environment).
        mismatch = issuer_mismatch(claims, self.config.api_url, self.config.expected_issuer)
        if mismatch:
            _logger.info("%s", mismatch)

    def _token_error(self, status, body):
        errors = parse_error_body(body)
        code = body.get("error") if isinstance(body, dict) else None
        description = errors[0].get("message") if errors else None
        details = f": {description}" if description else ""
        kwargs = {
            "status": status,
            "code": code,
            "errors": errors,
            "method": "POST",
            "path": c.TOKEN_PATH,
        }
        if code == c.TOKEN_ERROR_INVALID_SCOPE or status == 403:
            return BaswareScopeError(
                f"Basware refused the requested scope (HTTP {status}{details}). Check that the "
                f"API client is allowed: {self.config.scope}",
                **kwargs,
            )
        if status == 401 or code in (
            c.TOKEN_ERROR_INVALID_CLIENT,
            c.TOKEN_ERROR_UNAUTHORIZED_CLIENT,
        ):
            return BaswareAuthError(
                f"Basware rejected the credentials (HTTP {status}): wrong client id or secret",
                **kwargs,
            )
        if status in (400, 422):
            return BaswareConfigError(
                f"Basware rejected the token request (HTTP {status}){details}", **kwargs
            )
        return error_from_response(status, body, method="POST", path=c.TOKEN_PATH)


def _expires_in(body, claims, obtained_at):
    """Token lifetime in seconds (Basware's value is seconds despite its "minutes" doc)."""
    try:
        expires_in = float(body.get("expires_in"))
    except (TypeError, ValueError):
        expires_in = 0.0
    if expires_in <= 0 and isinstance(claims.get(c.CLAIM_EXPIRES), (int, float)):
        expires_in = float(claims[c.CLAIM_EXPIRES]) - obtained_at
    return max(expires_in, 0.0)


def response_body(response):
    """Parsed JSON, or a short text for non-JSON error bodies, or None."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        if response.status_code >= 400:
            return {"message": response.text[:NON_JSON_ERROR_CHARS]}
        return None

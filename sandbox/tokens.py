"""JWT-shaped access tokens: base64url(header).base64url(claims).base64url(HMAC signature).

Basware signs RS256 tokens; the sandbox signs HS256 with its own key, which is enough for a
client that reads the claims and for the sandbox that checks them.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid

from .constants import AUDIENCE, TENANT_ID

HEADER = {"alg": "HS256", "typ": "at+jwt", "kid": "sandbox"}


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_signing_key():
    return secrets.token_hex(32)


class TokenIssuer:
    """Issues and checks access tokens with one signing key."""

    def __init__(self, signing_key, clock=time.time):
        self._key = signing_key.encode("utf-8")
        self._clock = clock

    def issue(self, issuer, scope, lifetime):
        """A token string and its claims."""
        now = int(self._clock())
        claims = {
            "iss": issuer,
            "aud": AUDIENCE,
            "scope": scope,
            "iat": now,
            "exp": now + int(lifetime),
            "jti": str(uuid.uuid4()),
            "bwcid": TENANT_ID,
        }
        signing_input = f"{b64url(_dump(HEADER))}.{b64url(_dump(claims))}"
        return f"{signing_input}.{b64url(self._sign(signing_input))}", claims

    def claims(self, token, issuer):
        """The claims of a valid, unexpired token for this issuer, else None."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        signing_input = f"{parts[0]}.{parts[1]}"
        try:
            signature = b64url_decode(parts[2])
            claims = json.loads(b64url_decode(parts[1]))
        except (ValueError, UnicodeDecodeError):
            return None
        if not hmac.compare_digest(signature, self._sign(signing_input)):
            return None
        if claims.get("iss") != issuer or claims.get("aud") != AUDIENCE:
            return None
        if claims.get("exp", 0) <= self._clock():
            return None
        return claims

    def _sign(self, signing_input):
        return hmac.new(self._key, signing_input.encode("ascii"), hashlib.sha256).digest()


def _dump(data):
    return json.dumps(data, separators=(",", ":")).encode("utf-8")

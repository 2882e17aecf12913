"""Basware Purchase-to-Pay API client (plain Python, no Odoo dependency)."""

from . import constants, errors
from .auth import MemoryTokenStore, TokenStore, decode_jwt_claims
from .client import BaswareClient, BaswareResponse, ClientConfig
from .request_status import ItemMessage, ItemResult, RequestStatus, SystemStatus
from .retry import backoff_delay, parse_retry_after
from .signature import DEFAULT_SIGNATURE_HEADER, sign_body, verify_signature

__all__ = [
    "DEFAULT_SIGNATURE_HEADER",
    "BaswareClient",
    "BaswareResponse",
    "ClientConfig",
    "ItemMessage",
    "ItemResult",
    "MemoryTokenStore",
    "RequestStatus",
    "SystemStatus",
    "TokenStore",
    "backoff_delay",
    "constants",
    "decode_jwt_claims",
    "errors",
    "parse_retry_after",
    "sign_body",
    "verify_signature",
]

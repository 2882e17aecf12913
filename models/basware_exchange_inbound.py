"""Former module of the invoice import: the names tests still import from here."""

from .basware_exchange_import import CONCURRENT_IMPORT_ERROR, INBOUND_FLOW_KINDS

__all__ = ["CONCURRENT_IMPORT_ERROR", "INBOUND_FLOW_KINDS"]

"""A local stand-in for Basware's P2P API, for demos and tests (no Odoo import here)."""

from .faults import DROP
from .server import SandboxServer

__all__ = ["DROP", "SandboxServer"]

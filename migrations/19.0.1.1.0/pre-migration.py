"""The on/off switch of an outbound flow was ``active`` and is ``enabled``: an archived
row vanished from its backend's form. Each flow keeps its setting."""

from odoo.tools import sql

TABLE = "basware_sync_flow"


def migrate(cr, version):
    if sql.column_exists(cr, TABLE, "active") and not sql.column_exists(cr, TABLE, "enabled"):
        sql.rename_column(cr, TABLE, "active", "enabled")

"""The retention of the exchange queue: resolved exchanges are deleted after some days,
unless an open exchange still needs them."""

from datetime import timedelta

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL

from .basware_exchange import (
    DEFAULT_RETENTION_DAYS,
    PURGE_CHUNK,
    RESOLVED_STATES,
    RETENTION_PARAM,
)


class BaswareExchange(models.Model):
    _inherit = "basware.exchange"

    @api.model
    def _retention_days(self):
        return self._int_param(RETENTION_PARAM, DEFAULT_RETENTION_DAYS)

    @api.model
    def _not_held_by_open(self):
        """The exchanges no open one (pending, running, failed or dead) holds. An open exchange
        holds its ancestors and descendants: whoever resolves it needs its whole line.
        """
        held = SQL(
            """
            WITH RECURSIVE ancestor(id) AS (
                SELECT parent_id FROM basware_exchange
                 WHERE state NOT IN %(resolved)s AND parent_id IS NOT NULL
                UNION
                SELECT exchange.parent_id FROM basware_exchange exchange
                  JOIN ancestor ON exchange.id = ancestor.id
                 WHERE exchange.parent_id IS NOT NULL
            ), descendant(id) AS (
                SELECT id FROM basware_exchange WHERE state NOT IN %(resolved)s
                UNION
                SELECT exchange.id FROM basware_exchange exchange
                  JOIN descendant ON exchange.parent_id = descendant.id
            )
            SELECT id FROM ancestor UNION SELECT id FROM descendant
            """,
            resolved=RESOLVED_STATES,
            to_flush=(self._fields["state"], self._fields["parent_id"]),
        )
        return Domain.custom(
            to_sql=lambda model, alias, query: SQL(
                "%s NOT IN (%s)", model._field_to_sql(alias, "id", query), held
            )
        )

    @api.model
    def _cron_purge_done(self, chunk=PURGE_CHUNK):
        """Delete done (and superseded) exchanges older than the retention. Failed and dead
        ones stay until a person resolves them, and so does the line of each (see
        _not_held_by_open)."""
        cutoff = fields.Datetime.now() - timedelta(days=self._retention_days())
        domain = (
            Domain("state", "in", RESOLVED_STATES)
            & Domain("date_done", "<", cutoff)
            & self._not_held_by_open()
        )
        purged = 0
        while old := self.search(domain, limit=chunk):
            old.unlink()
            purged += len(old)
            self._commit_batch(len(old))
        return purged

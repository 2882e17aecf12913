"""The Basware codes an invoice import could not map, kept on its exchange for the
"Unmapped codes" work list (basware.unmapped.code)."""

import json

from odoo import api, fields, models
from odoo.tools import SQL

from .basware_code_mapping import MAPPABLE_KINDS
from .basware_exchange import KIND_ACCOUNTING_DOCUMENT, STATE_DEAD, STATE_FAILED
from .basware_invoice_mapping import BaswareDocumentRejected


class BaswareExchange(models.Model):
    _inherit = "basware.exchange"

    unmapped_codes = fields.Json(
        readonly=True,
        copy=False,
        help="The Basware codes Odoo could not map when importing this invoice, as "
        "[kind, code] pairs.",
    )

    def _failure_values(self, error, retryable, client):
        values = super()._failure_values(error, retryable, client)
        if isinstance(error, BaswareDocumentRejected):
            values["unmapped_codes"] = (
                sorted(
                    {
                        (kind, code)
                        for kind, code in error.unmapped
                        if kind in MAPPABLE_KINDS and code
                    }
                )
                or False
            )
        return values

    def _record_success(self, result, client):
        outcome = super()._record_success(result, client)
        if self.unmapped_codes:
            self._queue_edit().write({"unmapped_codes": False})
        return outcome

    @api.model
    def _waiting_on_codes(self, keys):
        """Failed or dead invoice imports naming any (backend, kind, code) of ``keys``."""
        waiting = self.browse()
        for backend, kind, code in keys:
            self.env.cr.execute(
                SQL(
                    """
                    SELECT id FROM basware_exchange
                     WHERE backend_id = %s AND kind = %s AND state IN %s
                       AND unmapped_codes @> %s::jsonb
                    """,
                    backend.id,
                    KIND_ACCOUNTING_DOCUMENT,
                    (STATE_FAILED, STATE_DEAD),
                    json.dumps([[kind, code]]),
                )
            )
            waiting |= self.browse(row[0] for row in self.env.cr.fetchall())
        return waiting

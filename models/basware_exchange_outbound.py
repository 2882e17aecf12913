"""Outbound writes of bound records on the spine: the newest payload wins.

Each binding names the exchange carrying its record's newest payload (``last_exchange_id``).
An older exchange never overwrites it: about to be sent, it drops the records whose newest
payload is elsewhere, and when none is left it ends superseded, unsent.
"""

import json

from odoo import api, fields, models
from odoo.tools import SQL

from ..basware.client import bulk_body, encode_record
from . import basware_binding as binding_model
from . import basware_exchange as spine

EXTERNAL_CODE = "externalCode"


def external_codes(records):
    return [record.get(EXTERNAL_CODE) if isinstance(record, dict) else None for record in records]


class BaswareExchange(models.Model):
    _inherit = "basware.exchange"

    binding_ids = fields.Many2many(
        "basware.binding",
        "basware_binding_exchange_rel",
        "exchange_id",
        "binding_id",
        string="Records Carried",
        readonly=True,
        copy=False,
    )

    # === NEWEST WINS === #

    def _is_outbound_write(self):
        return bool(self.endpoint) and self.direction == spine.DIRECTION_OUTBOUND

    def _carried_bindings(self):
        """The bindings whose newest payload this exchange carries (a binding that names
        no newest exchange counts as carried by each of its exchanges)."""
        self.ensure_one()
        return self.binding_ids.filtered(
            lambda binding: not binding.last_exchange_id or binding.last_exchange_id == self
        )

    def _newest_elsewhere(self):
        """{external code: id of the newest exchange} of the records of this exchange whose
        newest payload another exchange carries.

        The bindings stay locked (FOR SHARE) until this transaction ends: no newer payload
        of these records is queued, and so sent, while this one is on its way.
        """
        self.ensure_one()
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT binding.external_code, binding.last_exchange_id
                  FROM basware_binding binding
                  JOIN basware_binding_exchange_rel rel ON rel.binding_id = binding.id
                 WHERE rel.exchange_id = %s
                 ORDER BY binding.res_id
                   FOR SHARE OF binding
                """,
                self.id,
            )
        )
        return {
            code: newest for code, newest in self.env.cr.fetchall() if newest and newest != self.id
        }

    def _body_to_send(self):
        body = super()._body_to_send()
        if not self._is_outbound_write():
            return body
        newest = self._newest_elsewhere()
        if not newest:
            return body
        records = json.loads(body)
        kept = [record for record in records if record.get(EXTERNAL_CODE) not in newest]
        dropped = {code: newest[code] for code in external_codes(records) if code in newest}
        if not dropped:
            return body
        if not kept:
            newer = self.browse(sorted(set(dropped.values())))
            raise spine.ExchangeSuperseded(
                self.env._(
                    "Not sent: newer exchanges carry the newest payload of each of its "
                    "records (%(exchanges)s).",
                    exchanges=", ".join(map(str, newer.ids)),
                ),
                newer,
            )
        body = self._post_payload_text(self.endpoint, self._bulk_body(kept))
        self._spine().write({"request_payload": body})
        self.message_post(
            body=self.env._(
                "%(count)s record(s) left out of this write: a newer exchange carries their "
                "newest payload (%(records)s).",
                count=len(dropped),
                records=", ".join(f"{code} → {newer}" for code, newer in dropped.items()),
            )
        )
        return body

    @staticmethod
    def _bulk_body(records):
        """The body of ``records``, encoded as when they were queued (sorted keys,
        compact): each record keeps its bytes and its hash."""
        return bulk_body([encode_record(record) for record in records])

    @api.model
    def _supersede_stale(self, binding_ids):
        """Stopped exchanges (failed for good, or dead) of these bindings that carry the
        newest payload of none of their records end superseded: a person would replay
        them for nothing. An exchange a worker holds is left to its worker."""
        if not binding_ids:
            return self.browse()
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                """
                SELECT exchange.id FROM basware_exchange exchange
                 WHERE exchange.id IN (SELECT exchange_id FROM basware_binding_exchange_rel
                                        WHERE binding_id = ANY(%(bindings)s))
                   AND (exchange.state = %(dead)s
                        OR (exchange.state = %(failed)s AND exchange.error_retryable IS NOT TRUE))
                   AND NOT EXISTS (
                        SELECT 1 FROM basware_binding_exchange_rel rel
                          JOIN basware_binding binding ON binding.id = rel.binding_id
                         WHERE rel.exchange_id = exchange.id
                           AND (binding.last_exchange_id = exchange.id
                                OR binding.last_exchange_id IS NULL))
                   FOR UPDATE OF exchange SKIP LOCKED
                """,
                bindings=list(binding_ids),
                dead=spine.STATE_DEAD,
                failed=spine.STATE_FAILED,
            )
        )
        stale = self.browse([row[0] for row in self.env.cr.fetchall()])
        for exchange in stale:
            exchange._supersede(exchange.binding_ids.last_exchange_id)
        return stale

    # === PHASE TWO AND REPLAY === #

    def _apply_phase_two(self, status):
        result = super()._apply_phase_two(status)
        # Basware's answer about an older payload says nothing of the record as it is.
        self._carried_bindings()._take_item_results(status)
        return result

    def _reset_to_pending(self, **values):
        result = super()._reset_to_pending(**values)
        for exchange in self:
            exchange._carried_bindings().filtered(
                lambda binding: binding.sync_state == binding_model.SYNC_ERROR
            ).write({"sync_state": binding_model.SYNC_SENT})
        return result

    def _prepare_replay(self):
        """A done write is sent again as its records are now, not as they were: the
        backend rebuilds its body, and the body sent before goes in the chatter."""
        super()._prepare_replay()
        if self.state != spine.STATE_DONE or not self._is_outbound_write():
            return
        if not self.binding_ids:
            return
        sent_before = self.request_payload or ""
        self.backend_id.sudo()._basware_replay_write(self.sudo())
        self.message_post(
            body=self.env._(
                "Rebuilt from its records as they are now; the body sent before is attached."
            ),
            attachments=[(f"basware-exchange-{self.id}-sent-before.json", sent_before.encode())],
        )

    # === FAILED WRITES === #

    def _stopped(self, error, error_message):
        if self._is_outbound_write():
            # The whole write failed: no per-record answer, so no post on each record.
            self._carried_bindings().write(
                {
                    "sync_state": binding_model.SYNC_ERROR,
                    "sync_message": error_message,
                    "basware_status": type(error).__name__,
                    "sync_date": fields.Datetime.now(),
                }
            )
        return super()._stopped(error, error_message)

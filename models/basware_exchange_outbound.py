"""Outbound writes of bound records: the newest payload wins, a refused write is narrowed down.

An exchange drops the records whose binding names a newer one (``last_exchange_id``); a write
refused whole rejects the records Basware names, else is halved until each bad one stands alone."""

import json
import logging
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..basware import errors as bw_errors
from ..basware.client import bulk_body, bulk_limit, chunk_records, encode_record
from . import basware_binding as binding_model
from . import basware_exchange as queue

_logger = logging.getLogger(__name__)

EXTERNAL_CODE = "externalCode"
# Refusals that may come from the records sent, and so are narrowed down to them: the
# data refused (400, 422), a conflict with a record's state (409), a server error that
# lasted (5xx, dead after retries: a record may be what it chokes on).
CONTENT_REFUSALS = (bw_errors.BaswareValidationError, bw_errors.BaswareConflictError)
# ... but not 503: the service is down whatever it is sent, and halves would only
# multiply the calls.
SERVICE_UNAVAILABLE = 503
HALVES = 2


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

    # === PHASE ONE: THE POST === #

    def _run_post(self, client):
        """One POST of the stored body, less the records a newer exchange carries
        (ExchangeSuperseded when that is all of them), then queue its phase-two poll."""
        response = client.post_encoded(self.endpoint, self._body_to_send())
        if response.amzn_request_id:
            self._enqueue_request_status(response.amzn_request_id)
        return response.data

    # === NEWEST WINS === #

    def _carried_bindings(self):
        """The bindings whose newest payload this exchange carries (a binding that names
        no newest exchange counts as carried by each of its exchanges)."""
        self.ensure_one()
        return self.binding_ids.filtered(
            lambda binding: not binding.last_exchange_id or binding.last_exchange_id == self
        )

    def _newest_elsewhere(self):
        """{external code: newest exchange id} of this exchange's records whose newest payload
        another exchange carries. The bindings stay locked FOR SHARE until commit, so no newer
        payload is queued, and sent, while this one is on its way."""
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
        """The body of this write as it goes now: without the records whose newest payload
        another exchange carries."""
        body = self.request_payload or "[]"
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
            raise queue.ExchangeSuperseded(
                self.env._(
                    "Not sent: newer exchanges carry the newest payload of each of its "
                    "records (%(exchanges)s).",
                    exchanges=", ".join(map(str, newer.ids)),
                ),
                newer,
            )
        body = self._post_payload_text(self.endpoint, self._bulk_body(kept))
        self._queue_edit().write({"request_payload": body})
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
                dead=queue.STATE_DEAD,
                failed=queue.STATE_FAILED,
            )
        )
        stale = self.browse([row[0] for row in self.env.cr.fetchall()])
        for exchange in stale:
            exchange._supersede(exchange.binding_ids.last_exchange_id)
        return stale

    # === PHASE TWO AND REPLAY === #

    def _enqueue_request_status(self, basware_request_id):
        """Queue the phase-two poll of a write Basware accepted as ``basware_request_id``."""
        backend = self.backend_id
        return self._enqueue(
            backend,
            queue.KIND_REQUEST_STATUS,
            self.direction,
            parent_id=self.id,
            tracked_request_id=basware_request_id,
            external_code=self.external_code,
            dedup_key=queue.REQUEST_STATUS_DEDUP_PREFIX + basware_request_id,
            next_attempt_at=fields.Datetime.now() + timedelta(seconds=backend.request_status_delay),
        )

    def _run_request_status(self, client):
        """Phase two: read Basware's per-item results of an earlier POST, then acknowledge."""
        tracked = self.tracked_request_id
        if not tracked:
            raise UserError(self.env._("This exchange has no Basware request id to look up."))
        status = client.get_request_status(tracked)
        if status.is_pending:
            raise bw_errors.BaswareRequestPending(f"Basware is still processing request {tracked}.")
        client.acknowledge_request_status([tracked])
        if self.parent_id:
            self.parent_id._apply_phase_two(status)
        return status.to_dict()

    def _apply_phase_two(self, status):
        """Take Basware's per-item results of this exchange's write (the inbound answers
        extend it)."""
        self.ensure_one()
        rejected = [item for item in status.items if item.is_error]
        if rejected:
            self.message_post(
                body=self.env._(
                    "Basware rejected %(count)s item(s) of request %(request)s.",
                    count=len(rejected),
                    request=status.request_id,
                )
            )
        # Basware's answer about an older payload says nothing of the record as it is.
        self._carried_bindings()._take_item_results(status)

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
        if self.state != queue.STATE_DONE or not self._is_outbound_write():
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

    # === BAD RECORDS === #

    def _stopped(self, error, error_message):
        if not self._is_outbound_write():
            return super()._stopped(error, error_message)
        try:
            with self.env.cr.savepoint():
                self._narrow_down(error)
        except Exception:
            _logger.exception("Could not narrow down Basware exchange %s", self.id)
            self._reject_carried_safely(error, error_message)
        if self.state != queue.STATE_SUPERSEDED:
            super()._stopped(error, error_message)

    def _reject_carried_safely(self, error, error_message):
        """What a failed write did before it was narrowed down; like the rest of the
        failure's record, this must not fail."""
        try:
            with self.env.cr.savepoint():
                self._carried_bindings()._reject_unsent(type(error).__name__, error_message)
        except Exception:
            _logger.exception("Could not reject the records of Basware exchange %s", self.id)

    def _narrow_down(self, error):
        """This write failed as a whole: reject the records Basware names and send the
        others again; without names, split it in halves when its records may be the cause;
        else reject its records with the error."""
        records = self._records_still_carried()
        named = self._named_refusals(error, records)
        if named:
            self._refuse_named(error, named, records)
        elif len(records) > 1 and self._may_come_from_records(error):
            self._split(records)
        else:
            self._reject_carried(error)

    def _records_still_carried(self):
        """The records of the stored body whose newest payload this exchange carries."""
        newest = self._newest_elsewhere()
        return [
            record
            for record in json.loads(self.request_payload or "[]")
            if record.get(EXTERNAL_CODE) not in newest
        ]

    @staticmethod
    def _named_refusals(error, records):
        """{external code: Basware's messages} of the records Basware's errors name."""
        codes = set(external_codes(records))
        named = defaultdict(list)
        for item in getattr(error, "errors", None) or []:
            code = item.get(EXTERNAL_CODE)
            if code in codes:
                message = item.get("message") or item.get("code") or str(error)
                if message not in named[code]:
                    named[code].append(message)
        return named

    @staticmethod
    def _may_come_from_records(error):
        if isinstance(error, CONTENT_REFUSALS):
            return True
        return isinstance(error, bw_errors.BaswareServerError) and (
            error.status != SERVICE_UNAVAILABLE
        )

    def _bindings_of(self, codes):
        codes = set(codes)
        return self._carried_bindings().filtered(lambda binding: binding.external_code in codes)

    def _refuse_named(self, error, named, records):
        """Reject the records Basware named, each with its reason; the others go on in a
        new write. This exchange keeps the rejected ones (a replay sends them again)."""
        status = getattr(error, "code", None) or type(error).__name__
        for binding in self._bindings_of(named):
            binding._reject(status, "; ".join(named[binding.external_code]), forget_hash=True)
        others = [record for record in records if record.get(EXTERNAL_CODE) not in named]
        message = self.env._(
            "Basware refused %(count)s record(s) of this write, named in its answer: they are "
            "rejected with Basware's reason (Synced Records).",
            count=len(named),
        )
        if others:
            follow_ups = self._send_again([others])
            message += " " + self.env._(
                "The other %(others)s record(s) go on in exchange(s) %(exchanges)s.",
                others=len(others),
                exchanges=", ".join(map(str, follow_ups.ids)),
            )
        self.message_post(body=message)

    def _split(self, records):
        """Both halves go on as writes of their own (split again should they fail alike),
        and this exchange is superseded by them."""
        middle = len(records) // HALVES
        halves = self._send_again([records[:middle], records[middle:]])
        self.message_post(
            body=self.env._(
                "Basware refused this write as a whole without naming a record: its %(count)s "
                "records go on in two halves, exchanges %(exchanges)s, split again until "
                "each record Basware refuses stands alone.",
                count=len(records),
                exchanges=", ".join(map(str, halves.ids)),
            )
        )
        self._supersede(halves)

    def _reject_carried(self, error):
        """No record to tell apart: the records this exchange carries are rejected with
        the error, their payload not counted as sent. A record standing alone hears it on
        its chatter."""
        bindings = self._carried_bindings()
        status = getattr(error, "code", None) or type(error).__name__
        if len(bindings) == 1 and self._may_come_from_records(error):
            bindings._reject(status, self.error_message, forget_hash=True)
        else:
            bindings._reject_unsent(status, self.error_message)

    def _send_again(self, groups):
        """Queue each group of records as new writes, children of this exchange, which
        carry their records' newest payload from now on."""
        chunks = [
            chunk for group in groups for chunk in chunk_records(group, bulk_limit(self.endpoint))
        ]
        children = self._enqueue_chunks(
            self.backend_id, self.kind, self.endpoint, chunks, parent_id=self.id
        )
        for child, (chunk, _body) in zip(children, chunks, strict=True):
            self._bindings_of(external_codes(chunk))._carry(child)
        return children

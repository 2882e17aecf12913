"""The outbound sync of a backend: its flows, the payloads of changed records (built in
basware_backend_outbound_changes.py) queued in chunks of one HTTP write each, replay, cron
runs and actions. An unchanged payload hash is not sent again; a record whose dependency
(an order's vendor) Basware has not accepted yet is held back until it has."""

import functools
from dataclasses import dataclass, field, replace

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import split_every

from ..basware.client import bulk_limit, chunk_records, encode_record
from . import basware_binding as binding_model
from . import basware_exchange as queue
from . import basware_sync_flow as flow_model
from . import common
from .basware_binding import encoded_hash
from .basware_payload import RecordRefused

# The key of a flow's cron in a backend's scheduled job error.
JOB_FLOW = "flow:{flow}"

# action_sync_now runs the queue within this many seconds, in the caller's request.
SYNC_NOW_BUDGET = 120
SYNC_NOW_MAX_EXCHANGES = 10000
# How many payloads of each entity the preview shows.
PREVIEW_SAMPLE = 20
# The flow whose sets write the records of an exchange kind (replay rebuilds with them).
FLOW_OF_KIND = {
    queue.KIND_PAYMENT_TERM: flow_model.FLOW_PAYMENT_TERM,
    queue.KIND_TAX_CODE: flow_model.FLOW_TAX_CODE,
    queue.KIND_ACCOUNT: flow_model.FLOW_ACCOUNT,
    queue.KIND_ANALYTIC: flow_model.FLOW_ANALYTIC,
    queue.KIND_VENDOR: flow_model.FLOW_VENDOR,
    queue.KIND_PURCHASE_ORDER: flow_model.FLOW_PURCHASE_ORDER,
    queue.KIND_PURCHASE_ORDER_LINE: flow_model.FLOW_PURCHASE_ORDER,
}
# Records built and queued per transaction: the cache is emptied between batches, so a
# first sync of the whole vendor master keeps a bounded memory. A multiple of Basware's
# bulk limits (100, 200, 500), so that only a set's last request is not full.
SYNC_BATCH = 2000


@dataclass
class Outgoing:
    """One record to send (or held back), with its payload, encoded once, and its hash."""

    record: object
    payload: "dict | None" = None
    encoded: "bytes | None" = None
    digest: "str | None" = None


@dataclass
class SetResult:
    """What a run did with one set: the counts a flow keeps and the preview shows."""

    entity: str
    examined: int = 0
    sent: int = 0
    unchanged: int = 0
    waiting: int = 0
    exchanges: object = None
    payloads: list = field(default_factory=list)
    refused: int = 0

    def add(self, other):
        """Count in the result of another batch of the same set."""
        self.examined += other.examined
        self.sent += other.sent
        self.unchanged += other.unchanged
        self.waiting += other.waiting
        self.refused += other.refused
        self.payloads = (self.payloads + other.payloads)[:PREVIEW_SAMPLE]
        if other.exchanges:
            self.exchanges = self.exchanges | other.exchanges if self.exchanges else other.exchanges


class BaswareBackend(models.Model):
    _inherit = "basware.backend"

    sync_flow_ids = fields.One2many("basware.sync.flow", "backend_id", string="Outbound Flows")
    binding_count = fields.Integer(compute="_compute_binding_count")

    @api.model_create_multi
    def create(self, vals_list):
        backends = super().create(vals_list)
        backends._ensure_sync_flows()
        return backends

    def _compute_binding_count(self):
        counts = self._count_per_backend("basware.binding")
        for backend in self:
            backend.binding_count = counts.get(backend, 0)

    def _ensure_sync_flows(self):
        """Every backend has one flow record per outbound flow."""
        missing = []
        for backend in self:
            present = set(backend.sync_flow_ids.mapped("flow"))
            missing += [
                {
                    "backend_id": backend.id,
                    "flow": key,
                    "interval_minutes": flow_model.DEFAULT_INTERVALS.get(
                        key, flow_model.DEFAULT_MASTER_INTERVAL
                    ),
                }
                for key in flow_model.FLOW_KEYS
                if key not in present
            ]
        if missing:
            self.env["basware.sync.flow"].create(missing)
        return self.sync_flow_ids

    def _check_manager_rights(self):
        common.check_manager(
            self.env, self.env._("Only a Basware manager can run or reset the sync.")
        )
        # A manager of another company may not run this one's sync.
        self.check_access("write")

    # === SENDING === #

    def _basware_sync_set(self, outbound, preview=False):
        """Queue the changed records of one set; return a SetResult."""
        self.ensure_one()
        result = SetResult(outbound.entity, examined=len(outbound.records))
        bindings = self.env["basware.binding"]._for_records(self, outbound.records)
        accepted = self._basware_dependencies_accepted(outbound)
        ready, waiting, refused = [], [], []
        for record in outbound.records:
            binding = bindings.get(record.id)
            waits = accepted is not None and not accepted[record.id]
            if waits and (not binding or binding.sync_state == binding_model.SYNC_WAITING):
                # It waits whatever its payload: the payload is built once it can go.
                waiting.append(Outgoing(record))
                continue
            item = self._basware_build(outbound, record, refused)
            if item is None:
                continue
            if (
                binding
                and binding.payload_hash == item.digest
                and binding.sync_state != binding_model.SYNC_WAITING
            ):
                result.unchanged += 1
                continue
            (waiting if waits else ready).append(item)
        result.waiting = len(waiting)
        result.sent = len(ready)
        result.refused = len(refused)
        if preview:
            result.payloads = [item.payload for item in ready[:PREVIEW_SAMPLE]]
            return result
        self._basware_refuse(outbound, refused, bindings)
        self._basware_hold_back(outbound, waiting, bindings)
        if ready:
            result.exchanges = self._basware_queue(outbound, ready, bindings)
        return result

    @staticmethod
    def _basware_build(outbound, record, refused):
        """The Outgoing of ``record``, its payload encoded once (the same bytes give the
        hash, the stored payload and the body); None when the builder refuses the record,
        which is added to ``refused`` with the reason."""
        try:
            payload = outbound.build(record)
        except RecordRefused as refusal:
            refused.append((record, str(refusal)))
            return None
        encoded = encode_record(payload)
        return Outgoing(record, payload, encoded, encoded_hash(encoded))

    def _basware_dependencies_accepted(self, outbound):
        """{record id: whether Basware accepted what it refers to}, or None without
        dependencies."""
        if not outbound.dependencies:
            return None
        dependencies = {record.id: outbound.dependencies(record) for record in outbound.records}
        if not dependencies:
            return {}
        targets = self.env[next(iter(dependencies.values()))._name].union(*dependencies.values())
        accepted = self._basware_accepted_ids(targets)
        return {record_id: target.id in accepted for record_id, target in dependencies.items()}

    def _basware_accepted_ids(self, records):
        bindings = self.env["basware.binding"]._for_records(self, records)
        return {res_id for res_id, binding in bindings.items() if binding._is_accepted()}

    def _basware_external_codes(self, items, bindings):
        """The external code of each item's record: its binding's, or a new one."""
        return [
            bindings[item.record.id].external_code
            if item.record.id in bindings
            else self._basware_external_code(item.record)
            for item in items
        ]

    def _basware_refuse(self, outbound, refused, bindings):
        """Bind the records the builders refused, as rejected with their reason."""
        if not refused:
            return
        items = [Outgoing(record) for record, _message in refused]
        codes = self._basware_external_codes(items, bindings)
        self.env["basware.binding"]._save_refused(
            self,
            outbound.entity,
            [
                (record, code, message)
                for (record, message), code in zip(refused, codes, strict=True)
            ],
        )

    def _basware_hold_back(self, outbound, waiting, bindings):
        """Bind the records held back, as waiting (one statement)."""
        if not waiting:
            return
        message = self.env._(
            "Waiting until Basware accepts what this record refers to (its vendor or order)."
        )
        codes = self._basware_external_codes(waiting, bindings)
        self.env["basware.binding"]._save_waiting(
            self,
            outbound.entity,
            [(item.record, code) for item, code in zip(waiting, codes, strict=True)],
            message,
        )

    def _basware_queue(self, outbound, ready, bindings, exchange=None):
        """One exchange per write; the bindings keep the payload hash and the exchange carrying
        their newest payload. A replay's ``exchange`` takes the first write. Stopped exchanges
        left without any newest payload are superseded."""
        Exchange = self.env["basware.exchange"]
        chunks = chunk_records(
            [item.payload for item in ready],
            bulk_limit(outbound.endpoint),
            encoded=[item.encoded for item in ready],
        )
        if exchange:
            exchange._queue_edit().write(
                {"request_payload": Exchange._post_payload_text(outbound.endpoint, chunks[0][1])}
            )
            exchanges = exchange | Exchange._enqueue_chunks(
                self, outbound.kind, outbound.endpoint, chunks[1:]
            )
        else:
            exchanges = Exchange._enqueue_chunks(self, outbound.kind, outbound.endpoint, chunks)
        carriers = [
            exchange.id
            for exchange, (chunk, _body) in zip(exchanges, chunks, strict=True)
            for _payload in chunk
        ]
        codes = self._basware_external_codes(ready, bindings)
        saved = self.env["basware.binding"]._save_sent(
            self,
            outbound.entity,
            [
                (
                    item.record,
                    code,
                    str(item.payload.get(outbound.code_key) or ""),
                    item.digest,
                    carrier,
                )
                for item, code, carrier in zip(ready, codes, carriers, strict=True)
            ],
        )
        Exchange._supersede_stale([binding.id for binding in saved.values()])
        return exchanges

    # === REPLAY === #

    def _basware_replay_write(self, exchange):
        """Rebuild the done outbound write ``exchange`` from its records as they are now, with the
        sync's builders: it takes the new body (overflow goes in new exchanges) and each record's
        newest payload; a record the builders now refuse is rejected, as in a sync run."""
        self.ensure_one()
        outbound = self._basware_outbound_of(exchange)
        bindings = {binding.res_id: binding for binding in exchange.binding_ids}
        records = self.env[exchange.binding_ids[:1].res_model].browse(list(bindings)).exists()
        refused = []
        ready = [
            item
            for item in (self._basware_build(outbound, record, refused) for record in records)
            if item is not None
        ]
        if not ready:
            raise UserError(
                self.env._(
                    "Exchange %(exchange)s cannot be replayed: none of its records can be sent "
                    "again. They were deleted, or Odoo refuses them as they are now%(reason)s.",
                    exchange=exchange.id,
                    reason=f" ({refused[0][1]})" if refused else "",
                )
            )
        self._basware_refuse(outbound, refused, bindings)
        return self._basware_queue(outbound, ready, bindings, exchange=exchange)

    def _basware_outbound_of(self, exchange):
        """The OutboundSet that writes the records of ``exchange`` (its kind, its endpoint)."""
        flow = FLOW_OF_KIND.get(exchange.kind)
        for outbound in self._basware_flow_sets(flow, False) if flow else ():
            if outbound.kind == exchange.kind and outbound.endpoint == exchange.endpoint:
                return outbound
        raise UserError(
            self.env._(
                "Exchange %(exchange)s cannot be rebuilt: no flow of backend %(backend)s "
                "writes its records to %(endpoint)s any more.",
                exchange=exchange.id,
                backend=self.display_name,
                endpoint=exchange.endpoint,
            )
        )

    # === RUNS === #

    def _basware_run_flow(self, flow_record, preview=False):
        """Examine and queue one flow, a batch per transaction; return its SetResults."""
        self.ensure_one()
        mark = False
        if not preview:
            # The work so far is committed: the mark is the new transaction's first query.
            self.env["basware.exchange"]._commit_batch(0)
            mark = self._basware_new_mark()
        sets = self._basware_flow_sets(flow_record.flow, flow_record.high_water_mark)
        results = [self._basware_sync_batches(outbound, preview=preview) for outbound in sets]
        if not preview:
            flow_record.write(
                {
                    "high_water_mark": mark,
                    "last_run_date": fields.Datetime.now(),
                    "last_success_date": fields.Datetime.now(),
                    "last_sent_count": sum(result.sent for result in results),
                    "last_waiting_count": sum(result.waiting for result in results),
                    "last_message": False,
                }
            )
        return results

    def _basware_sync_batches(self, outbound, preview=False):
        """_basware_sync_set over the set, SYNC_BATCH records at a time: each batch is
        queued and committed before the next is read, with an empty cache."""
        result = SetResult(outbound.entity)
        for ids in split_every(SYNC_BATCH, outbound.records.ids, list):
            batch = replace(outbound, records=outbound.records.browse(ids))
            result.add(self._basware_sync_set(batch, preview=preview))
            if not preview:
                self.env["basware.exchange"]._commit_batch(0)
            self.env.invalidate_all()
        return result

    def _basware_sync_outbound(self, flows=None, preview=False):
        """Run the enabled flows of this backend in dependency order; return SetResults."""
        self.ensure_one()
        self._ensure_sync_flows()
        results = []
        for flow_record in self.sync_flow_ids.sorted("sequence"):
            if not flow_record.enabled or (flows is not None and flow_record.flow not in flows):
                continue
            results += self._basware_run_flow(flow_record, preview=preview)
            if not preview:
                # The exchanges exist, committed, before any call can reach Basware.
                self.env["basware.exchange"]._commit_batch(0)
        return results

    @api.model
    def _cron_sync_flow(self, flow):
        """Cron of one outbound flow: every backend whose interval for it has passed, each
        on its own: one that fails has its error recorded, and the others run."""
        labels = dict(
            self.env["basware.sync.flow"]._fields["flow"]._description_selection(self.env)
        )
        for backend in self.search([("active", "=", True)]):
            backend._basware_isolated(
                JOB_FLOW.format(flow=flow),
                labels.get(flow, flow),
                functools.partial(backend._basware_cron_flow, flow),
                on_error=functools.partial(backend._basware_flow_failed, flow),
            )
            self.env["basware.exchange"]._commit_batch(0)
        self.env.ref("basware_connector.ir_cron_basware_exchange_process")._trigger()

    def _basware_cron_flow(self, flow):
        """This backend's share of a flow's cron: a run when the flow is enabled and due."""
        if self._get_pause_reason():
            return
        flow_record = self._basware_flow(flow)
        if flow_record.enabled and flow_record._is_due():
            self._basware_run_flow(flow_record)

    def _basware_flow_failed(self, flow, message):
        """Keep the error of a failed run on the flow, shown on the backend's form."""
        self._basware_flow(flow)._record_failure(message)

    def _basware_flow(self, flow):
        """The flow record of ``flow`` on this backend."""
        self.ensure_one()
        return self._ensure_sync_flows().filtered(lambda record: record.flow == flow)

    def _basware_forget_hashes(self, flow):
        """Forget what was sent for one flow: its records all go out at the next run."""
        entities = [outbound.entity for outbound in self._basware_flow_sets(flow, False)]
        bindings = self.env["basware.binding"].search(
            [("backend_id", "=", self.id), ("entity", "in", entities)]
        )
        bindings.write({"payload_hash": False})

    # === ACTIONS === #

    def action_sync_now(self):
        """Run one full cycle now: detect, queue and send, then report the counts."""
        self.ensure_one()
        self._check_manager_rights()
        reason = self._get_pause_reason()
        if reason:
            return common.notification(
                self.env._("Sync not started"), reason, "warning", sticky=False
            )
        # The integration reads every record it sends, whatever the manager may read.
        backend = self.sudo()
        results = backend._basware_sync_outbound()
        Exchange = self.env["basware.exchange"].sudo()
        Exchange._process_backend_queue(
            backend, limit=SYNC_NOW_MAX_EXCHANGES, time_left=SYNC_NOW_BUDGET
        )
        return common.notification(self.env._("Sync finished"), backend._sync_summary(results))

    def _sync_summary(self, results):
        sent = sum(result.sent for result in results)
        waiting = sum(result.waiting for result in results)
        unchanged = sum(result.unchanged for result in results)
        failed = self.env["basware.exchange"].search_count(
            [
                ("backend_id", "=", self.id),
                ("state", "in", (queue.STATE_FAILED, queue.STATE_DEAD)),
            ]
        )
        return self.env._(
            "%(sent)s record(s) sent, %(unchanged)s unchanged, %(waiting)s waiting for a "
            "dependency; %(failed)s exchange(s) failed or dead.",
            sent=sent,
            unchanged=unchanged,
            waiting=waiting,
            failed=failed,
        )

    def action_preview_sync(self):
        """What the next sync would send, built by the same builders; nothing is sent."""
        self.ensure_one()
        self._check_manager_rights()
        results = self.sudo()._basware_sync_outbound(preview=True)
        preview = self.env["basware.sync.preview"]._from_results(self, results)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Sync Preview"),
            "res_model": "basware.sync.preview",
            "res_id": preview.id,
            "view_mode": "form",
            "target": "new",
        }

    def action_view_bindings(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "basware_connector.basware_binding_action"
        )
        action["domain"] = [("backend_id", "=", self.id)]
        return action

"""Which Odoo record a Basware code stands for, per backend: the binder of the sync flows.
One generic model (not one per Odoo model) ties a record to its stable Basware externalCode
and the business code sent, with the hash of the last payload sent, the exchanges that
carried it and Basware's last answer about it."""

import hashlib
import uuid
from collections import defaultdict

from odoo import Command, api, fields, models
from odoo.tools import SQL

from ..basware import constants as bw
from ..basware.client import encode_record

ENTITY_VENDOR = "vendor"
ENTITY_ACCOUNT = "account"
ENTITY_TAX_CODE = "tax_code"
ENTITY_PAYMENT_TERM = "payment_term"
ENTITY_COST_CENTER = "cost_center"
ENTITY_LIST_ITEM = "list_item"
ENTITY_PROJECT = "project"
ENTITY_ORDER = "matching_order"
ENTITY_ORDER_LINE = "matching_order_line"
ENTITIES = [
    (ENTITY_VENDOR, "Vendor"),
    (ENTITY_ACCOUNT, "GL Account"),
    (ENTITY_TAX_CODE, "Tax Code"),
    (ENTITY_PAYMENT_TERM, "Payment Term"),
    (ENTITY_COST_CENTER, "Cost Center"),
    (ENTITY_LIST_ITEM, "List Item"),
    (ENTITY_PROJECT, "Project"),
    (ENTITY_ORDER, "Matching Order"),
    (ENTITY_ORDER_LINE, "Matching Order Line"),
]

SYNC_WAITING = "waiting"
SYNC_SENT = "sent"
SYNC_DONE = "done"
SYNC_ERROR = "error"
SYNC_STATES = [
    (SYNC_WAITING, "Waiting"),
    (SYNC_SENT, "Sent"),
    (SYNC_DONE, "Accepted"),
    (SYNC_ERROR, "Rejected"),
]
# Basware's per-record answers (requestStatus items) that say it holds the record.
ACCEPTED_ITEM_STATUSES = (bw.ITEM_SUCCESS, bw.ITEM_NOT_PROCESSED)
# What an existing binding keeps when it is saved again: its record and its external code.
UPSERT_FIXED_COLUMNS = ("res_id", "external_code")


def external_code(namespace, record, suffix=""):
    """The stable Basware externalCode of ``record``: a name-based UUID (36 characters) of the
    namespace (database, backend), model and id, so a lost binding is rebuilt with the same code
    and Basware never gets a duplicate."""
    return str(uuid.uuid5(namespace, f"{record._name},{record.id}{suffix}"))


def encoded_hash(encoded):
    """Hash of a payload encoded by ``encode_record``: of the very bytes that are sent."""
    return hashlib.sha256(encoded).hexdigest()


class BaswareBinding(models.Model):
    _name = "basware.binding"
    _description = "Basware Binding"
    _order = "id desc"
    _rec_name = "code"

    backend_id = fields.Many2one(
        "basware.backend", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(
        related="backend_id.company_id", store=True, index=True, readonly=True
    )
    entity = fields.Selection(ENTITIES, required=True, index=True, readonly=True)
    res_model = fields.Char("Odoo Model", required=True, index=True, readonly=True)
    res_id = fields.Many2oneReference(
        "Odoo Record ID", model_field="res_model", required=True, index=True, readonly=True
    )
    record_ref = fields.Reference(
        selection="_selection_record_ref", compute="_compute_record_ref", string="Odoo Record"
    )
    external_code = fields.Char(
        "Basware External Code", size=bw.EXTERNAL_CODE_MAX_LENGTH, required=True, readonly=True
    )
    code = fields.Char(
        "Basware Code",
        index=True,
        help="The business code sent: vendorCode, accountCode, taxCode, orderNumber...",
    )
    payload_hash = fields.Char(readonly=True, copy=False)
    sync_state = fields.Selection(SYNC_STATES, index=True, readonly=True, copy=False)
    sync_message = fields.Text(
        readonly=True, copy=False, help="Why the record waits, or what Basware answered."
    )
    sync_date = fields.Datetime(readonly=True, copy=False)
    basware_status = fields.Char(
        "Basware Answer", readonly=True, copy=False, help="Phase-two status of the last write."
    )
    exchange_ids = fields.Many2many(
        "basware.exchange",
        "basware_binding_exchange_rel",
        "binding_id",
        "exchange_id",
        string="Exchanges",
        readonly=True,
        copy=False,
    )
    last_exchange_id = fields.Many2one(
        "basware.exchange",
        "Newest Exchange",
        readonly=True,
        copy=False,
        help="The exchange carrying the newest payload of the record: an older exchange "
        "never sends its own.",
    )
    removal_payload = fields.Text(
        readonly=True,
        copy=False,
        help="Odoo deleted the record: the payload that tells Basware (the record marked "
        "deleted), sent by the flow's next run.",
    )

    _record_unique = models.Constraint(
        "UNIQUE(backend_id, res_model, res_id)",
        "This Odoo record already has a Basware binding on this backend.",
    )
    _external_code_unique = models.Constraint(
        "UNIQUE(backend_id, entity, external_code)",
        "This Basware external code is already bound on this backend.",
    )
    # The deletions still to send: each flow run looks them up.
    _removal_pending_idx = models.Index(
        "(backend_id, entity) WHERE removal_payload IS NOT NULL AND payload_hash IS NULL"
    )

    @api.model
    def _selection_record_ref(self):
        return [(model.model, model.name) for model in self.env["ir.model"].sudo().search([])]

    @api.depends("res_model", "res_id")
    def _compute_record_ref(self):
        for binding in self:
            ref = False
            if binding.res_model in self.env and binding.res_id:
                ref = f"{binding.res_model},{binding.res_id}"
            binding.record_ref = ref

    @api.model
    def _for_records(self, backend, records):
        """Existing bindings of ``records`` on ``backend``, by record id (one query)."""
        bindings = self.search(
            [
                ("backend_id", "=", backend.id),
                ("res_model", "=", records._name),
                ("res_id", "in", records.ids),
            ]
        )
        return {binding.res_id: binding for binding in bindings}

    def _keep_removals(self):
        """Odoo is deleting these bindings' records: keep on each the payload that tells Basware,
        for the flow's next run, and clear its hash so it goes out once; skip records Basware
        never received or holds as deleted already."""
        for binding in self:
            if not (binding.payload_hash or binding.basware_status or binding.last_exchange_id):
                continue
            record = self.env[binding.res_model].browse(binding.res_id)
            encoded = encode_record(record._basware_removal_values(binding.backend_id))
            if encoded_hash(encoded) != binding.payload_hash:
                binding.write({"removal_payload": encoded.decode(), "payload_hash": False})

    def _is_accepted(self):
        """Whether Basware has accepted this record once (a dependant may be sent): a
        record re-sent and waiting for its new answer still exists in Basware."""
        return self.sync_state == SYNC_DONE or self.basware_status in ACCEPTED_ITEM_STATUSES

    @api.model
    def _save_sent(self, backend, entity, sent):
        """Bind records just queued, in two statements whatever their number; return {record id:
        binding}. ``sent``: [(record, external code, code sent, payload hash, exchange id)]."""
        if not sent:
            return {}
        records, codes, names, digests, exchange_ids = zip(*sent, strict=True)
        bindings = self._upsert(
            backend,
            entity,
            records[0]._name,
            {
                "res_id": ("int4", [record.id for record in records]),
                "external_code": ("varchar", list(codes)),
                "code": ("varchar", [name or None for name in names]),
                "payload_hash": ("varchar", list(digests)),
                "sync_state": ("varchar", [SYNC_SENT] * len(records)),
                "sync_message": ("text", [None] * len(records)),
                "last_exchange_id": ("int4", list(exchange_ids)),
            },
            # A record sent without a code keeps the one it had.
            keep_when_empty=("code",),
        )
        binding_ids = [bindings[record.id].id for record in records]
        self.env.cr.execute(
            SQL(
                "INSERT INTO basware_binding_exchange_rel (binding_id, exchange_id) "
                "SELECT * FROM unnest(%s::int4[], %s::int4[]) ON CONFLICT DO NOTHING",
                binding_ids,
                list(exchange_ids),
            )
        )
        self.invalidate_model(["exchange_ids"])
        self.env["basware.exchange"].invalidate_model(["binding_ids"])
        return bindings

    @api.model
    def _save_waiting(self, backend, entity, waiting, message):
        """Bindings of records held back, in one statement: waiting, with ``message``.
        ``waiting``: [(record, external code)]. Returns {record id: binding}."""
        items = [(record, code, message) for record, code in waiting]
        return self._save_unsent(backend, entity, items, SYNC_WAITING)

    @api.model
    def _save_refused(self, backend, entity, refused):
        """Bindings of ``refused`` [(record, external code, message)], in one statement: rejected,
        with no payload hash so the record is examined again once changed; {record id: binding}."""
        return self._save_unsent(backend, entity, refused, SYNC_ERROR, forget_hash=True)

    @api.model
    def _save_unsent(self, backend, entity, items, state, forget_hash=False):
        """Bindings of records not sent, [(record, external code, message)], in ``state``."""
        if not items:
            return {}
        records, codes, messages = zip(*items, strict=True)
        columns = {
            "res_id": ("int4", [record.id for record in records]),
            "external_code": ("varchar", list(codes)),
            "sync_state": ("varchar", [state] * len(records)),
            "sync_message": ("text", list(messages)),
        }
        if forget_hash:
            columns["payload_hash"] = ("varchar", [None] * len(records))
        return self._upsert(backend, entity, records[0]._name, columns)

    @api.model
    def _upsert(self, backend, entity, res_model, columns, keep_when_empty=()):
        """Create or update many records' bindings in one statement; return {record id: binding}.
        ``columns``: {column: (SQL type, [value per record])} with res_id and external_code, both
        kept by an existing binding, as is a ``keep_when_empty`` column given an empty value."""
        self.env.flush_all()
        names = list(columns)
        updated = [
            SQL(
                "%(column)s = COALESCE(EXCLUDED.%(column)s, binding.%(column)s)"
                if name in keep_when_empty
                else "%(column)s = EXCLUDED.%(column)s",
                column=SQL.identifier(name),
            )
            for name in names
            if name not in UPSERT_FIXED_COLUMNS
        ]
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO basware_binding AS binding (backend_id, company_id, entity,
                       res_model, sync_date, create_uid, create_date, write_uid, write_date, %s)
                SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s
                  FROM unnest(%s) AS item(%s)
                 -- Rows locked in the order a worker sending them locks them: no deadlock.
                 ORDER BY item.res_id
                    ON CONFLICT (backend_id, res_model, res_id) DO UPDATE
                   SET %s, sync_date = EXCLUDED.sync_date,
                       write_uid = EXCLUDED.write_uid, write_date = EXCLUDED.write_date
                RETURNING binding.id, binding.res_id
                """,
                SQL(", ").join(map(SQL.identifier, names)),
                backend.id,
                backend.company_id.id,
                entity,
                res_model,
                now,
                self.env.uid,
                now,
                self.env.uid,
                now,
                SQL(", ").join(SQL("item.%s", SQL.identifier(name)) for name in names),
                SQL(", ").join(
                    SQL("%s::%s[]", values, SQL(sql_type)) for sql_type, values in columns.values()
                ),
                SQL(", ").join(map(SQL.identifier, names)),
                SQL(", ").join(updated),
            )
        )
        rows = self.env.cr.fetchall()
        self.invalidate_model()
        return {res_id: self.browse(binding_id) for binding_id, res_id in rows}

    def _reject_unsent(self, status, message):
        """The write carrying these records failed as a whole, before Basware looked at
        each: rejected with ``message``, their payload not counted as sent, and no post on
        each record (the exchange tells the story)."""
        self.write(
            {
                "sync_state": SYNC_ERROR,
                "sync_message": message,
                "basware_status": status,
                "sync_date": fields.Datetime.now(),
                "payload_hash": False,
            }
        )

    def _carry(self, exchange):
        """``exchange`` carries the newest payload of these records from now on."""
        self.write({"last_exchange_id": exchange.id, "exchange_ids": [Command.link(exchange.id)]})

    def _take_item_results(self, status):
        """Basware's per-record phase-two answers, onto these bindings and their records."""
        items = {item.external_code: item for item in status.items if item.external_code}
        accepted = defaultdict(list)  # Basware's answer -> binding ids
        for binding in self:
            item = items.get(binding.external_code)
            if item is None or item.status in ACCEPTED_ITEM_STATUSES:
                # No item about a record means it went through.
                accepted[item.status if item is not None else bw.ITEM_SUCCESS].append(binding.id)
            elif item.is_error:
                binding._reject(item.status, "; ".join(item.error_messages) or item.status)
        if accepted:
            self._mark_accepted(accepted)

    @api.model
    def _mark_accepted(self, accepted):
        """Bindings accepted by Basware, {answer: binding ids}: one statement per answer
        (the ORM would write a hundred rows per statement)."""
        self.env.flush_all()
        now = fields.Datetime.now()
        for answer, ids in accepted.items():
            self.env.cr.execute(
                SQL(
                    """
                    UPDATE basware_binding
                       SET sync_state = %s, sync_message = NULL, basware_status = %s,
                           sync_date = %s, write_date = %s, write_uid = %s
                     WHERE id = ANY(%s)
                    """,
                    SYNC_DONE,
                    answer,
                    now,
                    now,
                    self.env.uid,
                    ids,
                )
            )
        self.invalidate_model(
            ["sync_state", "sync_message", "basware_status", "sync_date", "write_date", "write_uid"]
        )

    def _reject(self, status, message, forget_hash=False):
        """Basware refused the record: say so on the binding and, once, on the record.
        ``forget_hash``: Basware refused the write carrying it (not a record it had taken), so the
        payload does not count as sent and the next run examining the record sends it again."""
        self.ensure_one()
        repeated = self.sync_state == SYNC_ERROR and self.sync_message == message
        values = {
            "sync_state": SYNC_ERROR,
            "sync_message": message,
            "basware_status": status,
            "sync_date": fields.Datetime.now(),
        }
        if forget_hash:
            values["payload_hash"] = False
        self.write(values)
        record = self.env[self.res_model].browse(self.res_id).exists()
        if not repeated and record and hasattr(record, "message_post"):
            record.message_post(
                body=self.env._(
                    "Basware rejected this %(entity)s: %(message)s",
                    entity=dict(ENTITIES).get(self.entity, self.entity).lower(),
                    message=message,
                )
            )

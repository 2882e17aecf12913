"""The Basware dashboard: one card per backend with the health of its flows."""

from datetime import datetime, time
from urllib.parse import urlsplit

import pytz
from markupsafe import Markup

from odoo import api, fields, models
from odoo.tools.misc import format_datetime

from ..basware.urls import is_loopback_host
from .basware_exchange import (
    DIRECTION_INBOUND,
    STATE_DEAD,
    STATE_DONE,
    STATE_FAILED,
    STATE_IN_PROGRESS,
    STATE_PENDING,
    STATE_SUPERSEDED,
)

WAITING_STATES = (STATE_PENDING, STATE_IN_PROGRESS)
MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR


class BaswareBackend(models.Model):
    _inherit = "basware.backend"

    dashboard_pending_count = fields.Integer("Waiting", compute="_compute_dashboard")
    dashboard_failed_count = fields.Integer("Failed", compute="_compute_dashboard")
    dashboard_dead_count = fields.Integer("Dead", compute="_compute_dashboard")
    dashboard_done_today = fields.Integer("Done Today", compute="_compute_dashboard")
    dashboard_received_today = fields.Integer("Received Today", compute="_compute_dashboard")
    dashboard_superseded_today = fields.Integer(
        "Superseded Today",
        compute="_compute_dashboard",
        help="Outbound writes whose records went on in other exchanges today: a newer "
        "payload of each, or the halves of a write Basware refused as a whole.",
    )
    # No view shows it; a public field that API clients may read, so it stays.
    dashboard_oldest_waiting = fields.Datetime("Oldest Waiting", compute="_compute_dashboard")
    dashboard_unmapped_count = fields.Integer(
        "Unmapped Codes", compute="_compute_dashboard_unmapped_count"
    )
    dashboard_lag = fields.Char(
        "Lag",
        compute="_compute_dashboard",
        help="Age of the oldest exchange still waiting to run.",
    )
    bill_count = fields.Integer("Bills", compute="_compute_bill_count")
    is_local_api = fields.Boolean(
        compute="_compute_is_local_api",
        help="The API URL is a server on this machine, such as the local sandbox.",
    )
    dashboard_flows = fields.Html("Flows", compute="_compute_dashboard_flows", sanitize=False)

    # === COMPUTE METHODS === #

    def _compute_bill_count(self):
        counts = dict(
            self.env["account.move"]._read_group(
                [("basware_backend_id", "in", self.ids)], ["basware_backend_id"], ["__count"]
            )
        )
        for backend in self:
            backend.bill_count = counts.get(backend, 0)

    @api.depends("api_url")
    def _compute_is_local_api(self):
        for backend in self:
            host = urlsplit(backend.api_url or "").hostname
            backend.is_local_api = bool(host) and is_loopback_host(host)

    def _compute_dashboard(self):
        Exchange = self.env["basware.exchange"]
        today = self._today_start()
        by_state = {
            (backend.id, state): count
            for backend, state, count in Exchange._read_group(
                [("backend_id", "in", self.ids)], ["backend_id", "state"], ["__count"]
            )
        }
        oldest = dict(
            Exchange._read_group(
                [("backend_id", "in", self.ids), ("state", "in", WAITING_STATES)],
                ["backend_id"],
                ["create_date:min"],
            )
        )
        resolved_today = {
            (backend.id, state, direction): count
            for backend, state, direction, count in Exchange._read_group(
                [
                    ("backend_id", "in", self.ids),
                    ("state", "in", (STATE_DONE, STATE_SUPERSEDED)),
                    ("date_done", ">=", today),
                ],
                ["backend_id", "state", "direction"],
                ["__count"],
            )
        }
        done_today = {
            (backend_id, direction): count
            for (backend_id, state, direction), count in resolved_today.items()
            if state == STATE_DONE
        }
        now = fields.Datetime.now()
        for backend in self:
            waiting = [by_state.get((backend.id, state), 0) for state in WAITING_STATES]
            backend.dashboard_pending_count = sum(waiting)
            backend.dashboard_failed_count = by_state.get((backend.id, STATE_FAILED), 0)
            backend.dashboard_dead_count = by_state.get((backend.id, STATE_DEAD), 0)
            backend.dashboard_received_today = done_today.get((backend.id, DIRECTION_INBOUND), 0)
            backend.dashboard_superseded_today = sum(
                count
                for (backend_id, state, _dir), count in resolved_today.items()
                if backend_id == backend.id and state == STATE_SUPERSEDED
            )
            backend.dashboard_done_today = sum(
                count
                for (backend_id, _dir), count in done_today.items()
                if backend_id == backend.id
            )
            since = oldest.get(backend)
            backend.dashboard_oldest_waiting = since or False
            backend.dashboard_lag = (
                backend._format_lag(now - since) if since else self.env._("none")
            )

    def _compute_dashboard_unmapped_count(self):
        counts = self._count_per_backend("basware.unmapped.code")
        for backend in self:
            backend.dashboard_unmapped_count = counts.get(backend, 0)

    def _today_start(self):
        """Midnight of the user's today, as the naive UTC datetime the database holds."""
        tz = pytz.timezone(self.env.context.get("tz") or self.env.user.tz or "UTC")
        midnight = tz.localize(datetime.combine(fields.Date.context_today(self), time.min))
        return midnight.astimezone(pytz.utc).replace(tzinfo=None)

    def _format_lag(self, delta):
        seconds = max(int(delta.total_seconds()), 0)
        if seconds < MINUTE:
            return self.env._("%(count)s s", count=seconds)
        if seconds < HOUR:
            return self.env._("%(count)s min", count=seconds // MINUTE)
        if seconds < DAY:
            return self.env._("%(count)s h", count=seconds // HOUR)
        return self.env._("%(count)s days", count=seconds // DAY)

    @api.depends_context("tz", "lang")
    def _compute_dashboard_flows(self):
        flows_by_backend = (
            self.env["basware.sync.flow"]
            .search([("backend_id", "in", self.ids)])
            .grouped("backend_id")
        )
        labels = dict(
            self.env["basware.sync.flow"]._fields["flow"]._description_selection(self.env)
        )
        never = self.env._("never")
        for backend in self:
            rows = []
            for flow in flows_by_backend.get(backend, []):
                if not flow.enabled:
                    continue
                rows.append(
                    Markup("<tr><td>%s</td><td>%s</td><td class='text-end'>%s</td></tr>")
                    % (
                        labels.get(flow.flow, flow.flow),
                        format_datetime(self.env, flow.last_success_date)
                        if flow.last_success_date
                        else never,
                        flow.last_sent_count,
                    )
                )
                if flow.last_message:
                    rows.append(
                        Markup("<tr><td colspan='3' class='text-danger'>%s</td></tr>")
                        % flow.last_message
                    )
            header = Markup(
                "<thead><tr><th>%s</th><th>%s</th><th class='text-end'>%s</th></tr></thead>"
            ) % (self.env._("Flow"), self.env._("Last success"), self.env._("Last sent"))
            backend.dashboard_flows = (
                Markup("<table class='table table-sm mb-0'>%s<tbody>%s</tbody></table>")
                % (header, Markup().join(rows))
                if rows
                else False
            )

    # === ACTION METHODS === #

    def _open_exchanges(self, name, domain):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "basware_connector.basware_exchange_action"
        )
        action.update(
            name=name,
            domain=[("backend_id", "=", self.id), *domain],
            context={"create": False},
        )
        return action

    def action_open_unmapped_codes(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "basware_connector.basware_unmapped_code_action"
        )
        action["domain"] = [("backend_id", "=", self.id)]
        return action

    def action_open_bills(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_in_invoice_type"
        )
        action.update(
            name=self.env._("Bills from Basware"),
            domain=[("basware_backend_id", "=", self.id)],
            context={"create": False},
        )
        return action

    def action_open_failed_exchanges(self):
        return self._open_exchanges(self.env._("Failed exchanges"), [("state", "=", STATE_FAILED)])

    def action_open_dead_exchanges(self):
        return self._open_exchanges(self.env._("Dead exchanges"), [("state", "=", STATE_DEAD)])

    def action_open_waiting_exchanges(self):
        return self._open_exchanges(
            self.env._("Waiting exchanges"), [("state", "in", WAITING_STATES)]
        )

    def action_open_superseded_today(self):
        today = self._today_start()
        return self._open_exchanges(
            self.env._("Exchanges superseded today"),
            [
                ("state", "=", STATE_SUPERSEDED),
                ("date_done", ">=", fields.Datetime.to_string(today)),
            ],
        )

    def action_open_done_today(self):
        today = self._today_start()
        return self._open_exchanges(
            self.env._("Exchanges done today"),
            [("state", "=", STATE_DONE), ("date_done", ">=", fields.Datetime.to_string(today))],
        )

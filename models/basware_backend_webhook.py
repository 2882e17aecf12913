"""The webhook controller of a backend: its secret URL, its Basware subscription, and the
notifications it gets. Each is only a pointer: verified and stored once per taskId as an
inbound exchange, it wakes the import cron, so Basware is answered at once; polling stays on.
ConnectionTest is answered, not stored; other task types are answered (no retry) and ignored."""

import json
import logging
import re
import secrets
from urllib.parse import urlsplit

import psycopg2.errors

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..basware import constants, errors, urls
from ..basware.signature import (
    DEFAULT_SIGNATURE_HEADER,
    SIGNATURE_PREFIX,
    candidate_digests,
    verify_signature,
)
from . import common
from .basware_exchange import CONCURRENCY_ERRORS, DIRECTION_INBOUND, KIND_WEBHOOK

_logger = logging.getLogger(__name__)

WEBHOOK_ROUTE = "/basware/webhook"
# 32 random bytes: a 43-character URL-safe token, 256 bits nobody can guess.
TOKEN_BYTES = 32
# Shorter tokens are refused before any lookup: a token set by hand must stay unguessable.
MIN_TOKEN_LENGTH = 32
MAX_TOKEN_LENGTH = 128
IMPORT_CRON_XMLID = "basware_connector.ir_cron_basware_import_documents"

MAX_BODY_PARAM = "basware_connector.webhook_max_body_bytes"
# A notification is a few hundred bytes: 1 MiB leaves room for anything Basware may add.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# Whether Basware signs its ConnectionTest is not published. Answering an unverified one
# stores nothing, so an administrator may allow it when a subscription fails on that test.
UNVERIFIED_PING_PARAM = "basware_connector.webhook_accept_unverified_connection_test"

# What the webhook reads of the backend: to verify a notification, then to store it.
WEBHOOK_CHECK_FIELDS = ["signature_header", "webhook_secret_encrypted", "company_id"]
TASK_DEDUP_PREFIX = "task:"
# Basware's own example spells it "AccoutingDocuments": compare letters only, leniently.
ACCOUNTING_DOCUMENT_TASK_TYPES = frozenset({"accountingdocuments", "accoutingdocuments"})
NOT_LETTERS = re.compile(r"[^a-z]")
# The processing status whose documents the connector imports.
SUBSCRIBED_TASK_SUB_TYPE = constants.PS_WAITING_FOR_TRANSFER

# Outcomes of a received notification.
OUTCOME_STORED = "stored"
OUTCOME_DUPLICATE = "duplicate"
OUTCOME_CONNECTION_TEST = "connection_test"
OUTCOME_IGNORED = "ignored"

TRUE_VALUES = frozenset({"1", "true", "yes", "on"})


class MalformedNotification(ValueError):
    """A verified body that is not a notification the webhook can store."""


def parse_notification(body):
    """The JSON value of a raw notification body; ValueError when it is not JSON."""
    try:
        return json.loads(body)
    except RecursionError:
        # Deeply nested arrays: not a notification, and not worth a stack trace.
        raise ValueError("JSON nested too deeply") from None


def new_webhook_token():
    return secrets.token_urlsafe(TOKEN_BYTES)


def task_type_key(task_type):
    return NOT_LETTERS.sub("", str(task_type or "").lower())


def signature_shape(header_value):
    """What a signature header looks like, never its value: enough to calibrate the
    verifier on a test tenant without writing a signature to the log."""
    if not header_value:
        return "absent"
    value = header_value.strip()
    prefixed = value[: len(SIGNATURE_PREFIX)].lower() == SIGNATURE_PREFIX
    readable = "a SHA-256 digest" if candidate_digests(value) else "no hex or base64 SHA-256"
    prefix = ", sha256= prefix" if prefixed else ""
    return f"{len(value)} characters{prefix}, {readable}"


class BaswareBackend(models.Model):
    _inherit = "basware.backend"

    webhook_token = fields.Char(
        copy=False,
        readonly=True,
        groups=common.MANAGER_GROUP,
        help="Secret part of the webhook URL: whoever knows it can post notifications (the "
        "signature still decides what gets in). Regenerate it if the URL leaked.",
    )
    webhook_url = fields.Char(
        "Webhook URL",
        compute="_compute_webhook_url",
        groups=common.MANAGER_GROUP,
        help="Where Basware pushes its notifications: this database's base URL (system "
        "parameter web.base.url, which must be the public https:// address Basware reaches) "
        "followed by the backend's webhook path.",
    )

    _webhook_token_unique = models.Constraint(
        "UNIQUE(webhook_token)", "Two Basware backends cannot share a webhook token."
    )

    # === COMPUTE METHODS === #

    @api.depends("webhook_token")
    def _compute_webhook_url(self):
        for backend in self:
            token = backend.sudo().webhook_token
            backend.webhook_url = (
                f"{backend.get_base_url().rstrip('/')}{WEBHOOK_ROUTE}/{token}" if token else False
            )

    # === CRUD METHODS === #

    def init(self):
        """Give every backend without a token its own one (a column default would give all
        existing rows the same value)."""
        result = super().init()
        self.env.cr.execute(SQL("SELECT id FROM basware_backend WHERE webhook_token IS NULL"))
        for (backend_id,) in self.env.cr.fetchall():
            self.env.cr.execute(
                SQL(
                    "UPDATE basware_backend SET webhook_token = %s WHERE id = %s",
                    new_webhook_token(),
                    backend_id,
                )
            )
        return result

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if not vals.get("webhook_token"):
                vals["webhook_token"] = new_webhook_token()
        return super().create(vals_list)

    # === WEBHOOK (called by the controller, as superuser) === #

    @api.model
    def _basware_webhook_max_body(self):
        """Largest notification body accepted, in bytes (system parameter, default 1 MiB)."""
        value = self.env["ir.config_parameter"].sudo().get_param(MAX_BODY_PARAM)
        try:
            return max(int(value), 1) if value else DEFAULT_MAX_BODY_BYTES
        except ValueError:
            _logger.warning("Ignoring invalid %s=%r", MAX_BODY_PARAM, value)
            return DEFAULT_MAX_BODY_BYTES

    @api.model
    def _basware_webhook_backend(self, token):
        """The active backend whose webhook token is ``token``, or an empty recordset."""
        if not token or not MIN_TOKEN_LENGTH <= len(token) <= MAX_TOKEN_LENGTH:
            return self.browse()
        # Ordered by id: the model's order would join the company for nothing. Read with
        # what the webhook needs, in the same query.
        return self.sudo().search_fetch(
            [("webhook_token", "=", token)], WEBHOOK_CHECK_FIELDS, limit=1, order="id"
        )

    def _basware_webhook_signed(self, body, headers):
        """Whether ``body`` carries a valid signature of this backend's webhook secret; fails
        closed (no secret, no header, wrong signature: False). Raises BackendPaused when the
        stored secret cannot be decrypted now."""
        self.ensure_one()
        header_name = self.signature_header or DEFAULT_SIGNATURE_HEADER
        header_value = headers.get(header_name)
        secret = self._get_webhook_secret()
        if not secret:
            _logger.warning("Basware webhook of backend %s refused: no webhook secret", self.id)
            return False
        if verify_signature(body, header_value, secret):
            return True
        _logger.warning(
            "Basware webhook of backend %s refused: signature in %s does not match (%s)",
            self.id,
            header_name,
            signature_shape(header_value),
        )
        return False

    @api.model
    def _basware_accepts_unverified(self, body):
        """Whether an unverified ``body`` is a ConnectionTest the administrator allowed."""
        value = self.env["ir.config_parameter"].sudo().get_param(UNVERIFIED_PING_PARAM) or ""
        if value.strip().lower() not in TRUE_VALUES:
            return False
        try:
            payload = parse_notification(body)
        except ValueError:
            return False
        return (
            isinstance(payload, dict)
            and payload.get("taskType") == constants.TASK_TYPE_CONNECTION_TEST
        )

    def _basware_receive_notification(self, payload):
        """Store a verified notification and wake the import; return an OUTCOME_*. Raises
        MalformedNotification for a non-object, or an accounting document one without taskId."""
        self.ensure_one()
        if not isinstance(payload, dict):
            raise MalformedNotification("The notification is not a JSON object.")
        task_type = payload.get("taskType")
        if task_type == constants.TASK_TYPE_CONNECTION_TEST:
            _logger.info("Basware webhook of backend %s: connection test answered", self.id)
            return OUTCOME_CONNECTION_TEST
        if task_type_key(task_type) not in ACCOUNTING_DOCUMENT_TASK_TYPES:
            _logger.info(
                "Basware webhook of backend %s: %r notification ignored", self.id, task_type
            )
            return OUTCOME_IGNORED
        task_id = payload.get("taskId")
        if not isinstance(task_id, str) or not task_id.strip():
            raise MalformedNotification("The notification has no taskId.")
        return self._basware_store_notification(task_id.strip(), payload)

    def _basware_store_notification(self, task_id, payload):
        exchanges = self.env["basware.exchange"].sudo().with_context(tracking_disable=True)
        dedup_key = TASK_DEDUP_PREFIX + task_id
        already = exchanges._find_dedup(self, dedup_key)
        if already:
            return self._basware_duplicate(task_id, already)
        document_id = payload.get("documentId")
        try:
            exchange = exchanges._enqueue(
                self,
                KIND_WEBHOOK,
                DIRECTION_INBOUND,
                payload=payload,
                dedup_key=dedup_key,
                dedup_checked=True,
                external_code=str(document_id) if document_id else False,
            )
        except CONCURRENCY_ERRORS:
            # The same task was stored by a concurrent request that committed after this
            # transaction began: the work is queued all the same.
            return self._basware_duplicate(task_id, None)
        _logger.info(
            "Basware webhook of backend %s: task %s for document %s stored as exchange %s",
            self.id,
            task_id,
            document_id,
            exchange.id,
        )
        self._basware_wake_import()
        return OUTCOME_STORED

    def _basware_duplicate(self, task_id, exchange):
        _logger.info(
            "Basware webhook of backend %s: task %s already received%s",
            self.id,
            task_id,
            f" (exchange {exchange.id})" if exchange else "",
        )
        return OUTCOME_DUPLICATE

    def _basware_wake_import(self):
        """Wake the import cron, once per burst of notifications."""
        # The cached id alone: the cron record is read only when a trigger is added.
        cron = (
            self.env["ir.cron"]
            .sudo()
            .browse(self.env["ir.model.data"]._xmlid_to_res_id(IMPORT_CRON_XMLID))
        )
        if cron and self._basware_import_already_woken(cron):
            return
        if not cron.exists():
            _logger.warning("%s is missing: the next poll imports the document", IMPORT_CRON_XMLID)
            return
        cron._trigger()

    def _basware_import_already_woken(self, cron):
        """Whether a due trigger of the import cron waits that no run has taken yet. It wakes the
        import for this notification too: share-locked here until commit, it makes the run taking
        it (its DELETE waits) pull after the commit. A trigger being taken now is locked: skipped,
        and this notification adds its own trigger, which that run leaves for the next."""
        query = SQL(
            """
            SELECT 1 FROM ir_cron_trigger
             WHERE cron_id = %s AND call_at <= %s
             LIMIT 1
               FOR KEY SHARE SKIP LOCKED
            """,
            cron.id,
            fields.Datetime.now(),
        )
        try:
            with self.env.cr.savepoint(flush=False):
                # A normal race, not an error worth Odoo's "bad query" log.
                self.env.cr.execute(query, log_exceptions=False)
                return bool(self.env.cr.fetchone())
        except psycopg2.errors.SerializationFailure:
            # A run took that trigger since this transaction began.
            return False

    # === SUBSCRIPTION ACTIONS === #

    def _check_webhook_manager(self):
        common.check_manager(
            self.env,
            self.env._("Only a Basware manager can manage the webhook of a Basware backend."),
        )
        self.check_access("write")

    def _basware_subscription(self, secret):
        """The Subscription body Basware needs to push approved invoices to this backend."""
        self.ensure_one()
        return {
            "taskType": constants.TASK_TYPE_ACCOUNTING_DOCUMENTS,
            "taskSubType": SUBSCRIBED_TASK_SUB_TYPE,
            "subscriptionType": constants.SUBSCRIPTION_TYPE_WEBHOOK,
            "notificationWebhookURL": self.sudo().webhook_url,
            "webhookAuthenticationToken": secret,
        }

    def _check_webhook_reachable(self):
        """Refuse a webhook URL Basware cannot call: a private, local or plain http address
        (unless the API itself is on this machine, as a local test server is)."""
        url = self.sudo().webhook_url
        if not url:
            raise UserError(self.env._("This backend has no webhook URL yet: regenerate it."))
        if len(url) > constants.WEBHOOK_URL_MAX_LENGTH:
            raise UserError(self.env._("The webhook URL is too long for Basware."))
        if urls.is_loopback_host(urlsplit(self.api_url or "").hostname):
            return
        if urls.is_loopback_host(urlsplit(url).hostname) or urls.url_problem(url):
            raise UserError(
                self.env._(
                    "Basware cannot reach the webhook URL of this backend: it must be a public "
                    "https:// address. Set the system parameter web.base.url (and "
                    "web.base.url.freeze) to the address Basware reaches this Odoo at."
                )
            )

    def action_subscribe_webhooks(self):
        """Ask Basware to push approved invoices to this backend's webhook URL."""
        self.ensure_one()
        self._check_webhook_manager()
        secret = self._get_webhook_secret()
        if not secret:
            raise UserError(
                self.env._(
                    "Set the webhook secret first: Basware signs its notifications with it, and "
                    "notifications without a valid signature are refused."
                )
            )
        self._check_webhook_reachable()
        try:
            with self._get_client() as client:
                client.create_subscriptions([self._basware_subscription(secret)])
        except errors.BaswareError as error:
            raise UserError(self._subscription_error_message(error, secret)) from None
        self._message_log(
            body=self.env._("Subscribed to Basware push notifications of approved invoices.")
        )
        return common.notification(
            self.env._("Subscribed"),
            self.env._(
                "Basware checked the webhook URL and will push approved invoices to it. "
                "Scheduled polling stays on as a safety net."
            ),
        )

    def action_unsubscribe_webhooks(self):
        """Remove this backend's subscription; one for another URL is left alone."""
        self.ensure_one()
        self._check_webhook_manager()
        try:
            with self._get_client() as client:
                subscribed = self._has_our_subscription(client)
                if subscribed:
                    client.delete_subscriptions(
                        constants.TASK_TYPE_ACCOUNTING_DOCUMENTS, SUBSCRIBED_TASK_SUB_TYPE
                    )
        except errors.BaswareError as error:
            raise UserError(self._connection_error_message(error)) from None
        if not subscribed:
            return common.notification(
                self.env._("Not subscribed"),
                self.env._("Basware has no subscription for this backend."),
                "info",
                sticky=False,
            )
        self._message_log(
            body=self.env._("Unsubscribed from Basware push notifications of approved invoices.")
        )
        return common.notification(
            self.env._("Unsubscribed"),
            self.env._(
                "Basware no longer pushes approved invoices; scheduled polling still imports them."
            ),
        )

    def _has_our_subscription(self, client):
        """Whether Basware's subscription to approved invoices is this backend's: Basware deletes by
        task type, not URL, so one pointing elsewhere (another system on the tenant) must stay."""
        subscriptions = client.list_subscriptions(
            constants.TASK_TYPE_ACCOUNTING_DOCUMENTS, SUBSCRIBED_TASK_SUB_TYPE
        )
        url = self.sudo().webhook_url
        ours = [
            s
            for s in subscriptions
            if isinstance(s, dict) and s.get("notificationWebhookURL") == url
        ]
        if subscriptions and not ours:
            raise UserError(
                self.env._(
                    "The Basware subscription to approved invoices points at another URL than "
                    "this backend's webhook: it is left as it is."
                )
            )
        return bool(ours)

    def action_regenerate_webhook_token(self):
        """A new webhook URL: the old one answers 404 from now on."""
        self._check_webhook_manager()
        for backend in self:
            backend.webhook_token = new_webhook_token()
            backend._message_log(
                body=self.env._(
                    "Webhook URL regenerated: subscribe again so that Basware uses the new one."
                )
            )
        return True

    def _subscription_error_message(self, error, secret):
        if error.status not in (400, 422):
            return self._connection_error_message(error)
        detail = errors.describe_errors(error.errors) or error.message
        return self.env._(
            "Basware refused the subscription: %(detail)s. Basware first sends a test "
            "notification to the webhook URL: it must reach this Odoo from the internet and "
            "be signed with the webhook secret stored here.",
            detail=detail.replace(secret, "***").rstrip("."),
        )

"""Connection settings of one Basware tenant for one Odoo company.

The backend owns the configuration, the encrypted secrets and the cached OAuth token.
It never talks HTTP itself: :meth:`BaswareBackend._get_client` hands a configured
:class:`BaswareClient` to whoever needs one (the exchange queue, the webhook), or
raises :class:`BackendPaused` while an administrator must fix its surroundings first.
"""

import json
import logging
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlsplit

import psycopg2.errors

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, str2bool

from ..basware import BaswareClient, ClientConfig, constants, errors, urls
from ..basware.signature import DEFAULT_SIGNATURE_HEADER
from . import basware_crypto

_logger = logging.getLogger(__name__)

REGION_SELECTION = [
    (constants.REGION_EU, "Europe"),
    (constants.REGION_US, "United States"),
    (constants.REGION_AU, "Australia"),
    (constants.REGION_CA, "Canada"),
]
ENVIRONMENT_SELECTION = [
    (constants.ENVIRONMENT_PRODUCTION, "Production"),
    (constants.ENVIRONMENT_TEST, "Test"),
]
# How long a worker waits for another one renewing the access token.
TOKEN_LOCK_TIMEOUT_MS = 10000
# Locks of the token row tried while other workers keep renewing it.
TOKEN_LOCK_ATTEMPTS = 3
# A connection test must answer quickly: no transport retries.
TEST_CONNECTION_ATTEMPTS = 1
NEUTRALIZED_PARAM = "database.is_neutralized"
URL_FIELDS = ("api_url", "token_url")
# A retry farther away than a week is an outage to look at, not a backoff (and keeps
# the next attempt date far from any overflow).
MAX_RETRY_DELAY = 7 * 24 * 3600
# Changing one of these makes the cached token useless (other tenant, client or scope).
TOKEN_INVALIDATING_FIELDS = frozenset(
    {
        "region",
        "environment",
        "api_url",
        "token_url",
        "client_id",
        "client_secret_encrypted",
        "scope",
    }
)
# Where the client secret is sent: only administrators, who may read it anyway, change them.
ENDPOINT_FIELDS = frozenset({"region", "environment", "api_url", "token_url"})
# organizationElementCode of Basware's OrderEntity.
ORGANIZATION_ELEMENT_MIN = 2
ORGANIZATION_ELEMENT_MAX = 25
SECRET_COLUMNS = {
    "client_secret": "client_secret_encrypted",
    "webhook_secret": "webhook_secret_encrypted",
}


def production_host(url):
    """The host of ``url`` when it is a production Basware host or one of its subdomains."""
    try:
        host = (urlsplit(url or "").hostname or "").rstrip(".")
    except ValueError:
        return None
    for known in constants.PRODUCTION_HOSTS:
        if host == known or host.endswith("." + known):
            return host
    return None


def tenant_key(url):
    """The API URL as it names a Basware tenant: scheme and host in any case, with or
    without a trailing slash, are the same tenant."""
    parts = urlsplit((url or "").strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def company_code_key(code):
    """A Basware company code, trimmed and in any case: codes that differ only so are
    taken for the same company."""
    return (code or "").strip().upper()


def default_api_url(region, environment):
    """The API host of a region and environment; unpublished regions share the EU hosts."""
    return constants.ENDPOINTS.get((region, environment)) or constants.ENDPOINTS.get(
        (constants.DEFAULT_REGION, environment or constants.DEFAULT_ENVIRONMENT)
    )


class BackendPaused(UserError):
    """The backend cannot run now for a reason of its surroundings an administrator fixes
    (encryption key, archived, neutralized copy pointing at production): its exchanges
    wait untouched instead of failing."""


class TokenLockTimeout(errors.BaswareError):
    """Another worker held the token refresh lock too long: try again later."""

    retryable = True


class BackendTokenStore:
    """The basware ``TokenStore`` protocol on a backend row, encrypted at rest.

    Reads and writes run in transactions of their own, committed at once: a new
    token is neither rolled back with the caller's work nor hidden from other
    workers by the caller's snapshot. A refresh holds a row lock, so concurrent
    workers wait for one token instead of each asking Basware for one.
    """

    def __init__(self, backend):
        self._backend_id = backend.id
        self._registry = backend.env.registry
        self._lock_timeout_ms = backend.env.context.get(
            "basware_token_lock_timeout_ms", TOKEN_LOCK_TIMEOUT_MS
        )
        self._locked_cr = None

    def load(self):
        if self._locked_cr:
            return self._read(self._locked_cr)
        with self._registry.cursor() as cr:
            return self._read(cr)

    def save(self, token):
        if self._locked_cr:
            self._write(self._locked_cr, token)
            return
        with self._registry.cursor() as cr:
            self._write(cr, token)

    @contextmanager
    def locked(self):
        with self._registry.cursor() as cr:
            self._lock_row(cr)
            self._locked_cr = cr
            try:
                yield
            finally:
                self._locked_cr = None

    def _lock_row(self, cr):
        """Lock the backend's row, waiting (up to the lock timeout) for a worker renewing
        the token. When that worker saved its token meanwhile, the snapshot the wait began
        in cannot lock the new row version: the lock is taken again in a fresh one, where
        the new token is visible."""
        for _attempt in range(TOKEN_LOCK_ATTEMPTS):
            cr.execute(SQL("SET LOCAL lock_timeout = %s", int(self._lock_timeout_ms)))
            try:
                cr.execute(
                    SQL(
                        "SELECT id FROM basware_backend WHERE id = %s FOR NO KEY UPDATE",
                        self._backend_id,
                    ),
                    log_exceptions=False,
                )
                return
            except psycopg2.errors.LockNotAvailable:
                break
            except psycopg2.errors.SerializationFailure:
                cr.rollback()
        raise TokenLockTimeout(
            "Another worker is renewing the Basware access token; retrying later."
        ) from None

    def _read(self, cr):
        cr.execute(
            SQL("SELECT token_encrypted FROM basware_backend WHERE id = %s", self._backend_id)
        )
        row = cr.fetchone()
        if not (row and row[0]):
            return None
        try:
            return json.loads(basware_crypto.decrypt(row[0]))
        except (basware_crypto.EncryptionKeyError, ValueError):
            # An unreadable cache only costs a new token request.
            _logger.info("Ignoring the unreadable cached token of backend %s", self._backend_id)
            return None

    def _write(self, cr, token):
        ciphertext = basware_crypto.encrypt(json.dumps(token)) if token else None
        cr.execute(
            SQL(
                "UPDATE basware_backend SET token_encrypted = %s WHERE id = %s",
                ciphertext,
                self._backend_id,
            )
        )


class BaswareBackend(models.Model):
    _name = "basware.backend"
    _description = "Basware Backend"
    _inherit = "mail.thread"
    _order = "company_id, name, id"

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        tracking=True,
    )
    basware_company_code = fields.Char(
        tracking=True,
        # A copy with the same code would import the same invoices: see _check_one_importer.
        copy=False,
        help="Code of this Odoo company in the Basware P2P organization hierarchy "
        "(companyCode in Basware's API).",
    )
    basware_organization_element = fields.Char(
        tracking=True,
        help="Code of the organization unit the purchase orders sent to Basware belong to "
        "(organizationElementCode). Empty: the Basware company code.",
    )
    region = fields.Selection(
        REGION_SELECTION,
        required=True,
        default=constants.DEFAULT_REGION,
        tracking=True,
        help="Basware region of the P2P tenant; API credentials are region specific.",
    )
    environment = fields.Selection(
        ENVIRONMENT_SELECTION,
        required=True,
        default=constants.DEFAULT_ENVIRONMENT,
        tracking=True,
    )
    api_url = fields.Char(
        "API URL",
        compute="_compute_api_url",
        store=True,
        precompute=True,
        readonly=False,
        required=True,
        tracking=True,
        help="Base URL of the Basware API. Only https://api.basware.com (production) and "
        "https://test-api.basware.com (test) are published; check the host of other "
        "regions with Basware.",
    )
    token_url = fields.Char(
        "Token URL",
        compute="_compute_token_url",
        store=True,
        precompute=True,
        readonly=False,
        required=True,
        tracking=True,
        help="OAuth2 token endpoint: the API URL followed by /v1/tokens.",
    )
    client_id = fields.Char("Client ID", tracking=True)
    scope = fields.Char(
        default=constants.DEFAULT_SCOPE,
        help="Space-separated OAuth2 scopes requested with each token.",
    )
    check_token_issuer = fields.Boolean(
        default=True,
        help="Test connection compares the issuer of Basware's tokens with the API host, to "
        "catch a region or environment mismatch. Basware does not document its issuers: "
        "untick this if a valid tenant fails the check.",
    )
    token_issuer = fields.Char(
        help="Expected issuer host of Basware's tokens, when it differs from the API host.",
    )
    signature_header = fields.Char(
        default=DEFAULT_SIGNATURE_HEADER,
        help="Header carrying the HMAC-SHA256 signature of Basware push notifications.",
    )

    # Secrets: only ciphertext is stored; the plain fields are write-only.
    client_secret = fields.Char(
        compute="_compute_client_secret",
        inverse="_inverse_client_secret",
        groups="base.group_system",
        help="Write-only: the stored secret is never shown back. Leave empty to keep it.",
    )
    webhook_secret = fields.Char(
        compute="_compute_webhook_secret",
        inverse="_inverse_webhook_secret",
        groups="base.group_system",
        help="Write-only shared secret used to verify the signature of push notifications.",
    )
    client_secret_encrypted = fields.Char(copy=False, groups="base.group_system")
    webhook_secret_encrypted = fields.Char(copy=False, groups="base.group_system")
    token_encrypted = fields.Char(
        "Cached Token", copy=False, groups="base.group_system", help="Encrypted OAuth2 token."
    )
    client_secret_set = fields.Boolean(compute="_compute_secrets_set")
    webhook_secret_set = fields.Boolean(compute="_compute_secrets_set")

    # Schedule and transport.
    sync_interval_minutes = fields.Integer(
        "Pull Interval (minutes)",
        default=15,
        help="Minimum time between two pulls of approved invoices from Basware.",
    )
    last_sync_date = fields.Datetime(
        "Last Pull", readonly=True, copy=False, help="When approved invoices were last pulled."
    )
    connect_timeout = fields.Integer("Connect Timeout (s)", default=5, help="At most 60 seconds.")
    read_timeout = fields.Integer("Read Timeout (s)", default=30, help="At most 300 seconds.")
    request_max_attempts = fields.Integer(
        "HTTP Attempts",
        default=3,
        help="Attempts of one HTTP call on a rate limit (429), a 502/503/504 or a lost "
        "connection, with exponential backoff, before the exchange itself is retried later "
        "(at most 10).",
    )

    # Retry policy of the exchanges of this backend.
    exchange_max_attempts = fields.Integer(
        "Max Attempts",
        default=5,
        help="After this many failed attempts with a temporary error, or this many runs "
        "interrupted by a killed worker, an exchange is dead.",
    )
    exchange_retry_base = fields.Integer(
        "Retry Delay (s)", default=60, help="Delay before the first retry; it doubles each time."
    )
    exchange_retry_max = fields.Integer(
        "Max Retry Delay (s)",
        default=3600,
        help="Upper bound of the delay between retries (at most 604800 seconds: 7 days).",
    )
    exchange_batch_size = fields.Integer(
        "Batch Size",
        default=50,
        help="Exchanges of this backend the cron runs before it turns to the next backend. "
        "Each exchange is committed on its own.",
    )
    request_status_delay = fields.Integer(
        "Phase-Two Delay (s)",
        default=60,
        help="Seconds between a write to Basware and the first read of its per-record "
        "results (requestStatus); 0 reads them at once.",
    )
    request_status_horizon_hours = fields.Integer(
        "Phase-Two Horizon (h)",
        default=24,
        help="How long the per-record results of a write are polled, at a growing interval, "
        "before the poll gives up. Basware says some errors take minutes to appear.",
    )
    exchange_count = fields.Integer(compute="_compute_exchange_count")
    last_connection_test_date = fields.Datetime(readonly=True, copy=False)
    last_connection_test_ok = fields.Boolean(readonly=True, copy=False)
    last_connection_test_message = fields.Char(readonly=True, copy=False)
    # Computed on every read, never stored: it goes away as soon as the cause is fixed.
    pause_reason = fields.Text(
        compute="_compute_pause_reason",
        help="Why the backend cannot connect now; its exchanges wait until this is fixed.",
    )

    _name_company_uniq = models.Constraint(
        "UNIQUE(company_id, name)",
        "A Basware backend with this name already exists in this company.",
    )
    _exchange_settings_positive = models.Constraint(
        "CHECK(exchange_max_attempts > 0 AND exchange_retry_base > 0 "
        "AND exchange_retry_max >= exchange_retry_base AND exchange_batch_size > 0)",
        "Attempts, retry delays and batch size must be positive, and the maximum retry "
        "delay cannot be shorter than the first one.",
    )
    _request_status_settings = models.Constraint(
        "CHECK(request_status_delay >= 0 AND request_status_horizon_hours > 0)",
        "The phase-two delay cannot be negative and its horizon must be positive.",
    )
    _transport_settings_positive = models.Constraint(
        "CHECK(sync_interval_minutes > 0 AND connect_timeout > 0 AND read_timeout > 0 "
        "AND request_max_attempts > 0)",
        "The sync interval, the timeouts and the HTTP attempts must be positive.",
    )
    # Same limits as constants.MAX_CONNECT_TIMEOUT, MAX_READ_TIMEOUT and MAX_HTTP_ATTEMPTS.
    _transport_settings_bounded = models.Constraint(
        "CHECK(connect_timeout <= 60 AND read_timeout <= 300 AND request_max_attempts <= 10)",
        "The connect timeout is at most 60 seconds, the read timeout at most 300 seconds "
        "and the HTTP attempts at most 10: a longer call holds a scheduled-action worker.",
    )
    # Same limit as MAX_RETRY_DELAY.
    _exchange_retry_bounded = models.Constraint(
        "CHECK(exchange_retry_max <= 604800)",
        "The maximum retry delay is at most 604800 seconds (7 days).",
    )

    # === COMPUTE METHODS === #

    @api.depends("region", "environment")
    def _compute_api_url(self):
        for backend in self:
            backend.api_url = default_api_url(backend.region, backend.environment)

    @api.depends("api_url")
    def _compute_token_url(self):
        for backend in self:
            base = (backend.api_url or "").rstrip("/")
            backend.token_url = base + constants.TOKEN_PATH if base else False

    def _compute_client_secret(self):
        # Write-only: the secret is never read back into a form or an RPC answer.
        self.client_secret = False

    def _compute_webhook_secret(self):
        self.webhook_secret = False

    @api.depends("client_secret_encrypted", "webhook_secret_encrypted")
    def _compute_secrets_set(self):
        for backend, stored in zip(self, self.sudo(), strict=True):
            backend.client_secret_set = bool(stored.client_secret_encrypted)
            backend.webhook_secret_set = bool(stored.webhook_secret_encrypted)

    def _count_per_backend(self, model_name):
        """{backend: number of ``model_name`` records of it}, in one query."""
        groups = self.env[model_name]._read_group(
            [("backend_id", "in", self.ids)], ["backend_id"], ["__count"]
        )
        return dict(groups)

    def _compute_exchange_count(self):
        counts = self._count_per_backend("basware.exchange")
        for backend in self:
            backend.exchange_count = counts.get(backend, 0)

    @api.depends(
        "active",
        "environment",
        "api_url",
        "token_url",
        "client_secret_encrypted",
        "webhook_secret_encrypted",
    )
    def _compute_pause_reason(self):
        for backend in self:
            backend.pause_reason = backend._get_pause_reason()

    # === INVERSE METHODS === #

    def _inverse_client_secret(self):
        self._store_secret("client_secret")

    def _inverse_webhook_secret(self):
        self._store_secret("webhook_secret")

    def _store_secret(self, field_name):
        """Encrypt the value just assigned to a write-only secret field; empty clears it."""
        label = self._fields[field_name]._description_string(self.env)
        column = SECRET_COLUMNS[field_name]
        for backend in self:
            plaintext = backend[field_name]
            had_secret = bool(backend.sudo()[column])
            ciphertext = backend._encrypt_secret(plaintext) if plaintext else False
            backend.sudo().write({column: ciphertext})
            if plaintext:
                backend._message_log(body=self.env._("%(secret)s changed.", secret=label))
            elif had_secret:
                backend._message_log(body=self.env._("%(secret)s removed.", secret=label))
        # Never echo the plaintext back (e.g. in the answer to the form's save).
        self.invalidate_recordset([field_name])

    # === CONSTRAINT METHODS === #

    @api.constrains("api_url", "token_url")
    def _check_urls(self):
        for backend in self:
            for field_name in URL_FIELDS:
                reason = urls.url_problem(backend[field_name])
                if reason:
                    raise ValidationError(self._url_problem_message(field_name, reason))

    def _url_problem_message(self, field_name, reason):
        """Why ``field_name`` cannot hold its URL, for a ``basware.urls`` REASON_* code."""
        field = self._fields[field_name]._description_string(self.env)
        _ = self.env._
        messages = {
            urls.REASON_EMPTY: _(
                "%(field)s needs a complete URL with a host, such as https://api.basware.com.",
                field=field,
            ),
            urls.REASON_CONTROL: _("%(field)s contains spaces or control characters.", field=field),
            urls.REASON_SCHEME: _("%(field)s must be an https:// URL.", field=field),
            urls.REASON_CREDENTIALS: _(
                "%(field)s must not contain a user name or password (user:password@): the "
                "connector signs in with the client ID and secret.",
                field=field,
            ),
            urls.REASON_METADATA: _(
                "%(field)s points at a cloud instance-metadata service: the connector never "
                "calls it.",
                field=field,
            ),
            urls.REASON_LINK_LOCAL: _(
                "%(field)s points at a link-local address (169.254.0.0/16 or fe80::/10): the "
                "connector never calls it.",
                field=field,
            ),
            urls.REASON_PRIVATE: _(
                "%(field)s points at a private or reserved network address: only public hosts, "
                "or this machine (loopback) for a local test server, are allowed.",
                field=field,
            ),
            urls.REASON_PLAIN_HTTP: _(
                "%(field)s must be an https:// URL (plain http:// is only accepted for a test "
                "server on this machine, such as http://127.0.0.1).",
                field=field,
            ),
        }
        return messages.get(reason) or _("%(field)s is not an allowed URL.", field=field)

    @api.constrains("active", "api_url", "basware_company_code")
    def _check_one_importer(self):
        """At most one active backend per Basware tenant (API URL) and company code: two
        would each import the same invoices, and exactly-once holds per backend only."""
        for backend in self.filtered("active"):
            other = backend._basware_same_importer()
            if other:
                raise ValidationError(
                    self.env._(
                        "The Basware backend %(other)s (company %(company)s) already imports "
                        "the invoices of company code %(code)s from %(url)s: two active "
                        "backends on the same tenant and company code would both import them. "
                        "Archive one of them, or change its Basware company code.",
                        other=other.display_name,
                        company=other.company_id.display_name,
                        code=backend.basware_company_code,
                        url=backend.api_url,
                    )
                )

    def _basware_same_importer(self):
        """Another active backend of any company on this one's tenant and company code."""
        self.ensure_one()
        code = company_code_key(self.basware_company_code)
        if not code:
            return self.browse()
        # Across companies: the other backend may be in a company this user cannot see.
        candidates = self.sudo().search([("id", "!=", self.id), ("active", "=", True)])
        url = tenant_key(self.api_url)
        return candidates.filtered(
            lambda other: (
                company_code_key(other.basware_company_code) == code
                and tenant_key(other.api_url) == url
            )
        )[:1]

    @api.constrains("basware_organization_element")
    def _check_organization_element(self):
        for backend in self:
            code = (backend.basware_organization_element or "").strip()
            if code and not (ORGANIZATION_ELEMENT_MIN <= len(code) <= ORGANIZATION_ELEMENT_MAX):
                raise ValidationError(
                    self.env._(
                        "The Basware organization element %(code)s has %(length)s characters: "
                        "Basware takes %(min)s to %(max)s (organizationElementCode).",
                        code=code,
                        length=len(code),
                        min=ORGANIZATION_ELEMENT_MIN,
                        max=ORGANIZATION_ELEMENT_MAX,
                    )
                )

    # === CRUD METHODS === #

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_company_allowed(vals.get("company_id"))
        return super().create(vals_list)

    def write(self, vals):
        if "company_id" in vals:
            self._check_company_allowed(vals["company_id"])
        self._check_endpoint_change(vals)
        result = super().write(vals)
        if TOKEN_INVALIDATING_FIELDS.intersection(vals):
            self._clear_token()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_with_exchanges(self):
        # The exchanges are the audit trail of what was sent and received: they would go too.
        exchanges = self.env["basware.exchange"].sudo()
        if exchanges.search_count([("backend_id", "in", self.ids)], limit=1):
            raise UserError(
                self.env._(
                    "A Basware backend with exchanges cannot be deleted: the exchanges are the "
                    "audit trail of what was sent to and received from Basware. Archive the "
                    "backend instead."
                )
            )

    def copy_data(self, default=None):
        vals_list = super().copy_data(default=default)
        if default and "name" in default:
            return vals_list
        return [
            dict(vals, name=self.env._("%(name)s (copy)", name=backend.name))
            for backend, vals in zip(self, vals_list, strict=True)
        ]

    def _check_company_allowed(self, company_id):
        """A backend lives in a company its user works in.

        Record rules check a write against the values before it, not after: without
        this, a manager could move a backend into a company they cannot access.
        """
        if isinstance(company_id, models.BaseModel):
            company_id = company_id.id
        if self.env.su or not company_id:
            return
        if company_id not in self.env.companies.ids:
            raise AccessError(
                self.env._(
                    "A Basware backend can only be created in, or moved to, a company you have "
                    "access to and have selected in the company switcher."
                )
            )

    def _check_endpoint_change(self, vals):
        """Keep the stored secret from being sent to a host its reader did not choose."""
        changed = ENDPOINT_FIELDS.intersection(vals)
        if changed and self.sudo().filtered("client_secret_encrypted") and not self.env.is_system():
            raise AccessError(
                self.env._(
                    "Only an administrator can change the region, environment or URLs of a "
                    "Basware backend whose client secret is stored: the secret is sent there."
                )
            )

    # === SECRET METHODS === #

    def _get_client_secret(self):
        """Return the decrypted client secret, or False when none is set."""
        self.ensure_one()
        return self._decrypt_secret(self.sudo().client_secret_encrypted)

    def _get_webhook_secret(self):
        """Return the decrypted webhook secret, or False when none is set."""
        self.ensure_one()
        return self._decrypt_secret(self.sudo().webhook_secret_encrypted)

    def _encrypt_secret(self, plaintext):
        try:
            return basware_crypto.encrypt(plaintext)
        except basware_crypto.EncryptionKeyError as error:
            raise UserError(self._key_problem_message(error)) from None

    def _decrypt_secret(self, ciphertext):
        if not ciphertext:
            return False
        try:
            return basware_crypto.decrypt(ciphertext)
        except basware_crypto.EncryptionKeyError as error:
            raise BackendPaused(self._key_problem_message(error)) from None

    def _key_problem_message(self, error):
        """Explain a key problem to the administrator; never quotes key material."""
        if isinstance(error, basware_crypto.MissingKeyError):
            return self.env._(
                "Basware secrets are encrypted, but no encryption key is configured: "
                "set basware_encryption_key in the Odoo configuration file (or the "
                "BASWARE_ENCRYPTION_KEY environment variable) to a key made with "
                "cryptography's Fernet.generate_key(), then restart Odoo."
            )
        if isinstance(error, basware_crypto.MalformedKeyError):
            return self.env._(
                "The basware_encryption_key of the Odoo configuration is not a valid "
                "key: it must be 32 url-safe base64-encoded bytes, as made by "
                "cryptography's Fernet.generate_key()."
            )
        return self.env._(
            "The encryption key cannot decrypt the stored secrets: the key was changed since "
            "they were saved. Put the previous key back in basware_encryption_key (old keys "
            "can follow the new one, comma-separated) or enter the client secret and webhook "
            "secret again."
        )

    def _reencrypt_secrets(self):
        """Rewrite the stored secrets under the first configured key; drop the cached token.

        All or nothing: a secret no configured key decrypts stops the whole run.
        """
        for backend in self.sudo():
            values = {
                column: backend._rotate_secret(backend[column])
                for column in SECRET_COLUMNS.values()
                if backend[column]
            }
            if values:
                backend.write(values)
                backend._message_log(
                    body=self.env._("Secrets re-encrypted with the current encryption key.")
                )
        # A new token is cheaper than re-encrypting the cached one.
        self._clear_token()

    def _rotate_secret(self, ciphertext):
        try:
            return basware_crypto.rotate(ciphertext)
        except basware_crypto.EncryptionKeyError as error:
            raise UserError(
                self.env._(
                    "Basware backend %(backend)s: %(problem)s",
                    backend=self.display_name,
                    problem=self._key_problem_message(error),
                )
            ) from None

    @api.model
    def _reencrypt_all_secrets(self):
        """Re-encrypt the secrets of every backend, archived ones included, after a key
        rotation; return how many backends were looked at.

        From ``odoo-bin shell``: ``env["basware.backend"]._reencrypt_all_secrets()`` then
        ``env.cr.commit()``.
        """
        backends = self.sudo().search([("active", "in", (True, False))])
        backends._reencrypt_secrets()
        return len(backends)

    # === TOKEN STORE METHODS === #

    def _get_token_store(self):
        self.ensure_one()
        return BackendTokenStore(self)

    def _clear_token(self):
        if not self.ids:
            return
        # The token store writes past the ORM: clear the column itself, then the cache.
        self.env.cr.execute(
            SQL("UPDATE basware_backend SET token_encrypted = NULL WHERE id IN %s", tuple(self.ids))
        )
        self.invalidate_recordset(["token_encrypted"])

    # === BUSINESS METHODS === #

    @api.model
    def _get_backend_for_company(self, company=None):
        """Return the active backend of ``company`` (default: the current one), if any."""
        company = company or self.env.company
        return self.search([("company_id", "=", company.id)], limit=1)

    def _basware_organization_element_field(self):
        """The field holding the orders' organizationElementCode: the organization element
        when set, else the company code."""
        self.ensure_one()
        if (self.basware_organization_element or "").strip():
            return "basware_organization_element"
        return "basware_company_code"

    def _is_sync_due(self, now=None):
        """Whether the sync interval has passed since ``last_sync_date``."""
        self.ensure_one()
        if not self.last_sync_date:
            return True
        now = now or fields.Datetime.now()
        return now >= self.last_sync_date + timedelta(minutes=self.sync_interval_minutes)

    def _get_client_config(self, **overrides):
        """Return the :class:`ClientConfig` of this backend; ``overrides`` tune transport."""
        self.ensure_one()
        self._check_can_connect()
        values = {
            "api_url": self.api_url,
            "token_url": self.token_url,
            "client_id": self.client_id,
            "client_secret": self._get_client_secret(),
            "scope": self.scope or constants.DEFAULT_SCOPE,
            "connect_timeout": float(self.connect_timeout),
            "read_timeout": float(self.read_timeout),
            "max_attempts": self.request_max_attempts,
            "expected_issuer": self._expected_issuer(),
        }
        values.update(overrides)
        return ClientConfig(**values)

    def _expected_issuer(self):
        """None: the API host; empty: no check (see ClientConfig.expected_issuer)."""
        if not self.check_token_issuer:
            return ""
        return self.token_issuer or None

    def _get_client(self, **overrides):
        """Return a :class:`BaswareClient` for this backend, sharing its token cache.

        :raise BackendPaused: for a reason of :meth:`_get_pause_reason`
        :raise UserError: when the backend is incomplete
        """
        self.ensure_one()
        return BaswareClient(
            self._get_client_config(**overrides), token_store=self._get_token_store()
        )

    def _check_can_connect(self):
        self.ensure_one()
        reason = self._get_pause_reason()
        if reason:
            raise BackendPaused(reason)
        missing = [
            self._fields[name]._description_string(self.env)
            for name in ("api_url", "token_url", "client_id")
            if not self[name]
        ]
        if not self.sudo().client_secret_encrypted:
            missing.append(self._fields["client_secret"]._description_string(self.env))
        if missing:
            raise UserError(
                self.env._(
                    "The Basware backend %(backend)s is incomplete: set %(fields)s.",
                    backend=self.display_name,
                    fields=", ".join(missing),
                )
            )

    def _get_pause_reason(self):
        """Why this backend must not connect now, for a cause an administrator fixes, or False.

        Called once per backend per cron run: no network, a few decryptions at most.
        The message never quotes key material or secrets.
        """
        self.ensure_one()
        if not self.active:
            return self.env._(
                "The Basware backend %(backend)s is archived: it does not connect to Basware. "
                "Unarchive it to run its exchanges again.",
                backend=self.display_name,
            )
        return self._key_pause_reason() or self._neutralized_pause_reason()

    def _key_pause_reason(self):
        stored = self.sudo()
        try:
            basware_crypto.check_keys()
            for column in SECRET_COLUMNS.values():
                if stored[column]:
                    basware_crypto.decrypt(stored[column])
        except basware_crypto.EncryptionKeyError as error:
            return self._key_problem_message(error)
        return False

    def _neutralized_pause_reason(self):
        """A neutralized copy never calls production: judged by host, then by label."""
        if not self._is_neutralized():
            return False
        for field_name in URL_FIELDS:
            host = production_host(self[field_name])
            if host:
                return self.env._(
                    "This database is a neutralized copy: it does not connect to the production "
                    "Basware host %(host)s. Point the API and token URLs of the backend "
                    "%(backend)s at a test host.",
                    host=host,
                    backend=self.display_name,
                )
        if self.environment == constants.ENVIRONMENT_PRODUCTION:
            return self.env._(
                "This database is a neutralized copy: it does not connect to a production "
                "Basware tenant. Switch the backend %(backend)s to a test environment.",
                backend=self.display_name,
            )
        return False

    def _is_neutralized(self):
        value = self.env["ir.config_parameter"].sudo().get_param(NEUTRALIZED_PARAM)
        return str2bool(value or "0", default=False)

    # === ACTION METHODS === #

    def action_test_connection(self):
        """Get a token and make one cheap read call; tell the user what went wrong.

        The outcome and its time stay on the backend. A backend that may not connect
        (incomplete, archived, paused) is refused with an error instead of a test.
        """
        self.ensure_one()
        self.check_access("write")
        try:
            with self._get_client(max_attempts=TEST_CONNECTION_ATTEMPTS) as client:
                result = client.test_connection() or {}
        except errors.BaswareError as error:
            message = self.env._(
                "%(reason)s (client ID %(client_id)s)",
                reason=self._connection_error_message(error),
                client_id=self.client_id,
            )
            # A worker renewing the token holds the backend row: nothing was tested.
            if not isinstance(error, TokenLockTimeout):
                self._record_connection_test(False, message)
            return self._connection_test_notification(
                self.env._("Connection test failed"), message, "danger"
            )
        tenant = result.get("tenant") or (result.get("claims") or {}).get(constants.CLAIM_TENANT)
        if tenant:
            message = self.env._("Connected to Basware tenant %(tenant)s.", tenant=tenant)
        else:
            message = self.env._("Connected to Basware.")
        self._record_connection_test(True, message)
        return self._connection_test_notification(
            self.env._("Connection test succeeded"), message, "success"
        )

    def _record_connection_test(self, succeeded, message):
        self.sudo().write(
            {
                "last_connection_test_date": fields.Datetime.now(),
                "last_connection_test_ok": succeeded,
                "last_connection_test_message": message,
            }
        )

    @staticmethod
    def _connection_test_notification(title, message, kind):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": kind,
                "sticky": kind != "success",
                # Show the stored outcome on the form behind the notification.
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _connection_error_message(self, error):
        """A human explanation of a failed connection test, by error class."""
        env = self.env
        if isinstance(error, TokenLockTimeout):
            return env._(
                "Another worker is renewing the Basware access token; try again in a moment."
            )
        if isinstance(error, errors.BaswareEnvironmentMismatch):
            return env._(
                "Basware issued the token for another region or environment than the API URL "
                "%(url)s. Check the Region and Environment of the backend and its URLs.",
                url=self.api_url,
            )
        if isinstance(error, errors.BaswareScopeError):
            return env._(
                "Basware accepted the credentials but refused the requested scopes. Ask "
                "Basware to grant the API account these scopes, or remove the missing ones: "
                "%(scope)s",
                scope=self.scope,
            )
        if isinstance(error, errors.BaswareAuthError):
            return env._(
                "Basware rejected the credentials: check the client ID %(client_id)s and "
                "enter the client secret again. Credentials only work in the region and "
                "environment they were issued for.",
                client_id=self.client_id,
            )
        if isinstance(error, errors.BaswareTLSError):
            return env._(
                "The secure connection to %(url)s failed (TLS certificate or protocol "
                "error). Check the API URL and the server's certificate authorities.",
                url=self.token_url,
            )
        if isinstance(error, errors.BaswareConnectionError):
            return env._(
                "Could not reach %(url)s: the host is unknown, refused the connection or did "
                "not answer in time. Check the URLs and the network access of the Odoo server.",
                url=self.token_url,
            )
        if isinstance(error, errors.BaswareConfigError):
            return env._("The Basware backend is not configured completely.")
        return env._(
            "Basware answered with an error (HTTP status %(status)s, request %(request_id)s).",
            status=error.status or "-",
            request_id=error.amzn_request_id or error.request_id or "-",
        )

    def action_reencrypt_secrets(self):
        """After a key rotation: rewrite the secrets of these backends under the first key."""
        if not self.env.is_system():
            raise AccessError(
                self.env._("Only an administrator can re-encrypt the Basware secrets.")
            )
        self._reencrypt_secrets()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Secrets re-encrypted"),
                "message": self.env._(
                    "The stored secrets now use the first configured encryption key."
                ),
                "type": "success",
                "sticky": False,
            },
        }

    def action_view_exchanges(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "basware_connector.basware_exchange_action"
        )
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {"default_backend_id": self.id}
        return action

"""Connection settings of one Basware tenant for one Odoo company: the model, its settings,
URLs, constraints and CRUD. Secrets and token cache: basware_backend_credentials.py; the
client and the reasons it pauses: basware_backend_connection.py."""

from datetime import timedelta
from urllib.parse import urlsplit

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..basware import constants, urls
from ..basware.signature import DEFAULT_SIGNATURE_HEADER

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
    _exchange_retry_bounded = models.Constraint(
        f"CHECK(exchange_retry_max <= {MAX_RETRY_DELAY})",
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
        """A backend lives in a company its user works in: record rules check a write against the
        values before it, so a manager could otherwise move it into a company they cannot access."""
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

    # === BUSINESS METHODS === #

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

    def action_view_exchanges(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "basware_connector.basware_exchange_action"
        )
        action["domain"] = [("backend_id", "=", self.id)]
        action["context"] = {"default_backend_id": self.id}
        return action

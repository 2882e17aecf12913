"""How a Basware backend connects: the client it hands out, the reasons it pauses, and the
connection test. :meth:`_get_client` gives the exchange queue and the webhook a configured
client, or raises :class:`BackendPaused` while an administrator must fix something first."""

from urllib.parse import urlsplit

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import str2bool

from ..basware import BaswareClient, ClientConfig, constants, errors
from . import basware_crypto, common
from .basware_backend import URL_FIELDS, BackendPaused
from .basware_backend_credentials import SECRET_COLUMNS, TokenLockTimeout

# A connection test must answer quickly: no transport retries.
TEST_CONNECTION_ATTEMPTS = 1
NEUTRALIZED_PARAM = "database.is_neutralized"


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


class BaswareBackend(models.Model):
    _inherit = "basware.backend"

    last_connection_test_date = fields.Datetime(readonly=True, copy=False)
    last_connection_test_ok = fields.Boolean(readonly=True, copy=False)
    last_connection_test_message = fields.Char(readonly=True, copy=False)
    # Computed on every read, never stored: it goes away as soon as the cause is fixed.
    pause_reason = fields.Text(
        compute="_compute_pause_reason",
        help="Why the backend cannot connect now; its exchanges wait until this is fixed.",
    )

    # === COMPUTE METHODS === #

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

    # === BUSINESS METHODS === #

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
        """A :class:`BaswareClient` sharing this backend's token cache; raises BackendPaused (see
        :meth:`_get_pause_reason`), or UserError when the backend is incomplete."""
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
        Runs once per backend per cron run: no network, a few decryptions at most; the message
        never quotes key material or secrets."""
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
        """Get a token and make one cheap read call; the outcome and its time stay on the backend.
        A backend that may not connect (incomplete, archived, paused) gets an error, not a test."""
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
        # Reload to show the stored outcome on the form behind the notification.
        return common.notification(title, message, kind, next_action=common.SOFT_RELOAD)

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

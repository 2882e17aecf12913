"""The secrets of a Basware backend and its cached OAuth token, encrypted at rest (key: see
basware_crypto); the plain secret fields are write-only. The token store runs in cursors of
its own so every worker shares one token."""

import json
import logging
from contextlib import contextmanager

import psycopg2.errors

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..basware import errors
from . import basware_crypto, common
from .basware_backend import BackendPaused

_logger = logging.getLogger(__name__)

# How long a worker waits for another one renewing the access token.
TOKEN_LOCK_TIMEOUT_MS = 10000
# Locks of the token row tried while other workers keep renewing it.
TOKEN_LOCK_ATTEMPTS = 3
# The write-only field of each secret and the column holding its ciphertext.
SECRET_COLUMNS = {
    "client_secret": "client_secret_encrypted",
    "webhook_secret": "webhook_secret_encrypted",
}


class TokenLockTimeout(errors.BaswareError):
    """Another worker held the token refresh lock too long: try again later."""

    retryable = True


class BackendTokenStore:
    """The basware ``TokenStore`` protocol on a backend row, encrypted at rest. Reads and writes
    commit in cursors of their own: a new token is neither rolled back with the caller nor hidden
    by its snapshot. A refresh holds a row lock, so workers wait for one token, not one each."""

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
        """Lock the backend's row, waiting (up to the lock timeout) for a worker renewing the token.
        If it saved one meanwhile, the waiting snapshot cannot lock the new row version: retry in a
        fresh one, where the new token is visible."""
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
    _inherit = "basware.backend"

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

    # === COMPUTE METHODS === #

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
        _ = self.env._
        if isinstance(error, basware_crypto.MissingKeyError):
            return _(
                "Basware secrets are encrypted, but no encryption key is configured. Make a key "
                "with cryptography's Fernet.generate_key() and set it as basware_encryption_key "
                "in the Odoo configuration file or as the BASWARE_ENCRYPTION_KEY environment "
                "variable (then restart Odoo), or write it in the key file %(path)s, readable "
                "only by the Odoo server's user.",
                path=basware_crypto.key_file_path(),
            )
        if isinstance(error, basware_crypto.KeyFileError):
            if error.reason == basware_crypto.KEY_FILE_OPEN_TO_OTHERS:
                return _(
                    "The encryption key file %(path)s is not used: every user of the server "
                    "can read it. Restrict it to the Odoo server's user (chmod 600) or group "
                    "(chmod 640).",
                    path=error.path,
                )
            return _(
                "The encryption key file %(path)s cannot be read: make it a file the Odoo "
                "server's user can read.",
                path=error.path,
            )
        if isinstance(error, basware_crypto.MalformedKeyError):
            sources = {
                basware_crypto.SOURCE_OPTION: _(
                    "The basware_encryption_key of the Odoo configuration"
                ),
                basware_crypto.SOURCE_ENV_VAR: _("The BASWARE_ENCRYPTION_KEY environment variable"),
                basware_crypto.SOURCE_FILE: _(
                    "The key file %(path)s", path=basware_crypto.key_file_path()
                ),
            }
            return _(
                "%(origin)s is not a valid key: it must be 32 url-safe base64-encoded bytes, "
                "as made by cryptography's Fernet.generate_key().",
                origin=sources.get(error.source) or sources[basware_crypto.SOURCE_OPTION],
            )
        return _(
            "The encryption key cannot decrypt the stored secrets: the key was changed since "
            "they were saved. Put the previous key back (old keys can follow the new one, "
            "comma-separated) or enter the client secret and webhook secret again."
        )

    def _reencrypt_secrets(self):
        """Rewrite the stored secrets under the first configured key and drop the cached token;
        all or nothing: a secret no configured key decrypts stops the whole run."""
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
        """After a key rotation, re-encrypt every backend's secrets (archived ones too); return the
        count. From ``odoo-bin shell``: ``env["basware.backend"]._reencrypt_all_secrets()`` then
        ``env.cr.commit()``."""
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

    # === ACTION METHODS === #

    def action_reencrypt_secrets(self):
        """After a key rotation: rewrite the secrets of these backends under the first key."""
        if not self.env.is_system():
            raise AccessError(
                self.env._("Only an administrator can re-encrypt the Basware secrets.")
            )
        self._reencrypt_secrets()
        return common.notification(
            self.env._("Secrets re-encrypted"),
            self.env._("The stored secrets now use the first configured encryption key."),
        )

"""Scheduled jobs run backend by backend: a backend that fails never stops the others.
A failing share (an outbound flow, the exchange queue, the invoice import) is rolled back,
its error kept on the backend (form, dashboard, chatter once) and logged; the next share of
the same job that completes clears it."""

import logging

from odoo import fields, models
from odoo.exceptions import UserError

from . import basware_exchange as queue

_logger = logging.getLogger(__name__)


def error_text(error):
    """What a user reads of an error: a UserError's message, else its class and text."""
    if isinstance(error, UserError):
        return str(error)
    return f"{type(error).__name__}: {error}"


class BaswareBackend(models.Model):
    _inherit = "basware.backend"

    job_error = fields.Text(
        "Scheduled Job Error",
        readonly=True,
        copy=False,
        help="Why a scheduled job (a flow, the exchange queue, the invoice import) failed on "
        "this backend; empty once that job runs again without error.",
    )
    job_error_date = fields.Datetime("Scheduled Job Error Date", readonly=True, copy=False)
    # Which job job_error comes from: only that job clears it.
    job_error_key = fields.Char(readonly=True, copy=False)

    def _basware_isolated(self, job, label, work, default=None, on_error=None):
        """Run ``work()``, this backend's share of the scheduled ``job``, and return its result; on
        failure, roll back, record the error (``label`` names the job), hand it to ``on_error`` and
        return ``default``, so the job goes on with the next backend."""
        self.ensure_one()
        try:
            result = self._basware_run_rolled_back_on_error(work)
        except Exception as error:  # noqa: BLE001 - one backend must not stop the others
            message = self.env._("%(job)s: %(error)s", job=label, error=error_text(error))
            log = _logger.warning if isinstance(error, UserError) else _logger.exception
            log("Basware backend %s: %s", self.id, message)
            if on_error:
                on_error(message)
            self._basware_record_job_error(job, message)
            return default
        self._basware_clear_job_error(job)
        return result

    def _basware_run_rolled_back_on_error(self, work):
        """``work()``, its uncommitted changes rolled back if it raises. Outside tests a commit
        first bounds the rollback, and what the work committed (per exchange) stays; in tests
        nothing commits, so a savepoint does the rollback."""
        if queue.in_test_mode():
            with self.env.cr.savepoint():
                return work()
        self.env["basware.exchange"]._commit_batch(0)
        try:
            return work()
        except Exception:
            self.env.cr.rollback()
            raise

    def _basware_record_job_error(self, job, message):
        backend = self.sudo()
        if message != backend.job_error:
            backend._message_log(body=message)
        backend.write(
            {
                "job_error": message,
                "job_error_date": fields.Datetime.now(),
                "job_error_key": job,
            }
        )
        # Committed at once: the backend's row must not stay locked while the job goes on
        # (its token is renewed under that row's lock).
        self.env["basware.exchange"]._commit_batch(0)

    def _basware_clear_job_error(self, job):
        backend = self.sudo()
        if backend.job_error_key != job:
            return
        backend.write({"job_error": False, "job_error_date": False, "job_error_key": False})
        self.env["basware.exchange"]._commit_batch(0)

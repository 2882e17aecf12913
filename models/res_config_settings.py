from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .basware_exchange import DEFAULT_RETENTION_DAYS, RETENTION_PARAM

# Ten years covers the longest bookkeeping retention; more would overflow the purge's dates.
MAX_RETENTION_DAYS = 3650


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    basware_exchange_retention_days = fields.Integer(
        "Basware Log Retention (days)",
        config_parameter=RETENTION_PARAM,
        default=DEFAULT_RETENTION_DAYS,
        help="Done exchanges older than this are deleted every day; failed and dead ones stay.",
    )

    @api.constrains("basware_exchange_retention_days")
    def _check_basware_exchange_retention_days(self):
        for settings in self:
            if not 1 <= settings.basware_exchange_retention_days <= MAX_RETENTION_DAYS:
                raise ValidationError(
                    self.env._(
                        "Basware exchanges are kept between 1 and %(max_days)s days.",
                        max_days=MAX_RETENTION_DAYS,
                    )
                )

from odoo import fields, models

from .basware_exchange import DEFAULT_RETENTION_DAYS, RETENTION_PARAM


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    basware_exchange_retention_days = fields.Integer(
        "Basware Log Retention (days)",
        config_parameter=RETENTION_PARAM,
        default=DEFAULT_RETENTION_DAYS,
        help="Done exchanges older than this are deleted every day; failed and dead ones stay.",
    )

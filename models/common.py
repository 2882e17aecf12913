"""What every model file of the addon shares: the manager check, the notification
action, and the selection values of Odoo's own models that the addon compares with."""

from odoo.exceptions import AccessError

MANAGER_GROUP = "basware_connector.group_basware_manager"

# Odoo's account.move and account.tax selection values.
MOVE_IN_INVOICE = "in_invoice"
MOVE_IN_REFUND = "in_refund"
MOVE_POSTED = "posted"
TAX_USE_PURCHASE = "purchase"
# A full analytic distribution, in Odoo's percent.
FULL_SHARE = 100.0

SOFT_RELOAD = {"type": "ir.actions.client", "tag": "soft_reload"}
CLOSE_WINDOW = {"type": "ir.actions.act_window_close"}


def check_manager(env, message):
    """Raise ``message`` as an AccessError unless the user is a Basware manager."""
    if not env.user.has_group(MANAGER_GROUP):
        raise AccessError(message)


def notification(title, message, kind="success", sticky=None, next_action=None):
    """Odoo's toast action; a warning or danger stays until closed unless told otherwise."""
    params = {
        "title": title,
        "message": message,
        "type": kind,
        "sticky": kind != "success" if sticky is None else sticky,
    }
    if next_action:
        params["next"] = next_action
    return {"type": "ir.actions.client", "tag": "display_notification", "params": params}

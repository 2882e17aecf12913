"""The exchange of a webhook notification, stored by the webhook controller."""

import json

from odoo import models

# What the exchange keeps of the notification it answers.
NOTIFICATION_KEYS = ("taskId", "documentId", "taskSubType")


class BaswareExchange(models.Model):
    _inherit = "basware.exchange"

    def _run_webhook_notification(self, client):
        """A notification asks for a pull: the backend inboxes its waiting invoices, and their
        imports acknowledge them once the inbox is committed.
        """
        notification = json.loads(self.request_payload or "{}")
        exchanges = self.backend_id._basware_pull_documents(client, acknowledge=False)
        announced = {key: notification.get(key) for key in NOTIFICATION_KEYS}
        return {**announced, "pulled": len(exchanges)}

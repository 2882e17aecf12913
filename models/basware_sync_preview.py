"""The dry run of a sync: what would be sent, per entity, with sample payloads."""

import json

from odoo import Command, fields, models

from .basware_binding import ENTITIES


class BaswareSyncPreview(models.TransientModel):
    _name = "basware.sync.preview"
    _description = "Basware Sync Preview"

    backend_id = fields.Many2one("basware.backend", required=True, readonly=True)
    line_ids = fields.One2many("basware.sync.preview.line", "preview_id", readonly=True)
    total_to_send = fields.Integer(readonly=True)

    def _from_results(self, backend, results):
        """The preview of a dry run's SetResults, one line per entity."""
        return self.create(
            {
                "backend_id": backend.id,
                "total_to_send": sum(result.sent for result in results),
                "line_ids": [
                    Command.create(
                        {
                            "entity": result.entity,
                            "examined": result.examined,
                            "to_send": result.sent,
                            "unchanged": result.unchanged,
                            "waiting": result.waiting,
                            "sample_payload": json.dumps(
                                result.payloads, indent=2, ensure_ascii=False
                            )
                            if result.payloads
                            else False,
                        }
                    )
                    for result in results
                ],
            }
        )


class BaswareSyncPreviewLine(models.TransientModel):
    _name = "basware.sync.preview.line"
    _description = "Basware Sync Preview Line"

    preview_id = fields.Many2one("basware.sync.preview", required=True, ondelete="cascade")
    entity = fields.Selection(ENTITIES, readonly=True)
    examined = fields.Integer(readonly=True)
    to_send = fields.Integer(readonly=True)
    unchanged = fields.Integer(readonly=True)
    waiting = fields.Integer(readonly=True, help="Held back until Basware accepts a dependency.")
    sample_payload = fields.Text(readonly=True, help="The first payloads, as they would be sent.")

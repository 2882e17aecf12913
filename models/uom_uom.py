"""The UN/ECE Recommendation 20 code of a unit of measure: the ``uom`` of Basware order lines."""

from odoo import fields, models, tools
from odoo.tools import frozendict

UNIT_CODE_SIZE = 3
UNIT_CODE_ONE = "C62"
UOM_MODULE = "uom"
# The units of measure Odoo 19 creates (uom/data/uom_data.xml), by XML id.
DEFAULT_UNIT_CODES = {
    "product_uom_unit": UNIT_CODE_ONE,
    "product_uom_dozen": "DZN",
    # A pack counts as one package, whatever it holds.
    "product_uom_pack_6": "PK",
    "product_uom_hour": "HUR",
    "product_uom_day": "DAY",
    "product_uom_millimeter": "MMT",
    "product_uom_cm": "CMT",
    "product_uom_meter": "MTR",
    "product_uom_km": "KMT",
    "product_uom_square_meter": "MTK",
    "product_uom_milliliter": "MLT",
    "product_uom_litre": "LTR",
    "product_uom_cubic_meter": "MTQ",
    "product_uom_gram": "GRM",
    "product_uom_kgm": "KGM",
    "product_uom_ton": "TNE",
    "product_uom_oz": "ONZ",
    "product_uom_lb": "LBR",
    "product_uom_inch": "INH",
    "product_uom_foot": "FOT",
    "product_uom_yard": "YRD",
    "product_uom_mile": "SMI",
    "product_uom_square_foot": "FTK",
    "product_uom_floz": "OZA",
    "product_uom_qt": "QTL",
    "product_uom_gal": "GLL",
    "product_uom_cubic_inch": "INQ",
    "product_uom_cubic_foot": "FTQ",
}


class UomUom(models.Model):
    _inherit = "uom.uom"

    basware_unit_code = fields.Char(
        size=UNIT_CODE_SIZE,
        help="UN/ECE Recommendation 20 code of this unit on Basware order lines (C62: one, "
        "KGM: kilogram...). Empty: the code of Odoo's standard unit, else C62.",
    )

    def _basware_unit_code(self):
        """The unit's own code, else the code of its standard XML id, else C62 (one)."""
        self.ensure_one()
        return (
            (self.basware_unit_code or "").strip().upper()
            or self._basware_default_unit_codes().get(self.id)
            or UNIT_CODE_ONE
        )

    @tools.ormcache()
    def _basware_default_unit_codes(self):
        """{uom id: code} of the standard units, cached per registry and cleared with
        ir.model.data's cache, so reinstalled units are seen again.
        """
        rows = (
            self.env["ir.model.data"]
            .sudo()
            .search_fetch(
                [
                    ("module", "=", UOM_MODULE),
                    ("model", "=", self._name),
                    ("name", "in", list(DEFAULT_UNIT_CODES)),
                ],
                ["name", "res_id"],
            )
        )
        return frozendict({row.res_id: DEFAULT_UNIT_CODES[row.name] for row in rows})

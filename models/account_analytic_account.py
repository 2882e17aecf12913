"""account.analytic.account for Basware: the cost center, generic list item or project of
an analytic account, and its exchange history."""

from odoo import models

from ..mapping.codes import ANALYTIC_PREFIX, CODE_LIMITS, fallback_code
from ..mapping.payload import VALID_FROM, VALID_UNTIL, fit
from .basware_analytic_mapping import TARGET_COST_CENTER, TARGET_LIST, TARGET_PROJECT
from .basware_payload import checked_code, field_label, in_base_lang, translations

PROJECT_NAME_MAX = 100


class AccountAnalyticAccount(models.Model):
    _name = "account.analytic.account"
    _inherit = ("account.analytic.account", "basware.history.mixin")

    def _basware_code(self, backend):
        """costCenterCode, projectCode or list code: the analytic Reference when set."""
        self.ensure_one()
        return (self.code or "").strip() or fallback_code(ANALYTIC_PREFIX, self)

    def _basware_checked_code(self, backend, *basware_fields):
        """The code of a cost center, project or list item, fit for each of
        ``basware_fields``: its own field in Basware's list (a list item's text_1 has no
        limit) and the coding field its plan's codes come back in."""
        code = self._basware_code(backend)
        for basware_field in basware_fields:
            if basware_field in CODE_LIMITS:
                checked_code(
                    self,
                    code,
                    basware_field,
                    self.env._("Analytic account"),
                    field_label(self, "code"),
                )
        return code

    def _basware_dimension_values(self, backend, mapping):
        """This analytic account as an entity of ``mapping``'s Basware list, read only:
        CostCenterEntity, GenericListEntity (ACC_LIST_n) or ProjectEntityV2."""
        self.ensure_one()
        builders = {
            TARGET_COST_CENTER: self._basware_cost_center_values,
            TARGET_LIST: self._basware_list_item_values,
            TARGET_PROJECT: self._basware_project_values,
        }
        code = self._basware_checked_code(backend, mapping._code_key(), mapping.coding_field)
        return builders[mapping.target](backend, code)

    def _basware_cost_center_values(self, backend, code):
        return {
            "externalCode": backend._basware_external_code(self),
            "costCenterCode": code,
            "costCenterNames": translations(self, "name", prefix=code),
            "companies": backend._basware_companies(active=self.active),
        }

    def _basware_list_item_values(self, backend, code):
        """A generic list row: the code in text_1 (what coding rows carry), the name in
        text_2. Lists have one text per column, so the name is the en_US one."""
        return {
            "externalCode": backend._basware_external_code(self),
            "text_1": code,
            "text_2": (in_base_lang(self).name or "").strip() or code,
            "companies": backend._basware_companies(active=self.active),
        }

    def _basware_project_values(self, backend, code):
        """A project valid from VALID_FROM to VALID_UNTIL: analytic accounts have no dates,
        an archived one goes out inactive in its company."""
        return {
            "externalCode": backend._basware_external_code(self),
            "projectCode": code,
            "projectName": fit(in_base_lang(self).name, PROJECT_NAME_MAX) or code,
            "validFrom": VALID_FROM,
            "validUntil": VALID_UNTIL,
            "companies": backend._basware_companies(active=self.active),
        }

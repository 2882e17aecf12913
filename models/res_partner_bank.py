"""res.partner.bank for Basware: a vendor's trusted bank account as a payment means."""

from odoo import models

from ..mapping.payload import compact, fit, is_iban, whole

ACCOUNT_NUMBER_MAX = 50
ACCOUNT_HOLDER_MAX = 200
BIC_MAX = 20
BANK_NAME_MAX = 250
SCHEME_IBAN = "IBAN"
SCHEME_BBAN = "BBAN"
SCHEME_BIC = "BIC"
# UN/CEFACT 4461 code 30: credit transfer, how a vendor is paid on its bank account.
PAYMENT_MEANS_CREDIT_TRANSFER = "30"


class ResPartnerBank(models.Model):
    _inherit = "res.partner.bank"

    def write(self, vals):
        # An account moved to another partner leaves the vendor it paid. (Odoo archives an
        # account it is asked to delete: a write the vendor flow sees.)
        previous = self.partner_id if "partner_id" in vals else self.env["res.partner"]
        result = super().write(vals)
        (previous - self.partner_id)._basware_touch()
        return result

    def _basware_payment_mean(self, backend, default=False):
        """VendorPaymentMeanEntity of this bank account; None without a usable number."""
        self.ensure_one()
        number = whole(self.sanitized_acc_number, ACCOUNT_NUMBER_MAX)
        if not number:
            return None
        identifier = compact(
            {
                "schemeId": SCHEME_IBAN if is_iban(number) else SCHEME_BBAN,
                "id": number,
                "accountHolderName": fit(self.acc_holder_name, ACCOUNT_HOLDER_MAX),
            }
        )
        currency = self.currency_id or backend.company_id.currency_id
        return {
            "paymentMeansCode": PAYMENT_MEANS_CREDIT_TRANSFER,
            "currencyCode": currency.name,
            "default": default,
            "financialAccounts": [
                compact(
                    {
                        "financialInstitution": self._basware_financial_institution(),
                        "financialAccountIdentifiers": [identifier],
                    }
                )
            ],
        }

    def _basware_financial_institution(self):
        """The bank by its BIC, when it has one (Basware's FinancialInstitutionEntity)."""
        bic = whole((self.bank_id.bic or "").replace(" ", "").upper(), BIC_MAX)
        if not bic:
            return None
        return {
            "schemeId": SCHEME_BIC,
            "id": bic,
            "name": fit(self.bank_id.name, BANK_NAME_MAX) or bic,
        }

"""account.payment.term for Basware: the PaymentTermEntity of a payment term, its due date
rule read from its line."""

from odoo import fields, models

from ..mapping.codes import CODE_MAX, PAYMENT_TERM_PREFIX, fallback_code
from ..mapping.payload import INHERIT_TO_UNITS, VALID_FROM, VALID_UNTIL, compact
from .basware_payload import checked_code, field_label, translations

# Basware's calculation methods: 1 computes the date with the term's rules.
CALCULATED = 1
# Month-ends Basware adds after the days: none, end of this month, end of next month.
EOM_NONE = 0
EOM_THIS_MONTH = 1
EOM_NEXT_MONTH = 2
DELAY_AFTER_END_OF_MONTH = "days_after_end_of_month"
DELAY_AFTER_END_OF_NEXT_MONTH = "days_after_end_of_next_month"
DELAY_END_OF_MONTH_ON_THE = "days_end_of_month_on_the"
# Odoo's fallback when the day of the next month is not a number.
DEFAULT_DAY_NEXT_MONTH = 1


class AccountPaymentTerm(models.Model):
    _inherit = "account.payment.term"

    basware_code = fields.Char(
        size=CODE_MAX,
        copy=False,
        help="Payment term code in Basware. Empty: a code made of ODOO-PT- and its id.",
    )

    def _basware_code(self, backend):
        self.ensure_one()
        return (self.basware_code or "").strip() or fallback_code(PAYMENT_TERM_PREFIX, self)

    def _basware_checked_code(self, backend):
        return checked_code(
            self,
            self._basware_code(backend),
            "paymentTermCode",
            self.env._("Payment term"),
            field_label(self, "basware_code"),
        )

    def _basware_payment_term_values(self, backend):
        """PaymentTermEntity of this term on ``backend``, read only. Odoo terms have no validity
        period: they go out valid from VALID_FROM to VALID_UNTIL, and an archived term goes out
        inactive in its company."""
        self.ensure_one()
        code = self._basware_checked_code(backend)
        return compact(
            {
                "externalCode": backend._basware_external_code(self),
                "paymentTermCode": code,
                "paymentTermNames": translations(self, "name", prefix=code),
                "sortOrder": self.sequence if self.sequence >= 0 else None,
                "validFrom": VALID_FROM,
                "validTo": VALID_UNTIL,
                "companies": backend._basware_companies(
                    inherit=INHERIT_TO_UNITS, active=self.active
                ),
                **self._basware_due_date_rule(),
                **self._basware_cash_discount_rule(),
            }
        )

    def _basware_due_date_rule(self):
        """Basware's due date rule of a term paid at once; none for a term in installments,
        which Basware's single due date cannot express (the invoice's due date is used)."""
        if len(self.line_ids) != 1:
            return {}
        days, month_ends, days_after = self.line_ids._basware_due_date_steps()
        if min(days, days_after) < 0:
            return {}
        return {
            "dueDateCalc": CALCULATED,
            "dueDateDays": days,
            "dueDateEom": month_ends,
            "dueDateDays2": days_after,
        }

    def _basware_cash_discount_rule(self):
        """The early payment discount: its percentage within its days of the invoice date."""
        if not self.early_discount:
            return {}
        return {
            "cashDueDateCalc": CALCULATED,
            "cashDueDateDays": max(self.discount_days, 0),
            "cashDueDateEom": EOM_NONE,
            "cashDiscount": max(self.discount_percentage, 0.0),
        }


class AccountPaymentTermLine(models.Model):
    _inherit = "account.payment.term.line"

    def _basware_due_date_steps(self):
        """(days, month-ends, days after the month-end) for Basware, which adds the days to the
        invoice date, moves to a month-end, then adds the rest: the date Odoo's delay type gives."""
        self.ensure_one()
        if self.delay_type == DELAY_AFTER_END_OF_MONTH:
            return 0, EOM_THIS_MONTH, self.nb_days
        if self.delay_type == DELAY_AFTER_END_OF_NEXT_MONTH:
            return 0, EOM_NEXT_MONTH, self.nb_days
        if self.delay_type == DELAY_END_OF_MONTH_ON_THE:
            day = self.days_next_month
            day = int(day) if (day or "").isdigit() else DEFAULT_DAY_NEXT_MONTH
            return self.nb_days, EOM_THIS_MONTH, day
        return self.nb_days, EOM_NONE, 0

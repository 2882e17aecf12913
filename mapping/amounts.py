"""Basware's amounts as bill lines: a unit price that gives each row's net exactly, and
the tax amounts Basware stated, which Odoo's tax lines follow where they differ by rounding.
"""

from .document import to_float

PERCENT = 100.0


def unit_price(amount, quantity, round_price, compare_amounts):
    """(unit price, discount in %) giving exactly ``amount`` for ``quantity``.

    ``round_price(value, up)`` rounds to Odoo's price precision (half-up, or up);
    ``compare_amounts`` is the currency's. When the rounded price changes the line's total,
    the price is rounded up and a discount (unrounded, as in Odoo's own e-invoice imports)
    brings the total back to Basware's amount.
    """
    price = round_price(amount / quantity, up=False)
    if compare_amounts(price * quantity, amount) == 0:
        return price, 0.0
    price = round_price(amount / quantity, up=True)
    return price, (1.0 - amount / (price * quantity)) * PERCENT


def stated_tax_amounts(rows, row_taxes, sign=1):
    """{taxes: [charged, self-assessed]}: Basware's taxSum and taxSum2 summed over the rows
    of the same taxes (``row_taxes``: {row position from 1: taxes}), signed by ``sign``.

    An amount is None where a row of those taxes does not state it: Odoo's amount stands.
    """
    amounts = {}
    for index, row in enumerate(rows, start=1):
        taxes = row_taxes.get(index)
        if not taxes:
            continue
        stated = (
            to_float(row.get("taxSum")),
            to_float(row.get("taxSum2")) if row.get("taxPercent2") is not None else None,
        )
        total = amounts.setdefault(taxes, [0.0, 0.0])
        for position, amount in enumerate(stated):
            if amount is None or total[position] is None:
                total[position] = None
            else:
                total[position] += sign * amount
    return amounts

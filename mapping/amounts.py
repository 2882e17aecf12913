"""Basware's amounts as bill lines: a unit price that gives each row's net exactly, and
the tax amounts Basware stated, which Odoo's tax lines follow where they differ by rounding.
"""

from .document import to_float

PERCENT = 100.0


def unit_price(amount, quantity, round_price, compare_amounts):
    """(unit price, discount %) giving exactly ``amount`` for ``quantity``. When the rounded price
    misses the total it is rounded up, and an unrounded discount (as in Odoo's e-invoice imports)
    brings back Basware's amount."""
    price = round_price(amount / quantity, up=False)
    if compare_amounts(price * quantity, amount) == 0:
        return price, 0.0
    price = round_price(amount / quantity, up=True)
    return price, (1.0 - amount / (price * quantity)) * PERCENT


def stated_tax_amounts(rows, row_taxes, sign=1):
    """{taxes: [charged, self-assessed]}: taxSum and taxSum2 summed per taxes (``row_taxes``: {row
    position from 1: taxes}), signed; None where a row does not state it, so Odoo's amount
    stands."""
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

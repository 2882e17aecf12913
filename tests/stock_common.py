"""Helpers of the tests with stock: the test database has purchase_stock and
stock_account installed (scripts/common.sh, TEST_ADDONS), though the addon does not
depend on them. With them, goods (not services) are received by transfers, not by hand
on the order line."""

CLOSED = ("done", "cancel")


def real_time_product(env, name, valuation_account=None, **values):
    """A storable product valued in real time (perpetual, at invoicing) in env's company.

    Its new category has ``valuation_account`` (default: a new current-asset account) as
    stock valuation account: a vendor bill line of the product is booked on it.
    """
    category = env["product.category"].create(
        {"name": f"Real time: {name}", "property_valuation": "real_time"}
    )
    category.property_stock_valuation_account_id = valuation_account or env[
        "account.account"
    ].create(
        {
            "name": f"Stock Valuation: {name}",
            "code": f"STOCK{category.id}",
            "account_type": "asset_current",
        }
    )
    return env["product.product"].create(
        {
            "name": name,
            "type": "consu",
            "is_storable": True,
            "purchase_ok": True,
            "categ_id": category.id,
            **values,
        }
    )


def receive(order, quantities=None):
    """Receive a confirmed purchase order's goods through its open receipts, as a user
    validating them does; return the receipts validated.

    ``quantities`` maps order lines to the quantity received, in the line's unit; lines
    left out receive nothing. Without it, everything still expected is received. What
    is not received stays expected in a backorder.
    """
    pickings = order.picking_ids.filtered(lambda picking: picking.state not in CLOSED)
    moves = pickings.move_ids.filtered(lambda move: move.state not in CLOSED)
    for line, line_moves in moves.grouped("purchase_line_id").items():
        unit = line.product_uom_id  # a move may count in the product's unit instead
        expected = [
            move.product_uom._compute_quantity(move.product_uom_qty, unit) for move in line_moves
        ]
        left = sum(expected) if quantities is None else quantities.get(line, 0)
        for move, move_expected in zip(line_moves, expected, strict=True):
            quantity = left if move == line_moves[-1] else min(left, move_expected)
            move.quantity = unit._compute_quantity(quantity, move.product_uom)
            move.picked = not unit.is_zero(quantity)
            left -= quantity
    received = pickings.filtered(lambda picking: any(picking.move_ids.mapped("picked")))
    received.with_context(skip_backorder=True).button_validate()
    return received

"""Purchase order lines as Basware matching order lines, with coding rows and goods receipts.

Amounts are net on every line: Basware wants net or gross consistently over an order, and Odoo's
subtotals are net."""

from collections import defaultdict

from odoo import models
from odoo.exceptions import UserError
from odoo.tools import float_compare, float_is_zero, float_round

from ..basware.client import format_datetime
from ..mapping.payload import compact, split_charge
from .basware_payload import RecordRefused
from .common import FULL_SHARE
from .purchase_order import DESCRIPTION_MAX, ORDER_STATE_CANCEL

PRODUCT_TYPE_SERVICE = "service"
CONTROL_ON_RECEIVED = "receive"
RECEIVED_BY_STOCK_MOVES = "stock_moves"
MOVE_DONE = "done"

MATCHING_STANDARD = "Standard"
MATCHING_RETURN = "Return"
MATCHING_SERVICE = "Service"

PRODUCT_TEXT_MAX = 250
RECEIPT_NUMBER_MAX = 100
# Unit prices keep their precision (quantity x netPrice gives netSum), minus float noise.
NET_PRICE_DIGITS = 6
SHARE_DIGITS = 4
QUANTITY_PRECISION = "Product Unit"
FIRST_ROW_INDEX = 1
CODING_SUFFIX = ":coding:{index}"
MANUAL_RECEIPT_SUFFIX = ":received"
MANUAL_RECEIPT_NUMBER = "{order}-R"
STOCK_RECEIPT_SUFFIX = ":{line}"
# The line's tax fields a coding row repeats, and those it splits by the row's share.
CODING_TAX_RATE_FIELDS = ("taxCode", "taxPercent", "taxPercent2")
CODING_TAX_SUM_FIELDS = ("taxSum", "taxSum2")


def analytic_shares(entries):
    """The coding rows [({coding field: code}, percent)] summing to 100 from analytic ``entries`` of
    that shape. Keys linked by plans form one split (what they leave is a row without codes);
    disjoint splits are independent, so their rows are crossed."""
    rows = [({}, FULL_SHARE)]
    for split in _independent_splits(entries):
        rows = [
            ({**codes, **more}, share * more_share / FULL_SHARE)
            for codes, share in rows
            for more, more_share in split
        ]
    return _merged(rows)


def _independent_splits(entries):
    groups = []  # [(coding fields, entries)]
    for codes, percent in entries:
        fields, members = set(codes), [(codes, percent)]
        for group in [group for group in groups if group[0] & fields]:
            groups.remove(group)
            fields |= group[0]
            members = group[1] + members
        groups.append((fields, members))
    return [_completed(members) for _fields, members in groups]


def _completed(split):
    """A split padded to 100 % with a row without codes; an over-allocated one scaled down."""
    total = sum(percent for _codes, percent in split)
    if float_compare(total, FULL_SHARE, precision_digits=SHARE_DIGITS) > 0:
        return [(codes, percent * FULL_SHARE / total) for codes, percent in split]
    return [*split, ({}, FULL_SHARE - total)]


def _merged(rows):
    """Rows with the same codes as one; coded rows first, in a stable order."""
    shares = defaultdict(float)
    for codes, share in rows:
        shares[tuple(sorted(codes.items()))] += share
    return [
        (dict(codes), share)
        for codes, share in sorted(shares.items(), key=lambda item: (not item[0], item[0]))
        if not float_is_zero(share, precision_digits=SHARE_DIGITS)
    ]


def quoted(records):
    """Names of ``records`` for a message: 'A', 'B'."""
    return ", ".join(f"'{name}'" for name in records.mapped("name"))


def allocate(total, shares, rounding):
    """``total`` split by percent ``shares``; the last part takes what rounding left over."""
    parts = [rounding(total * share / FULL_SHARE) for share in shares[:-1]]
    return [*parts, rounding(total - sum(parts))]


class PurchaseOrderLine(models.Model):
    _inherit = "purchase.order.line"

    def unlink(self):
        self._basware_keep_removals()
        return super().unlink()

    def _basware_keep_removals(self):
        """Lines sent to Basware and now deleted (Odoo lets a line go while its order is a
        draft again, or with its order): their bindings keep what tells Basware."""
        bindings = (
            self.env["basware.binding"]
            .sudo()
            .search([("res_model", "=", self._name), ("res_id", "in", self.ids)])
        )
        bindings._keep_removals()

    def _basware_removal_values(self, backend):
        """This line as Basware must hold it once deleted in Odoo (deleted, closed): its last
        payload when it still builds, else the fields Basware requires.
        """
        self.ensure_one()
        try:
            values = self._basware_order_line_values(backend)
        except UserError:
            values = {
                "externalCode": backend._basware_external_code(self),
                "orderExternalCode": backend._basware_external_code(self.order_id),
                "lineNumber": str(self.id),
                "quantity": abs(self.product_qty),
                "matchingMode": self._basware_matching_mode(),
            }
        return {**values, "isDeleted": True, "isClosed": True}

    def _basware_is_sendable(self):
        """Whether this line goes to Basware: not a section, note or down payment, nor a zero
        quantity (Basware refuses it); one sent before stays as it was.
        """
        self.ensure_one()
        return bool(
            not self.display_type
            and not self.is_downpayment
            and self.product_id
            and not self.product_uom_id.is_zero(self.product_qty)
        )

    def _basware_order_line_values(self, backend):
        """This line as a Basware OrderLineEntity. lineNumber is the line's id: a position shifts
        when a line is inserted; sortNumber keeps the display order. A return (negative quantity)
        goes in Return mode with positive amounts."""
        self.ensure_one()
        order = self.order_id
        currency = order.currency_id
        sign = self._basware_sign()
        quantity = sign * self.product_qty
        net_price = self._basware_net_price()
        net_sum = sign * self.price_subtotal
        invoiced_quantity = sign * self.qty_invoiced
        matching_mode = self._basware_matching_mode()
        tax_values = self._basware_tax_values(backend)
        product = self.product_id
        values = {
            "externalCode": backend._basware_external_code(self),
            "orderExternalCode": backend._basware_external_code(order),
            "lineNumber": str(self.id),
            "sortNumber": self.sequence,
            "quantity": quantity,
            "matchingMode": matching_mode,
            "currencyCode": currency.name,
            "netPrice": net_price,
            "netSum": net_sum,
            "uom": self.product_uom_id._basware_unit_code(),
            "invoicedQuantity": invoiced_quantity,
            "invoicedNetSum": currency.round(invoiced_quantity * net_price),
            "isClosed": self._basware_line_is_closed(),
            "isDeleted": order.state == ORDER_STATE_CANCEL,
            **self._basware_receipt_flags(matching_mode),
            **tax_values,
            "orderLineCoding": self._basware_coding_values(backend, quantity, net_sum, tax_values),
            "goodsReceipts": self._basware_goods_receipts(backend, net_price),
        }
        optional = {
            "productCode": (product.default_code or "")[:PRODUCT_TEXT_MAX],
            "productName": (product.with_context(display_default_code=False).display_name or "")[
                :PRODUCT_TEXT_MAX
            ],
            "description": (self.name or "")[:DESCRIPTION_MAX],
            "requestedDeliveryDate": (
                format_datetime(self.date_planned) if self.date_planned else None
            ),
        }
        return {**values, **compact(optional)}

    def _basware_sign(self):
        """-1 for a line that returns goods (negative quantity), else 1."""
        return -1 if self.product_qty < 0 else 1

    def _basware_matching_mode(self):
        if self._basware_sign() < 0:
            return MATCHING_RETURN
        if self.product_id.type == PRODUCT_TYPE_SERVICE:
            return MATCHING_SERVICE
        return MATCHING_STANDARD

    def _basware_receipt_flags(self, matching_mode):
        """Basware matches Service lines on receipts only; goods follow the product's
        control policy: billed on received quantities, the invoice waits for a receipt."""
        if matching_mode == MATCHING_SERVICE:
            return {"isReceiptRequired": True, "isReceiptBasedMatching": True}
        return {
            "isReceiptRequired": self.product_id.purchase_method == CONTROL_ON_RECEIVED,
            "isReceiptBasedMatching": False,
        }

    def _basware_net_price(self):
        """The unit price after discount, tax excluded (also under a price-included tax)."""
        price = self.price_unit_discounted
        taxes = self.tax_ids.flatten_taxes_hierarchy()
        if any(taxes.mapped("price_include")) and not self.product_uom_id.is_zero(self.product_qty):
            base_line = self._prepare_base_line_for_taxes_computation()
            self.env["account.tax"]._add_tax_details_in_base_line(base_line, self.company_id)
            price = base_line["tax_details"]["raw_total_excluded_currency"] / self.product_qty
        return float_round(price, precision_digits=NET_PRICE_DIGITS)

    def _basware_tax_values(self, backend):
        """The line's tax as Basware carries it: taxCode, the charged rate and amount (taxPercent,
        taxSum; netSum + taxSum is the line's total), the self-assessed ones (taxPercent2,
        taxSum2: a reverse charge goes there). Amounts are turned positive with the quantity."""
        tax = self._basware_carried_tax()
        if not tax:
            return {}
        rates = tax._basware_rates(refund=self._basware_sign() < 0)
        if rates.charged < 0:
            raise RecordRefused(
                self.env._(
                    "%(line)s: its tax %(tax)s charges %(rate)s%%; Basware takes no negative"
                    " rate (taxPercent) on an order line.",
                    line=self._basware_label(),
                    tax=quoted(tax),
                    rate=f"{rates.charged:g}",
                )
            )
        charged, self_assessed = self._basware_tax_amounts()
        values = {
            "taxCode": tax._basware_checked_code(backend),
            "taxPercent": rates.charged,
            "taxSum": charged,
        }
        if rates.self_assessed or self_assessed:
            values.update(taxPercent2=rates.self_assessed, taxSum2=self_assessed)
        return values

    def _basware_carried_tax(self):
        """The one tax that charges or self-assesses anything (a group is one; a 0 % tax beside it
        is left out), else the first. RecordRefused when one code and one rate cannot say it:
        several such taxes, or a fixed amount beside a rate."""
        refund = self._basware_sign() < 0
        taxes = self.tax_ids.filtered(
            lambda tax: any(tax._basware_rates(refund=refund)) or tax._basware_fixed_amounts()
        )
        if len(taxes) > 1:
            raise RecordRefused(
                self.env._(
                    "%(line)s: its taxes %(taxes)s each charge or self-assess tax; a Basware"
                    " order line carries one tax (taxCode with taxPercent, and taxPercent2"
                    " for a self-assessed rate). Give the line one tax (a group of percent"
                    " taxes is one tax).",
                    line=self._basware_label(),
                    taxes=quoted(taxes),
                )
            )
        fixed = taxes._basware_fixed_amounts()
        if fixed and any(taxes._basware_rates(refund=refund)):
            raise RecordRefused(
                self.env._(
                    "%(line)s: its tax %(tax)s charges a fixed amount (%(fixed)s) next to a"
                    " rate; a Basware order line carries one rate (taxPercent). Put the"
                    " fixed amount on a line of its own.",
                    line=self._basware_label(),
                    tax=quoted(taxes),
                    fixed=quoted(fixed),
                )
            )
        return taxes or self.tax_ids[:1]

    def _basware_tax_amounts(self):
        """(charged, self-assessed) amounts of the line's taxes, in the order's currency,
        from Odoo's own computation of the line (the one behind its Tax and Total)."""
        AccountTax = self.env["account.tax"]
        company = self.company_id or self.env.company
        base_line = self._prepare_base_line_for_taxes_computation()
        AccountTax._add_tax_details_in_base_line(base_line, company)
        AccountTax._round_base_lines_tax_details([base_line], company)
        sign = self._basware_sign()
        charged, self_assessed = split_charge(
            [sign * data["tax_amount_currency"] for data in base_line["tax_details"]["taxes_data"]]
        )
        currency = self.order_id.currency_id
        return currency.round(charged), currency.round(self_assessed)

    def _basware_label(self):
        """How a message names this line: its order, its description's first line, its id
        (the lineNumber Basware knows it by)."""
        description = (self.name or self.product_id.display_name or "").strip().splitlines()
        return self.env._(
            "Purchase order '%(order)s', line '%(line)s' (id %(id)s)",
            order=self.order_id.name,
            line=description[0] if description else "",
            id=self.id,
        )

    def _basware_line_is_closed(self):
        """Closed with its order, or once fully received and fully billed."""
        if self.order_id._basware_is_closed():
            return True
        sign = self._basware_sign()
        ordered = sign * self.product_qty
        uom = self.product_uom_id
        return (
            uom.compare(sign * self.qty_received, ordered) >= 0
            and uom.compare(sign * self.qty_invoiced, ordered) >= 0
        )

    # Coding rows

    def _basware_expense_account(self, backend):
        """The account a bill of this line is coded to: the product's expense account in
        the backend's company, through the order's fiscal position (as Odoo's bills)."""
        template = self.product_id.product_tmpl_id.with_company(backend.company_id)
        accounts = template.get_product_accounts(fiscal_pos=self.order_id.fiscal_position_id)
        return accounts["expense"]

    def _basware_analytic_entries(self, backend):
        """The analytic distribution's keys as ({coding field: code}, percent), through the mapping
        of each account's plan (or root plan); unmapped plans and deleted accounts are left out.
        """
        distribution = self.analytic_distribution
        if not distribution:
            return []
        mappings = {mapping.plan_id: mapping for mapping in backend.analytic_mapping_ids}
        # Existing accounts only, computed for the whole batch of lines at once.
        accounts = {account.id: account for account in self.distribution_analytic_account_ids}
        entries = []
        for key, percent in distribution.items():
            codes = {}
            for account_id in key.split(","):
                account = accounts.get(int(account_id))
                if not account:
                    continue
                mapping = mappings.get(account.plan_id) or mappings.get(account.root_plan_id)
                if mapping:
                    codes[mapping.coding_field] = account._basware_checked_code(
                        backend, mapping._code_key(), mapping.coding_field
                    )
            if codes:
                entries.append((codes, percent))
        return entries

    def _basware_coding_values(self, backend, quantity, net_sum, tax_values=None):
        """orderLineCoding: a row per analytic split (else one row), each with the line's account
        and tax. Quantities, net totals and tax sums add up to the line's exactly: the last row
        takes the rounding."""
        account = self._basware_expense_account(backend)
        common = compact(
            {"accountCode": account._basware_checked_code(backend) if account else None}
        )
        shares = analytic_shares(self._basware_analytic_entries(backend))
        percents = [share for _codes, share in shares]
        quantities = allocate(quantity, percents, self._basware_round_quantity)
        totals = allocate(net_sum, percents, self.order_id.currency_id.round)
        taxes = self._basware_coding_taxes(tax_values or {}, percents)
        rows = []
        for index, (codes, _share) in enumerate(shares, start=FIRST_ROW_INDEX):
            suffix = CODING_SUFFIX.format(index=index)
            rows.append(
                {
                    "externalCode": backend._basware_external_code(self, suffix=suffix),
                    "rowIndex": index,
                    "allocatedQuantity": quantities[index - FIRST_ROW_INDEX],
                    "netTotal": totals[index - FIRST_ROW_INDEX],
                    **common,
                    **taxes[index - FIRST_ROW_INDEX],
                    **codes,
                }
            )
        return rows

    def _basware_coding_taxes(self, tax_values, percents):
        """The line's tax on each coding row: its code and rates, its sums split by the
        rows' ``percents``."""
        rows = [
            {key: tax_values[key] for key in CODING_TAX_RATE_FIELDS if key in tax_values}
            for _percent in percents
        ]
        for key in CODING_TAX_SUM_FIELDS:
            if key in tax_values:
                parts = allocate(tax_values[key], percents, self.order_id.currency_id.round)
                for row, part in zip(rows, parts, strict=True):
                    row[key] = part
        return rows

    def _basware_round_quantity(self, quantity):
        digits = self.env["decimal.precision"].precision_get(QUANTITY_PRECISION)
        return float_round(quantity, precision_digits=digits)

    # Goods receipts

    def _basware_goods_receipts(self, backend, net_price):
        """goodsReceipts: one per done receipt with stock, else one for the received qty."""
        if "move_ids" in self._fields and self.qty_received_method == RECEIVED_BY_STOCK_MOVES:
            receipts = self._basware_stock_receipts(backend)
        else:
            receipts = self._basware_manual_receipts(backend)
        currency = self.order_id.currency_id
        sign = self._basware_sign()
        for receipt in receipts:
            receipt["quantity"] = self._basware_round_quantity(sign * receipt["quantity"])
            receipt["netSum"] = currency.round(receipt["quantity"] * net_price)
        return receipts

    def _basware_manual_receipts(self, backend):
        """Without stock, the received quantity is one receipt of the whole order line."""
        if self.product_uom_id.is_zero(self.qty_received):
            return []
        order_name = self.order_id.name
        number = MANUAL_RECEIPT_NUMBER.format(order=order_name)[:RECEIPT_NUMBER_MAX]
        return [
            {
                "externalCode": backend._basware_external_code(self, suffix=MANUAL_RECEIPT_SUFFIX),
                "goodsReceiptNumber": number,
                "quantity": self.qty_received,
            }
        ]

    def _basware_stock_receipts(self, backend):
        """One receipt per done transfer, as Odoo counts the received quantity. A return is a
        negative receipt naming the one it reverses; when that is unknown, it reduces the latest
        receipts."""
        received = defaultdict(float)  # transfer → quantity in the line's unit
        returned = defaultdict(float)  # (return transfer, returned transfer) → quantity
        for move in self._get_po_line_moves():
            if move.state != MOVE_DONE:
                continue
            quantity = move.product_uom._compute_quantity(
                move.quantity, self.product_uom_id, rounding_method="HALF-UP"
            )
            kind = self._basware_move_kind(move)
            if kind > 0:
                received[move.picking_id or move] += quantity
            elif kind < 0:
                origin = move.origin_returned_move_id
                returned_document = None
                if origin and origin.purchase_line_id == self:
                    returned_document = origin.picking_id or origin
                returned[move.picking_id or move, returned_document] += quantity
        receipts = {
            document: self._basware_receipt(backend, document, quantity)
            for document, quantity in sorted(
                received.items(), key=lambda item: _document_order(item[0])
            )
        }
        reversals = []
        unmatched = 0.0
        for (document, returned_document), quantity in sorted(
            returned.items(), key=lambda item: _document_order(item[0][0])
        ):
            original = receipts.get(returned_document)
            if not original:
                unmatched += quantity
                continue
            reversal = self._basware_receipt(backend, document, -quantity)
            reversal["referenceGRExternalCode"] = original["externalCode"]
            reversals.append(reversal)
        _reduce_latest(list(receipts.values()), unmatched)
        return [*receipts.values(), *reversals]

    def _basware_move_kind(self, move):
        """1 for a receipt, -1 for a return to the vendor, 0 for a move Odoo does not count
        in the received quantity (mirrors purchase_stock's _prepare_qty_received)."""
        origin = move.origin_returned_move_id
        if move._is_purchase_return():
            return -1 if not origin or move.to_refund else 0
        if origin and origin._is_dropshipped() and not move._is_dropshipped_returned():
            return 0
        if origin and origin._is_purchase_return() and not move.to_refund:
            return 0
        return 1

    def _basware_receipt(self, backend, document, quantity):
        """A GoodsReceiptEntity of one transfer (or one move without a transfer)."""
        is_transfer = document._name == "stock.picking"
        number = document.name if is_transfer else document.reference
        date = document.date_done if is_transfer else document.date
        return compact(
            {
                "externalCode": backend._basware_external_code(
                    document, suffix=STOCK_RECEIPT_SUFFIX.format(line=self.id)
                ),
                "goodsReceiptNumber": (number or self.order_id.name)[:RECEIPT_NUMBER_MAX],
                "quantity": quantity,
                "deliveryDate": format_datetime(date) if date else None,
            }
        )


def _document_order(document):
    """Transfers by date done, then id: the order receipts happened in."""
    date = document.date_done if document._name == "stock.picking" else document.date
    return (date or document.create_date, document._name, document.id)


def _reduce_latest(receipts, quantity):
    """Take ``quantity`` off the latest receipts first, none below zero."""
    for receipt in reversed(receipts):
        if quantity <= 0:
            return
        taken = min(receipt["quantity"], quantity)
        receipt["quantity"] -= taken
        quantity -= taken

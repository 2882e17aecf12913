"""The business codes Basware knows Odoo records by: size limits, and a stable code for a record
without one (read back by the invoice import).

A code is never cut: two records would share the cut code in Basware."""

CODE_MAX = 25
ORDER_NUMBER_MAX = 100
DIMENSION_CODE_MAX = 100
# The longest code Basware takes in each payload field (maxLength in its API).
CODE_LIMITS = {
    "vendorCode": CODE_MAX,
    "supplierCode": CODE_MAX,
    "accountCode": CODE_MAX,
    "taxCode": CODE_MAX,
    "paymentTermCode": CODE_MAX,
    "costCenterCode": CODE_MAX,
    "projectCode": CODE_MAX,
    "companyCode": CODE_MAX,
    "organizationElementCode": CODE_MAX,
    "orderNumber": ORDER_NUMBER_MAX,
    # Generic list codes come back in these coding fields of invoices and order lines.
    **{f"dimCode{n}": DIMENSION_CODE_MAX for n in range(1, 11)},
}
TAX_CODE_PREFIX = "ODOO-TAX-"
PAYMENT_TERM_PREFIX = "ODOO-PT-"
ANALYTIC_PREFIX = "ODOO-AA-"


def fallback_code(prefix, record):
    """The code of a record without one: ``prefix`` and its id, stable for its life."""
    return f"{prefix}{record.id}"

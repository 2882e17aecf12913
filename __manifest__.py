# Copyright 2026 basware_connector authors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Basware Connector",
    "summary": "Sync vendors, purchase orders and GL masters to Basware; "
    "import approved Basware invoices as posted vendor bills",
    "version": "19.0.1.1.1",
    "category": "Accounting/Accounting",
    "website": "https://github.com/basware-connector/basware_connector",
    "author": "basware_connector authors",
    "license": "LGPL-3",
    "development_status": "Alpha",
    "depends": ["base", "mail", "account", "purchase", "analytic", "uom"],
    "external_dependencies": {"python": ["cryptography", "requests"]},
    "data": [
        "security/security.xml",
        "security/ir.model.access.csv",
        "views/basware_exchange_views.xml",
        "views/basware_backend_views.xml",
        "views/res_config_settings_views.xml",
        "views/uom_uom_views.xml",
        "views/basware_dashboard_views.xml",
        "views/basware_mapping_views.xml",
        "views/menus.xml",
        "views/basware_sync_views.xml",
        "views/basware_history_views.xml",
        "views/account_move_views.xml",
        "data/ir_cron.xml",
        "data/ir_cron_sync.xml",
        "data/ir_cron_inbound.xml",
    ],
    "demo": ["demo/basware_demo.xml"],
    "assets": {
        "web.assets_tests": ["basware_connector/static/tests/tours/*.js"],
    },
}

# The backend: one Basware tenant and company, its credentials and its connection.
from . import basware_backend
from . import basware_backend_credentials
from . import basware_backend_connection
from . import res_config_settings

# The exchange queue: every unit of work with Basware, claimed, run, retried, purged.
from . import basware_exchange
from . import basware_exchange_queue
from . import basware_exchange_purge
from . import basware_backend_jobs

# Outbound: master data and purchase orders, each record bound to its Basware code.
from . import basware_binding
from . import basware_sync_flow
from . import basware_exchange_outbound
from . import basware_history_mixin
from . import basware_analytic_mapping
from . import basware_backend_master_data
from . import res_partner
from . import res_partner_bank
from . import account_account
from . import account_tax
from . import account_payment_term
from . import account_analytic_account
from . import uom_uom
from . import purchase_order
from . import purchase_order_line
from . import basware_backend_outbound_changes
from . import basware_backend_outbound
from . import basware_backend_purchase
from . import basware_sync_preview

# Inbound: approved invoices become vendor bills, and Basware hears the outcome.
from . import basware_code_mapping
from . import basware_exchange_unmapped_code
from . import basware_unmapped_code
from . import basware_exchange_import
from . import basware_exchange_response
from . import basware_backend_invoice_mapping
from . import basware_backend_inbound
from . import account_move

# Webhook: a signed notification asks for a pull.
from . import basware_backend_webhook
from . import basware_exchange_webhook

# Dashboard: one card per backend.
from . import basware_backend_dashboard

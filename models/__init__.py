from . import basware_backend
from . import basware_exchange
from . import res_config_settings
from . import basware_binding
from . import basware_analytic_mapping
from . import basware_backend_sync
from . import basware_codes
from . import uom_uom

from . import basware_backend
from . import basware_exchange
from . import res_config_settings

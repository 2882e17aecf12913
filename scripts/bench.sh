#!/usr/bin/env bash
# `make bench`: run a benchmark of bench/ on a fresh copy of the installed template
# database, with the local sandbox in-process. Prints figures; never part of `make test`.
#   bash scripts/bench.sh export [--vendors N --orders N --lines N]
#   bash scripts/bench.sh webhook [--notifications N --threads N --workers N]
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$ADDON_DIR/scripts/db.sh"

name=${1:-export}
shift || true
[ -f "$ADDON_DIR/bench/$name.py" ] || die "no benchmark bench/$name.py"

bash "$ADDON_DIR/scripts/setup.sh"
ensure_postgres
lock_databases
template="${DB_PREFIX}_tmpl_$(addon_hash)"
bench_db="${DB_PREFIX}_bench"
ensure_installed_db "$template" ""
say "copying $template to $bench_db"
$ODOO_BIN db $(odoo_db_args) duplicate -f "$template" "$bench_db" >/dev/null 2>&1 \
    || die "could not copy $template to $bench_db"
flock -u 9

conf="$BUILD_DIR/odoo-bench.conf"
write_odoo_config "$bench_db" "$conf"
# The addon is imported as odoo.addons.basware_connector, once Odoo knows its addons path.
exec "$VENV/bin/python" - "$conf" "$bench_db" "$name" "$@" <<'PY'
import importlib
import sys

from odoo.tools import config

conf, database, name, *rest = sys.argv[1:]
config.parse_config(["-c", conf, "-d", database, "--log-level=warn"])
bench = importlib.import_module(f"odoo.addons.basware_connector.bench.{name}")
bench.main(["--database", database, *rest])
PY

#!/usr/bin/env bash
# `make pot`: regenerate i18n/basware_connector.pot from a database with the addon installed.
# Odoo's exporter scans every Python file below the module folder, so it reads a copy of
# the tracked files rather than the checkout (which also holds .venv and .build).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$ADDON_DIR/scripts/db.sh"
bash "$ADDON_DIR/scripts/setup.sh"
ensure_postgres
# Hold the lock until the export ends: a test run cannot copy a template in use.
lock_databases
db="${DB_PREFIX}_tmpl_$(addon_hash)"
ensure_installed_db "$db" ""

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/$ADDON_NAME"
(cd "$ADDON_DIR" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$scratch/$ADDON_NAME")
cat >"$scratch/odoo.conf" <<CONF
[options]
addons_path = $ODOO_SRC/odoo/addons,$ODOO_SRC/addons,$scratch
data_dir = $BUILD_DIR/data
log_level = warn
CONF
$ODOO_BIN i18n export -c "$scratch/odoo.conf" -d "$db" -o "$scratch/$ADDON_NAME.pot" "$ADDON_NAME"
mkdir -p "$ADDON_DIR/i18n"
cp "$scratch/$ADDON_NAME.pot" "$ADDON_DIR/i18n/$ADDON_NAME.pot"
say "wrote i18n/$ADDON_NAME.pot"

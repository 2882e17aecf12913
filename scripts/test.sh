#!/usr/bin/env bash
# The README's test command (`make test`): set up, build or reuse a template
# database with the addon installed, copy it, and run the whole suite with
# pytest-odoo against real Odoo and PostgreSQL. Exits non-zero on any failure.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$ADDON_DIR/scripts/db.sh"

bash "$ADDON_DIR/scripts/setup.sh"
ensure_postgres

mkdir -p "$BUILD_DIR"
exec 9>"$BUILD_DIR/databases.lock"
flock 9  # one template build or copy at a time
hash=$(addon_hash)
template="bw_tmpl_$hash"
test_db=${TEST_DB:-bw_test}
ensure_installed_db "$template" ""
ensure_installed_db "bw_demo_tmpl_$hash" "--with-demo"
drop_stale_databases "$hash"

say "copying $template to $test_db"
$ODOO_BIN db $(odoo_db_args) duplicate -f "$template" "$test_db" >/dev/null 2>&1 \
    || die "could not copy $template to $test_db"
flock -u 9

write_odoo_config "$test_db" "$BUILD_DIR/odoo-test.conf"
say "running the test suite"
cd "$ADDONS_LINK_DIR/$ADDON_NAME"
exec "$VENV/bin/python" -m pytest -p no:cacheprovider --rootdir="$ADDONS_LINK_DIR" \
    --odoo-config="$BUILD_DIR/odoo-test.conf" --odoo-database="$test_db" --odoo-http \
    --odoo-log-level="${ODOO_LOG_LEVEL:-warn}" "$@" "$ADDONS_LINK_DIR/$ADDON_NAME/tests"

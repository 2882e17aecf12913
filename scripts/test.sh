#!/usr/bin/env bash
# The README's test command (`make test`): set up, build or reuse a template
# database with the addon and the TEST_ADDONS (common.sh) installed, copy it, and run
# the whole suite with pytest-odoo against real Odoo and PostgreSQL. Exits non-zero on
# any failure.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$ADDON_DIR/scripts/db.sh"

bash "$ADDON_DIR/scripts/setup.sh"
ensure_postgres

lock_databases
hash=$(addon_hash)
template="${DB_PREFIX}_test_tmpl_$hash"
test_db=${TEST_DB:-${DB_PREFIX}_test}
ensure_installed_db "$template" "" "$TEST_ADDONS"
ensure_installed_db "${DB_PREFIX}_demo_tmpl_$hash" "--with-demo"
drop_stale_databases "$hash"

say "copying $template to $test_db"
if ! out=$($ODOO_BIN db $(odoo_db_args) duplicate -f "$template" "$test_db" 2>&1); then
    printf '%s\n' "$out" | tail -30 >&2
    die "could not copy $template to $test_db (odoo-bin db duplicate's output above)"
fi
flock -u 9

# One config per test database: concurrent runs must not share a dbfilter.
conf="$BUILD_DIR/odoo-test-$test_db.conf"
write_odoo_config "$test_db" "$conf"
say "running the test suite"
cd "$ADDONS_LINK_DIR/$ADDON_NAME"
exec "$VENV/bin/python" -m pytest -p no:cacheprovider --rootdir="$ADDONS_LINK_DIR" \
    --odoo-config="$conf" --odoo-database="$test_db" --odoo-http \
    --odoo-log-level="${ODOO_LOG_LEVEL:-warn}" "$@" "$ADDONS_LINK_DIR/$ADDON_NAME/tests"

# Shared settings for the setup, test and demo scripts (sourced, not run).
set -euo pipefail

ADDON_NAME=basware_connector
ADDON_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ODOO_SRC=${ODOO_SRC:-$HOME/.cache/odoo/19.0}
ODOO_GIT_URL=${ODOO_GIT_URL:-https://github.com/odoo/odoo.git}
VENV=${VENV:-$ADDON_DIR/.venv}
BUILD_DIR=${BUILD_DIR:-$ADDON_DIR/.build}
# Odoo loads addons by folder name: a link gives the checkout its technical name
# whatever the clone's folder is called.
ADDONS_LINK_DIR=$BUILD_DIR/addons
export PGHOST=${PGHOST:-127.0.0.1}
export PGPORT=${PGPORT:-5432}
# Odoo refuses to run as the PostgreSQL superuser role "postgres".
export PGUSER=${PGUSER:-odoo}
ODOO_BIN="$VENV/bin/python $ODOO_SRC/odoo-bin"
# Several checkouts may share one PostgreSQL server: every database the scripts
# create carries a short id of this checkout's path so they never clash.
CHECKOUT_ID=$(printf '%s' "$ADDON_DIR" | sha256sum | cut -c1-6)
DB_PREFIX=bw_$CHECKOUT_ID

die() {
    printf 'error: %s\n' "$*" >&2
    exit 2
}

say() {
    printf '==> %s\n' "$*"
}

addons_path() {
    printf '%s,%s,%s' "$ODOO_SRC/odoo/addons" "$ODOO_SRC/addons" "$ADDONS_LINK_DIR"
}

# Hash of the files that decide what an install puts in the database (models, data,
# views, security, and basware/ whose constants feed selections and defaults):
# template databases are keyed on it.
INSTALL_INPUTS=(__manifest__.py __init__.py basware mapping models views security data demo controllers i18n)
# Odoo addons the test database installs besides the addon, which does not depend on
# them and works without them: with them, goods are received by transfers and can be
# valued in real time, and the suite tests that too. They are part of the hash.
TEST_ADDONS=purchase_stock,stock_account

addon_hash() {
    local inputs=() path
    for path in "${INSTALL_INPUTS[@]}"; do [ -e "$ADDON_DIR/$path" ] && inputs+=("$path"); done
    (cd "$ADDON_DIR" && {
        find "${inputs[@]}" -type f \( -name '*.py' -o -name '*.xml' -o -name '*.csv' \
            -o -name '*.sql' -o -name '*.po' -o -name '*.pot' \) -print0 2>/dev/null \
            | LC_ALL=C sort -z | xargs -0 sha256sum
        printf 'test addons: %s\n' "$TEST_ADDONS"
    } | sha256sum | cut -c1-12)
}

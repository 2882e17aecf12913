# PostgreSQL and database helpers for the test and demo scripts (sourced).

ensure_postgres() {
    [ "$PGUSER" = postgres ] && die "Odoo refuses to run as the PostgreSQL role 'postgres': set PGUSER to another role."
    if ! psql -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
        pg_isready -q || die "PostgreSQL does not answer on $PGHOST:$PGPORT. Start it or set PGHOST/PGPORT."
        say "creating PostgreSQL role $PGUSER"
        psql -U "${PGADMIN:-postgres}" -d postgres -qc "CREATE ROLE \"$PGUSER\" LOGIN CREATEDB" >/dev/null 2>&1 \
            || die "PostgreSQL role $PGUSER does not exist and could not be created: create it (LOGIN CREATEDB) or set PGUSER."
    fi
}

odoo_db_args() {
    printf -- '--addons-path=%s' "$(addons_path)"
}

db_exists() {
    [ "$(psql -d postgres -Atqc "select 1 from pg_database where datname = '$1'")" = 1 ]
}

# Install the addon into a new database once; fail if its own files log a warning or an error.
ensure_installed_db() {
    local db=$1 demo=$2 log="$BUILD_DIR/install-$1.log"
    db_exists "$db" && return 0
    say "installing $ADDON_NAME into a new database $db ${demo:+(with demo data)}"
    if ! $ODOO_BIN --addons-path="$(addons_path)" --data-dir="$BUILD_DIR/data" -d "$db" \
        -i "$ADDON_NAME" $demo --stop-after-init --log-level=info --logfile="$log" --http-port=0 --no-http; then
        dropdb --if-exists "$db"
        tail -30 "$log" >&2
        die "installing $ADDON_NAME failed: see $log"
    fi
    if grep -E " (WARNING|ERROR|CRITICAL) " "$log" | grep -i "$ADDON_NAME" >&2; then
        dropdb --if-exists "$db"
        die "installing $ADDON_NAME logged warnings or errors (above; full log in $log)"
    fi
}

# Template databases are keyed on the addon's hash: drop those of older versions.
drop_stale_databases() {
    local keep=$1 db
    for db in $(psql -d postgres -Atqc "select datname from pg_database where datname ~ '^bw_(demo_)?tmpl_' and datname !~ '$keep\$'"); do
        dropdb --if-exists "$db" >/dev/null 2>&1 || true
    done
}

write_odoo_config() {
    local db=$1 path=$2
    cat >"$path" <<CONF
[options]
addons_path = $(addons_path)
data_dir = $BUILD_DIR/data
db_name = $db
dbfilter = ^$db\$
http_interface = 127.0.0.1
CONF
}

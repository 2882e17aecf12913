# PostgreSQL and database helpers for the test, demo and pot scripts (sourced).

ensure_postgres() {
    [ "$PGUSER" = postgres ] && die "Odoo refuses to run as the PostgreSQL role 'postgres': set PGUSER to another role."
    local err
    err=$(psql -d postgres -Atqc 'select 1' 2>&1 >/dev/null) && return 0
    pg_isready -q || die "PostgreSQL does not answer on $PGHOST:$PGPORT. Start it or set PGHOST/PGPORT."
    say "cannot connect as PostgreSQL role $PGUSER; trying to create it"
    create_role || die "$(printf '%s\n' "connecting as $PGUSER failed: $err" \
        "and creating the role failed:" "$ROLE_ERRORS" \
        "Create it as the PostgreSQL superuser, then run this again:" \
        "    sudo -u postgres psql -c 'CREATE ROLE \"$PGUSER\" LOGIN CREATEDB'" \
        "(or set PGADMIN to a superuser role, or PGUSER to a role with LOGIN CREATEDB).")"
    err=$(psql -d postgres -Atqc 'select 1' 2>&1 >/dev/null) \
        || die "$(printf '%s\n' "role $PGUSER exists now, but connecting as it still fails: $err" \
            "Debian's default pg_hba.conf wants a password over TCP: give the role one and export it:" \
            "    sudo -u postgres psql -c \"ALTER ROLE \\\"$PGUSER\\\" PASSWORD 'odoo'\"; export PGPASSWORD=odoo")"
}

# Debian's pg_hba.conf lets only the postgres OS user in as superuser (peer auth on
# the Unix socket), so as root try that first; then a superuser role the usual way.
create_role() {
    local sql="CREATE ROLE \"$PGUSER\" LOGIN CREATEDB" out env_args=(-u PGUSER -u PGHOST)
    ROLE_ERRORS=""
    case "$PGHOST" in /*) env_args=(-u PGUSER) ;; esac  # already a socket folder
    if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 && is_local_pghost; then
        out=$(runuser -u postgres -- env "${env_args[@]}" psql -p "$PGPORT" -d postgres -qc "$sql" 2>&1) \
            && return 0
        ROLE_ERRORS+="  runuser -u postgres -- psql: $out"$'\n'
    fi
    out=$(psql -U "${PGADMIN:-postgres}" -d postgres -qc "$sql" 2>&1) && return 0
    ROLE_ERRORS+="  psql -U ${PGADMIN:-postgres}: $out"
    return 1
}

# The Unix socket reaches the same server only when PGHOST is this machine.
is_local_pghost() {
    case "$PGHOST" in 127.0.0.1 | localhost | ::1 | /*) return 0 ;; *) return 1 ;; esac
}

# `odoo-bin db` needs the data dir too: duplicate copies the template's filestore.
odoo_db_args() {
    printf -- '--addons-path=%s --data-dir=%s' "$(addons_path)" "$BUILD_DIR/data"
}

db_exists() {
    [ "$(psql -d postgres -Atqc "select 1 from pg_database where datname = '$1'")" = 1 ]
}

# Template builds, copies and exports of one checkout run one at a time (a copy
# needs its template free of other connections; a build must not race another).
lock_databases() {
    mkdir -p "$BUILD_DIR"
    exec 9>"$BUILD_DIR/databases.lock"
    flock 9
}

# The filestore goes only once its database is gone (dropdb fails while in use).
drop_db() {
    if db_exists "$1"; then dropdb "$1" || return 1; fi
    rm -rf "$BUILD_DIR/data/filestore/$1"
}

# Install the addon (and the Odoo addons of the comma-separated list $3, if any) into a
# new database once; fail if its own files log a warning or an error. Odoo creates the
# database before installing: build under a temporary name and rename on success, so
# an interrupted build is never mistaken for a finished one.
ensure_installed_db() {
    local db=$1 demo=$2 addons="$ADDON_NAME${3:+,$3}" log="$BUILD_DIR/install-$1.log" tmp="$1_building"
    db_exists "$db" && return 0
    say "installing $addons into a new database $db ${demo:+(with demo data)}"
    drop_db "$tmp"
    : >"$log"  # Odoo appends: keep an interrupted build's lines out of the warning check
    if ! $ODOO_BIN --addons-path="$(addons_path)" --data-dir="$BUILD_DIR/data" -d "$tmp" \
        -i "$addons" $demo --stop-after-init --log-level=info --logfile="$log" --http-port=0 --no-http; then
        drop_db "$tmp" || true
        tail -30 "$log" >&2
        die "installing $addons failed: see $log"
    fi
    if grep -E " (WARNING|ERROR|CRITICAL) " "$log" | grep -i "$ADDON_NAME" >&2; then
        drop_db "$tmp" || true
        die "installing $ADDON_NAME logged warnings or errors (above; full log in $log)"
    fi
    psql -d postgres -qc "ALTER DATABASE \"$tmp\" RENAME TO \"$db\""
    local fs="$BUILD_DIR/data/filestore"
    rm -rf "${fs:?}/$db"
    [ ! -d "$fs/$tmp" ] || mv "$fs/$tmp" "$fs/$db"
}

# Template databases are keyed on the addon's hash: drop this checkout's other ones
# (and leftover builds), the id-less names older versions of these scripts used, and
# the install logs and filestores left by any of them. Runs under lock_databases.
drop_stale_databases() {
    local keep=$1 name names
    local re="^(${DB_PREFIX}_(demo_|test_)?tmpl_[0-9a-f]{12}(_building)?|bw_(demo_)?tmpl_[0-9a-f]{12})\$"
    names=$({
        psql -d postgres -Atqc "select datname from pg_database"
        ls "$BUILD_DIR/data/filestore" 2>/dev/null || true
        cd "$BUILD_DIR" && ls install-*.log 2>/dev/null | sed 's/^install-//; s/\.log$//' || true
    } | sort -u)
    for name in $names; do
        [[ $name =~ $re ]] || continue
        case $name in "${DB_PREFIX}_tmpl_$keep" | "${DB_PREFIX}_demo_tmpl_$keep" | "${DB_PREFIX}_test_tmpl_$keep") continue ;; esac
        drop_db "$name" >/dev/null 2>&1 || continue  # in use by another checkout's run: keep it
        rm -f "$BUILD_DIR/install-$name.log"
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

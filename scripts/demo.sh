#!/usr/bin/env bash
# `make demo`: the whole loop on the embedded Basware sandbox. Starts a demo-owned
# sandbox and Odoo on 127.0.0.1:8069, seeds a small distribution company, exports it
# to Basware, has the sandbox approve invoices and ring Odoo's webhook, and prints what
# came back. Odoo and the sandbox then keep running for a look around; Ctrl-C stops both.
#
# Each run starts afresh: a new copy of the demo database and an empty sandbox state.
# DEMO_KEEP=1 continues with the existing demo database and sandbox state instead, and
# skips the loop.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$ADDON_DIR/scripts/db.sh"

DEMO_DB=${DEMO_DB:-${DB_PREFIX}_demo}
ODOO_PORT=${ODOO_PORT:-8069}
export SANDBOX_PORT=${SANDBOX_PORT:-8900}
export SANDBOX_CLIENT_ID=${SANDBOX_CLIENT_ID:-sandbox}
export SANDBOX_CLIENT_SECRET=${SANDBOX_CLIENT_SECRET:-sandbox}
# The demo's own sandbox state: never the one of `make sandbox` or of the tests.
export SANDBOX_DB=${DEMO_SANDBOX_DB:-$BUILD_DIR/demo-sandbox.sqlite3}
ODOO_URL="http://127.0.0.1:$ODOO_PORT"
SANDBOX_URL="http://127.0.0.1:$SANDBOX_PORT"

bash "$ADDON_DIR/scripts/setup.sh"
ensure_postgres

# Secrets are encrypted with this key; the demo keeps its own under .build/.
key_file="$BUILD_DIR/demo-encryption.key"
if [ -z "${BASWARE_ENCRYPTION_KEY:-}" ]; then
    if [ ! -s "$key_file" ]; then  # generated first, so a failure leaves no empty key behind
        key=$("$VENV/bin/python" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')
        (umask 077 && printf '%s\n' "$key" >"$key_file")
    fi
    BASWARE_ENCRYPTION_KEY=$(cat "$key_file")
fi
export BASWARE_ENCRYPTION_KEY

odoo_args=(--addons-path="$(addons_path)" --data-dir="$BUILD_DIR/data" -d "$DEMO_DB" --db-filter="^$DEMO_DB\$")

run_loop=1
if [ -n "${DEMO_KEEP:-}" ] && db_exists "$DEMO_DB"; then
    say "continuing with the existing demo database $DEMO_DB and its sandbox state (DEMO_KEEP is set)"
    run_loop=""
    if [ "$(cat "$BUILD_DIR/$DEMO_DB.addon-hash" 2>/dev/null)" != "$(addon_hash)" ]; then
        say "updating $ADDON_NAME in $DEMO_DB"
        $ODOO_BIN "${odoo_args[@]}" -u "$ADDON_NAME" --stop-after-init --no-http --log-level=warn \
            || die "could not update $ADDON_NAME in $DEMO_DB (start afresh without DEMO_KEEP)"
    fi
else
    if db_exists "$DEMO_DB"; then
        say "resetting the demo: a fresh $DEMO_DB and an empty sandbox (DEMO_KEEP=1 continues with them instead)"
    else
        say "creating the demo database $DEMO_DB"
    fi
    # The same installed template as the tests: copying it takes seconds.
    lock_databases
    template="${DB_PREFIX}_demo_tmpl_$(addon_hash)"
    ensure_installed_db "$template" "--with-demo"
    drop_db "$DEMO_DB" || die "could not drop $DEMO_DB: is a demo still running? Stop it first."
    $ODOO_BIN db $(odoo_db_args) duplicate "$template" "$DEMO_DB" >/dev/null 2>&1 \
        || die "could not copy $template to $DEMO_DB"
    flock -u 9
    rm -f "$SANDBOX_DB"
fi
addon_hash >"$BUILD_DIR/$DEMO_DB.addon-hash"

pids=()
stop() {
    trap - INT TERM EXIT
    say "stopping Odoo and the sandbox"
    # Children run in sessions of their own: Ctrl-C reaches only this script, and each
    # server gets exactly one signal, so Odoo shuts down gracefully, not "forced".
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    say "stopped"
    exit "${1:-0}"
}
trap 'stop 0' INT TERM
trap 'stop $?' EXIT

mkdir -p "$BUILD_DIR"
(cd "$ADDON_DIR" && exec setsid "$VENV/bin/python" -m sandbox serve >"$BUILD_DIR/demo-sandbox.log" 2>&1) &
pids+=($!)
setsid $ODOO_BIN "${odoo_args[@]}" --http-interface=127.0.0.1 --http-port="$ODOO_PORT" \
    --log-level="${DEMO_LOG_LEVEL:-warn}" --logfile="$BUILD_DIR/demo-odoo.log" &
pids+=($!)

# Go on only with servers that answer; fail fast when either process dies.
wait_for() {
    local url=$1 pid deadline=$((SECONDS + ${DEMO_START_TIMEOUT:-90}))
    while [ "$SECONDS" -lt "$deadline" ]; do
        curl -fsS -m 5 -o /dev/null "$url" 2>/dev/null && return 0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || return 1; done
        sleep 1
    done
    return 1
}
wait_for "$SANDBOX_URL/_sandbox" || { tail -20 "$BUILD_DIR/demo-sandbox.log" >&2; die "the sandbox did not start (log above)"; }
wait_for "$ODOO_URL/web/login" || { tail -20 "$BUILD_DIR/demo-odoo.log" >&2; die "Odoo did not answer $ODOO_URL (log above)"; }
say "Odoo at $ODOO_URL, Basware sandbox at $SANDBOX_URL"

if [ -n "$run_loop" ]; then
    BW_DEMO_SANDBOX_URL=$SANDBOX_URL BW_DEMO_ODOO_URL=$ODOO_URL \
        $ODOO_BIN shell "${odoo_args[@]}" --no-http --log-level=warn <"$ADDON_DIR/scripts/demo_loop.py" \
        || die "the demo loop failed (Odoo's log: $BUILD_DIR/demo-odoo.log)"
fi
cat <<MSG

  Odoo:      $ODOO_URL   (login admin / password admin)
  Dashboard: Invoicing > Configuration > Basware > Dashboard
  Sandbox:   $SANDBOX_URL (client id $SANDBOX_CLIENT_ID; python -m sandbox --help)
  Logs:      $BUILD_DIR/demo-odoo.log, $BUILD_DIR/demo-sandbox.log
  Ctrl-C stops both.

MSG
# Either server stopping on its own ends the demo (the EXIT trap stops the other).
wait -n "${pids[@]}" || true
say "a server stopped unexpectedly (logs in $BUILD_DIR)"
stop 1

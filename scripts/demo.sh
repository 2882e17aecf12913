#!/usr/bin/env bash
# `make demo`: the local Basware sandbox plus Odoo on 127.0.0.1:8069 with the addon,
# demo data and a backend pointed at the sandbox. Ctrl-C stops both.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$ADDON_DIR/scripts/db.sh"

DEMO_DB=${DEMO_DB:-bw_demo}
ODOO_PORT=${ODOO_PORT:-8069}
export SANDBOX_PORT=${SANDBOX_PORT:-8900}
export SANDBOX_CLIENT_ID=${SANDBOX_CLIENT_ID:-sandbox}
export SANDBOX_CLIENT_SECRET=${SANDBOX_CLIENT_SECRET:-sandbox}
export SANDBOX_DB=${SANDBOX_DB:-$BUILD_DIR/sandbox.sqlite3}
DEMO_BACKEND=basware_connector.basware_backend_demo_sandbox

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

# Built under a temporary name and renamed when done: an interrupted first run
# never leaves a half-installed demo database behind. Kept across runs (with what was
# tried in it), the addon in it is updated when its files changed since.
stamp="$BUILD_DIR/$DEMO_DB.addon-hash"
hash=$(addon_hash)
if ! db_exists "$DEMO_DB"; then
    ensure_installed_db "$DEMO_DB" "--with-demo"
elif [ "$(cat "$stamp" 2>/dev/null)" != "$hash" ]; then
    say "updating $ADDON_NAME in $DEMO_DB"
    $ODOO_BIN "${odoo_args[@]}" -u "$ADDON_NAME" --stop-after-init --no-http --log-level=warn \
        || die "could not update $ADDON_NAME in $DEMO_DB (start afresh with: dropdb $DEMO_DB)"
fi
echo "$hash" >"$stamp"

say "pointing the demo backend at the sandbox on port $SANDBOX_PORT"
# Values reach the snippet through the environment, never pasted into Python source.
BW_DEMO_BACKEND=$DEMO_BACKEND BW_DEMO_URL="http://127.0.0.1:$SANDBOX_PORT" \
    $ODOO_BIN shell "${odoo_args[@]}" --no-http --log-level=warn >/dev/null <<'PY' \
    || die "could not configure the demo backend"
import os
url = os.environ["BW_DEMO_URL"]
env.ref(os.environ["BW_DEMO_BACKEND"]).write({
    "active": True, "api_url": url, "token_url": url + "/v1/tokens",
    "client_id": os.environ["SANDBOX_CLIENT_ID"],
    "client_secret": os.environ["SANDBOX_CLIENT_SECRET"],
})
env.cr.commit()
PY

pids=()
stop() {
    local rc=${1:-$?}
    trap - INT TERM EXIT
    say "stopping"
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    exit "$rc"
}
trap 'stop 130' INT
trap 'stop 143' TERM
trap stop EXIT

(cd "$ADDON_DIR" && exec "$VENV/bin/python" -m sandbox serve) &
pids+=($!)
$ODOO_BIN "${odoo_args[@]}" --http-interface=127.0.0.1 --http-port="$ODOO_PORT" --log-level=warn &
pids+=($!)

# Announce only a server that answers; fail fast when either process dies.
wait_for_odoo() {
    local pid deadline=$((SECONDS + ${ODOO_START_TIMEOUT:-60}))
    while [ "$SECONDS" -lt "$deadline" ]; do
        curl -fsS -m 5 -o /dev/null "http://127.0.0.1:$ODOO_PORT/web/login" 2>/dev/null && return 0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || return 1; done
        sleep 1
    done
    return 1
}
if ! wait_for_odoo; then
    printf 'error: %s\n' "Odoo did not answer http://127.0.0.1:$ODOO_PORT/web/login (or the sandbox stopped): see the output above" >&2
    stop 1
fi
cat <<MSG

  Odoo:    http://127.0.0.1:$ODOO_PORT   (login admin / password admin)
  Backend: Invoicing > Configuration > Basware > Backends > "Basware Sandbox" > Test connection
  Sandbox: http://127.0.0.1:$SANDBOX_PORT (client id $SANDBOX_CLIENT_ID)
  Ctrl-C stops both.

MSG
# Either server stopping on its own ends the demo (the EXIT trap stops the other).
wait -n "${pids[@]}" || true
say "a server stopped unexpectedly"
stop 1

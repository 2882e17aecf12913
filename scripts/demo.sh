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
    [ -f "$key_file" ] || "$VENV/bin/python" -c \
        'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' >"$key_file"
    BASWARE_ENCRYPTION_KEY=$(cat "$key_file")
fi
export BASWARE_ENCRYPTION_KEY

odoo_args=(--addons-path="$(addons_path)" --data-dir="$BUILD_DIR/data" -d "$DEMO_DB" --db-filter="^$DEMO_DB\$")

if ! db_exists "$DEMO_DB"; then
    say "creating the demo database $DEMO_DB (first run takes a minute or two)"
    $ODOO_BIN "${odoo_args[@]}" -i "$ADDON_NAME" --with-demo --stop-after-init --no-http \
        --log-level=warn || die "could not create the demo database $DEMO_DB"
fi
say "pointing the demo backend at the sandbox on port $SANDBOX_PORT"
$ODOO_BIN shell "${odoo_args[@]}" --no-http --log-level=warn >/dev/null <<PY || die "could not configure the demo backend"
backend = env.ref("$DEMO_BACKEND")
url = "http://127.0.0.1:$SANDBOX_PORT"
backend.write({"active": True, "api_url": url, "token_url": url + "/v1/tokens",
               "client_id": "$SANDBOX_CLIENT_ID", "client_secret": "$SANDBOX_CLIENT_SECRET"})
env.cr.commit()
PY

pids=()
stop() {
    trap - INT TERM EXIT
    say "stopping"
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

(cd "$ADDON_DIR" && exec "$VENV/bin/python" -m sandbox serve) &
pids+=($!)
$ODOO_BIN "${odoo_args[@]}" --http-interface=127.0.0.1 --http-port="$ODOO_PORT" --log-level=warn &
pids+=($!)

for _ in $(seq 60); do
    curl -fsS -o /dev/null "http://127.0.0.1:$ODOO_PORT/web/login" 2>/dev/null && break
    sleep 1
done
cat <<MSG

  Odoo:    http://127.0.0.1:$ODOO_PORT   (login admin / password admin)
  Backend: Accounting > Configuration > Basware > Backends > "Basware Sandbox" > Test connection
  Sandbox: http://127.0.0.1:$SANDBOX_PORT (client id $SANDBOX_CLIENT_ID)
  Ctrl-C stops both.

MSG
wait -n "${pids[@]}"

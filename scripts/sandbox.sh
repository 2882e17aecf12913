#!/usr/bin/env bash
# `make sandbox`: the local Basware sandbox (see `python -m sandbox --help`).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bash "$ADDON_DIR/scripts/setup.sh"
cd "$ADDON_DIR"
mkdir -p "$BUILD_DIR"
export SANDBOX_DB=${SANDBOX_DB:-$BUILD_DIR/sandbox.sqlite3}
exec "$VENV/bin/python" -m sandbox "$@"

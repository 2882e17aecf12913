#!/usr/bin/env bash
# `make lint`: pre-commit with ruff, ruff-format, pylint-odoo (OCA mandatory checks)
# and the OCA module checks, on every tracked file.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bash "$ADDON_DIR/scripts/setup.sh"
cd "$ADDON_DIR"
exec "$VENV/bin/pre-commit" run --all-files --show-diff-on-failure

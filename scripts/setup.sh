#!/usr/bin/env bash
# Prepare everything `make test` and `make demo` need: system packages, the Odoo
# source tree, a virtualenv with Odoo's and this addon's requirements, and the
# addons folder that exposes this checkout under its technical name.
# Idempotent: a second run with nothing changed does (almost) nothing.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# python3-venv: Debian's python3 has no ensurepip without it; python3-dev: headers
# for requirements built from source; chromium: the headless browser of the tour test.
SYSTEM_PACKAGES=(python3-venv python3-dev libldap2-dev libsasl2-dev libpq-dev postgresql-client
    build-essential git curl chromium)

ensure_system_packages() {
    command -v dpkg-query >/dev/null || return 0
    local missing=()
    for pkg in "${SYSTEM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if sudo -n true 2>/dev/null; then sudo="sudo -n"; else
            die "missing system packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}"
        fi
    fi
    say "installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_odoo_source() {
    [ -f "$ODOO_SRC/odoo-bin" ] && return 0
    if [ -e "$ODOO_SRC" ] && [ -n "$(ls -A "$ODOO_SRC" 2>/dev/null)" ]; then
        die "ODOO_SRC=$ODOO_SRC exists but holds no odoo-bin. Point ODOO_SRC at an Odoo 19.0 source tree."
    fi
    say "Odoo 19.0 source not found in $ODOO_SRC; cloning $ODOO_GIT_URL (branch 19.0, depth 1)"
    mkdir -p "$(dirname "$ODOO_SRC")"
    local out
    if ! out=$(git clone --quiet --depth 1 --branch 19.0 "$ODOO_GIT_URL" "$ODOO_SRC" 2>&1); then
        rm -rf "$ODOO_SRC"
        die "no Odoo 19.0 source: $ODOO_SRC is missing and cloning $ODOO_GIT_URL failed ($(printf '%s' "$out" | tail -1)). Put an Odoo 19.0 checkout (the folder holding odoo-bin) there, or set ODOO_SRC to one."
    fi
}

pick_python() {
    local candidates=("${PYTHON:-}" python3.11 python3.12 python3.10 python3)
    for py in "${candidates[@]}"; do
        [ -n "$py" ] && command -v "$py" >/dev/null || continue
        if "$py" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 12)))' 2>/dev/null; then
            echo "$py"
            return 0
        fi
    done
    die "Python 3.10, 3.11 or 3.12 is required (set PYTHON to its path)."
}

requirements_hash() {
    cat "$ODOO_SRC/requirements.txt" "$ADDON_DIR/requirements.txt" "$ADDON_DIR/test-requirements.txt" \
        "$ADDON_DIR/lint-requirements.txt" "$ADDON_DIR/scripts/build-constraints.txt" | sha256sum | cut -c1-16
}

ensure_venv() {
    local stamp="$VENV/.requirements-$(requirements_hash)"
    # A venv made without ensurepip (python3-venv missing) has python but no pip.
    if [ -x "$VENV/bin/python" ] && [ ! -x "$VENV/bin/pip" ]; then
        [ -f "$VENV/pyvenv.cfg" ] || die "$VENV has bin/python but no bin/pip and is not a virtualenv: set VENV elsewhere."
        say "virtualenv $VENV has no pip (an earlier creation failed): recreating it"
        rm -rf "$VENV"
    fi
    [ -f "$stamp" ] && return 0
    if [ ! -x "$VENV/bin/python" ]; then
        local py
        py=$(pick_python)
        say "creating virtualenv $VENV with $py"
        if ! "$py" -m venv "$VENV"; then
            rm -rf "$VENV"
            die "creating the virtualenv failed (on Debian/Ubuntu: apt-get install python3-venv)."
        fi
    fi
    say "installing Python requirements into $VENV (first run takes a few minutes)"
    mkdir -p "$BUILD_DIR"
    # --build-constraint below needs a recent pip: a failed upgrade must stop here.
    if ! "$VENV/bin/python" -m pip install --quiet --upgrade pip wheel >"$BUILD_DIR/pip.log" 2>&1; then
        tail -30 "$BUILD_DIR/pip.log" >&2
        die "upgrading pip in $VENV failed (full log in $BUILD_DIR/pip.log); the requirements need pip >= 25.3. Check network access to PyPI (or PIP_INDEX_URL) and run this again."
    fi
    if ! "$VENV/bin/python" -m pip install --quiet \
        --build-constraint "$ADDON_DIR/scripts/build-constraints.txt" \
        -r "$ODOO_SRC/requirements.txt" \
        -r "$ADDON_DIR/requirements.txt" \
        -r "$ADDON_DIR/test-requirements.txt" \
        -r "$ADDON_DIR/lint-requirements.txt" >"$BUILD_DIR/pip.log" 2>&1; then
        tail -30 "$BUILD_DIR/pip.log" >&2
        die "installing the Python requirements failed (full log in $BUILD_DIR/pip.log)"
    fi
    # Make `import odoo` work in the venv without copying the source tree.
    local site
    site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$ODOO_SRC" >"$site/odoo-src.pth"
    rm -f "$VENV"/.requirements-*
    touch "$stamp"
}

ensure_addons_link() {
    mkdir -p "$ADDONS_LINK_DIR"
    ln -sfn "$ADDON_DIR" "$ADDONS_LINK_DIR/$ADDON_NAME"
}

ensure_system_packages
ensure_odoo_source
ensure_venv
ensure_addons_link

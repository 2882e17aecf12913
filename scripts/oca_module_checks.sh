#!/usr/bin/env bash
# Run oca-checks-odoo-module on this addon. The checker only looks for manifests
# below the repository's top folder, and here the top folder is the addon itself:
# check a copy of the tracked files placed one level down in a scratch repository.
set -euo pipefail
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/basware_connector"
git ls-files -z | xargs -0 cp --parents -t "$scratch/basware_connector"
git -C "$scratch" init -q
cd "$scratch"
oca-checks-odoo-module "$@" basware_connector/__manifest__.py

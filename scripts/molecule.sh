#!/usr/bin/env bash
# Run one molecule scenario of the collection: scripts/molecule.sh <scenario> [molecule command]
#   scripts/molecule.sh postgres_default            full test (create .. destroy)
#   scripts/molecule.sh postgres_default converge   any other molecule command
# Scenarios live in extensions/molecule/<scenario>/; molecule runs from the collection root
# (it finds galaxy.yml there) with this checkout as sysgenpro.odoo_platform.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
scenario="${1:?usage: scripts/molecule.sh <scenario> [test|converge|verify|destroy|...]}"
command="${2:-test}"
[ -f "${ROOT}/extensions/molecule/${scenario}/molecule.yml" ] \
  || { echo "no scenario extensions/molecule/${scenario}" >&2; exit 2; }
export PATH="${ROOT}/.venv/bin:${PATH}"
export ANSIBLE_CONFIG="${ROOT}/ansible.cfg"
export ANSIBLE_COLLECTIONS_PATH="${ROOT}/.ansible/collections"
export ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-false}"
export MOLECULE_NO_LOG="${MOLECULE_NO_LOG:-true}"
cd "${ROOT}"
exec molecule "${command}" -s "${scenario}"

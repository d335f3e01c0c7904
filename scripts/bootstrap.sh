#!/usr/bin/env bash
# Host prerequisites on a fresh Debian/Ubuntu machine: Python venv support, git, make, tar.
# Installs only what is missing.
set -euo pipefail
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
command -v git >/dev/null 2>&1 || missing+=(git)
command -v curl >/dev/null 2>&1 || missing+=(curl)  # scripts/lab.sh probes the lab registry with it
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
# ansible-test sanity's shellcheck test skips silently without it.
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
# The Kubernetes CRD validators (tools/*/package.json) run on Node.js, installed with npm ci.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "[bootstrap] installing ${missing[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

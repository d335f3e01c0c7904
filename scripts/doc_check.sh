#!/usr/bin/env bash
# Every plugin must document itself: ansible-doc renders each one, and antsibull-docs lints
# the collection's documentation (sidecar YAML for filters, DOCUMENTATION for modules).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
status=0
for type in filter module; do
  dir="plugins/${type}s"
  [ "${type}" = filter ] && dir=plugins/filter
  names="$(ansible-doc -t "${type}" -l sysgenpro.odoo_platform 2>/dev/null | awk '{print $1}')"
  for f in "${dir}"/*.py "${dir}"/*.yml; do
    [ -e "${f}" ] || continue
    base="$(basename "${f%.*}")"
    [ "${type}" = filter ] && [ "${f##*.}" = py ] && continue  # filter docs live in the sidecar YAML
    [ "${base}" = __init__ ] && continue
    fqcn="sysgenpro.odoo_platform.${base}"
    if ! grep -qx "${fqcn}" <<<"${names}"; then
      echo "doc-check: ${fqcn} is not listed by ansible-doc -t ${type} -l" >&2; status=1; continue
    fi
    if ! ansible-doc -t "${type}" "${fqcn}" >/dev/null; then
      echo "doc-check: ansible-doc -t ${type} ${fqcn} failed" >&2; status=1
    fi
  done
done
antsibull-docs lint-collection-docs --plugin-docs . || status=1
[ "${status}" -eq 0 ] && echo "doc-check: every plugin documents itself"
exit "${status}"

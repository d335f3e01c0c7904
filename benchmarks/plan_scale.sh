#!/usr/bin/env bash
# How long playbooks/plan.yml takes for 10, 50 and 200 environments on 10 shared database
# servers (plus one dedicated server per mission-critical environment). Prints one line per
# size; the cost should grow about linearly. Target: 200 environments in under 30 s.
#   make venv && benchmarks/plan_scale.sh [sizes...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="${ROOT}/.venv/bin:${PATH}" ANSIBLE_CONFIG="${ROOT}/ansible.cfg"
WORK="${ROOT}/build/bench"
sizes=("$@")
[ "${#sizes[@]}" -gt 0 ] || sizes=(10 50 200)
printf '%-14s %-10s %s\n' environments seconds per-environment
for n in "${sizes[@]}"; do
  inv="${WORK}/estate-${n}"
  rm -rf "${inv}" && python3 "${ROOT}/benchmarks/generate_estate.py" "${inv}" --environments "${n}" --servers 10
  start=$(date +%s.%N)
  (cd "${WORK}" && ansible-playbook -i "${inv}" "${ROOT}/playbooks/plan.yml" >"${WORK}/plan-${n}.log" 2>&1) \
    || { tail -n 20 "${WORK}/plan-${n}.log"; exit 1; }
  end=$(date +%s.%N)
  python3 -c "import sys; t=float(sys.argv[2])-float(sys.argv[1]); n=int(sys.argv[3]); print(f'{n:<14d} {t:<10.1f} {t/n*1000:.0f} ms')" "${start}" "${end}" "${n}"
done

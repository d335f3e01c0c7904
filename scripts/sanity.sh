#!/usr/bin/env bash
# ansible-test sanity, offline, on every Python this machine has (3.8-3.13 via pyenv or Debian).
# ansible-test needs the collection at .../ansible_collections/sysgenpro/odoo_platform (a real
# path, not a symlink) with its dependency collections beside it, so the files git knows
# about are copied into .cache/ansible-test first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ROOT}/.venv"
WORK="${ROOT}/.cache/ansible-test"
DEST="${WORK}/ansible_collections/sysgenpro/odoo_platform"
SITE="$("${VENV}/bin/python" -c 'import ansible_collections, os; print(os.path.dirname(ansible_collections.__path__[0]))')"

# 1. The collection as git sees it (tracked and new, not ignored), nothing else.
rm -rf "${DEST}"
mkdir -p "${DEST}"
(cd "${ROOT}" && git ls-files -co --exclude-standard -z | tar --null -T - -cf - 2>/dev/null) | tar -C "${DEST}" -xf -
# ansible-test reads the file list from git when the collection is a git work tree.
(cd "${DEST}" && git init -q . && git add -A)

# 2. Dependency collections from the ansible package, linked beside ours.
for ns in community kubernetes; do
  for dir in "${SITE}/ansible_collections/${ns}"/*; do
    name="$(basename "${dir}")"
    mkdir -p "${WORK}/ansible_collections/${ns}"
    ln -sfn "${dir}" "${WORK}/ansible_collections/${ns}/${name}"
  done
done

# 3. Real interpreters first on PATH (pyenv shims do not work inside ansible-test).
PYBIN="${WORK}/pybin"
mkdir -p "${PYBIN}"
for v in 3.8 3.9 3.10 3.11 3.12 3.13; do
  for cand in "/root/.pyenv/versions/${v}".*/bin/"python${v}" "/usr/bin/python${v}" "/usr/local/bin/python${v}"; do
    if [ -x "${cand}" ] && "${cand}" -c 'import venv, ensurepip' >/dev/null 2>&1; then
      ln -sfn "${cand}" "${PYBIN}/python${v}"
      break
    fi
  done
done

# 4. The offline get-pip stand-in under the name ansible-test looks for.
PIP_VER="$(sed -n "s/^ *pip='\([0-9.]*\)',.*/\1/p" \
  "${VENV}"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -n1)"
mkdir -p "${HOME}/.ansible/test/cache"
cp "${ROOT}/scripts/get_pip_offline.py" "${HOME}/.ansible/test/cache/get_pip_${PIP_VER//./_}.py"

cd "${DEST}"
export PATH="${PYBIN}:${VENV}/bin:${PATH}"
echo "[sanity] Python interpreters: $(find "${PYBIN}" -mindepth 1 -printf '%f ')"
exec ansible-test sanity --venv --color no "$@"

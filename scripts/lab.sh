#!/usr/bin/env bash
# The local lab: Docker Engine and the images every test and the demo run on.
#
#   scripts/lab.sh engine   start Docker Engine (install Debian's docker.io first if needed)
#   scripts/lab.sh images   build the lab images that are missing or out of date
#   scripts/lab.sh registry start Debian's docker-registry on 127.0.0.1:5000 (install it first if needed)
#   scripts/lab.sh up       engine + images + registry
#   scripts/lab.sh clean    remove only what the lab created (label org.sysgenpro.lab=true)
#
# Everything here is idempotent: a second call finds what exists and returns quickly.
set -euo pipefail

LAB_LABEL="org.sysgenpro.lab=true"
LAB_PREFIX="${LAB_PREFIX:-sysgenpro-lab}"
BASE_IMAGE="${LAB_PREFIX}/debian:bookworm"
SYSTEMD_IMAGE="${LAB_PREFIX}/debian-systemd:bookworm"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${ROOT}/.cache/lab"
DOCKERD_LOG="/var/log/sysgenpro-lab-dockerd.log"
REGISTRY_ADDR="${REGISTRY_ADDR:-127.0.0.1:5000}"
REGISTRY_LOG="/var/log/sysgenpro-lab-registry.log"

log() { printf '[lab] %s\n' "$*" >&2; }
die() { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
  # One `apt-get update` per lab run at most; Debian's mirror is reachable over HTTP.
  if [ ! -e "${CACHE}/.apt-updated" ]; then
    as_root apt-get update -qq
    mkdir -p "${CACHE}" && touch "${CACHE}/.apt-updated"
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

engine() {
  if docker info >/dev/null 2>&1; then
    log "Docker Engine is running"
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    log "installing Debian's docker.io"
    apt_install docker.io
  fi
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    as_root systemctl start docker || true
  fi
  if ! docker info >/dev/null 2>&1; then
    log "starting dockerd in the background (log: ${DOCKERD_LOG})"
    as_root sh -c "nohup dockerd >>'${DOCKERD_LOG}' 2>&1 &"
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && { log "Docker Engine is ready"; return 0; }
    sleep 0.5
  done
  tail -n 20 "${DOCKERD_LOG}" >&2 || true
  die "Docker Engine did not start; see ${DOCKERD_LOG}"
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# Content hash of a build context: an image is rebuilt only when its context changed.
context_hash() {
  (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16
}

base_image() {
  if image_exists "${BASE_IMAGE}"; then
    log "${BASE_IMAGE} exists"
    return 0
  fi
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  local rootfs="${CACHE}/rootfs-bookworm"
  as_root rm -rf "${rootfs}"
  mkdir -p "${CACHE}"
  log "debootstrap bookworm into ${rootfs} (about a minute)"
  as_root debootstrap --variant=minbase --include=python3,ca-certificates \
    bookworm "${rootfs}" "${DEBIAN_MIRROR}" >"${CACHE}/debootstrap.log" 2>&1 \
    || { tail -n 30 "${CACHE}/debootstrap.log" >&2; die "debootstrap failed"; }
  # Same Debian suites as the host (updates, security) but only Debian's own sources:
  # third-party repositories on the host have keyrings the image does not carry.
  as_root sh -c "cat >'${rootfs}/etc/apt/sources.list'" <<SRC
deb ${DEBIAN_MIRROR} bookworm main
deb ${DEBIAN_MIRROR} bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
  # The host's extra CA certificates, so HTTPS from containers works where the host's does.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    as_root cp /usr/local/share/ca-certificates/*.crt "${rootfs}/usr/local/share/ca-certificates/"
    as_root chroot "${rootfs}" update-ca-certificates >/dev/null 2>&1 || true
  fi
  as_root sh -c "printf 'APT::Install-Recommends \"false\";\n' >'${rootfs}/etc/apt/apt.conf.d/99norecommends'"
  as_root rm -rf "${rootfs}/var/cache/apt/archives/"*.deb "${rootfs}/var/lib/apt/lists/"*
  log "importing ${BASE_IMAGE}"
  as_root tar -C "${rootfs}" -c . | docker import \
    --change "LABEL ${LAB_LABEL}" \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' - "${BASE_IMAGE}" >/dev/null
  as_root rm -rf "${rootfs}"
}

# Build tests/images/<name>/ as ${LAB_PREFIX}/<name>:<tag> on top of the base image.
build_context() {
  local dir="$1" image="$2"
  shift 2
  local hash arg
  hash="$(context_hash "${dir}")"
  # A lab image named in the build arguments is a build input too: rebuild when it changes.
  for arg in "$@"; do
    case "${arg}" in
      *=${LAB_PREFIX}/*) hash="$(printf '%s %s' "${hash}" "$(docker image inspect -f '{{.Id}}' "${arg#*=}")" | sha256sum | cut -c1-16)" ;;
    esac
  done
  if image_exists "${image}" && [ "$(docker image inspect -f '{{ index .Config.Labels "org.sysgenpro.lab.context" }}' "${image}")" = "${hash}" ]; then
    log "${image} is up to date"
    return 0
  fi
  log "building ${image}"
  docker build -q --build-arg "BASE_IMAGE=${BASE_IMAGE}" \
    --label "${LAB_LABEL}" --label "org.sysgenpro.lab.context=${hash}" \
    "$@" -t "${image}" "${dir}" >/dev/null
}

images() {
  base_image
  build_context "${ROOT}/tests/images/debian-systemd" "${SYSTEMD_IMAGE}"
  # Extra images (for example the Odoo stand-in) declare themselves in tests/images/<name>/lab-image:
  # one line "<image name:tag> [extra docker build args]" per image to build from that context.
  local spec context
  # The stand-in first: other test images copy its code.
  local specs=("${ROOT}/tests/images/odoo-standin/lab-image")
  for spec in "${ROOT}"/tests/images/*/lab-image; do
    [ "${spec}" = "${specs[0]}" ] || specs+=("${spec}")
  done
  for spec in "${specs[@]}"; do
    [ -e "${spec}" ] || continue
    context="${spec%/lab-image}"
    while read -r name args <&3; do
      case "${name}" in ''|'#'*) continue ;; esac
      # shellcheck disable=SC2086  # the build args are words on purpose
      build_context "${context}" "${LAB_PREFIX}/${name}" ${args:-}
    done 3<"${spec}"
  done
}

# The estate's registry for derived images (odoo_container_registry). A host process, not a container:
# no image can be pulled here. Loopback only, no TLS: Docker trusts 127.0.0.0/8 as an insecure registry.
registry() {
  if curl -fsS -o /dev/null "http://${REGISTRY_ADDR}/v2/" 2>/dev/null; then
    log "registry is running on ${REGISTRY_ADDR}"
    return 0
  fi
  if ! command -v docker-registry >/dev/null 2>&1; then
    log "installing Debian's docker-registry"
    apt_install docker-registry
  fi
  local config="${CACHE}/registry.yml" storage="/var/lib/docker-registry"
  mkdir -p "${CACHE}"
  as_root mkdir -p "${storage}"
  # Our own config (the package's listens on every interface): loopback, filesystem storage, deletes allowed.
  cat >"${config}" <<CONF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${storage}
  delete:
    enabled: true
http:
  addr: ${REGISTRY_ADDR}
CONF
  # Started by hand, whether or not systemd runs (the package's unit listens on every interface).
  log "starting docker-registry on ${REGISTRY_ADDR} (log: ${REGISTRY_LOG})"
  as_root sh -c "nohup docker-registry serve '${config}' >>'${REGISTRY_LOG}' 2>&1 &"
  for _ in $(seq 1 40); do
    curl -fsS -o /dev/null "http://${REGISTRY_ADDR}/v2/" 2>/dev/null && { log "registry is ready"; return 0; }
    sleep 0.25
  done
  tail -n 20 "${REGISTRY_LOG}" >&2 || true
  die "docker-registry did not start; see ${REGISTRY_LOG}"
}

clean() {
  if ! docker info >/dev/null 2>&1; then
    log "Docker Engine is not running: nothing to clean"
    return 0
  fi
  docker ps -aq --filter "label=${LAB_LABEL}" | xargs -r docker rm -f >/dev/null
  docker network ls -q --filter "label=${LAB_LABEL}" | xargs -r docker network rm >/dev/null
  docker volume ls -q --filter "label=${LAB_LABEL}" | xargs -r docker volume rm >/dev/null
  # Parents go only after their children (the stand-in before the base image): a few rounds.
  local round left
  for round in 1 2 3 4 5; do
    left="$(docker images -q --filter "label=${LAB_LABEL}" | sort -u)"
    [ -n "${left}" ] || break
    xargs -r docker rmi -f <<<"${left}" >/dev/null 2>&1 || true
  done
  left="$(docker images --filter "label=${LAB_LABEL}" --format '{{.Repository}}:{{.Tag}}')"
  [ -z "${left}" ] || die "could not remove lab images (used by images outside the lab?): ${left//$'\n'/ } (after ${round} rounds)"
  log "removed the lab's containers, networks, volumes and images"
}

case "${1:-up}" in
  engine) engine ;;
  images) engine; images ;;
  registry) registry ;;
  up) engine; images; registry ;;
  clean) clean ;;
  *) die "usage: $0 engine|images|registry|up|clean" ;;
esac

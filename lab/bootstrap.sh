# Sourced by lab/hastack-lab and tests/run: installs what the lab and the tests
# need on a fresh Debian 12 machine (idempotent; a no-op once done).
# shellcheck shell=bash
HASTACK_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HASTACK_VENV="${HASTACK_VENV:-$HASTACK_REPO/.venv}"

# Debian packages of every tier the lab runs, plus the lab's own tools.
HASTACK_LAB_PACKAGES=(
  iproute2 util-linux procps psmisc python3 python3-venv python3-dev gcc
  memcached
  mariadb-server mariadb-client mariadb-backup galera-4 galera-arbitrator-4 rsync socat
  rabbitmq-server haproxy keepalived
  debconf-utils keystone python3-keystone
  placement-api python3-placement
  nova-api nova-conductor nova-scheduler python3-nova
  nova-compute nova-compute-ironic
  openstack-dashboard openstack-dashboard-apache apache2 libapache2-mod-wsgi-py3
)

hastack_need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "hastack: run as root (the lab creates namespaces, a bridge and mounts)" >&2
    exit 1
  fi
}

hastack_ensure_packages() {
  local missing=()
  for pkg in "${HASTACK_LAB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "[bootstrap] installing Debian packages: ${missing[*]}"
  # Packages must not start their services on the machine itself: the lab
  # runs them inside its hosts. policy-rc.d exit 101 forbids starts.
  local policy=/usr/sbin/policy-rc.d own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 0755 "$policy" && own_policy=1
  fi
  local rc=0
  apt-get update -q >/dev/null || rc=$?
  [ "$rc" -eq 0 ] && { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${missing[@]}" >/dev/null || rc=$?; }
  if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi
  return "$rc"
}

hastack_ensure_venv() {
  local stamp="$HASTACK_VENV/.requirements.sha"
  local want
  want="$(sha256sum "$HASTACK_REPO/lab/requirements.txt" | cut -d' ' -f1)"
  if [ -x "$HASTACK_VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  echo "[bootstrap] preparing the Python venv ($HASTACK_VENV)"
  # Debian's own Python 3.11, as on the hosts the formula targets.
  local py=/usr/bin/python3
  [ -x "$py" ] || py="$(command -v python3)"
  # An existing venv only gets the changed requirements.
  [ -x "$HASTACK_VENV/bin/python" ] || "$py" -m venv "$HASTACK_VENV"
  local log="$HASTACK_VENV/pip-install.log"
  if ! "$HASTACK_VENV/bin/pip" install -q -r "$HASTACK_REPO/lab/requirements.txt" >"$log" 2>&1; then
    grep -v '^WARNING: Location' "$log" >&2
    echo "hastack: pip install failed (full log: $log)" >&2
    return 1
  fi
  echo "$want" > "$stamp"
}

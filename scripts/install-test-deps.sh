#!/usr/bin/env bash
# Installs the Debian packages the integration tests use, when they are missing.
#
# Idempotent: each package is checked by the command or file it provides, and
# `apt-get update` runs at most once, only when something has to be installed.
# Non-interactive (CI runs with no stdin). Waits for the dpkg lock instead of
# failing when another apt/dpkg run holds it. Needs root to install anything.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

# package name -> shell test that succeeds when it is present
declare -A CHECKS=(
  [prometheus]='command -v prometheus && command -v promtool'
  [prometheus-pushgateway]='command -v prometheus-pushgateway'
  [prometheus-node-exporter]='command -v prometheus-node-exporter'
  [xfsprogs]='command -v mkfs.xfs'
  [fuse3]='command -v fusermount3'
  # Debian's python3-fusepy ships the module as `fusepy` (upstream calls it `fuse`);
  # always the system interpreter: `python3` on PATH may be a pyenv shim.
  [python3-fusepy]="/usr/bin/python3 -c 'import fusepy' || /usr/bin/python3 -c 'import fuse'"
  [util-linux]='command -v unshare && command -v nsenter && command -v losetup && command -v mount'
  [e2fsprogs]='command -v mkfs.ext4'
  [procps]='command -v ps && command -v pkill'
  [coreutils]='command -v df && command -v truncate'
  [curl]='command -v curl'
  # Test certificates (test/support/tls.ts, test/support/hostile-target.ts).
  [openssl]='command -v openssl'
  # The hostpath receiver's native scanner (scripts/build-native.sh); the tests require it.
  [gcc]='command -v cc'
  [libc6-dev]='test -f /usr/include/stdio.h'
  # A real Docker daemon for the Docker receiver's tests (test/support/dockerd.ts), by fixed
  # path: /usr/local/bin/docker may be an unrelated client.
  [docker.io]='test -x /usr/sbin/dockerd && test -x /usr/bin/docker'
  # The test image is a static busybox alone (no registry to pull from).
  [busybox-static]='dpkg -s busybox-static'
  # The image test's local Node base: a minimal Debian root filesystem (test/support/node-base-image.ts).
  [debootstrap]='command -v debootstrap'
)
ORDER=(prometheus prometheus-pushgateway prometheus-node-exporter xfsprogs fuse3 python3-fusepy
  util-linux e2fsprogs procps coreutils curl openssl gcc libc6-dev docker.io busybox-static debootstrap)

missing=()
for pkg in "${ORDER[@]}"; do
  if ! bash -c "${CHECKS[$pkg]}" >/dev/null 2>&1; then
    missing+=("$pkg")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-test-deps: all test packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-deps: missing ${missing[*]} and not root; install them with apt-get" >&2
  exit 1
fi

# Wait (up to 15 min) for another apt/dpkg run to finish rather than failing on the lock.
# apt-get's DPkg::Lock::Timeout covers the dpkg locks; this loop also covers the apt
# lists lock `apt-get update` takes. It reads /proc directly so it needs no tool that
# may itself be among the missing packages.
apt_busy() {
  local c
  for c in /proc/[0-9]*/comm; do
    case "$(cat "$c" 2>/dev/null)" in
      apt | apt-get | dpkg | aptitude | unattended-upgr) return 0 ;;
    esac
  done
  return 1
}
wait_for_locks() {
  local waited=0
  while apt_busy; do
    if [ "$waited" -eq 0 ]; then echo "install-test-deps: waiting for another apt/dpkg run to finish"; fi
    sleep 2
    waited=$((waited + 2))
    if [ "$waited" -ge 900 ]; then
      echo "install-test-deps: gave up waiting for apt/dpkg after ${waited}s" >&2
      return 1
    fi
  done
}
APT=(apt-get -o DPkg::Lock::Timeout=900 -o Dpkg::Use-Pty=0 -y -q)

# The tests start their own Prometheus, exporters and dockerd: keep the packages' init
# scripts from starting system daemons (policy-rc.d exit 101 = "action forbidden"), unless
# the machine already has a policy of its own. Those would take :9090/:9091/:9100, and a
# system containerd's /run/containerd/containerd.sock would be used by every test dockerd.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$POLICY"
  chmod 755 "$POLICY"
  trap 'rm -f "$POLICY"' EXIT
fi

wait_for_locks
echo "install-test-deps: apt-get update (missing: ${missing[*]})"
"${APT[@]}" update
wait_for_locks
"${APT[@]}" install --no-install-recommends "${missing[@]}"

# Verify every check now passes.
failed=()
for pkg in "${missing[@]}"; do
  if ! bash -c "${CHECKS[$pkg]}" >/dev/null 2>&1; then failed+=("$pkg"); fi
done
if [ "${#failed[@]}" -ne 0 ]; then
  echo "install-test-deps: installed but still not usable: ${failed[*]}" >&2
  exit 1
fi
echo "install-test-deps: installed ${missing[*]}"

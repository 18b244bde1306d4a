#!/usr/bin/env bash
# Make sure a container engine is there. On Debian or Ubuntu as root, install podman (with runc,
# which code/container/containers.conf selects, debootstrap for registry-less base images, and
# uidmap + fuse-overlayfs, which rootless podman needs to run containers as a user); elsewhere
# say how to get one. CONTAINER=none skips this: the stages then run in .venv.
set -euo pipefail
[ "${CONTAINER:-software}" = none ] && exit 0
# Another apt-get at work (unattended upgrades, a second terminal): wait for it, do not fail.
apt_get() { apt-get -o DPkg::Lock::Timeout=600 "$@"; }
if [ -n "${CONTAINER_ENGINE:-}" ]; then command -v "$CONTAINER_ENGINE" >/dev/null && exit 0; fi
if command -v podman >/dev/null; then
  missing=()
  command -v runc >/dev/null || missing+=(runc)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v newuidmap >/dev/null || missing+=(uidmap)
  command -v fuse-overlayfs >/dev/null || missing+=(fuse-overlayfs)
  if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing ${missing[*]} for podman (apt-get)"
    apt_get install -y -qq "${missing[@]}" >/dev/null || { apt_get update -qq && apt_get install -y -qq "${missing[@]}" >/dev/null; }
  elif [ "$(id -u)" != 0 ]; then
    # Rootless podman: uidmap maps the container's ids, fuse-overlayfs replaces the vfs storage
    # that cannot run containers as the user.
    rootless=()
    for tool in newuidmap fuse-overlayfs; do command -v $tool >/dev/null || rootless+=($tool); done
    if [ ${#rootless[@]} -gt 0 ]; then
      echo "Rootless podman needs ${rootless[*]}: sudo apt-get install uidmap fuse-overlayfs" >&2
      exit 1
    fi
    grep -q "^$(id -un):" /etc/subuid 2>/dev/null || {
      echo "Rootless podman needs subordinate ids for $(id -un): sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $(id -un)" >&2
      exit 1; }
  fi
  exit 0
fi
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "No container engine found: installing podman, runc, debootstrap, uidmap and fuse-overlayfs (apt-get)"
  apt_get update -qq
  DEBIAN_FRONTEND=noninteractive apt_get install -y -qq podman runc debootstrap uidmap fuse-overlayfs >/dev/null
  podman --version
  exit 0
fi
cat >&2 <<'MSG'
No container engine found. Install one, then run make again:
  Debian/Ubuntu:  sudo apt-get install podman runc uidmap fuse-overlayfs
  Fedora:         sudo dnf install podman
  macOS/Windows:  Podman Desktop or Docker Desktop
Or run every stage in the project's .venv instead of a container: make tutorial CONTAINER=none
MSG
exit 1

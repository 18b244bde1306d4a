#!/usr/bin/env bash
# The browser tests need Debian's chromium (Playwright drives it and downloads no browser).
# Where `make setup` installs podman (Debian or Ubuntu as root), install chromium the same way;
# elsewhere say how, and the browser tests skip (they fail in CI, CI=true).
set -euo pipefail
command -v chromium >/dev/null && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing chromium for the browser tests (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
  exit 0
fi
cat <<'MSG'
The browser tests need Chromium; they are skipped without it. To run them:
  Debian/Ubuntu:  sudo apt-get install chromium
MSG

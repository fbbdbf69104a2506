#!/usr/bin/env bash
# Installs the browser of the web-page tests from Debian's packages: chromium, which
# playwright-core drives at /usr/bin/chromium (no browser is downloaded by npm).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "browser:setup: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) at /usr/bin/chromium"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
    echo "browser:setup needs root (or sudo) to install Debian's chromium" >&2
    exit 1
  fi
fi

install_chromium() {
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq chromium >/dev/null
}
echo "browser:setup: installing chromium"
# the package lists are read again only when they do not know chromium, or are too old
# to fetch it
if ! apt-cache show chromium >/dev/null 2>&1 || ! install_chromium; then
  "${sudo_cmd[@]}" apt-get update -qq
  install_chromium
fi
[ -x /usr/bin/chromium ] || { echo "browser:setup: /usr/bin/chromium is missing after the install" >&2; exit 1; }
echo "browser:setup: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) at /usr/bin/chromium"

#!/usr/bin/env bash
# Installs Debian's chromium when it is missing, for the HTML report test (headless render).
# Idempotent and quiet: prints nothing when chromium is already there, one line when it
# installs it; the apt output goes to a log that is shown only if the install fails.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else
    echo "ensure-chromium: chromium is missing and this user cannot install packages (run as root: apt-get install chromium)" >&2
    exit 1
  fi
else
  SUDO=()
fi

log="$(mktemp -t ensure-chromium.XXXXXX.log)"
trap 'rm -f "$log"' EXIT
echo "ensure-chromium: installing chromium from Debian packages" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq chromium; } >"$log" 2>&1; then
  echo "ensure-chromium: apt-get failed:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
command -v chromium >/dev/null 2>&1 || { echo "ensure-chromium: chromium still not on PATH after install" >&2; exit 1; }

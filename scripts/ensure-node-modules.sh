#!/usr/bin/env bash
# Installs the npm dependencies when node_modules is missing or older than package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.hcb-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  echo "[setup] npm ci" >&2
  # --ignore-scripts: @pulumi/kubernetes' install script would try to download the provider.
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
  touch "$stamp"
fi

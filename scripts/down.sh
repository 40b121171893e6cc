#!/usr/bin/env bash
# `npm run down`: pulumi destroy on the stack `local` (deletes the objects, stops the local
# control plane and removes its data).
set -euo pipefail
cd "$(dirname "$0")/.."

# The same lock as `npm run up` ($HCB_STATE_DIR/up.lock): a down never runs beside an up (or
# another down); it waits, saying for whom, up to HCB_UP_LOCK_WAIT seconds (default 600).
if [ -z "${HCB_UP_LOCKED:-}" ]; then
  lock_dir=${HCB_STATE_DIR:-$PWD/.hcb}
  mkdir -p "$lock_dir" && chmod 700 "$lock_dir"
  if ! flock -n "$lock_dir/up.lock" true; then
    echo "[down] npm run up or down is running ($(cat "$lock_dir/up.lock" 2>/dev/null || echo 'holder unknown')); waiting up to ${HCB_UP_LOCK_WAIT:-600}s" >&2
  fi
  set +e
  HCB_UP_LOCKED=1 flock -o -w "${HCB_UP_LOCK_WAIT:-600}" -E 75 "$lock_dir/up.lock" bash "$0" "$@"
  rc=$?
  [ $rc -eq 75 ] && echo "[down] gave up waiting ($(cat "$lock_dir/up.lock" 2>/dev/null)); run it again when that run has finished" >&2
  exit $rc
fi
echo "pid $$ (npm run down) since $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"${HCB_STATE_DIR:-$PWD/.hcb}/up.lock"
bash scripts/ensure-node-modules.sh
bash tools/build-toolchain.sh >/dev/null
# shellcheck source=env.sh
. scripts/env.sh
# The backup timer first: it must not back up a cluster that is going away.
state_dir=$(pulumi config get stateDir --stack local 2>/dev/null || true)
node -r ts-node/register/transpile-only cli/main.ts backup timer stop --state-dir "${state_dir:-.hcb/clusters/local}" >&2 || true
pulumi destroy --yes --non-interactive --stack local "$@"

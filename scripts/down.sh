#!/usr/bin/env bash
# `npm run down`: pulumi destroy on the stack `local` (deletes the objects, stops the local
# control plane and removes its data).
set -euo pipefail
cd "$(dirname "$0")/.."

# The same lock as `npm run up` (scripts/run-locked.sh): a down never runs beside an up or
# another down.
# shellcheck source=run-locked.sh
. scripts/run-locked.sh
run_locked down "$0" "$@"

bash scripts/ensure-node-modules.sh
bash tools/build-toolchain.sh >/dev/null
# shellcheck source=env.sh
. scripts/env.sh
# What an interrupted run left (a killed pulumi's stack lock, pending operations, an emptied
# checkpoint attribute file) is cleared as before `npm run up`, or the run stops with the command.
node -r ts-node/register/transpile-only stacks/local/stack-guard.ts prepare local
# The backup timer first: it must not back up a cluster that is going away.
state_dir=$(pulumi config get stateDir --stack local 2>/dev/null || true)
node -r ts-node/register/transpile-only cli/main.ts backup timer stop --state-dir "${state_dir:-.hcb/clusters/local}" >&2 || true
pulumi destroy --yes --non-interactive --stack local "$@"

#!/usr/bin/env bash
# `npm run down`: pulumi destroy on the stack `local` (deletes the objects, stops the local
# control plane and removes its data).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-modules.sh
bash tools/build-toolchain.sh >/dev/null
# shellcheck source=env.sh
. scripts/env.sh
pulumi destroy --yes --non-interactive --stack local "$@"

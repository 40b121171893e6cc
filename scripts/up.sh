#!/usr/bin/env bash
# The main job (`npm run up`): installs what is missing, builds the toolchain once, runs
# `pulumi up` on the stack `local` (the embedded hardened control plane with the blueprint
# applied) and prints the compliance report. Extra arguments go to `pulumi up`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-node-modules.sh
bash tools/build-toolchain.sh >/dev/null
# shellcheck source=env.sh
. scripts/env.sh

pulumi stack select --create local --non-interactive >/dev/null
echo "[up] pulumi up (stack local, state in ${PULUMI_BACKEND_URL#file://})" >&2
pulumi up --yes --non-interactive --stack local "$@"

hcb() { node -r ts-node/register/transpile-only cli/main.ts "$@"; }
out=.hcb/out/local
namespaces=$(pulumi stack output namespaces --json --stack local | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).map(n=>"--namespace "+n).join(" ")))')
# shellcheck disable=SC2086
hcb synth --local --profile "$(pulumi config get profile --stack local 2>/dev/null || echo standard)" $namespaces --out "$out"
echo >&2
echo "[up] compliance report of what was applied ($out):" >&2
# The blueprint's reviewed exceptions (hcb synth writes them) are passed explicitly: exceptions
# inside the audited directory are never applied by themselves.
set +e
hcb audit "$out" --exceptions "$out/exceptions.yaml"
rc=$?
set -e
hcb audit "$out" --exceptions "$out/exceptions.yaml" --format markdown --output .hcb/out/compliance-report.md >/dev/null 2>&1 || true
echo >&2
echo "[up] cluster: $(pulumi stack output apiServerUrl --stack local)  kubeconfig: pulumi stack output kubeconfig --show-secrets" >&2
echo "[up] Markdown report: .hcb/out/compliance-report.md; stop with: npm run down" >&2
exit $rc

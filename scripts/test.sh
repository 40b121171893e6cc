#!/usr/bin/env bash
# The project's one test command (`npm test`; .ci/run calls it): installs what the tests need
# (npm packages, the built toolchain, Chromium), runs lint, the format check and the type-check first (fast lane),
# then every jest project (unit tests after the toolchain build: some run kubeadm and other real
# binaries), and ends with the line "N passed, N failed" taken from jest's JSON results plus the
# two static checks.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
t0=$SECONDS
took() { echo "[test] $1 done, $((SECONDS - t0)) s since the start" >&2; }

bash scripts/ensure-node-modules.sh || { echo "0 passed, 1 failed"; exit 1; }

# Fast lane, before anything slow: lint, format check and type-check (each counts as one test in the summary,
# so CI fails on either; the rest still runs and reports).
static_passed=0
static_failed=0
echo "[test] lint (npm run lint)" >&2
if npx eslint . >&2; then static_passed=$((static_passed + 1)); else static_failed=$((static_failed + 1)); echo "[test] lint failed" >&2; fi
echo "[test] format (npm run format:check)" >&2
if npx prettier --check --log-level warn "**/*.ts" >&2; then static_passed=$((static_passed + 1)); else static_failed=$((static_failed + 1)); echo "[test] format check failed: run npm run format" >&2; fi
echo "[test] type-check (npm run typecheck)" >&2
if npx tsc --noEmit -p tsconfig.json >&2; then static_passed=$((static_passed + 1)); else static_failed=$((static_failed + 1)); echo "[test] type-check failed" >&2; fi
bash scripts/ensure-node-packages.sh || { echo "[test] installing the node's system packages failed" >&2; echo "0 passed, 1 failed"; exit 1; }
echo "[test] toolchain (built once, then reused from the cache)" >&2
if ! bash tools/build-toolchain.sh >/dev/null; then
  echo "[test] the toolchain build failed" >&2
  echo "0 passed, 1 failed"; exit 1
fi
if [ -f scripts/ensure-chromium.sh ]; then bash scripts/ensure-chromium.sh || true; fi
took "setup, static checks and toolchain"

# shellcheck source=env.sh
HCB_STATE_DIR=$(mktemp -d /tmp/hcb-test-state.XXXXXX)
export HCB_STATE_DIR
. scripts/env.sh || { echo "0 passed, 1 failed"; exit 1; }

# The e2e clusters listen on fixed loopback ports inside Linux's ephemeral range (32768-60999): keep
# outgoing connections off them, or a client's local port can take a component's port ("address
# already in use"). Reserved ports are only skipped for automatic assignment; nothing else changes.
if [ -w /proc/sys/net/ipv4/ip_local_reserved_ports ]; then
  reserved=$(cat /proc/sys/net/ipv4/ip_local_reserved_ports)
  want="26443-26460,36443-36460,46443-47760,56443-56460"
  echo "${reserved:+$reserved,}$want" >/proc/sys/net/ipv4/ip_local_reserved_ports 2>/dev/null || true
fi

out=$(mktemp -d /tmp/hcb-test-results.XXXXXX)
# Everything the tests create in the temp directory (cdk8s outdirs, clusters' state, Pulumi
# homes) goes into one directory that is removed at the end.
TMPDIR=$(mktemp -d /tmp/hcb-test-tmp.XXXXXX)
export TMPDIR
status=0
echo "[test] unit, snapshot and fixture tests" >&2
npx jest --ci --selectProjects unit -w 2 --json --outputFile="$out/unit.json" "$@" || status=1
took "unit tests"
# e2e files run three at a time by default (HCB_E2E_WORKERS): two at a time left a fifth of the two
# cores idle (waits on clusters starting and on timers), and every file keeps to its own ports, lab
# subnet, state directory, cgroup parent and namespaces (docs/ARCHITECTURE.md "Tests"), so files side
# by side do not meet. The longest files start first (test/support/sequencer.js).
e2e_workers=${HCB_E2E_WORKERS:-3}
case "$e2e_workers" in ''|*[!0-9]*|0) echo "[test] HCB_E2E_WORKERS must be a positive number (is '$e2e_workers')" >&2; echo "0 passed, 1 failed"; exit 1 ;; esac
echo "[test] end-to-end tests (real control plane, real Pulumi CLI; $e2e_workers at a time)" >&2
if [ "$e2e_workers" = 1 ]; then e2e_par=(--runInBand); else e2e_par=(-w "$e2e_workers"); fi
npx jest --ci --selectProjects e2e "${e2e_par[@]}" --json --outputFile="$out/e2e.json" "$@" || status=1
took "end-to-end tests"

STATIC_PASSED=$static_passed STATIC_FAILED=$static_failed node -e '
  const fs = require("fs");
  let passed = Number(process.env.STATIC_PASSED), failed = Number(process.env.STATIC_FAILED), ran = 0;
  for (const f of process.argv.slice(1)) {
    if (!fs.existsSync(f)) { failed += 1; console.error(`[test] no results in ${f}`); continue; }
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests; ran += 1;
    // A suite that failed to run (syntax error, failed beforeAll) has no failed tests: count it.
    failed += r.testResults.filter((t) => t.status === "failed" && t.assertionResults.every((a) => a.status !== "failed")).length;
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 ? 1 : 0;
' "$out/unit.json" "$out/e2e.json"
summary=$?
rm -rf "$HCB_STATE_DIR" "$TMPDIR" "$out"
[ $status -eq 0 ] && [ $summary -eq 0 ]

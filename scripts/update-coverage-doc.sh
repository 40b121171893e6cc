#!/usr/bin/env bash
# Regenerates the coverage tables of docs/coverage.md from the catalogue: the output of
# `hcb controls --format markdown` replaces what stands between <!-- coverage:start --> and
# <!-- coverage:end -->. test/unit/docs/coverage-doc.test.ts fails when they differ.
# Usage: scripts/update-coverage-doc.sh [FILE]   (default: docs/coverage.md of the repository)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
readme="$(realpath "${1:-$root/docs/coverage.md}")"
cd "$root"
if [ "$(grep -c -x -- '<!-- coverage:start -->' "$readme" || true)" != 1 ] || ! grep -q -- '<!-- coverage:end -->' "$readme"; then
  echo "update-coverage-doc: $readme needs exactly one \"<!-- coverage:start -->\" line followed by \"<!-- coverage:end -->\"" >&2
  exit 1
fi
generated="$(mktemp)"
trap 'rm -f "$generated"' EXIT
node -r ts-node/register/transpile-only cli/main.ts controls --format markdown >"$generated"
node - "$readme" "$generated" <<'JS'
const fs = require('fs');
const [readme, generated] = process.argv.slice(2);
const START = '<!-- coverage:start -->\n';
const END = '<!-- coverage:end -->';
const text = fs.readFileSync(readme, 'utf8');
const a = text.indexOf(START);
const b = text.indexOf(END, a + START.length);
if (a < 0 || b < 0 || text.indexOf(START, a + 1) >= 0) {
  process.stderr.write(`update-coverage-doc: ${readme} needs exactly one "${START.trim()}" line followed by "${END}"\n`);
  process.exit(1);
}
const next = text.slice(0, a + START.length) + fs.readFileSync(generated, 'utf8') + text.slice(b);
if (next !== text) {
  const tmp = `${readme}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, next);
  fs.renameSync(tmp, readme);
  process.stderr.write(`update-coverage-doc: updated ${readme}\n`);
} else {
  process.stderr.write(`update-coverage-doc: ${readme} is up to date\n`);
}
JS

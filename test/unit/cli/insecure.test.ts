/**
 * `hcb audit` on a directory of insecure manifests (test/fixtures/insecure) finds every planted
 * problem: each file names its planted problems in `# planted: CONTROL — what` lines, and the
 * audit must report exactly those controls as failing for that file, with the framework IDs
 * written down here (checked by hand against the DISA STIG list Gardener publishes, the CIS
 * Kubernetes Benchmark and BSI APP.4.4), and exit 1.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { runAudit } from '../../../cli/commands/audit';
import { FRAMEWORK_DEFINITIONS } from '../../../policies/frameworks';
import { JsonReport, JsonResult } from '../../../policies/report';
import { fakeIo } from './io';

const REPO = path.resolve(__dirname, '../../..');
const DIR = 'test/fixtures/insecure';
const NOW = '2026-11-22T00:00:00Z';
const GARDENER_STIG = path.resolve(REPO, '../shared/requirements/gardener-disa-stig-kubernetes.txt');

type Refs = { stig: string[]; cis: string[]; bsi: string[] };
const refs = (stig: string[], cis: string[], bsi: string[]): Refs => ({ stig, cis, bsi });

/** Every planted control with the STIG, CIS and BSI IDs its failure must carry. */
const EXPECTED: Record<string, Refs> = {
  // control plane
  'HCB-APISERVER-ANONYMOUS-AUTH': refs(['V-242390'], ['1.2.1'], ['APP.4.4.A3']),
  'HCB-APISERVER-AUTHORIZATION-MODE': refs(['V-242382'], ['1.2.6', '1.2.7', '1.2.8'], ['APP.4.4.A3']),
  'HCB-AUDIT-POLICY-COVERAGE': refs(['V-242403', 'V-242461'], ['3.2.1', '3.2.2'], ['APP.4.4.A12']),
  'HCB-AUDIT-POLICY-RBAC-CHANGES': refs(['V-242403'], ['3.2.2'], ['APP.4.4.A3']),
  'HCB-AUDIT-POLICY-SENSITIVE-METADATA': refs(['V-242403'], ['3.2.2'], []),
  'HCB-ENCRYPTION-SECRETS-PROVIDER': refs([], [], ['APP.4.4.A20']),
  'HCB-BACKUP-CONFIGURED': refs([], [], ['APP.4.4.A5']),
  // nodes
  'HCB-KUBELET-READ-ONLY-PORT': refs(['V-242387'], ['4.2.4'], []),
  'HCB-KUBELET-ANONYMOUS-AUTH': refs(['V-242391'], ['4.2.1'], ['APP.4.4.A3']),
  'HCB-NODEFILE-PKI-KEY-MODE': refs(['V-242467'], ['1.1.21'], []),
  'HCB-NODEFILE-PKI-CCN-MODES': refs([], [], []),
  // workloads and namespaces
  'HCB-WORKLOAD-SECRETS-IN-ENV': refs(['V-242415'], ['5.4.1'], ['APP.4.4.A2']),
  'HCB-WORKLOAD-PRIVILEGED-HOST-PORTS': refs(['V-242414'], [], ['APP.4.4.A7']),
  'HCB-WORKLOAD-HOST-PORTS': refs([], ['5.2.13'], ['APP.4.4.A7']),
  'HCB-NAMESPACE-NO-DEFAULT-OBJECTS': refs(['V-242383'], ['5.7.4'], ['APP.4.4.A1']),
  'HCB-WORKLOAD-USER-NAMESPACE': refs(['V-242417'], ['5.7.1'], ['APP.4.4.A1']),
  'HCB-WORKLOAD-PRIVILEGED': refs([], ['5.2.2'], ['APP.4.4.A4']),
  'HCB-WORKLOAD-PRIVILEGE-ESCALATION': refs([], ['5.2.6'], ['APP.4.4.A4']),
  'HCB-WORKLOAD-RUN-AS-NON-ROOT': refs([], ['5.2.7'], ['APP.4.4.A4']),
  'HCB-WORKLOAD-CAPABILITIES': refs([], ['5.2.9', '5.2.10'], ['APP.4.4.A4']),
  'HCB-WORKLOAD-READ-ONLY-ROOT-FS': refs([], [], ['APP.4.4.A4']),
  'HCB-WORKLOAD-EPHEMERAL-STORAGE': refs([], [], ['APP.4.4.A1', 'APP.4.4.A4']),
  'HCB-WORKLOAD-IMAGE-DIGEST': refs([], ['5.5.1'], []),
  'HCB-WORKLOAD-NO-DASHBOARD': refs(['V-242395'], [], []),
  'HCB-NAMESPACE-POD-SECURITY-LABELS': refs(['V-242437'], ['5.2.1'], ['APP.4.4.A4']),
  'HCB-NAMESPACE-DEFAULT-DENY-INGRESS': refs([], ['5.3.2'], ['APP.4.4.A7', 'APP.4.4.A18']),
  'HCB-NAMESPACE-DEFAULT-DENY-EGRESS': refs([], ['5.3.2'], ['APP.4.4.A7']),
  'HCB-NAMESPACE-RESOURCE-QUOTA': refs([], [], ['APP.4.4.A1']),
  'HCB-NAMESPACE-LIMIT-RANGE': refs([], [], ['APP.4.4.A1']),
  'HCB-NAMESPACE-DEFAULT-SA-LOCKED': refs([], ['5.1.5'], ['APP.4.4.A9']),
  // RBAC
  'HCB-RBAC-NO-WILDCARDS': refs([], ['5.1.3'], ['APP.4.4.A3']),
  'HCB-RBAC-NO-ESCALATION-VERBS': refs([], ['5.1.8'], ['APP.4.4.A3']),
  'HCB-RBAC-SECRETS-READ': refs([], ['5.1.2'], ['APP.4.4.A3']),
  'HCB-RBAC-PERSISTENT-VOLUMES': refs([], [], ['APP.4.4.A3']),
  'HCB-RBAC-NETWORK-POLICY-WRITE': refs([], [], ['APP.4.4.A7', 'APP.4.4.A18']),
  'HCB-RBAC-CLUSTER-ADMIN-BINDINGS': refs([], ['5.1.1'], ['APP.4.4.A3']),
  'HCB-RBAC-DEFAULT-SA-UNBOUND': refs([], ['5.1.5'], ['APP.4.4.A9']),
};

/** file (as the audit names it) → controls planted in it, from its `# planted:` lines. */
function planted(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(REPO, dir)).sort()) {
      const rel = `${dir}/${entry}`;
      if (fs.statSync(path.join(REPO, rel)).isDirectory()) walk(rel);
      else if (/\.ya?ml$/.test(entry)) {
        const text = fs.readFileSync(path.join(REPO, rel), 'utf8');
        out.set(rel, [...text.matchAll(/^# planted: (\S+) — \S/gm)].map((m) => m[1]).sort());
      }
    }
  };
  walk(DIR);
  return out;
}

let report: JsonReport;
let exitCode: number;
let stdout: string;

beforeAll(async () => {
  const io = fakeIo(REPO);
  exitCode = await runAudit([DIR, '--format', 'json', '--now', NOW], io);
  stdout = io.out();
  report = JSON.parse(stdout) as JsonReport;
});

const failuresIn = (file: string): JsonResult[] =>
  report.results.filter((r) => r.status === 'fail' && r.object.file === file);

describe('hcb audit on insecure manifests', () => {
  const files = planted();

  it('every fixture file plants at least one problem, and the table here lists exactly the planted controls', () => {
    for (const [file, controls] of files) expect([file, controls.length > 0]).toEqual([file, true]);
    expect([...new Set([...files.values()].flat())].sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it('exits 1, with no error findings and no failure outside the planted files', () => {
    expect(exitCode).toBe(1);
    expect(report.results.filter((r) => r.status === 'error')).toEqual([]);
    expect(
      report.results.filter((r) => r.status === 'fail' && !files.has(r.object.file ?? '')).map((r) => r.control),
    ).toEqual([]);
  });

  describe.each([...files.keys()])('%s', (file) => {
    it('fails exactly the planted controls', () => {
      expect([...new Set(failuresIn(file).map((r) => r.control))].sort()).toEqual(files.get(file));
    });

    it.each(files.get(file)!.map((c) => [c]))('%s carries its STIG, CIS and BSI IDs', (control) => {
      const found = failuresIn(file).filter((r) => r.control === control);
      expect(found.length).toBeGreaterThan(0);
      for (const r of found) {
        expect({ stig: r.frameworks.stig, cis: r.frameworks.cis, bsi: r.frameworks.bsi }).toEqual(EXPECTED[control]);
        expect(r.severity).toMatch(/^(critical|high|medium|low)$/);
        expect(r.object.line).toEqual(expect.any(Number));
      }
    });
  });

  it('every expected ID is a requirement of its framework as the catalogue defines it', () => {
    const known = (fw: 'stig' | 'cis' | 'bsi') => new Set(FRAMEWORK_DEFINITIONS[fw].requirements.map((r) => r.id));
    const unknown: string[] = [];
    for (const [control, r] of Object.entries(EXPECTED)) {
      for (const fw of ['stig', 'cis', 'bsi'] as const)
        for (const id of r[fw]) if (!known(fw).has(id)) unknown.push(`${control} ${fw} ${id}`);
    }
    expect(unknown).toEqual([]);
  });

  (fs.existsSync(GARDENER_STIG) ? it : it.skip)(
    'every expected STIG ID is a rule of the published STIG list (skipped when ../shared is absent)',
    () => {
      const text = fs.readFileSync(GARDENER_STIG, 'utf8');
      const rules = new Set([...text.matchAll(/^(\d{6})/gm)].map((m) => `V-${m[1]}`));
      expect(
        Object.values(EXPECTED)
          .flatMap((r) => r.stig)
          .filter((id) => !rules.has(id)),
      ).toEqual([]);
    },
  );

  it('the real CLI (a subprocess) gives exit status 1 and the same JSON', async () => {
    const run = promisify(execFile);
    const err = await run(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', 'cli/main.ts', 'audit', DIR, '--format', 'json', '--now', NOW],
      {
        cwd: REPO,
        env: { ...process.env, NO_COLOR: '1' },
        maxBuffer: 64 * 1024 * 1024,
      },
    ).then(
      () => undefined,
      (e: { code?: number; stdout?: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stdout).toBe(stdout);
  }, 60_000);
});

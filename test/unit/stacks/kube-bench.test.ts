/**
 * stacks/local/kube-bench.ts without a cluster: the JSON kube-bench writes, the review comparison, the
 * review file itself, the generated config, and the ps view (run against this machine's real ps).
 * The e2e (test/e2e/external-kube-bench.test.ts) runs kube-bench on a real cluster.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { compareWithReview, kubeBenchConfig, kubeBenchSummary, loadKubeBenchReview, notPassing, parseKubeBenchJson, psWrapper } from '../../../stacks/local/kube-bench';

const REPO = path.resolve(__dirname, '../../..');

const raw = (results: Array<Record<string, unknown>>, node_type = 'node') => ({
  Controls: [
    {
      id: '4', version: 'cis-1.10', text: 'Worker Node Security Configuration', node_type,
      tests: [{ section: '4.1', desc: 'files', results }],
      total_pass: results.filter((r) => r.status === 'PASS').length, total_fail: results.filter((r) => r.status === 'FAIL').length, total_warn: 0, total_info: 0,
    },
  ],
  Totals: {},
});

describe('parseKubeBenchJson', () => {
  const json = JSON.stringify(raw([
    { test_number: '4.1.5', test_desc: 'kubeconfig mode (Automated)', audit: "stat -c permissions=%a /etc/kubernetes/kubelet.conf", type: '', status: 'PASS', scored: true },
    { test_number: '4.1.9', test_desc: 'config mode (Automated)', audit: 'stat', type: '', status: 'FAIL', scored: true, actual_value: 'permissions=644' },
    { test_number: '4.2.4', test_desc: 'read-only port (Manual)', audit: 'ps', type: '', status: 'WARN', scored: false },
    { test_number: '5.1.7', test_desc: 'system:masters (Manual)', audit: '', type: 'manual', status: 'WARN', scored: false },
    { test_number: '5.1.1', test_desc: 'cluster-admin (Automated)', audit: 'kubectl get clusterrolebindings', type: '', status: 'FAIL', scored: true },
  ]));

  test('automated = scored and not manual; kubectl audits are marked when no kubectl was given', () => {
    const r = parseKubeBenchJson(json, { kubectlGiven: false });
    expect(r.benchmark).toBe('cis-1.10');
    expect(r.sections).toEqual([{ target: 'node', id: '4', text: 'Worker Node Security Configuration', pass: 1, fail: 2, warn: 0, info: 0 }]);
    expect(r.checks.map((c) => [c.id, c.automated, c.needsKubectl])).toEqual([
      ['4.1.5', true, false], ['4.1.9', true, false], ['4.2.4', false, false], ['5.1.7', false, false], ['5.1.1', true, true],
    ]);
    expect(notPassing(r).map((c) => c.id)).toEqual(['4.1.9', '5.1.1']);
    expect(parseKubeBenchJson(json, { kubectlGiven: true }).checks.some((c) => c.needsKubectl)).toBe(false);
  });

  test('refuses output it does not understand instead of reading it as passing', () => {
    expect(() => parseKubeBenchJson(JSON.stringify({ Controls: [] }), { kubectlGiven: false })).toThrow(/no controls/);
    expect(() => parseKubeBenchJson(JSON.stringify(raw([{ test_number: '1', test_desc: '', status: 'OK', scored: true }])), { kubectlGiven: false })).toThrow(/unknown status/);
    expect(() => parseKubeBenchJson(JSON.stringify(raw([], 'managedservices')), { kubectlGiven: false })).toThrow(/unknown target/);
  });

  test('review comparison: unreviewed, wrong status and stale entries; the summary names each', () => {
    const r = { ...parseKubeBenchJson(json, { kubectlGiven: false }), kubectl: undefined, processes: {}, dir: '', durationMs: 1000, version: 'v0.12.0' };
    const review = {
      '5.1.1': { status: 'WARN' as const, kind: 'detection-limitation' as const, reason: 'needs kubectl.' },
      '1.1.12': { status: 'FAIL' as const, kind: 'local-target' as const, reason: 'root.' },
    };
    expect(compareWithReview(r, review)).toEqual({
      unreviewed: ['4.1.9 FAIL: config mode (Automated)'],
      wrongStatus: ['5.1.1: kube-bench says FAIL, the review file WARN'],
      stale: ['1.1.12'],
    });
    const lines = kubeBenchSummary(r, review);
    expect(lines).toContain('  4.1.9   FAIL NOT REVIEWED');
    expect(lines).toContain('  5.1.1   FAIL NOT REVIEWED');
    expect(lines.some((l) => l.includes('review mismatch: 5.1.1'))).toBe(true);
  });
});

test('the review file in the repository is well-formed (status, kind, reason; ours only with a control)', () => {
  const review = loadKubeBenchReview(path.join(REPO, 'test/external/kube-bench-review.yaml'));
  expect(Object.keys(review).length).toBeGreaterThan(0);
  const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-kb-')), 'review.yaml');
  fs.writeFileSync(bad, 'checks:\n  "4.1.9":\n    status: FAIL\n    kind: because\n    reason: x\n');
  expect(() => loadKubeBenchReview(bad)).toThrow(/kind/);
  fs.writeFileSync(bad, 'checks:\n  "4.1.9":\n    status: FAIL\n    kind: local-target\n    reason: x\n    ours: pass\n');
  expect(() => loadKubeBenchReview(bad)).toThrow(/ours/);
});

test('the generated config names exactly one binary and one file per component', () => {
  const c = kubeBenchConfig({ etcdDataDir: '/run/hcb-state/rootfs/var/lib/etcd' }) as any;
  expect(c.master.apiserver).toEqual({ bins: ['kube-apiserver'], confs: ['/etc/kubernetes/manifests/kube-apiserver.yaml'], defaultconf: '/etc/kubernetes/manifests/kube-apiserver.yaml' });
  expect(c.master.etcd.datadirs).toEqual(['/run/hcb-state/rootfs/var/lib/etcd']);
  expect(c.node.kubelet.confs).toEqual(['/var/lib/kubelet/config.yaml']);
  expect(c.node.kubelet.kubeconfig).toEqual(['/etc/kubernetes/kubelet.conf']);
  for (const section of ['master', 'etcd', 'controlplane', 'node']) {
    for (const comp of Object.values(c[section]) as any[]) {
      for (const key of ['bins', 'confs', 'kubeconfig', 'cafile', 'datadirs']) if (comp[key]) expect(comp[key]).toHaveLength(1);
    }
  }
});

describe('the ps view', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-kb-ps-'));
  const script = path.join(dir, 'ps');
  const pidFile = path.join(dir, 'pids');
  // Another process with the same name as the one we allow: it must stay invisible.
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  const mine = spawn('sleep', ['61'], { stdio: 'ignore' });
  fs.writeFileSync(script, psWrapper(fs.realpathSync('/usr/bin/ps'), pidFile), { mode: 0o755 });
  fs.writeFileSync(pidFile, String(mine.pid));
  afterAll(() => {
    other.kill('SIGKILL');
    mine.kill('SIGKILL');
  });
  const ps = (...args: string[]) => spawnSync(script, args, { encoding: 'utf8' });

  test('-C selects only allowed pids with that name; -ef and -fC list only them', () => {
    expect(spawnSync('ps', ['-C', 'sleep', '-o', 'pid='], { encoding: 'utf8' }).stdout.split('\n').map((s) => s.trim())).toContain(String(other.pid));
    expect(ps('-C', 'sleep', '-o', 'pid=').stdout.trim()).toBe(String(mine.pid));
    expect(ps('-C', 'sleep', '-o', 'cmd', '--no-headers').stdout.trim()).toBe('sleep 61');
    const ef = ps('-ef').stdout.trim().split('\n');
    expect(ef).toHaveLength(2); // header and our process
    expect(ef[1]).toMatch(new RegExp(`^\\S+\\s+${mine.pid}\\s.*sleep 61$`));
    expect(ps('-fC', 'sleep').stdout).not.toContain('sleep 60');
  });

  test('no allowed process of that name: no output and exit 1, like ps; unknown arguments are refused', () => {
    const none = ps('-C', 'kube-apiserver', '-o', 'cmd', '--no-headers');
    expect([none.status, none.stdout]).toEqual([1, '']);
    const odd = ps('aux');
    expect(odd.status).toBe(2);
    expect(odd.stderr).toMatch(/unsupported argument: aux/);
  });
});

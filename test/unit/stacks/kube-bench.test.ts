/**
 * stacks/local/kube-bench.ts without a cluster: the JSON kube-bench writes, the review comparison, the
 * review file itself, the generated config, and the ps view (run against this machine's real ps).
 * The e2e (test/e2e/external-kube-bench.test.ts) runs kube-bench on a real cluster.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  compareWithReview,
  kubeBenchConfig,
  kubeBenchReaderObjects,
  kubeBenchSummary,
  KUBE_BENCH_READER_LABEL,
  KUBE_BENCH_READER_RULES,
  loadKubeBenchReview,
  notPassing,
  parseKubeBenchJson,
  psWrapper,
  readerKubeconfig,
  reviewedStatuses,
} from '../../../stacks/local/kube-bench';
import { parse as parseYaml } from 'yaml';

const REPO = path.resolve(__dirname, '../../..');

const raw = (results: Array<Record<string, unknown>>, node_type = 'node') => ({
  Controls: [
    {
      id: '4',
      version: 'cis-1.10',
      text: 'Worker Node Security Configuration',
      node_type,
      tests: [{ section: '4.1', desc: 'files', results }],
      total_pass: results.filter((r) => r.status === 'PASS').length,
      total_fail: results.filter((r) => r.status === 'FAIL').length,
      total_warn: 0,
      total_info: 0,
    },
  ],
  Totals: {},
});

describe('parseKubeBenchJson', () => {
  const json = JSON.stringify(
    raw([
      {
        test_number: '4.1.5',
        test_desc: 'kubeconfig mode (Automated)',
        audit: 'stat -c permissions=%a /etc/kubernetes/kubelet.conf',
        type: '',
        status: 'PASS',
        scored: true,
      },
      {
        test_number: '4.1.9',
        test_desc: 'config mode (Automated)',
        audit: 'stat',
        type: '',
        status: 'FAIL',
        scored: true,
        actual_value: 'permissions=644',
      },
      {
        test_number: '4.2.4',
        test_desc: 'read-only port (Manual)',
        audit: 'ps',
        type: '',
        status: 'WARN',
        scored: false,
      },
      {
        test_number: '5.1.7',
        test_desc: 'system:masters (Manual)',
        audit: '',
        type: 'manual',
        status: 'WARN',
        scored: false,
      },
      {
        test_number: '5.1.1',
        test_desc: 'cluster-admin (Automated)',
        audit: 'kubectl get clusterrolebindings',
        type: '',
        status: 'FAIL',
        scored: true,
      },
    ]),
  );

  test('automated = scored and not manual; kubectl audits are marked when no kubectl was given', () => {
    const r = parseKubeBenchJson(json, { kubectlGiven: false });
    expect(r.benchmark).toBe('cis-1.10');
    expect(r.sections).toEqual([
      { target: 'node', id: '4', text: 'Worker Node Security Configuration', pass: 1, fail: 2, warn: 0, info: 0 },
    ]);
    expect(r.checks.map((c) => [c.id, c.automated, c.needsKubectl])).toEqual([
      ['4.1.5', true, false],
      ['4.1.9', true, false],
      ['4.2.4', false, false],
      ['5.1.7', false, false],
      ['5.1.1', true, true],
    ]);
    expect(notPassing(r).map((c) => c.id)).toEqual(['4.1.9', '5.1.1']);
    expect(parseKubeBenchJson(json, { kubectlGiven: true }).checks.some((c) => c.needsKubectl)).toBe(false);
  });

  test('refuses output it does not understand instead of reading it as passing', () => {
    expect(() => parseKubeBenchJson(JSON.stringify({ Controls: [] }), { kubectlGiven: false })).toThrow(/no controls/);
    expect(() =>
      parseKubeBenchJson(JSON.stringify(raw([{ test_number: '1', test_desc: '', status: 'OK', scored: true }])), {
        kubectlGiven: false,
      }),
    ).toThrow(/unknown status/);
    expect(() => parseKubeBenchJson(JSON.stringify(raw([], 'managedservices')), { kubectlGiven: false })).toThrow(
      /unknown target/,
    );
  });

  test('review comparison: unreviewed, wrong status and stale entries; the summary names each', () => {
    const r = {
      ...parseKubeBenchJson(json, { kubectlGiven: false }),
      kubectl: undefined,
      processes: {},
      dir: '',
      durationMs: 1000,
      version: 'v0.12.0',
    };
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
  fs.writeFileSync(
    bad,
    'checks:\n  "4.1.9":\n    status: FAIL\n    kind: local-target\n    reason: x\n    ours: pass\n',
  );
  expect(() => loadKubeBenchReview(bad)).toThrow(/ours/);
  fs.writeFileSync(
    bad,
    'checks:\n  "5.1.3":\n    status: FAIL\n    kind: open-finding\n    reason: x\n    control: C\n    ours: [pass, passed]\n',
  );
  expect(() => loadKubeBenchReview(bad)).toThrow(/ours/);
  fs.writeFileSync(
    bad,
    'checks:\n  "5.1.3":\n    status: FAIL\n    kind: open-finding\n    reason: x\n    control: C\n    ours: pass\n    oursFrom: audit\n',
  );
  expect(() => loadKubeBenchReview(bad)).toThrow(/oursFrom/);
  fs.writeFileSync(
    bad,
    'checks:\n  "5.1.3":\n    status: FAIL\n    kind: open-finding\n    reason: x\n    control: C\n    ours: [pass, not-applicable, pass]\n    oursFrom: live-objects\n',
  );
  expect(reviewedStatuses(loadKubeBenchReview(bad)['5.1.3'])).toEqual(['not-applicable', 'pass']);
  // The policies checks are evaluated with kubectl now: none is excused as needing it.
  for (const [id, e] of Object.entries(review))
    if (id.startsWith('5.1.')) expect([id, /toolchain builds none|needs kubectl/i.test(e.reason)]).toEqual([id, false]);
  expect(review['4.1.9']).toBeUndefined();
});

describe("kubectl's read-only identity", () => {
  const objects = kubeBenchReaderObjects('hcb-kube-bench-0123abcd');

  test('a ServiceAccount without a mounted token, a ClusterRole, a binding of the one to the other; all labelled', () => {
    expect(objects.map((o) => `${o.kind} ${(o.metadata as any).namespace ?? ''}/${(o.metadata as any).name}`)).toEqual([
      'ServiceAccount kube-system/hcb-kube-bench-0123abcd',
      'ClusterRole /hcb-kube-bench-0123abcd',
      'ClusterRoleBinding /hcb-kube-bench-0123abcd',
    ]);
    for (const o of objects)
      expect((o.metadata as any).labels).toEqual({ [KUBE_BENCH_READER_LABEL]: 'hcb-kube-bench-0123abcd' });
    expect(objects[0].automountServiceAccountToken).toBe(false);
    expect(objects[2]).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: 'hcb-kube-bench-0123abcd' },
      subjects: [{ kind: 'ServiceAccount', name: 'hcb-kube-bench-0123abcd', namespace: 'kube-system' }],
    });
  });

  test('the role reads what the policies audits read: no Secret, no write, no wildcard, impersonation only of system:authenticated for access reviews', () => {
    const rules = objects[1].rules as typeof KUBE_BENCH_READER_RULES;
    const grants = rules.flatMap((r) =>
      r.resources.flatMap((res) =>
        r.verbs.map(
          (v) =>
            `${r.apiGroups.join('|') || 'core'}/${res}${r.resourceNames ? `[${r.resourceNames.join(',')}]` : ''} ${v}`,
        ),
      ),
    );
    expect(grants.sort()).toEqual([
      'authentication.k8s.io/users[system:authenticated] impersonate:user-info',
      'authorization.k8s.io/selfsubjectaccessreviews impersonate-on:user-info:create',
      'core/pods list',
      'core/serviceaccounts get',
      'core/serviceaccounts list',
      'rbac.authorization.k8s.io/clusterrolebindings list',
      'rbac.authorization.k8s.io/clusterroles get',
      'rbac.authorization.k8s.io/clusterroles list',
      'rbac.authorization.k8s.io/roles get',
      'rbac.authorization.k8s.io/roles list',
    ]);
    expect(JSON.stringify(rules)).not.toMatch(/secrets|"\*"|"watch"|"create"|"impersonate"/);
  });

  test("its kubeconfig carries the admin kubeconfig's server and CA and only the token", () => {
    const admin =
      'apiVersion: v1\nkind: Config\nclusters:\n- name: hcb-local\n  cluster:\n    server: https://127.0.0.1:47543\n    certificate-authority-data: Q0E=\nusers:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: Q0VSVA==\n    client-key-data: S0VZ\n';
    const kc = parseYaml(readerKubeconfig(admin, 'tok.en', 'hcb-kube-bench-0123abcd'));
    expect(kc.clusters).toEqual([
      { name: 'local', cluster: { server: 'https://127.0.0.1:47543', 'certificate-authority-data': 'Q0E=' } },
    ]);
    expect(kc.users).toEqual([{ name: 'hcb-kube-bench-0123abcd', user: { token: 'tok.en' } }]);
    expect(kc['current-context']).toBe('hcb-kube-bench-0123abcd');
    expect(JSON.stringify(kc)).not.toMatch(/S0VZ|Q0VSVA==/);
    expect(() => readerKubeconfig('apiVersion: v1\nkind: Config\n', 't', 'n')).toThrow(/no server or CA/);
  });

  test('the summary names the kubectl and the identity it ran as', () => {
    const r = {
      ...parseKubeBenchJson(
        JSON.stringify(
          raw(
            [
              {
                test_number: '5.1.1',
                test_desc: 'x (Automated)',
                audit: 'kubectl get clusterrolebindings',
                type: '',
                status: 'PASS',
                scored: true,
              },
            ],
            'policies',
          ),
        ),
        { kubectlGiven: true },
      ),
      kubectl: '/bin/kubectl',
      reader: 'kube-system/hcb-kube-bench-0123abcd',
      processes: {},
      dir: '',
      durationMs: 1000,
      version: 'v0.12.0',
    };
    expect(kubeBenchSummary(r, {})[0]).toContain(
      'kubectl: /bin/kubectl as kube-system/hcb-kube-bench-0123abcd (read-only, removed after the run)',
    );
  });
});

test('the generated config names exactly one binary and one file per component', () => {
  const c = kubeBenchConfig({ etcdDataDir: '/run/hcb-state/rootfs/var/lib/etcd' }) as any;
  expect(c.master.apiserver).toEqual({
    bins: ['kube-apiserver'],
    confs: ['/etc/kubernetes/manifests/kube-apiserver.yaml'],
    defaultconf: '/etc/kubernetes/manifests/kube-apiserver.yaml',
  });
  expect(c.master.etcd.datadirs).toEqual(['/run/hcb-state/rootfs/var/lib/etcd']);
  expect(c.node.kubelet.confs).toEqual(['/var/lib/kubelet/config.yaml']);
  expect(c.node.kubelet.kubeconfig).toEqual(['/etc/kubernetes/kubelet.conf']);
  for (const section of ['master', 'etcd', 'controlplane', 'node']) {
    for (const comp of Object.values(c[section]) as any[]) {
      for (const key of ['bins', 'confs', 'kubeconfig', 'cafile', 'datadirs'])
        if (comp[key]) expect(comp[key]).toHaveLength(1);
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
    expect(
      spawnSync('ps', ['-C', 'sleep', '-o', 'pid='], { encoding: 'utf8' })
        .stdout.split('\n')
        .map((s) => s.trim()),
    ).toContain(String(other.pid));
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

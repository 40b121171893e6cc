// hcb audit --scope: an application repo audits its own manifests and sees the workload,
// namespace and RBAC findings, not the control plane's not-evaluated rows.
import { Testing } from 'cdk8s';
import { stringify } from 'yaml';
import { AUDIT_SCOPES, runAudit, scopeOfControl } from '../../../cli/commands/audit';
import { AutomationIdentity, HardenedNamespace, HardenedWorkload, NetworkPeer, Probe } from '../../../constructs';
import { CATALOGUE } from '../../../policies/catalogue';
import { JsonReport } from '../../../policies/report';
import { fakeIo, tempTree } from './io';

const IMAGE = `registry.example.com/shop/web@sha256:${'0123456789abcdef'.repeat(4)}`;

function appManifests(): string {
  const chart = Testing.chart();
  const ns = new HardenedNamespace(chart, 'shop', {
    app: 'shop',
    team: 'shop-team',
    environment: 'prod',
    protectionNeed: 'normal',
    size: 'small',
  });
  new AutomationIdentity(chart, 'shop-deployer', { namespace: ns.namespaceName, programs: ['main'] });
  new HardenedWorkload(chart, 'web', {
    namespace: ns.namespaceName,
    expose: [{ port: 'http', from: [NetworkPeer.namespace('ingress-nginx')] }],
    containers: [
      {
        name: 'web',
        image: IMAGE,
        ports: [{ number: 8080, name: 'http' }],
        liveness: Probe.fromHttpGet('/healthz'),
        readiness: Probe.fromHttpGet('/ready'),
      },
    ],
  });
  return Testing.synth(chart)
    .map((o) => stringify(o))
    .join('---\n');
}

async function audit(args: string[], files: Record<string, string>) {
  const dir = await tempTree(files);
  const io = fakeIo(dir);
  const code = await runAudit(args, io);
  return { code, out: io.out(), err: io.errText() };
}

describe('hcb audit --scope', () => {
  const files = { 'app.k8s.yaml': appManifests() };

  test('every catalogue control has exactly one scope; the app scopes hold the workload, namespace and RBAC controls', () => {
    for (const c of CATALOGUE) expect(AUDIT_SCOPES).toContain(scopeOfControl(c.id));
    expect(scopeOfControl('HCB-WORKLOAD-PRIVILEGED')).toBe('workloads');
    expect(scopeOfControl('HCB-NAMESPACE-DEFAULT-DENY-INGRESS')).toBe('namespaces');
    expect(scopeOfControl('HCB-RBAC-SECRETS-READ')).toBe('rbac');
    expect(scopeOfControl('HCB-APISERVER-ANONYMOUS-AUTH')).toBe('control-plane');
    expect(scopeOfControl('HCB-KUBELET-ANONYMOUS-AUTH')).toBe('control-plane');
    expect(scopeOfControl('HCB-WORKLOAD-INIT-CONTAINERS')).toBe('workloads');
    expect(scopeOfControl('HCB-INPUT-PARSE')).toBeUndefined();
  });

  test('without --scope an app chart gets many control-plane not-evaluated rows; with the app scopes none, and its own findings stay', async () => {
    const all = await audit(['app.k8s.yaml', '--format', 'json'], files);
    const allReport = JSON.parse(all.out) as JsonReport;
    const controlPlaneRows = allReport.results.filter((r) => scopeOfControl(r.control) === 'control-plane');
    expect(controlPlaneRows.length).toBeGreaterThan(50);
    expect(controlPlaneRows.every((r) => r.status === 'not-evaluated')).toBe(true);

    const app = await audit(
      ['app.k8s.yaml', '--format', 'json', '--scope', 'workloads,namespaces', '--scope', 'rbac'],
      files,
    );
    expect(app.code).toBe(0);
    const report = JSON.parse(app.out) as JsonReport;
    const scopes = new Set(report.results.map((r) => scopeOfControl(r.control)));
    expect([...scopes].sort()).toEqual(['namespaces', 'rbac', 'workloads']);
    expect(report.results.filter((r) => r.status === 'fail' || r.status === 'error')).toEqual([]);
    // Exactly the app-scoped rows of the full audit, nothing lost.
    expect(report.results.length).toBe(allReport.results.length - controlPlaneRows.length);
    expect(
      report.results.some(
        (r) => r.control === 'HCB-WORKLOAD-PRIVILEGED' && r.status === 'pass' && r.object.name === 'web',
      ),
    ).toBe(true);
    expect(report.results.some((r) => r.control === 'HCB-RBAC-SECRETS-READ' && r.status === 'pass')).toBe(true);
  });

  test('one scope only; control-plane only', async () => {
    const rbac = JSON.parse(
      (await audit(['app.k8s.yaml', '--format', 'json', '--scope', 'rbac'], files)).out,
    ) as JsonReport;
    expect(new Set(rbac.results.map((r) => scopeOfControl(r.control)))).toEqual(new Set(['rbac']));
    const cp = JSON.parse(
      (await audit(['app.k8s.yaml', '--format', 'json', '--scope=control-plane'], files)).out,
    ) as JsonReport;
    expect(new Set(cp.results.map((r) => scopeOfControl(r.control)))).toEqual(new Set(['control-plane']));
  });

  test('a failure in scope fails the run; input that cannot be parsed is reported whatever the scope', async () => {
    const bad =
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec:\n  containers: [{name: c, image: x, securityContext: {privileged: true}}]\n';
    const r = await audit(['.', '--format', 'json', '--scope', 'workloads'], {
      'pod.yaml': bad,
      'broken.yaml': 'a: [\n',
    });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as JsonReport;
    expect(report.results.some((x) => x.control === 'HCB-WORKLOAD-PRIVILEGED' && x.status === 'fail')).toBe(true);
    expect(report.results.some((x) => x.control === 'HCB-INPUT-PARSE' && x.status === 'error')).toBe(true);
    // The same failure is not in the rbac scope.
    const rb = JSON.parse(
      (await audit(['pod.yaml', '--format', 'json', '--scope', 'rbac'], { 'pod.yaml': bad })).out,
    ) as JsonReport;
    expect(rb.results.some((x) => x.status === 'fail')).toBe(false);
  });

  test('an unknown scope is a usage error (exit 2); the help lists --scope', async () => {
    const r = await audit(['app.k8s.yaml', '--scope', 'apps'], files);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--scope must be one of workloads, namespaces, rbac, control-plane, got "apps"/);
    const h = await audit(['--help'], {});
    expect(h.out).toMatch(/--scope SCOPE/);
  });

  test('--scope and --framework: repeatable, comma lists, any case, each once; an empty --scope is a usage error, an empty --framework means all', async () => {
    const run = async (args: string[]) => {
      const r = await audit(['app.k8s.yaml', '--format', 'json', ...args], files);
      expect(r.code).not.toBe(2);
      return r.out;
    };
    const scopesOf = async (args: string[]) => {
      const ids = (JSON.parse(await run(args)) as JsonReport).results.map((x) => x.control);
      return [...new Set(ids.map((id) => scopeOfControl(id)).filter((x) => x))].sort();
    };
    expect(await scopesOf(['--scope', ' RBAC , rbac,', '--scope', 'Workloads'])).toEqual(['rbac', 'workloads']);
    const empty = await audit(['app.k8s.yaml', '--scope', ' , '], files);
    expect(empty.code).toBe(2);
    expect(empty.err).toMatch(/--scope needs a value: workloads, namespaces, rbac, control-plane/);

    const both = await run(['--scope', 'workloads', '--framework', 'bsi,scs']);
    expect(await run(['--scope', 'workloads', '--framework', 'SCS,scs', '--framework', ' bsi'])).toBe(both);
    expect(await run(['--scope', 'workloads', '--framework', 'scs'])).not.toBe(both);
    // ' , ' chooses no framework, which is the whole catalogue.
    expect(await run(['--scope', 'workloads', '--framework', ' , '])).toBe(await run(['--scope', 'workloads']));
  });
});

/**
 * The policy pack's core: the catalogue over a stack's resources. The blueprint's own stack
 * passes (its deviations accepted by its exceptions); an insecure manifest is blocked with
 * the control, its framework IDs and the resource it came from.
 */
import { synthesizeBlueprint } from '../../../constructs/blueprint';
import { LOCAL_CGROUP_V1_EXCEPTION } from '../../../constructs/blueprint-exceptions';
import { packViolations, stackDocuments, StackResource } from '../../../policies/pack/violations';

const NOW = new Date('2026-06-01T00:00:00Z');

function blueprintResources(): StackResource[] {
  const b = synthesizeBlueprint({
    namespaces: [{ name: 'team-a' }],
    local: {
      apiServerPort: 6443,
      etcdClientPort: 2379,
      etcdPeerPort: 2380,
      etcdMetricsPort: 2381,
      controllerManagerPort: 10257,
      schedulerPort: 10259,
    },
  });
  return [
    {
      type: 'pulumi-nodejs:dynamic:Resource',
      urn: 'urn:pulumi:local::hcb::pulumi-nodejs:dynamic:Resource::local-control-plane',
      props: { stateDir: '/x', binDir: '/y', nodeFiles: b.nodeFiles },
    },
    ...b.clusterObjects.map((o) => ({
      type: `kubernetes:${o.apiVersion!.includes('/') ? o.apiVersion : `core/${o.apiVersion}`}:${o.kind}`,
      urn: `urn:pulumi:local::hcb::kubernetes:${o.kind}::${o.metadata?.namespace ?? ''}/${o.metadata?.name}`,
      props: o as Record<string, unknown>,
    })),
  ];
}

test('the blueprint stack reads as cluster objects plus the control-plane files it writes', () => {
  const kinds = stackDocuments(blueprintResources()).map((d) => d.doc.object.kind);
  expect(kinds).toEqual(
    expect.arrayContaining([
      'Namespace',
      'NetworkPolicy',
      'ClusterConfiguration',
      'KubeletConfiguration',
      'Policy',
      'EncryptionConfiguration',
      'NodeFileManifest',
    ]),
  );
});

test('the local blueprint stack has no violations with its exceptions, and one per exception without them', () => {
  expect(
    packViolations(blueprintResources(), { exceptions: [LOCAL_CGROUP_V1_EXCEPTION], now: NOW }).map((v) => v.message),
  ).toEqual([]);
  const without = packViolations(blueprintResources(), { now: NOW });
  expect(without.map((v) => v.finding.control).sort()).toEqual(['HCB-KUBELET-FAIL-CGROUP-V1']);
  for (const v of without) expect(v.urn).toContain('local-control-plane');
});

test('an insecure Deployment is blocked with its control, STIG ID and resource', () => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'leaky', namespace: 'default' },
    spec: {
      selector: { matchLabels: { app: 'leaky' } },
      template: {
        metadata: { labels: { app: 'leaky' } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'registry.example/app:1',
              env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'pw' } } }],
              ports: [{ containerPort: 80, hostPort: 80 }],
            },
          ],
        },
      },
    },
  };
  const urn = 'urn:pulumi:local::hcb::kubernetes:apps/v1:Deployment::leaky';
  const v = packViolations([{ type: 'kubernetes:apps/v1:Deployment', urn, props: deployment }], { now: NOW });
  const byControl = new Map(v.map((x) => [x.finding.control, x]));
  const secretEnv = [...byControl.values()].find((x) => x.finding.frameworks.stig?.includes('V-242415'));
  const hostPort = [...byControl.values()].find((x) => x.finding.frameworks.stig?.includes('V-242414'));
  const defaultNs = [...byControl.values()].find((x) => x.finding.frameworks.stig?.includes('V-242383'));
  for (const x of [secretEnv, hostPort, defaultNs]) {
    expect(x).toBeDefined();
    expect(x!.urn).toBe(urn);
    expect(x!.message).toMatch(/^HCB-[A-Z0-9-]+ \[(critical|high|medium|low)\] Deployment\/default\/leaky: /);
  }
  expect(secretEnv!.message).toContain('V-242415');
  // a threshold above the findings' severities lets them through
  expect(
    packViolations([{ type: 'kubernetes:apps/v1:Deployment', urn, props: deployment }], {
      now: NOW,
      failOn: 'critical',
    }).every((x) => x.finding.severity === 'critical'),
  ).toBe(true);
});

test('Pulumi preview unknowns are ignored, not treated as values', () => {
  const ns = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'x', labels: '04da6b54-80e4-46f7-96ec-b56ff0331ba9' },
  };
  const docs = stackDocuments([{ type: 'kubernetes:core/v1:Namespace', urn: 'u', props: ns }]);
  expect(docs[0].doc.object.metadata?.labels).toBeUndefined();
});

test('a node file the catalogue cannot read blocks the deployment (error finding with its resource), never silently left out', () => {
  const urn = 'urn:pulumi:dev::hcb::hcb:local:ControlPlane::cp';
  const nodeFiles = [
    {
      path: '/etc/kubernetes/audit-policy.yaml',
      owner: 'root',
      group: 'root',
      mode: 0o600,
      content: 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: {level: None}\n',
    },
    { path: '/etc/kubernetes/broken.yaml', owner: 'root', group: 'root', mode: 0o600, content: 'a: [unclosed\n' },
  ];
  const v = packViolations([{ type: 'hcb:local:ControlPlane', urn, props: { nodeFiles } }], { now: NOW });
  const parse = v.filter((x) => x.finding.control === 'HCB-INPUT-PARSE');
  expect(parse.map((x) => x.finding.object?.file).sort()).toEqual([
    '/etc/kubernetes/audit-policy.yaml',
    '/etc/kubernetes/broken.yaml',
  ]);
  for (const x of parse) {
    expect(x.finding.status).toBe('error');
    expect(x.urn).toBe(urn);
  }
});

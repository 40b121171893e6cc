/**
 * The cluster DNS add-on (constructs/addons/cluster-dns.ts): prop validation, what it renders,
 * and that the blueprint with it audits clean with the catalogue (its two kube-system
 * exceptions accept only CoreDNS's Deployment).
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { writeSynthOutput } from '../../../../cli/commands/synth';
import { ClusterDns, ClusterDnsProps, clusterDnsAddress } from '../../../../constructs/addons/cluster-dns';
import { BlueprintSpec, LocalEndpoints, synthesizeBlueprint } from '../../../../constructs/blueprint';
import { evaluate } from '../../../../policies/engine';
import { loadInputs, parseExceptions } from '../../../../policies/input';

const IMAGE = `hcb.local/hcb/coredns@sha256:${'0123456789abcdef'.repeat(4)}`;
const LOCAL: LocalEndpoints = {
  apiServerPort: 6443,
  etcdClientPort: 2379,
  etcdPeerPort: 2380,
  etcdMetricsPort: 2381,
  controllerManagerPort: 10257,
  schedulerPort: 10259,
};
const BASE: ClusterDnsProps = { image: IMAGE, clusterIP: '10.96.0.10', apiServerEndpoints: ['192.0.2.10/32'] };

function render(props: Partial<ClusterDnsProps> = {}): Array<Record<string, any>> {
  const chart = Testing.chart();
  new ClusterDns(chart, 'dns', { ...BASE, ...props } as ClusterDnsProps);
  return Testing.synth(chart);
}
const byKind = (objs: Array<Record<string, any>>, kind: string) => objs.find((o) => o.kind === kind)!;

describe('ClusterDns', () => {
  test('least privilege: list/watch of services, namespaces and endpointslices only', () => {
    const role = byKind(render(), 'ClusterRole');
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['services', 'namespaces'], verbs: ['list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
    ]);
    expect(byKind(render(), 'ClusterRoleBinding').subjects).toEqual([
      { kind: 'ServiceAccount', name: 'coredns', namespace: 'kube-system' },
    ]);
  });

  test('the pod: non-root, read-only root, no capabilities, seccomp, port 53 through its own sysctl, digest-pinned image', () => {
    const spec = byKind(render(), 'Deployment').spec.template.spec;
    const c = spec.containers[0];
    expect(c.image).toBe(IMAGE);
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext.capabilities.add).toBeUndefined();
    expect(spec.securityContext.sysctls).toEqual([{ name: 'net.ipv4.ip_unprivileged_port_start', value: '53' }]);
    expect(c.ports.map((p: any) => `${p.containerPort}/${p.protocol}`)).toEqual(['53/UDP', '53/TCP']);
    expect(c.resources.limits).toMatchObject({ cpu: '500m', memory: '170Mi' });
    expect(spec.dnsPolicy).toBe('Default');
  });

  test('the Service sits at the given ClusterIP; the NetworkPolicy lets DNS in and only the API server out', () => {
    const objs = render({ probeSources: ['198.18.16.1/32'], apiServerPort: 16443 });
    const svc = byKind(objs, 'Service');
    expect(svc.metadata).toMatchObject({ name: 'kube-dns', namespace: 'kube-system' });
    expect(svc.spec.clusterIP).toBe('10.96.0.10');
    const np = byKind(objs, 'NetworkPolicy').spec;
    expect(np.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.egress).toEqual([
      { to: [{ ipBlock: { cidr: '192.0.2.10/32' } }], ports: [{ protocol: 'TCP', port: 16443 }] },
    ]);
    expect(np.ingress[0].ports).toEqual([
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ]);
    expect(np.ingress[1]).toEqual({
      from: [{ ipBlock: { cidr: '198.18.16.1/32' } }],
      ports: [
        { protocol: 'TCP', port: 8080 },
        { protocol: 'TCP', port: 8181 },
      ],
    });
    const corefile = byKind(objs, 'ConfigMap').data.Corefile as string;
    expect(corefile).toMatch(/^\.:53 \{/);
    expect(corefile).toContain('pods disabled');
    expect(corefile).not.toMatch(/forward|prometheus/);
  });

  test('refuses an image without digest, a missing API endpoint, a bad address', () => {
    expect(() => render({ image: 'coredns/coredns:1.15.0' })).toThrow(/image.*not pinned by digest/);
    expect(() => render({ apiServerEndpoints: [] })).toThrow(/apiServerEndpoints/);
    expect(() => render({ clusterIP: 'dns' })).toThrow(/clusterIP/);
    expect(() => render({ apiServerEndpoints: ['192.0.2.10'] })).toThrow(/apiServerEndpoints\[0\].*CIDR/);
    expect(() => render({ replicas: 0 })).toThrow(/replicas/);
  });

  test("clusterDnsAddress is kubeadm's: the 10th address of the service subnet", () => {
    expect(clusterDnsAddress('10.96.0.0/12')).toBe('10.96.0.10');
    expect(clusterDnsAddress('198.19.0.0/16')).toBe('198.19.0.10');
    expect(() => clusterDnsAddress('fd00::/108')).toThrow(/IPv4/);
  });
});

describe('the blueprint with the DNS add-on', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
  });

  test('local target: the kubelet clusterDNS address, the node address as API endpoint; the written output audits with zero fail', async () => {
    const spec: BlueprintSpec = { local: LOCAL, namespaces: [{ name: 'hcb-demo' }], clusterDns: { image: IMAGE } };
    const bp = synthesizeBlueprint(spec);
    const svc = bp.clusterObjects.find((o) => o.kind === 'Service' && o.metadata?.name === 'kube-dns') as any;
    expect(svc.spec.clusterIP).toBe('198.19.0.10');
    const np = bp.clusterObjects.find((o) => o.kind === 'NetworkPolicy' && o.metadata?.name === 'coredns') as any;
    expect(np.spec.egress[0]).toEqual({
      to: [{ ipBlock: { cidr: '198.18.0.2/32' } }],
      ports: [{ protocol: 'TCP', port: 6443 }],
    });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hcb-dns-'));
    dirs.push(dir);
    writeSynthOutput(path.join(dir, 'out'), bp);
    const loaded = await loadInputs(['out'], { cwd: dir });
    expect(loaded.errors).toEqual([]);
    const parsed = parseExceptions(
      await fs.readFile(path.join(dir, 'out', 'exceptions.yaml'), 'utf8'),
      'out/exceptions.yaml',
    );
    const findings = evaluate(loaded.documents, {
      exceptions: parsed.exceptions,
      now: new Date('2026-11-22T00:00:00Z'),
    });
    expect(
      findings
        .filter((f) => f.status === 'fail' || f.status === 'error')
        .map((f) => `${f.control} ${f.object?.name}: ${f.message}`),
    ).toEqual([]);
    // The two kube-system exceptions accept CoreDNS's Deployment and nothing else.
    const accepted = findings.filter((f) => f.status === 'accepted' && f.object?.namespace === 'kube-system');
    expect(accepted.map((f) => `${f.control} ${f.object?.kind}/${f.object?.name}`).sort()).toEqual([
      'HCB-WORKLOAD-SA-TOKEN-AUTOMOUNT Deployment/coredns',
      'HCB-WORKLOAD-USER-NAMESPACE Deployment/coredns',
    ]);
  });

  test('without a known API server address the add-on needs apiServerEndpoints', () => {
    expect(() => synthesizeBlueprint({ clusterDns: { image: IMAGE } })).toThrow(/clusterDns.apiServerEndpoints/);
    const bp = synthesizeBlueprint({ clusterDns: { image: IMAGE, apiServerEndpoints: ['192.0.2.10/32'] } });
    expect(
      bp.clusterObjects
        .filter((o) => o.metadata?.namespace === 'kube-system')
        .map((o) => o.kind)
        .sort(),
    ).toEqual([
      'ConfigMap',
      'Deployment',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
      'ServiceAccount',
    ]); // coredns, and kube-system's locked default
    expect(bp.exceptions.map((e) => e.control)).toEqual(
      expect.arrayContaining(['HCB-WORKLOAD-USER-NAMESPACE', 'HCB-WORKLOAD-SA-TOKEN-AUTOMOUNT']),
    );
    expect(synthesizeBlueprint({}).exceptions.map((e) => e.control)).not.toContain('HCB-WORKLOAD-USER-NAMESPACE');
  });
});

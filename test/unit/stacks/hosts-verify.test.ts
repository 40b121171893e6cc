/**
 * stacks/hosts/verify.ts on recorded hosts: what a worker's kubelet and kube-proxy run with and the
 * files they use become the same documents the local verify feeds the catalogue, each finding
 * named by its host; an insecure drop-in and a world-writable file fail their controls; a host
 * that cannot be reached is reported unreachable (never a pass) and the others are still checked.
 */
import { joinNodeFiles } from '../../../stacks/hosts/join';
import { HostRecording, observeHost, RecordedHostReader, verifyHosts, VerifyHost } from '../../../stacks/hosts/verify';
import type { NodeFile } from '../../../policies/model';

const KUBELET_FILES: NodeFile[] = [
  {
    path: '/etc/kubernetes/kubelet.conf',
    mode: 0o600,
    owner: 'root',
    group: 'root',
    role: 'kubelet-kubeconfig',
    sensitive: true,
    createdBy: 'kubeadm',
  } as NodeFile,
  {
    path: '/var/lib/kubelet/config.yaml',
    mode: 0o600,
    owner: 'root',
    group: 'root',
    role: 'kubelet-config',
    sensitive: false,
    createdBy: 'kubeadm',
  } as NodeFile,
];
const nodeFiles = [...joinNodeFiles('w1'), ...KUBELET_FILES];

const KUBELET_CONFIG = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: /etc/kubernetes/pki/ca.crt}
authorization: {mode: Webhook}
readOnlyPort: 0
protectKernelDefaults: true
makeIPTablesUtilChains: true
rotateCertificates: true
serverTLSBootstrap: true
staticPodPath: ""
tlsMinVersion: VersionTLS12
`;
const root = (p: string) => `/proc/200/root${p}`;
const st = (mode: string, type: 'f' | 'd' = 'f') => ({ owner: 'root', group: 'root', mode, type });

function worker(over: { dropin?: string; configMode?: string } = {}): HostRecording {
  return {
    processes: {
      kubelet: {
        pid: 200,
        cwd: '/',
        argv: [
          '/opt/hcb/bin/kubelet',
          '--kubeconfig=/etc/kubernetes/kubelet.conf',
          '--config=/var/lib/kubelet/config.yaml',
          '--config-dir=/etc/kubernetes/kubelet.conf.d',
        ],
      },
    },
    files: {
      [root('/var/lib/kubelet/config.yaml')]: KUBELET_CONFIG,
      ...(over.dropin ? { [root('/etc/kubernetes/kubelet.conf.d/50-x.conf')]: over.dropin } : {}),
    },
    stats: {
      '/etc/kubernetes/kubelet.conf': st('0600'),
      '/var/lib/kubelet/config.yaml': st(over.configMode ?? '0600'),
      '/etc/kubernetes/kubeadm/join-config.yaml': st('0600'),
    },
    trees: {
      [root('/etc/kubernetes/kubelet.conf.d')]: over.dropin ? [{ rel: '50-x.conf', ...st('0600') }] : [],
      '/var/lib/kubelet/pki': [
        { rel: 'kubelet-client-current.pem', ...st('0600') },
        { rel: 'kubelet.crt', ...st('0644') },
      ],
    },
  };
}

const recorded = (name: string, rec: HostRecording): VerifyHost => ({
  name,
  role: 'worker',
  nodeFiles,
  open: async () => ({ reader: new RecordedHostReader(rec), close: async () => undefined }),
});

describe('hcb verify on hosts (recorded hosts)', () => {
  it('observes the kubelet process, its file, its drop-in directory and the node files', async () => {
    const obs = await observeHost({ name: 'w1', role: 'worker', reader: new RecordedHostReader(worker()), nodeFiles });
    const kinds = obs.documents.map((d) => d.object.kind);
    expect(kinds).toEqual(['KubeletProcess', 'KubeletConfiguration', 'KubeletConfigDirectory', 'NodeFileManifest']);
    const proc = obs.documents[0].object as { metadata: { annotations: Record<string, string> } };
    expect(proc.metadata.annotations['hcb.dev/node-role']).toBe('worker');
    const manifest = obs.documents[3].object as unknown as { files: Array<{ path: string; mode: string }> };
    expect(manifest.files.map((f) => f.path).sort()).toEqual([
      '/etc/kubernetes/kubeadm/join-config.yaml',
      '/etc/kubernetes/kubelet.conf',
      '/var/lib/kubelet/config.yaml',
      '/var/lib/kubelet/pki/kubelet-client-current.pem',
      '/var/lib/kubelet/pki/kubelet.crt',
    ]);
    // kube-proxy is not in the recording: reported, not passed.
    expect(obs.missing).toEqual(['kube-proxy is not running']);
  });

  it('a drop-in enabling the read-only port and a world-writable kubelet config fail, named by the host', async () => {
    const good = await verifyHosts({ hosts: [recorded('w1', worker())], namespaces: [] });
    const bad = await verifyHosts({
      hosts: [
        recorded(
          'w1',
          worker({
            dropin: 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 10255\n',
            configMode: '0666',
          }),
        ),
      ],
      namespaces: [],
    });
    const failing = (r: typeof good, control: string) =>
      r.findings.filter((f) => f.control === control && f.status === 'fail');
    expect(failing(good, 'HCB-KUBELET-READ-ONLY-PORT')).toHaveLength(0);
    expect(failing(bad, 'HCB-KUBELET-READ-ONLY-PORT').length).toBeGreaterThan(0);
    expect(failing(bad, 'HCB-KUBELET-READ-ONLY-PORT')[0].object?.file).toMatch(/^host:w1:/);
    const fileFails = bad.findings.filter(
      (f) => f.status === 'fail' && f.object?.path === '/var/lib/kubelet/config.yaml',
    );
    expect(fileFails.length).toBeGreaterThan(0);
    expect(
      good.findings.filter((f) => f.status === 'fail' && f.object?.path === '/var/lib/kubelet/config.yaml'),
    ).toHaveLength(0);
    // Without an admin kubeconfig the API probes are not evaluated (never passed).
    expect(good.findings.filter((f) => f.object?.kind === 'Probe').every((f) => f.status === 'not-evaluated')).toBe(
      true,
    );
  });

  it('an unreachable host is reported with its reason and the other hosts are still checked', async () => {
    const down: VerifyHost = {
      name: 'w2',
      role: 'worker',
      nodeFiles,
      open: async () => Promise.reject(new Error('connect ECONNREFUSED 198.18.6.12:22')),
    };
    const hung: VerifyHost = { name: 'w3', role: 'worker', nodeFiles, open: () => new Promise(() => undefined) };
    const r = await verifyHosts({ hosts: [down, hung, recorded('w1', worker())], namespaces: [], hostTimeoutMs: 500 });
    expect(r.unreachable.map((u) => u.host)).toEqual(['w2', 'w3']);
    expect(r.unreachable[0].message).toMatch(/ECONNREFUSED/);
    expect(r.unreachable[1].message).toMatch(/longer than/);
    expect(r.findings.some((f) => f.object?.file?.startsWith('host:w1:'))).toBe(true);
    expect(r.findings.some((f) => /host:w[23]:/.test(f.object?.file ?? ''))).toBe(false);
  });
});

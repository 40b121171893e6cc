/**
 * The node probes of `hcb verify` on hosts (stacks/hosts/verify.ts probeHostNode, parseProbeOutput):
 * the kubelet asked anonymously (401 expected) with the cluster CA, its read-only ports and
 * kube-proxy's metrics port (refused expected), on the ports the host's own documents say; curl's
 * answers read as open / refused / something else; no probe answer is ever a pass.
 */
import type { Document } from '../../../policies/model';
import {
  HostReader,
  NodeProbeAnswer,
  NodeProbeRequest,
  parseProbeOutput,
  probeHostNode,
} from '../../../stacks/hosts/verify';

const kubeletDocs = (config: string): Document[] => [
  {
    object: {
      apiVersion: 'hcb.dev/v1alpha1',
      kind: 'KubeletProcess',
      metadata: { name: 'w1', annotations: { 'hcb.dev/node-role': 'worker' } },
      command: ['kubelet', '--config=/var/lib/kubelet/config.yaml'],
    },
    source: { file: 'live:/proc/200/cmdline' },
  },
  {
    object: {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      ...(JSON.parse(config) as Record<string, unknown>),
    },
    source: { file: 'live:/var/lib/kubelet/config.yaml' },
  },
];
const proxyDocs: Document[] = [
  {
    object: {
      apiVersion: 'hcb.dev/v1alpha1',
      kind: 'KubeProxyProcess',
      metadata: { name: 'w1' },
      command: ['kube-proxy', '--config=/var/lib/kube-proxy/config.conf'],
    },
    source: { file: 'live:/proc/300/cmdline' },
  },
  {
    object: {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      metricsBindAddress: '127.0.0.1:10249',
      clientConnection: { kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf' },
    },
    source: { file: 'live:/var/lib/kube-proxy/config.conf' },
  },
];

function reader(answer: (r: NodeProbeRequest) => NodeProbeAnswer, seen: NodeProbeRequest[] = []): HostReader {
  return {
    processes: async () => new Map(),
    read: async () => new Map(),
    stat: async () => new Map(),
    tree: async () => undefined,
    probe: async (r) => (seen.push(r), answer(r)),
  };
}

const byControl = (fs: Array<{ control: string; status: string }>) =>
  Object.fromEntries(fs.map((f) => [f.control, f.status]));

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('node probes on hosts', () => {
  it('reads curl: a connection accepted (then reset) is open, "Connection refused" is refused, anything else is named', () => {
    const req = {
      address: '198.18.6.11',
      kubeletPort: 10250,
      caFile: '/ca',
      readOnlyPorts: [10255, 10266],
      proxyMetricsPort: 10249,
    };
    const refused = b64('* connect to 198.18.6.11 port 10255 failed: Connection refused\ncurl: (7) Failed to connect');
    const out = [
      'verified 0 401 ',
      `ro:10255 7 000 ${refused}`,
      `ro:10266 56 000 ${b64('* Connected to 198.18.6.11 (198.18.6.11) port 10266 (#0)\ncurl: (56) Recv failure: Connection reset by peer')}`,
      `metrics 28 000 ${b64('curl: (28) Connection timed out after 10001 milliseconds')}`,
    ].join('\n');
    expect(parseProbeOutput(out, req)).toEqual({
      verified: { status: 401 },
      readOnly: { '10255': 'refused', '10266': 'open' },
      proxyMetrics: { other: 'curl exit 28: curl: (28) Connection timed out after 10001 milliseconds' },
    });
    // Exit 7 without "refused" (unreachable, say) is not taken as refused.
    expect(
      parseProbeOutput(`verified 60 000 \nunverified 0 401 \nro:10255 7 000 ${b64('curl: (7) No route to host')}`, req),
    ).toMatchObject({
      verified: { error: 'curl exit 60' },
      unverified: { status: 401 },
      readOnly: { '10255': { other: 'curl exit 7: curl: (7) No route to host' } },
      proxyMetrics: { other: 'no answer from the probe' },
    });
    expect(parseProbeOutput('nocurl\n', req)).toEqual({ unavailable: 'curl is not installed on the host' });
  });

  it('a closed host passes; the ports asked are the kubelet and kube-proxy configuration of the host', async () => {
    const seen: NodeProbeRequest[] = [];
    const f = await probeHostNode(
      reader(
        (r) => ({
          verified: { status: 401 },
          readOnly: Object.fromEntries(r.readOnlyPorts.map((p) => [String(p), 'refused' as const])),
          proxyMetrics: 'refused',
        }),
        seen,
      ),
      '198.18.6.12',
      [...kubeletDocs('{"port": 10300, "readOnlyPort": 0}'), ...proxyDocs],
    );
    expect(seen).toEqual([
      {
        address: '198.18.6.12',
        kubeletPort: 10300,
        caFile: '/etc/kubernetes/pki/ca.crt',
        readOnlyPorts: [10255],
        proxyMetricsPort: 10249,
      },
    ]);
    expect(byControl(f)).toEqual({
      'HCB-KUBELET-ANONYMOUS-AUTH': 'pass',
      'HCB-KUBELET-SERVING-CERT': 'pass',
      'HCB-KUBELET-READ-ONLY-PORT': 'pass',
      'HCB-KUBE-PROXY-METRICS-LOOPBACK': 'pass',
    });
    expect(f.every((x) => x.object?.kind === 'Probe')).toBe(true);
  });

  it('an open host fails: anonymous 200, a certificate the CA does not verify, read-only port and metrics open', async () => {
    const f = await probeHostNode(
      reader((r) => ({
        verified: { error: 'curl exit 60' },
        unverified: { status: 200 },
        readOnly: Object.fromEntries(r.readOnlyPorts.map((p) => [String(p), 'open' as const])),
        proxyMetrics: 'open',
      })),
      '198.18.6.12',
      [...kubeletDocs('{"readOnlyPort": 10266}'), ...proxyDocs],
    );
    expect(byControl(f)).toEqual({
      'HCB-KUBELET-ANONYMOUS-AUTH': 'fail',
      'HCB-KUBELET-SERVING-CERT': 'fail',
      'HCB-KUBELET-READ-ONLY-PORT': 'fail',
      'HCB-KUBE-PROXY-METRICS-LOOPBACK': 'fail',
    });
    expect(f.find((x) => x.control === 'HCB-KUBELET-READ-ONLY-PORT')?.message).toMatch(/10255.*10266/);
  });

  it('without curl, an address, the kubelet or kube-proxy: not evaluated with the reason, never a pass', async () => {
    const docs = [...kubeletDocs('{}'), ...proxyDocs];
    const none = await probeHostNode(
      reader(() => ({ unavailable: 'curl is not installed on the host' })),
      '198.18.6.12',
      docs,
    );
    expect(none.map((x) => x.status)).toEqual(['not-evaluated', 'not-evaluated', 'not-evaluated', 'not-evaluated']);
    expect(none[0].message).toMatch(/curl is not installed/);
    const noAddress = await probeHostNode(
      reader(() => ({ unavailable: 'x' })),
      undefined,
      docs,
    );
    expect(noAddress.every((x) => x.status === 'not-evaluated' && /no address/.test(x.message))).toBe(true);
    const noKubelet = await probeHostNode(
      reader(() => ({ unavailable: 'x' })),
      '198.18.6.12',
      proxyDocs,
    );
    expect(noKubelet.every((x) => x.status === 'not-evaluated' && /kubelet/.test(x.message))).toBe(true);
    const noProxy = await probeHostNode(
      reader(() => ({ verified: { status: 401 }, readOnly: { '10255': 'refused' } })),
      '198.18.6.12',
      kubeletDocs('{}'),
    );
    expect(noProxy.find((x) => x.control === 'HCB-KUBE-PROXY-METRICS-LOOPBACK')).toMatchObject({
      status: 'not-evaluated',
      message: expect.stringMatching(/kube-proxy is not running/),
    });
    const broken = await probeHostNode(
      { ...reader(() => ({ unavailable: 'x' })), probe: () => Promise.reject(new Error('ssh channel closed')) },
      '198.18.6.12',
      docs,
    );
    expect(broken.every((x) => x.status === 'error' && /ssh channel closed/.test(x.message))).toBe(true);
  });
});

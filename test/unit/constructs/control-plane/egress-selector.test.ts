/**
 * clusterEgressProxySocket: the API server's `cluster` traffic through an HTTP CONNECT proxy on a
 * unix socket (EgressSelectorConfiguration, apiserver.k8s.io/v1beta1). Field names as
 * k8s.io/apiserver/pkg/apis/apiserver/v1beta1 declares them (decoded strictly by the API server).
 */
import { BlueprintPropError } from '../../../../constructs/common/errors';
import { synthesizeBlueprint } from '../../../../constructs/blueprint';
import { build, buildError, docs, file, kind, kubeadmDocs } from './support';

const CONFIG = '/etc/kubernetes/egress-selector/egress-selector-config.yaml';
const SOCKET = '/etc/kubernetes/egress-proxy/cluster.sock';

describe('clusterEgressProxySocket', () => {
  test('renders the EgressSelectorConfiguration file: cluster egress over HTTPConnect on the socket, nothing else', () => {
    const cp = build({ clusterEgressProxySocket: SOCKET });
    const f = file(cp, CONFIG);
    expect([f.mode, f.owner, f.role, f.sensitive, f.createdBy]).toEqual([
      0o600,
      'root',
      'egress-selector-config',
      false,
      'blueprint',
    ]);
    expect(docs(f.content!)).toEqual([
      {
        apiVersion: 'apiserver.k8s.io/v1beta1',
        kind: 'EgressSelectorConfiguration',
        egressSelections: [
          { name: 'cluster', connection: { proxyProtocol: 'HTTPConnect', transport: { uds: { udsName: SOCKET } } } },
        ],
      },
    ]);
    expect(cp.documents.map((d) => d.kind)).toContain('EgressSelectorConfiguration');
    // The node file manifest lists it like every blueprint file.
    expect(cp.nodeFiles.filter((x) => x.path === CONFIG)).toHaveLength(1);
  });

  test('the API server gets the flag, the file mounted read-only and the socket directory mounted; the kubelet TLS flags stay', () => {
    const cluster = kind(kubeadmDocs(build({ clusterEgressProxySocket: SOCKET })), 'ClusterConfiguration');
    const args = Object.fromEntries(
      (cluster.apiServer.extraArgs as Array<{ name: string; value: string }>).map((a) => [a.name, a.value]),
    );
    expect(args['egress-selector-config-file']).toBe(CONFIG);
    expect(args['kubelet-certificate-authority']).toBe('/etc/kubernetes/pki/ca.crt');
    expect(args['kubelet-client-certificate']).toBe('/etc/kubernetes/pki/apiserver-kubelet-client.crt');
    expect(args['kubelet-client-key']).toBe('/etc/kubernetes/pki/apiserver-kubelet-client.key');
    expect(args['kubelet-insecure-tls']).toBeUndefined();
    const vols = cluster.apiServer.extraVolumes as Array<Record<string, unknown>>;
    expect(vols).toEqual(
      expect.arrayContaining([
        { name: 'hcb-egress-selector-config', hostPath: CONFIG, mountPath: CONFIG, readOnly: true, pathType: 'File' },
        {
          name: 'hcb-egress-proxy',
          hostPath: '/etc/kubernetes/egress-proxy',
          mountPath: '/etc/kubernetes/egress-proxy',
          readOnly: false,
          pathType: 'DirectoryOrCreate',
        },
      ]),
    );
  });

  test('without it: no file, no flag, no volume (the API server dials nodes directly)', () => {
    const cp = build();
    expect(cp.egressSelector).toBeUndefined();
    expect(cp.nodeFiles.some((f) => f.role === 'egress-selector-config')).toBe(false);
    const cluster = kind(kubeadmDocs(cp), 'ClusterConfiguration');
    expect(JSON.stringify(cluster)).not.toContain('egress');
  });

  test('the local target sets it (its node lives in a network namespace the API server cannot route to)', () => {
    const local = synthesizeBlueprint({
      local: {
        apiServerPort: 6443,
        etcdClientPort: 2379,
        etcdPeerPort: 2380,
        etcdMetricsPort: 2381,
        controllerManagerPort: 10257,
        schedulerPort: 10259,
      },
    });
    expect(local.nodeFiles.find((f) => f.role === 'egress-selector-config')?.content).toContain(`udsName: ${SOCKET}`);
    const plain = synthesizeBlueprint({});
    expect(plain.nodeFiles.some((f) => f.role === 'egress-selector-config')).toBe(false);
  });

  test.each([
    ['relative', 'egress/cluster.sock', /not an absolute path/],
    ['with ..', '/etc/kubernetes/egress/../pki/x.sock', /not an absolute path/],
    ['not normalised', '/etc/kubernetes//egress/cluster.sock', /not a normalised file path/],
    ['a directory', '/etc/kubernetes/egress/', /not a normalised file path/],
    ['too long for a unix socket', `/etc/kubernetes/egress/${'x'.repeat(90)}.sock`, /at most 107 bytes/],
    ['in /etc/kubernetes itself', '/etc/kubernetes/cluster.sock', /holds other files/],
    ['in the PKI', '/etc/kubernetes/pki/egress/cluster.sock', /holds other files/],
    ['next to the static pod manifests', '/etc/kubernetes/manifests/cluster.sock', /holds other files/],
    ['next to a configuration file the API server reads', '/etc/kubernetes/audit/cluster.sock', /holds other files/],
    ['in /run', '/run/cluster.sock', /holds other files/],
  ])('refuses a socket path %s', (_what, socket, problem) => {
    const e = buildError({ clusterEgressProxySocket: socket });
    expect(e).toBeInstanceOf(BlueprintPropError);
    expect((e as BlueprintPropError).prop).toBe('clusterProxySocket');
    expect((e as BlueprintPropError).constructPath).toBe('cp/EgressSelector');
    expect(e.message).toMatch(problem);
  });

  test('refuses the flag through apiServer.extraArgs when the prop sets it', () => {
    const e = buildError({
      clusterEgressProxySocket: SOCKET,
      apiServer: { extraArgs: { 'egress-selector-config-file': '/x.yaml' } },
    });
    expect((e as BlueprintPropError).prop).toBe('apiServer.extraArgs.egress-selector-config-file');
  });
});

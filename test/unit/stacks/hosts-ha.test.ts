/**
 * Several control planes on the hosts target: `hcb:controlPlaneEndpoint` (validated, required with
 * more than one control plane, never one control plane's own address), its way into kubeadm's
 * ClusterConfiguration and the API server's certificate SANs, the JoinConfiguration of a further
 * control plane, and the quorum rule that guards a control plane's removal.
 */
import { parseAllDocuments } from 'yaml';
import { synthesizeBlueprint } from '../../../constructs/blueprint';
import { HostsTargetSpec, parseControlPlaneEndpoint, parseHostsConfig } from '../../../stacks/hosts/config';
import {
  controlPlaneJoinConfig,
  EtcdMember,
  removalKeepsQuorum,
  SHARED_PKI_FILES,
} from '../../../stacks/hosts/control-plane-join';
import { hostsBlueprintSpec } from '../../../stacks/hosts/program';
import { kubeconfigForDial } from '../../../stacks/hosts/target';
import { readerFromPulumiConfigJson, stackSpec } from '../../../stacks/spec';

const KEYS = [
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICbGp5dTJf0264nGwUsMHwpYo4AXTWkv49Ea4R/aqWjq',
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFq0XqxV4nKFu6Xb8nIQZ4JgS0rZ0sH0m6w6Zq3J2mUy',
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx1s9mC9gQ8bZt4yA2e3vPpRkq2X3yM5f0i0h8jW7nQ',
];
const entry = (i: number, role = 'control-plane') => ({
  name: `cp${i + 1}`,
  address: `198.18.7.${11 + i}`,
  user: 'root',
  role,
  hostKey: KEYS[i],
});

describe('hcb:controlPlaneEndpoint', () => {
  test('three control planes need it; the error names the setting and the fix', () => {
    expect(() => parseHostsConfig([entry(0), entry(1), entry(2)])).toThrow(
      /lists 3 control-plane hosts \(cp1, cp2, cp3\) but "hcb:controlPlaneEndpoint" is not set.*load balancer.*Fix: pulumi config set hcb:controlPlaneEndpoint <load balancer host or IP>:6443/,
    );
    const s = parseHostsConfig([entry(0), entry(1), entry(2)], '198.18.7.2:6443');
    expect(s.controlPlaneEndpoint).toEqual({ host: '198.18.7.2', port: 6443, text: '198.18.7.2:6443' });
    expect(s.hosts.map((h) => h.role)).toEqual(['control-plane', 'control-plane', 'control-plane']);
  });

  test('one control plane: optional (kept when set, so control planes can be added later)', () => {
    expect(parseHostsConfig([entry(0), entry(1, 'worker')]).controlPlaneEndpoint).toBeUndefined();
    expect(parseHostsConfig([entry(0)], 'api.example.org:443').controlPlaneEndpoint?.text).toBe('api.example.org:443');
  });

  test('accepted forms: DNS name, IPv4, bracketed IPv6 (canonical lower case)', () => {
    expect(parseControlPlaneEndpoint('API.Example.org:6443')).toEqual({
      host: 'api.example.org',
      port: 6443,
      text: 'api.example.org:6443',
    });
    expect(parseControlPlaneEndpoint('[2001:DB8::10]:6443')).toEqual({
      host: '2001:db8::10',
      port: 6443,
      text: '[2001:db8::10]:6443',
    });
    expect(parseControlPlaneEndpoint(undefined)).toBeUndefined();
    expect(parseControlPlaneEndpoint('')).toBeUndefined();
  });

  test.each([
    ['198.18.7.2', /is not "host:port"/],
    ['198.18.7.2:0', /0 is not a port/],
    ['198.18.7.2:70000', /70000 is not a port/],
    ['2001:db8::10:6443', /is not "host:port"/],
    ['[198.18.7.2]:6443', /in brackets is not an IPv6 address/],
    ['300.1.1.1:6443', /is not a valid IPv4 address/],
    ['-bad-.example:6443', /is not a DNS name/],
    ['https://lb:6443', /is not "host:port"/],
  ])('%s is refused with the fix', (value, why) => {
    expect(() => parseControlPlaneEndpoint(value)).toThrow(why);
    expect(() => parseControlPlaneEndpoint(value)).toThrow(/Fix: pulumi config set hcb:controlPlaneEndpoint/);
  });

  test('not a string', () => {
    expect(() => parseControlPlaneEndpoint(6443)).toThrow(/must be a string "host:port", got number 6443/);
  });

  test("one control plane's own address is not a stable endpoint", () => {
    expect(() => parseHostsConfig([entry(0), entry(1), entry(2)], '198.18.7.12:6443')).toThrow(
      /is the address of control-plane host "cp2"; the endpoint must stay reachable when any one control plane is down/,
    );
    // A worker's address is not refused here (a balancer may run there).
    expect(
      parseHostsConfig([entry(0), entry(1), entry(2, 'worker')], '198.18.7.13:6443').controlPlaneEndpoint?.host,
    ).toBe('198.18.7.13');
  });
});

describe('the hosts blueprint with an endpoint', () => {
  const hosts: HostsTargetSpec = parseHostsConfig([entry(0), entry(1), entry(2)], '198.18.7.2:6443');

  test('kubeadm gets controlPlaneEndpoint, and the endpoint host is a SAN of the API server certificate', () => {
    const b = synthesizeBlueprint(hostsBlueprintSpec({}, hosts, { stack: 'ha' }));
    const kubeadm = b.nodeFiles.find((f) => f.role === 'kubeadm-config')!;
    const docs = parseAllDocuments(kubeadm.content!).map((d) => d.toJS() as Record<string, unknown>);
    const cluster = docs.find((d) => d.kind === 'ClusterConfiguration') as {
      controlPlaneEndpoint?: string;
      apiServer?: { certSANs?: string[] };
    };
    expect(cluster.controlPlaneEndpoint).toBe('198.18.7.2:6443');
    expect(cluster.apiServer?.certSANs).toEqual(['198.18.7.2']);
    const init = docs.find((d) => d.kind === 'InitConfiguration') as {
      nodeRegistration: { name: string };
      localAPIEndpoint: { advertiseAddress: string };
    };
    expect(init.nodeRegistration.name).toBe('cp1');
    expect(init.localAPIEndpoint.advertiseAddress).toBe('198.18.7.11');
  });

  test('a SAN the spec already lists is not repeated', () => {
    const b = synthesizeBlueprint(
      hostsBlueprintSpec({ controlPlane: { certSANs: ['198.18.7.2', 'api.internal'] } }, hosts, { stack: 'ha' }),
    );
    const text = b.nodeFiles.find((f) => f.role === 'kubeadm-config')!.content!;
    const cluster = parseAllDocuments(text)
      .map((d) => d.toJS() as { kind: string; apiServer?: { certSANs?: string[] } })
      .find((d) => d.kind === 'ClusterConfiguration')!;
    expect(cluster.apiServer?.certSANs).toEqual(['api.internal', '198.18.7.2']);
  });

  test('without an endpoint nothing is added', () => {
    const one = parseHostsConfig([entry(0)]);
    const text = synthesizeBlueprint(hostsBlueprintSpec({}, one, { stack: 'one' })).nodeFiles.find(
      (f) => f.role === 'kubeadm-config',
    )!.content!;
    expect(text).not.toMatch(/controlPlaneEndpoint/);
  });
});

describe('joining a further control plane', () => {
  test('the JoinConfiguration has the controlPlane section with this host as its API endpoint', () => {
    const doc = parseAllDocuments(controlPlaneJoinConfig('cp2', '198.18.7.12', true))[0].toJS() as Record<
      string,
      unknown
    >;
    expect(doc.kind).toBe('JoinConfiguration');
    expect(doc.controlPlane).toEqual({ localAPIEndpoint: { advertiseAddress: '198.18.7.12', bindPort: 6443 } });
    expect((doc.nodeRegistration as { name: string }).name).toBe('cp2');
    expect(doc.discovery).toEqual({ file: { kubeConfigPath: '/etc/kubernetes/discovery/cluster-info.conf' } });
    expect(doc.patches).toEqual({ directory: expect.any(String) });
    expect(doc.timeouts).toEqual({ kubernetesAPICall: '5m0s', etcdAPICall: '5m0s', tlsBootstrap: '10m0s' });
    // No certificate key: the shared keys are copied over SSH, nothing is uploaded to the cluster.
    expect(JSON.stringify(doc)).not.toMatch(/certificateKey/);
    const plain = parseAllDocuments(controlPlaneJoinConfig('cp2', '198.18.7.12', false))[0].toJS() as Record<
      string,
      unknown
    >;
    expect(plain.patches).toBeUndefined();
  });

  test("the shared keys are kubeadm's certificates to transfer for stacked etcd", () => {
    expect([...SHARED_PKI_FILES].sort()).toEqual(
      [
        'ca.crt',
        'ca.key',
        'etcd/ca.crt',
        'etcd/ca.key',
        'front-proxy-ca.crt',
        'front-proxy-ca.key',
        'sa.key',
        'sa.pub',
      ].sort(),
    );
  });
});

describe('removing a control plane keeps etcd quorum or is refused', () => {
  const m = (name: string, started = true): EtcdMember => ({
    id: `${name.length}`,
    name,
    peerURLs: [`https://${name}:2380`],
    clientURLs: started ? [`https://${name}:2379`] : [],
    isLearner: false,
  });

  const all = new Set(['cp1', 'cp2', 'cp3']);
  test('three healthy members: removing one leaves two', () => {
    expect(removalKeepsQuorum([m('cp1'), m('cp2'), m('cp3')], 'cp3', all)).toEqual({
      ok: true,
      reason: '2 members left, 2 healthy',
    });
  });

  test('another member down (or never started): removing a third is refused', () => {
    const down = removalKeepsQuorum([m('cp1'), m('cp2'), m('cp3')], 'cp3', new Set(['cp2', 'cp3']));
    expect(down.ok).toBe(false);
    expect(down.reason).toMatch(
      /only 1 of the 2 members left are healthy; removing cp3 would leave etcd without quorum/,
    );
    // A member that never started has no client URL: not counted even if named healthy.
    expect(removalKeepsQuorum([m('cp1'), m('cp2', false), m('cp3')], 'cp3', all).ok).toBe(false);
    expect(removalKeepsQuorum([m('cp1'), m('cp2')], 'cp2', new Set()).reason).toBe(
      'no healthy etcd member would be left',
    );
  });

  test('the last two: removing one leaves a healthy single member', () => {
    expect(removalKeepsQuorum([m('cp1'), m('cp2')], 'cp2', all).ok).toBe(true);
  });

  test('not a member: nothing to guard', () => {
    expect(removalKeepsQuorum([m('cp1')], 'cp9', new Set()).ok).toBe(true);
  });
});

describe('the stack config reader', () => {
  test('hcb:controlPlaneEndpoint reaches the hosts spec; on another target it is refused with the fix', () => {
    const cfg = (target: string, extra: Record<string, unknown>) =>
      readerFromPulumiConfigJson({
        'hcb:target': { value: target },
        ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [`hcb:${k}`, v])),
      });
    const hosts = [entry(0), entry(1), entry(2)];
    const s = stackSpec(
      cfg('hosts', {
        hosts: { value: JSON.stringify(hosts), objectValue: hosts },
        sshPrivateKey: { secret: true },
        controlPlaneEndpoint: { value: '198.18.7.2:6443' },
      }),
    );
    expect(s.hosts?.controlPlaneEndpoint?.text).toBe('198.18.7.2:6443');
    expect(() => stackSpec(cfg('local', { controlPlaneEndpoint: { value: '198.18.7.2:6443' } }))).toThrow(
      /"hcb:controlPlaneEndpoint" is set but hcb:target is local.*Fix: pulumi config rm hcb:controlPlaneEndpoint/,
    );
  });
});

describe('reaching the endpoint through HCB_HOSTS_DIAL', () => {
  const conf = (server: string) =>
    `apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: QQ==\n    server: ${server}\n  name: k\n`;

  test("the certificate is checked for the host admin.conf names: the endpoint's, not the first control plane's", () => {
    // With several control planes admin.conf names the balancer; the connection may land on any API
    // server, and only the endpoint is a SAN of every one of them.
    const d = kubeconfigForDial(conf('https://198.18.7.1:6443'), '198.18.7.11', {
      api: { host: '127.0.0.1', port: 47423 },
    });
    expect(d).toContain('    server: https://127.0.0.1:47423\n    tls-server-name: 198.18.7.1\n');
    expect(d).not.toContain('198.18.7.11');
    expect(
      kubeconfigForDial(conf('https://api.prod.example.org:6443'), '198.18.7.11', { api: { host: '::1', port: 6443 } }),
    ).toContain('    server: https://[::1]:6443\n    tls-server-name: api.prod.example.org\n');
    expect(
      kubeconfigForDial(conf('https://[2001:db8::10]:6443'), '2001:db8::11', { api: { host: '127.0.0.1', port: 1 } }),
    ).toContain('tls-server-name: 2001:db8::10\n');
  });

  test('a server line that is not a URL is an error naming the host', () => {
    expect(() => kubeconfigForDial(conf('not a url'), '198.18.7.11', { api: { host: '127.0.0.1', port: 1 } })).toThrow(
      /admin\.conf of 198\.18\.7\.11/,
    );
  });
});

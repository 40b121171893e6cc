/** The building blocks behind the checks: flag sources, audit rule matching, modes, TLS, durations. */
import { findComponents, parseCommandFlags, readExtraArgs } from '../../../policies/components';
import { auditLevelFor, ruleMatches } from '../../../policies/checks/audit-policy';
import { cipherSuitesVerdict, isApprovedCipherSuite } from '../../../policies/checks/tls';
import { coversSecrets, secretsEncryptionVerdict } from '../../../policies/catalogue/encryption';
import { durationSeconds } from '../../../policies/catalogue/kubelet';
import { Document, KubeObject } from '../../../policies/model';
import { parseMode, withinMode } from '../../../policies/util/values';

const d = (object: KubeObject): Document => ({ object, source: { file: 'x.yaml', line: 1 } });

describe('component flags', () => {
  it('reads kubeadm v1beta4 list extraArgs (last one wins) and v1beta3 map extraArgs', () => {
    expect(readExtraArgs([{ name: 'a', value: '1' }, { name: 'a', value: '2' }, { value: 'x' }])).toEqual([
      ['a', '1'],
      ['a', '2'],
    ]);
    expect(readExtraArgs({ a: 'true', b: false })).toEqual([
      ['a', 'true'],
      ['b', 'false'],
    ]);
    const [api] = findComponents([
      d({
        apiVersion: 'kubeadm.k8s.io/v1beta4',
        kind: 'ClusterConfiguration',
        apiServer: {
          extraArgs: [
            { name: 'profiling', value: 'true' },
            { name: 'profiling', value: 'false' },
          ],
        },
      }),
    ])['kube-apiserver'];
    expect(api.flag('profiling')).toBe('false');
    expect(api.flags.get('profiling')?.origin).toBe('extraArgs');
  });

  it('adds the flags kubeadm always renders, and its Node,RBAC default unless a structured config is given', () => {
    const plain = findComponents([
      d({ apiVersion: 'kubeadm.k8s.io/v1beta3', kind: 'ClusterConfiguration', certificatesDir: '/pki' }),
    ]);
    expect(plain['kube-apiserver'][0].flag('authorization-mode')).toBe('Node,RBAC');
    expect(plain['kube-apiserver'][0].flag('client-ca-file')).toBe('/pki/ca.crt');
    expect(plain['kube-apiserver'][0].flags.get('client-ca-file')?.origin).toBe('kubeadm-default');
    expect(plain.etcd[0].flag('client-cert-auth')).toBe('true');
    expect(plain['kube-scheduler'][0].flag('bind-address')).toBe('127.0.0.1');
    const structured = findComponents([
      d({
        apiVersion: 'kubeadm.k8s.io/v1beta4',
        kind: 'ClusterConfiguration',
        apiServer: { extraArgs: [{ name: 'authorization-config', value: '/etc/authz.yaml' }] },
      }),
    ]);
    expect(structured['kube-apiserver'][0].flag('authorization-mode')).toBeUndefined();
    const external = findComponents([
      d({
        apiVersion: 'kubeadm.k8s.io/v1beta4',
        kind: 'ClusterConfiguration',
        etcd: { external: { endpoints: ['https://etcd:2379'], caFile: '/ca', certFile: '/c', keyFile: '/k' } },
      }),
    ]);
    expect(external.etcd).toEqual([]);
    expect(external['kube-apiserver'][0].flag('etcd-servers')).toBe('https://etcd:2379');
  });

  it('reads static pod command lines in either flag form, and ignores pods outside kube-system', () => {
    expect(parseCommandFlags(['--a=1', '--b', '2', '--anonymous-auth', '--c=x=y'])).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['anonymous-auth', 'true'],
      ['c', 'x=y'],
    ]);
    const pod = (ns: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'kube-apiserver', namespace: ns },
      spec: { containers: [{ name: 'c', command: ['/usr/local/bin/kube-apiserver'], args: ['--secure-port=6443'] }] },
    });
    expect(findComponents([d(pod('kube-system'))])['kube-apiserver'][0].flag('secure-port')).toBe('6443');
    expect(findComponents([d(pod('team-a'))])['kube-apiserver']).toEqual([]);
  });
});

describe('audit policy first-match evaluation', () => {
  const user = { user: 'u', groups: ['system:authenticated'] };
  const secrets = { ...user, verb: 'get', resource: { group: '', resource: 'secrets' }, namespace: 'a' };

  it('applies the first matching rule', () => {
    const policy = {
      rules: [{ level: 'Metadata', resources: [{ group: '', resources: ['secrets'] }] }, { level: 'None' }],
    };
    expect(auditLevelFor(policy, secrets)).toMatchObject({ level: 'Metadata', rule: 1 });
    expect(auditLevelFor({ rules: [{ level: 'None' }, ...policy.rules] }, secrets)).toMatchObject({
      level: 'None',
      rule: 1,
    });
    expect(auditLevelFor({ rules: [] }, secrets)).toMatchObject({ level: 'None', rule: 0 });
  });

  it('matches groups, subresources, resource names, namespaces and non-resource URLs as the API server does', () => {
    expect(ruleMatches({ resources: [{ group: '' }] }, secrets)).toBe(true); // whole core group
    expect(ruleMatches({ resources: [{ group: 'apps' }] }, secrets)).toBe(false);
    expect(ruleMatches({ resources: [{ resources: ['secrets'] }] }, secrets)).toBe(true); // omitted group = core
    expect(
      ruleMatches(
        { resources: [{ group: '', resources: ['pods'] }] },
        { ...user, verb: 'create', resource: { group: '', resource: 'pods', subresource: 'exec' }, namespace: 'a' },
      ),
    ).toBe(false);
    expect(
      ruleMatches(
        { resources: [{ group: '', resources: ['pods/*'] }] },
        { ...user, verb: 'create', resource: { group: '', resource: 'pods', subresource: 'exec' }, namespace: 'a' },
      ),
    ).toBe(true);
    expect(ruleMatches({ resources: [{ group: '', resources: ['secrets'], resourceNames: ['one'] }] }, secrets)).toBe(
      false,
    );
    expect(ruleMatches({ namespaces: ['kube-system'] }, secrets)).toBe(false);
    expect(ruleMatches({ users: ['system:kube-proxy'] }, secrets)).toBe(false);
    expect(ruleMatches({ nonResourceURLs: ['/healthz*'] }, secrets)).toBe(false);
    expect(ruleMatches({ nonResourceURLs: ['/healthz*'] }, { ...user, verb: 'get', path: '/healthz/etcd' })).toBe(true);
    expect(ruleMatches({ resources: [{ group: '' }] }, { ...user, verb: 'get', path: '/version' })).toBe(false);
  });
});

describe('permission bits', () => {
  it('reads octal text and numbers', () => {
    expect(parseMode('0600')).toBe(0o600);
    expect(parseMode('644')).toBe(0o644);
    expect(parseMode('0o640')).toBe(0o640);
    expect(parseMode(384)).toBe(0o600);
    expect(parseMode('0800')).toBeUndefined();
    expect(parseMode('rw-r--r--')).toBeUndefined();
  });
  it('treats "stricter" as no bit outside the allowed mask', () => {
    expect(withinMode(0o600, 0o644)).toBe(true);
    expect(withinMode(0o444, 0o644)).toBe(true);
    expect(withinMode(0o640, 0o644)).toBe(true);
    expect(withinMode(0o700, 0o644)).toBe(false); // numerically larger and a different bit
    expect(withinMode(0o646, 0o644)).toBe(false);
    expect(withinMode(0o4600, 0o600)).toBe(false);
    expect(withinMode(0o400, 0o600)).toBe(true);
  });
});

describe('TLS, encryption and durations', () => {
  it('accepts only forward-secret AEAD suites', () => {
    expect(isApprovedCipherSuite('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256')).toBe(true);
    expect(isApprovedCipherSuite('TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256')).toBe(true);
    expect(isApprovedCipherSuite('TLS_AES_256_GCM_SHA384')).toBe(true);
    expect(isApprovedCipherSuite('TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA')).toBe(false);
    expect(isApprovedCipherSuite('TLS_RSA_WITH_AES_128_GCM_SHA256')).toBe(false);
    expect(cipherSuitesVerdict(undefined, 'x').status).toBe('fail');
  });

  it('finds the entry that covers Secrets and judges its first provider', () => {
    expect(coversSecrets(['configmaps', 'secrets'])).toBe(true);
    expect(coversSecrets(['*.'])).toBe(true);
    expect(coversSecrets(['*.apps'])).toBe(false);
    const verdict = secretsEncryptionVerdict({
      resources: [
        { resources: ['secrets'], providers: [{ identity: {} }] },
        {
          resources: ['*.*'],
          providers: [{ aesgcm: { keys: [{ name: 'k', secret: 'c2VjcmV0IGlzIHNlY3VyZSwgaSB0aGluayBzbyEhISE=' }] } }],
        },
      ],
    });
    expect(verdict.status).toBe('fail'); // the first entry naming secrets wins
  });

  it('reads Go durations', () => {
    expect(durationSeconds('4h0m0s')).toBe(14400);
    expect(durationSeconds('5m')).toBe(300);
    expect(durationSeconds('0s')).toBe(0);
    expect(durationSeconds('0')).toBe(0);
    expect(durationSeconds('five')).toBeUndefined();
  });
});

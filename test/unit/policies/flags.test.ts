/** Flags read the way the components read them: types, repetitions, spellings, command lines, kubelet precedence. */
import { findComponents } from '../../../policies/components';
import {
  admissionPlugins,
  COMPONENT_FLAGS,
  containerArgv,
  effectiveFlag,
  effectiveKubeletConfig,
  parseComponentCommandLine,
  readCsvRecord,
  readExtraArgs,
  shellWords,
} from '../../../policies/flags';
import { Document, KubeObject } from '../../../policies/model';
import { parseGoBool, parseGoDuration, parseGoInt } from '../../../policies/util/go-values';

const d = (object: KubeObject, file = 'x.yaml'): Document => ({ object, source: { file, line: 1 } });

describe('Go value spellings', () => {
  it('reads booleans exactly as strconv.ParseBool', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) expect(parseGoBool(t)).toBe(true);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) expect(parseGoBool(f)).toBe(false);
    for (const bad of ['', 'yes', 'on', 'tRue', ' true', 'fAlse', '2']) expect(parseGoBool(bad)).toBeUndefined();
  });

  it('reads durations as time.ParseDuration', () => {
    expect(parseGoDuration('1m30s')).toBe(90);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('300ms')).toBeCloseTo(0.3);
    expect(parseGoDuration('-1.5h')).toBe(-5400);
    expect(parseGoDuration('4h0m0s')).toBe(14400);
    for (const bad of ['300', '', '1d', '1h-5m', 'm', '5 m']) expect(parseGoDuration(bad)).toBeUndefined();
  });

  it('reads integers as strconv.ParseInt(s, 0, bits)', () => {
    expect(parseGoInt('10255')).toBe(10255);
    expect(parseGoInt('0x2817')).toBe(10263);
    expect(parseGoInt('0o17')).toBe(15);
    expect(parseGoInt('017')).toBe(15);
    expect(parseGoInt('0b11')).toBe(3);
    expect(parseGoInt('1_000')).toBe(1000);
    expect(parseGoInt('-0')).toBe(0);
    for (const bad of ['', '08', '1__0', '_1', '1_', '0x', '1e3', ' 1', '2147483648x'])
      expect(parseGoInt(bad)).toBeUndefined();
    expect(parseGoInt('2147483648', 32)).toBeUndefined();
    expect(parseGoInt('2147483647', 32)).toBe(2147483647);
  });
});

describe('flag table and effective values', () => {
  it('types the flags checks read as the components register them', () => {
    expect(COMPONENT_FLAGS['kube-apiserver']['authorization-mode'].type).toBe('stringSlice');
    expect(COMPONENT_FLAGS['kube-apiserver']['enable-admission-plugins'].type).toBe('stringSlice');
    expect(COMPONENT_FLAGS['kube-apiserver']['service-account-key-file'].type).toBe('stringArray');
    expect(COMPONENT_FLAGS['kube-apiserver']['runtime-config'].type).toBe('configurationMap');
    expect(COMPONENT_FLAGS['kube-apiserver']['request-timeout'].type).toBe('duration');
    expect(COMPONENT_FLAGS['kube-controller-manager']['feature-gates'].type).toBe('featureGates');
    expect(COMPONENT_FLAGS['kube-scheduler'].profiling.type).toBe('bool');
    expect(COMPONENT_FLAGS.etcd['client-cert-auth'].type).toBe('bool');
  });

  it('appends string slices as CSV records (quotes, no trimming) and keeps the last scalar', () => {
    expect(effectiveFlag('kube-apiserver', 'authorization-mode', ['Node,RBAC', 'AlwaysAllow']).list).toEqual([
      'Node',
      'RBAC',
      'AlwaysAllow',
    ]);
    expect(readCsvRecord('"a,b",c')).toEqual(['a,b', 'c']);
    expect(readCsvRecord('Node, RBAC')).toEqual(['Node', ' RBAC']);
    expect(readCsvRecord('a"b')).toBeUndefined();
    expect(readCsvRecord('')).toEqual([]);
    expect(effectiveFlag('kube-apiserver', 'tls-cipher-suites', ['"x']).invalid).toMatch(/unbalanced quotes/);
    expect(effectiveFlag('kube-apiserver', 'service-account-key-file', ['a,b', 'c']).list).toEqual(['a,b', 'c']);
    const p = effectiveFlag('kube-apiserver', 'profiling', ['false', 'true']);
    expect(p.bool).toBe(true);
    expect(effectiveFlag('kube-apiserver', 'profiling', ['yes']).invalid).toMatch(/strconv.ParseBool/);
    expect(effectiveFlag('kube-apiserver', 'request-timeout', ['1m30s']).seconds).toBe(90);
    expect(effectiveFlag('kube-apiserver', 'secure-port', ['0x192b']).int).toBe(6443);
  });

  it('merges feature gates like the compatibility registry and featuregate.Set', () => {
    const merged = effectiveFlag('kube-apiserver', 'feature-gates', ['AllAlpha=false,Foo=true', 'AllAlpha=1']);
    expect(merged.map?.get('AllAlpha')).toBe('1');
    expect(merged.invalid).toBeUndefined();
    expect(effectiveFlag('kube-apiserver', 'feature-gates', ['kube:AllAlpha=true']).map?.get('AllAlpha')).toBe('true');
    expect(effectiveFlag('kube-apiserver', 'feature-gates', ['AllAlpha=']).invalid).toMatch(/not a boolean/);
    expect(effectiveFlag('kube-apiserver', 'feature-gates', ['AllAlpha']).invalid).toMatch(/no value/);
    expect(effectiveFlag('kube-apiserver', 'feature-gates', ['AllAlpha=false', 'kube:Foo=true']).invalid).toMatch(
      /both with and without the kube: prefix/,
    );
    expect(effectiveFlag('kube-apiserver', 'feature-gates', ['wardle:Foo=true']).invalid).toMatch(/does not register/);
  });

  it('merges --runtime-config keys; an empty value stays empty (the API server reads it as true)', () => {
    const rc = effectiveFlag('kube-apiserver', 'runtime-config', ['api/all=false', 'api/alpha', ' x/v1 = true ']);
    expect([...(rc.map ?? [])]).toEqual([
      ['api/all', 'false'],
      ['api/alpha', ''],
      ['x/v1', 'true'],
    ]);
  });
});

describe('command lines', () => {
  it('parses as pflag: bare booleans, split values, stray arguments, single dashes, "--"', () => {
    const p = parseComponentCommandLine('kube-apiserver', [
      '--profiling',
      'false',
      '--authorization-mode',
      'AlwaysAllow',
      '--a=b=c',
      '-profiling=false',
      '--',
      'x',
    ]);
    expect(p.flags).toEqual([
      ['profiling', 'true'],
      ['authorization-mode', 'AlwaysAllow'],
      ['a', 'b=c'],
    ]);
    expect(p.problems.join('\n')).toMatch(/"false" is not a flag/);
    expect(p.problems.join('\n')).toMatch(/single dash/);
    expect(p.problems.join('\n')).toMatch(/after "--"/);
    // A flag that takes a value gets the next word even when it starts with a dash.
    expect(parseComponentCommandLine('kube-apiserver', ['--authorization-mode', '--x']).flags).toEqual([
      ['authorization-mode', '--x'],
    ]);
  });

  it('parses etcd as Go flag: one or two dashes, stop at the first argument', () => {
    const p = parseComponentCommandLine('etcd', [
      '-client-cert-auth',
      '--peer-auto-tls=false',
      'stray',
      '--auto-tls=true',
    ]);
    expect(p.flags).toEqual([
      ['client-cert-auth', 'true'],
      ['peer-auto-tls', 'false'],
    ]);
    expect(p.problems).toHaveLength(1);
  });

  it('splits sh -c scripts like the shell, and refuses what only running it can tell', () => {
    expect(shellWords(`exec kube-apiserver --a='x y' --b "q\\"r" c\\ d # comment`)).toEqual({
      words: ['exec', 'kube-apiserver', '--a=x y', '--b', 'q"r', 'c d'],
    });
    expect(shellWords('kube-apiserver --a=$X')).toHaveProperty('unreadable');
    expect(shellWords('kube-apiserver --a="$(cat f)"')).toHaveProperty('unreadable');
    expect(shellWords('kube-apiserver; rm -rf /')).toHaveProperty('unreadable');
    expect(shellWords('kube-apiserver > /log')).toHaveProperty('unreadable');
    expect(containerArgv(['/bin/sh', '-ec', 'ETCD_AUTO_TLS=true exec etcd --x=1'])).toEqual({
      argv: ['etcd', '--x=1'],
      env: [['ETCD_AUTO_TLS', 'true']],
      shell: true,
    });
    expect(containerArgv(['sh', '-c', 'kube-apiserver $FLAGS'])).toMatchObject({ binaryHint: 'kube-apiserver' });
    expect(containerArgv(['kube-apiserver', '--x'])).toEqual({
      argv: ['kube-apiserver', '--x'],
      env: [],
      shell: false,
    });
  });

  it('finds a static pod behind sh -c, and an unreadable one as unreadable', () => {
    const pod = (cmd: string[]): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'kube-apiserver', namespace: 'kube-system' },
      spec: { containers: [{ name: 'c', command: cmd }] },
    });
    const [api] = findComponents([
      d(pod(['sh', '-c', 'exec kube-apiserver --authorization-mode=Node,RBAC --authorization-mode=AlwaysAllow'])),
    ])['kube-apiserver'];
    expect(api.list('authorization-mode')).toEqual(['Node', 'RBAC', 'AlwaysAllow']);
    expect(api.effective('authorization-mode')?.count).toBe(2);
    const [unread] = findComponents([d(pod(['sh', '-c', 'kube-apiserver $(cat /flags)']))])['kube-apiserver'];
    expect(unread.unreadable).toMatch(/shell script/);
  });
});

describe('kubeadm rendering', () => {
  it('sorts v1beta3 maps, keeps v1beta4 lists in order, drops a default only for the same literal name', () => {
    expect(readExtraArgs({ b: '1', a: '2' })).toEqual([
      ['a', '2'],
      ['b', '1'],
    ]);
    expect(
      readExtraArgs([
        { name: 'b', value: '1' },
        { name: 'a', value: '2' },
        { name: 'b', value: '3' },
      ]),
    ).toEqual([
      ['b', '1'],
      ['a', '2'],
      ['b', '3'],
    ]);
    const [api] = findComponents([
      d({
        apiVersion: 'kubeadm.k8s.io/v1beta3',
        kind: 'ClusterConfiguration',
        apiServer: { extraArgs: { authorization_mode: 'AlwaysAllow' } },
      }),
    ])['kube-apiserver'];
    // kubeadm keeps its Node,RBAC default (different literal name); the API server appends both.
    expect(api.list('authorization-mode')).toEqual(['Node', 'RBAC', 'AlwaysAllow']);
    const [etcdApi] = findComponents([
      d({
        apiVersion: 'kubeadm.k8s.io/v1beta4',
        kind: 'ClusterConfiguration',
        etcd: { local: { extraArgs: [{ name: 'advertise-client-urls', value: 'http://10.0.0.1:2379' }] } },
      }),
    ])['kube-apiserver'];
    expect(etcdApi.flag('etcd-servers')).toBe('http://10.0.0.1:2379');
  });
});

describe('admission plugins', () => {
  const cfg = (cmd: string[]) =>
    findComponents([
      d({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'a', namespace: 'kube-system' },
        spec: { containers: [{ name: 'c', command: ['kube-apiserver', ...cmd] }] },
      }),
    ])['kube-apiserver'][0];
  it('computes the plugin list as the API server does', () => {
    expect(admissionPlugins(cfg([])).enabled('ValidatingAdmissionWebhook')).toBe(true);
    expect(admissionPlugins(cfg([])).enabled('NodeRestriction')).toBe(false);
    expect(
      admissionPlugins(
        cfg(['--disable-admission-plugins=A', '--disable-admission-plugins=ValidatingAdmissionWebhook']),
      ).enabled('ValidatingAdmissionWebhook'),
    ).toBe(false);
    expect(admissionPlugins(cfg(['--admission-control=NodeRestriction'])).enabled('ValidatingAdmissionWebhook')).toBe(
      false,
    );
    expect(admissionPlugins(cfg(['--admission-control=X', '--enable-admission-plugins=Y'])).problems).toHaveLength(1);
    expect(
      admissionPlugins(cfg(['--enable-admission-plugins=X', '--disable-admission-plugins=X'])).problems[0],
    ).toMatch(/both/);
  });
});

describe('effective kubelet configuration', () => {
  it('applies defaults, then the file, then flags (feature gates merged, seccomp-default OR-ed)', () => {
    const k = effectiveKubeletConfig({
      file: { featureGates: { A: true, B: true }, seccompDefault: true, streamingConnectionIdleTimeout: '0s' },
      flags: [
        ['feature-gates', 'B=false'],
        ['seccomp-default', 'false'],
        ['read-only-port', '10255'],
        ['read_only_port', '0'],
      ],
    });
    expect(k.config.featureGates).toEqual({ A: true, B: false });
    expect(k.config.seccompDefault).toBe(true);
    expect(k.config.readOnlyPort).toBe(0);
    expect(k.sources.get('readOnlyPort')).toBe('flag');
    // A zero duration in the file is unset for the kubelet: its 4h default applies.
    expect(k.config.streamingConnectionIdleTimeout).toBe('4h0m0s');
    expect(k.sources.get('streamingConnectionIdleTimeout')).toBe('default');
    expect(k.config.authorization).toEqual({ mode: 'Webhook' });
  });

  it('keeps unparsable flag values as invalid, and a flag of 0 disables the streaming timeout', () => {
    const k = effectiveKubeletConfig({
      file: {},
      flags: [
        ['anonymous-auth', 'yes'],
        ['streaming-connection-idle-timeout', '0'],
      ],
    });
    expect(k.config.authentication).toMatchObject({
      anonymous: { enabled: { invalidFlag: 'anonymous-auth', raw: 'yes' } },
    });
    expect(k.config.streamingConnectionIdleTimeout).toBe('0');
  });

  it('applies kubeadm defaults to a KubeletConfiguration given to kubeadm', () => {
    const k = effectiveKubeletConfig({
      file: { rotateCertificates: false },
      flags: [],
      kubeadmCertificatesDir: '/pki',
    });
    expect(k.config.rotateCertificates).toBe(true);
    expect(k.config.staticPodPath).toBe('/etc/kubernetes/manifests');
    expect(k.sources.get('staticPodPath')).toBe('kubeadm-default');
    expect(k.config.authentication).toMatchObject({ x509: { clientCAFile: '/pki/ca.crt' } });
  });
});

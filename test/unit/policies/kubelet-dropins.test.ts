/**
 * Kubelet drop-in configuration (--config-dir) and other ways a kubelet's configuration is named,
 * modelled on k8s.io/kubernetes v1.36.3 cmd/kubelet/app/server.go (mergeKubeletConfigurations,
 * kubeletConfigFlagPrecedence) and cmd/kubelet/app/options/options.go.
 */
import { CATALOGUE } from '../../../policies/catalogue';
import { evaluate } from '../../../policies/engine';
import {
  applyDropins,
  effectiveKubeletConfig,
  isDropinName,
  jsonMergePatch,
  kubeletSubjects,
  nameUnder,
  parseKubeletCommandLine,
  walkOrder,
} from '../../../policies/flags';
import { Document, KubeObject } from '../../../policies/model';

const isKind = (d: Document, kind: string, group: string) =>
  d.object.kind === kind && String(d.object.apiVersion).startsWith(`${group}/`);
const doc = (object: KubeObject, file = 'input.yaml'): Document => ({ object, source: { file } });
const KC = { apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration' };
const proc = (...args: string[]) =>
  doc({
    apiVersion: 'hcb.dev/v1alpha1',
    kind: 'KubeletProcess',
    metadata: { name: 'n' },
    command: ['kubelet', ...args],
  });
const listing = (path: string, files: unknown[]) =>
  doc({ apiVersion: 'hcb.dev/v1alpha1', kind: 'KubeletConfigDirectory', metadata: { name: 'n' }, path, files });
const control = (id: string) => CATALOGUE.filter((c) => c.id === id);

describe('JSON merge patch and the kubelet walk', () => {
  it('merges objects, deletes on null, replaces lists and scalars (RFC 7386)', () => {
    expect(jsonMergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { c: null, d: 3 }, l: [9] })).toEqual({
      a: { b: 1, d: 3 },
      l: [9],
    });
    expect(jsonMergePatch({ a: 'x' }, { a: { b: null, c: 1 } })).toEqual({ a: { c: 1 } });
    expect(jsonMergePatch({ a: 1 }, ['x'])).toEqual(['x']);
  });

  it('walks depth-first, each directory in byte order (a subdirectory at its name)', () => {
    const names = ['b.conf', 'a-b.conf', 'a/z.conf', 'a.conf', 'B.conf'];
    expect([...names].sort(walkOrder)).toEqual(['B.conf', 'a/z.conf', 'a-b.conf', 'a.conf', 'b.conf']);
  });

  it('reads only names whose extension is exactly .conf', () => {
    expect(
      ['10.conf', '.conf', 'x.CONF', 'x.conf.bak', 'x.conf~', 'dir.conf/x.yaml', 'dir/x.conf'].map(isDropinName),
    ).toEqual([true, true, false, false, false, false, true]);
  });

  it('decodes the merged drop-ins case-insensitively, keys in marshalled order', () => {
    // The base always carries the defaulted authentication: its lowercase key decodes last and wins.
    const base = { authentication: { anonymous: { enabled: false } }, readOnlyPort: 0 };
    const d = (config: object) => [{ path: '/d/10.conf', config: { ...KC, ...config } }];
    expect(applyDropins(base, d({ Authentication: { Anonymous: { Enabled: true } } }))).toMatchObject({
      authentication: { anonymous: { enabled: false } },
    });
    // A zero readOnlyPort is omitted from the marshalled base: the capitalised key sets the field.
    expect(applyDropins(base, d({ ReadOnlyPort: 10255 })).readOnlyPort).toBe(10255);
    // A non-zero base value is marshalled and sorts after the capitalised key: it wins.
    expect(applyDropins({ ...base, readOnlyPort: 10250 }, d({ READONLYPORT: 1 })).readOnlyPort).toBe(10250);
    // Inside a merged object the keys are marshalled sorted too: "Enabled" decodes before "enabled".
    expect(applyDropins(base, d({ authentication: { anonymous: { Enabled: true } } }))).toMatchObject({
      authentication: { anonymous: { enabled: false } },
    });
    // Without the lowercase key in the base, the variant sets the field.
    expect(
      applyDropins({ authentication: { anonymous: {} } }, d({ authentication: { anonymous: { ENABLED: true } } })),
    ).toMatchObject({ authentication: { anonymous: { enabled: true } } });
  });

  it('ignores case variants in the main file (decoded case-sensitively there)', () => {
    const k = effectiveKubeletConfig({
      file: { ReadOnlyPort: 10255, Authorization: { mode: 'AlwaysAllow' } },
      flags: [],
    });
    expect(k.config.readOnlyPort).toBe(0);
    expect(k.config.authorization).toEqual({ mode: 'Webhook' });
  });

  it('applies drop-ins after the file and before flags; feature gates merge at every step', () => {
    const k = effectiveKubeletConfig({
      file: { featureGates: { A: true }, streamingConnectionIdleTimeout: '5m' },
      flags: [['feature-gates', 'C=true']],
      dropins: [
        { path: '/d/10.conf', config: { ...KC, featureGates: { B: true }, streamingConnectionIdleTimeout: '0s' } },
        { path: '/d/20.conf', config: { ...KC, featureGates: { A: null } } },
      ],
    });
    expect(k.config.featureGates).toEqual({ B: true, C: true });
    // A zero duration from a drop-in is unset: the kubelet defaults it to 4h after the merge.
    expect(k.config.streamingConnectionIdleTimeout).toBe('4h0m0s');
    expect(k.sources.get('streamingConnectionIdleTimeout')).toBe('default');
    expect(k.written).toMatchObject({ streamingConnectionIdleTimeout: '0s' });
  });
});

describe('pairing drop-ins with their kubelet', () => {
  const file = doc({ ...KC, readOnlyPort: 0 });

  it('fails a kubelet whose .conf drop-in it cannot load (it would not start)', () => {
    for (const bad of [{ readOnlyPort: 0 }, { apiVersion: 'kubelet.config.k8s.io/v1', kind: 'KubeletConfiguration' }]) {
      const docs = [
        proc('--config=/var/lib/kubelet/config.yaml', '--config-dir=/d'),
        file,
        listing('/d', [{ name: '10.conf', config: bad }]),
      ];
      const [s] = kubeletSubjects(docs, isKind);
      expect(s.problem?.status).toBe('fail');
      const f = evaluate(docs, { controls: control('HCB-KUBELET-READ-ONLY-PORT') });
      expect(f.map((x) => x.status)).toEqual(['fail']);
      expect(f[0].message).toMatch(/stops the kubelet at start/);
    }
    // The same content in a file the kubelet skips changes nothing.
    const ok = [
      proc('--config=/var/lib/kubelet/config.yaml', '--config-dir=/d'),
      file,
      listing('/d', [{ name: '10.json', config: {} }, { name: 'README' }]),
    ];
    expect(evaluate(ok, { controls: control('HCB-KUBELET-READ-ONLY-PORT') }).map((x) => x.status)).toEqual(['pass']);
  });

  it('does not evaluate a drop-in listed without content, or a directory the input does not hold', () => {
    const unread = [
      proc('--config=/var/lib/kubelet/config.yaml', '--config-dir=/d'),
      file,
      listing('/d', [{ name: '10.conf', unreadable: 'permission denied' }]),
    ];
    const f = evaluate(unread, { controls: control('HCB-KUBELET-READ-ONLY-PORT') });
    expect(f.map((x) => [x.status, x.message])).toEqual([
      ['not-evaluated', expect.stringMatching(/10\.conf could not be read \(permission denied\)/)],
    ]);
    const other = [proc('--config=/var/lib/kubelet/config.yaml', '--config-dir=/d'), file, listing('/elsewhere', [])];
    expect(evaluate(other, { controls: control('HCB-KUBELET-READ-ONLY-PORT') }).map((x) => x.status)).toEqual([
      'not-evaluated',
    ]);
    // A flag that sets the field decides it whatever the drop-ins say.
    const flagged = [proc('--config=/var/lib/kubelet/config.yaml', '--config-dir=/d', '--read-only-port=0'), file];
    expect(evaluate(flagged, { controls: control('HCB-KUBELET-READ-ONLY-PORT') }).map((x) => x.status)).toEqual([
      'pass',
    ]);
  });

  it('pairs KubeletConfiguration documents read from .conf files under an absolute --config-dir', () => {
    const main = doc({ ...KC, readOnlyPort: 0 }, 'live:/var/lib/kubelet/config.yaml');
    const d20 = doc({ ...KC, readOnlyPort: 10255 }, 'live:/etc/kubernetes/kubelet.conf.d/20-open.conf');
    const d10 = doc({ ...KC, readOnlyPort: 0 }, 'live:/etc/kubernetes/kubelet.conf.d/10-close.conf');
    const skipped = doc({ ...KC, readOnlyPort: 0 }, 'live:/etc/kubernetes/kubelet.conf.d/99-close.yaml');
    const docs = [
      proc('--config', '/var/lib/kubelet/config.yaml', '--config-dir', '/etc/kubernetes/kubelet.conf.d/'),
      main,
      d20,
      d10,
      skipped,
    ];
    const subjects = kubeletSubjects(docs, isKind);
    // The drop-ins are part of the kubelet, not kubelets of their own.
    expect(subjects).toHaveLength(1);
    expect(subjects[0].dropins).toEqual(
      ['live:/etc/kubernetes/kubelet.conf.d/10-close.conf', 'live:/etc/kubernetes/kubelet.conf.d/20-open.conf'].map(
        (p) => p.slice(5),
      ),
    );
    expect(subjects[0].skippedDropins).toEqual(['/etc/kubernetes/kubelet.conf.d/99-close.yaml']);
    expect(subjects[0].config.readOnlyPort).toBe(10255);
  });

  it('pairs .conf files named on the command line by a path relative to where hcb audit ran', () => {
    expect(nameUnder('/etc/kubernetes/kubelet.conf.d', 'etc/kubernetes/kubelet.conf.d/10.conf')).toBe('10.conf');
    expect(nameUnder('/etc/kubernetes/kubelet.conf.d', '../../etc/kubernetes/kubelet.conf.d/sub/10.conf')).toBe(
      'sub/10.conf',
    );
    expect(nameUnder('/etc/kubernetes/kubelet.conf.d', 'kubelet.conf.d/10.conf')).toBe('10.conf');
    expect(nameUnder('/etc/kubernetes/kubelet.conf.d', '10.conf')).toBeUndefined();
    expect(nameUnder('/etc/kubernetes/kubelet.conf.d', 'other.d/10.conf')).toBeUndefined();
    expect(nameUnder('/etc/kubernetes/kubelet.conf.d', '/etc/kubernetes/kubelet.conf.d2/10.conf')).toBeUndefined();
    const docs = [
      proc('--config=/var/lib/kubelet/config.yaml', '--config-dir=/etc/kubernetes/kubelet.conf.d'),
      doc({ ...KC, readOnlyPort: 0 }),
      doc({ ...KC, readOnlyPort: 10255 }, 'kubelet.conf.d/50-open.conf'),
    ];
    const f = evaluate(docs, { controls: control('HCB-KUBELET-READ-ONLY-PORT') });
    expect(f.map((x) => [x.status, x.message])).toEqual([
      ['fail', expect.stringContaining('readOnlyPort from kubelet.conf.d/50-open.conf')],
    ]);
  });

  it('takes the last --config, in either spelling, and the last --config-dir', () => {
    const a = doc({ ...KC, readOnlyPort: 10255 }, 'live:/a.yaml');
    const b = doc({ ...KC, readOnlyPort: 0 }, 'live:/b.yaml');
    const [s] = kubeletSubjects(
      [proc('--config=/a.yaml', '--config', '/b.yaml', '--config-dir=/x', '--config-dir='), a, b],
      isKind,
    ).filter((x) => x.flagsFrom);
    expect(s.document).toBe(b);
    // An empty last --config-dir means no drop-in directory.
    expect(s.dropinDir).toBeUndefined();
    expect(
      parseKubeletCommandLine(['--config', '/b.yaml', '--read-only-port', '0', '--anonymous-auth', '--v', '2']),
    ).toEqual([
      ['config', '/b.yaml'],
      ['read-only-port', '0'],
      ['anonymous-auth', 'true'],
      ['v', '2'],
    ]);
  });

  it('does not evaluate a kubeadm kubelet whose kubeletExtraArgs name another --config file', () => {
    const reg = doc({
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'JoinConfiguration',
      nodeRegistration: { kubeletExtraArgs: [{ name: 'config', value: '/etc/other.yaml' }] },
    });
    const docs = [doc({ ...KC, readOnlyPort: 0 }), reg];
    const f = evaluate(docs, { controls: control('HCB-KUBELET-READ-ONLY-PORT') });
    expect(f.map((x) => [x.status, x.message])).toEqual([
      ['not-evaluated', expect.stringMatching(/--config=\/etc\/other\.yaml/)],
    ]);
  });

  it('evaluates a kubelet without --config on its command-line defaults', () => {
    const f = evaluate([proc('--kubeconfig=/etc/kubernetes/kubelet.conf')], {
      controls: [...control('HCB-KUBELET-ANONYMOUS-AUTH'), ...control('HCB-KUBELET-AUTHORIZATION-MODE')],
    });
    expect(f.map((x) => x.status)).toEqual(['fail', 'fail']);
    const ok = evaluate([proc('--anonymous-auth=false', '--authorization-mode=Webhook')], {
      controls: [...control('HCB-KUBELET-ANONYMOUS-AUTH'), ...control('HCB-KUBELET-AUTHORIZATION-MODE')],
    });
    expect(ok.map((x) => x.status)).toEqual(['pass', 'pass']);
  });
});

import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import {
  INPUT_PARSE_CONTROL,
  loadInputs,
  loadProblemsToFindings,
  parseExceptions,
  parseText,
  STDIN_NAME,
} from '../../../policies/input';

async function tree(files: Record<string, string>): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hcb-loader-'));
  for (const [name, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), content);
  }
  return dir;
}

describe('parseText', () => {
  it('splits multi-document YAML, keeps the line of each object and skips empty documents', () => {
    const text = [
      'apiVersion: v1', // 1
      'kind: Namespace',
      'metadata: {name: a}',
      '---', // 4
      '---', // 5: empty document
      '# just a comment', // 6
      '---', // 7
      '', // 8
      'apiVersion: v1', // 9
      'kind: ServiceAccount',
      'metadata:',
      '  name: default',
      '  namespace: a',
    ].join('\n');
    const r = parseText(text, 'ns.yaml');
    expect(r.errors).toEqual([]);
    expect(r.documents.map((d) => [d.object.kind, d.source.file, d.source.line])).toEqual([
      ['Namespace', 'ns.yaml', 1],
      ['ServiceAccount', 'ns.yaml', 9],
    ]);
  });

  it('reads helm template output (# Source: comments, empty templates)', () => {
    const text = [
      '---', // 1
      '# Source: app/templates/serviceaccount.yaml', // 2
      'apiVersion: v1', // 3
      'kind: ServiceAccount',
      'metadata:',
      '  name: app',
      '---', // 7
      '# Source: app/templates/disabled.yaml', // 8: renders to nothing
      '---', // 9
      '# Source: app/templates/deployment.yaml', // 10
      'apiVersion: apps/v1', // 11
      'kind: Deployment',
      'metadata:',
      '  name: app',
      '  labels:',
      '    helm.sh/chart: app-1.0.0',
      'spec:',
      '  template:',
      '    spec:',
      '      containers:',
      '        - name: app',
      '          image: "registry.example/app:1.0"',
      '',
    ].join('\n');
    const r = parseText(text, 'rendered.yaml');
    expect(r.errors).toEqual([]);
    expect(r.documents.map((d) => [d.object.kind, d.source.line])).toEqual([
      ['ServiceAccount', 3],
      ['Deployment', 11],
    ]);
    const spec = r.documents[1].object.spec as { template: { spec: { containers: { image: string }[] } } };
    expect(spec.template.spec.containers[0].image).toBe('registry.example/app:1.0');
  });

  it('reads kustomize build output (no leading separator)', () => {
    const text =
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a-7f8d\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n';
    expect(parseText(text, 'k.yaml').documents.map((d) => [d.object.metadata?.name, d.source.line])).toEqual([
      ['a-7f8d', 1],
      ['b', 6],
    ]);
  });

  it('reads control-plane configuration files with the values the API server would see', () => {
    const text = [
      'apiVersion: kubelet.config.k8s.io/v1beta1',
      'kind: KubeletConfiguration',
      'authentication:',
      '  anonymous:',
      '    enabled: false',
      'readOnlyPort: 0',
      'staticPodPath: /etc/kubernetes/manifests',
      '---',
      'apiVersion: kubeadm.k8s.io/v1beta4',
      'kind: ClusterConfiguration',
      'apiServer:',
      '  extraArgs:',
      '    - name: anonymous-auth',
      '      value: "false"',
      '---',
      'apiVersion: audit.k8s.io/v1',
      'kind: Policy',
      'omitStages: [RequestReceived]',
      'rules:',
      '  - level: Metadata',
      '    resources: [{group: "", resources: [secrets]}]',
      '---',
      'apiVersion: apiserver.config.k8s.io/v1',
      'kind: EncryptionConfiguration',
      'resources:',
      '  - resources: [secrets]',
      '    providers:',
      '      - aescbc: {keys: [{name: k1, secret: "{{hcb-secret:etcd-key}}"}]}',
      '      - identity: {}',
      '---',
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      '  name: p',
      '  creationTimestamp: 2024-05-01T10:00:00Z',
      'spec:',
      '  volumes:',
      '    - secret: {secretName: s, defaultMode: 0600}',
    ].join('\n');
    const r = parseText(text, 'cp.yaml');
    expect(r.errors).toEqual([]);
    expect(r.documents.map((d) => d.object.kind)).toEqual([
      'KubeletConfiguration',
      'ClusterConfiguration',
      'Policy',
      'EncryptionConfiguration',
      'Pod',
    ]);
    expect(r.documents.map((d) => d.source.line)).toEqual([1, 9, 16, 23, 31]);
    const pod = r.documents[4].object as {
      metadata: { creationTimestamp: unknown };
      spec: { volumes: { secret: { defaultMode: number } }[] };
    };
    expect(pod.metadata.creationTimestamp).toBe('2024-05-01T10:00:00Z'); // a string, as in the API's JSON
    expect(pod.spec.volumes[0].secret.defaultMode).toBe(0o600); // octal, as Kubernetes reads YAML
  });

  it('reads JSON: one object, an array, a kind: List and typed lists, with item lines', () => {
    expect(
      parseText('{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}', 'one.json').documents,
    ).toHaveLength(1);
    const arr = parseText('[\n  {"kind": "A"},\n  {"kind": "B"}\n]\n', 'arr.json');
    expect(arr.documents.map((d) => [d.object.kind, d.source.line])).toEqual([
      ['A', 2],
      ['B', 3],
    ]);
    const list = parseText(
      JSON.stringify(
        {
          apiVersion: 'v1',
          kind: 'List',
          items: [
            { kind: 'Pod', metadata: { name: 'a' } },
            { kind: 'Pod', metadata: { name: 'b' } },
          ],
        },
        null,
        2,
      ),
      'list.json',
    );
    expect(list.documents.map((d) => [d.object.metadata?.name, d.source.line])).toEqual([
      ['a', 5],
      ['b', 11],
    ]);
    const typed = parseText('{"apiVersion":"v1","kind":"PodList","items":[{"kind":"Pod"}]}', 'podlist.json');
    expect(typed.documents.map((d) => d.object.kind)).toEqual(['Pod']);
    // Tabs and JSON that YAML dislikes still load.
    const tabs = parseText('{\n\t"kind":\t"Namespace",\n\t"metadata": {"name": "t"}\n}', 'tabs.json');
    expect(tabs.errors).toEqual([]);
    expect(tabs.documents[0].object.metadata?.name).toBe('t');
    const longKey = `{"kind": "ConfigMap", "data": {"${'k'.repeat(1100)}": "v"}}`;
    const long = parseText(longKey, 'long.json');
    expect(long.errors).toEqual([]);
    expect(long.documents).toHaveLength(1);
  });

  it('expands kind: List in YAML (kubectl get -o yaml) with the line of each item', () => {
    const text =
      'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a}\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: b}\nmetadata: {}\n';
    expect(parseText(text, 'l.yaml').documents.map((d) => [d.object.metadata?.name, d.source.line])).toEqual([
      ['a', 4],
      ['b', 7],
    ]);
  });

  it('reports malformed YAML with file and line, and still loads the other documents', () => {
    const text = [
      'kind: ConfigMap',
      'metadata: {name: ok}',
      '---',
      'kind: Pod',
      'metadata:',
      '  name: [unclosed',
      '  namespace: x',
      '---',
      'kind: Secret',
    ].join('\n');
    const r = parseText(text, 'bad.yaml');
    expect(r.documents.map((d) => d.object.kind)).toEqual(['ConfigMap', 'Secret']);
    expect(r.errors.length).toBeGreaterThan(0);
    expect(r.errors[0].file).toBe('bad.yaml');
    expect(r.errors[0].line).toBeGreaterThanOrEqual(6);
    expect(r.errors[0].line).toBeLessThanOrEqual(8);
    expect(r.errors[0].message).not.toMatch(/\n/);
  });

  it('rejects duplicate keys (two values for one field would hide one of them from the checks)', () => {
    const r = parseText('kind: Pod\nspec:\n  hostNetwork: false\n  hostNetwork: true\n', 'dup.yaml');
    expect(r.documents).toEqual([]);
    expect(r.errors[0]).toMatchObject({ file: 'dup.yaml', line: 4 });
  });

  it('reports a document that is not a mapping', () => {
    const r = parseText('kind: A\n---\njust a string\n---\n- 1\n- 2\n', 'scalar.yaml');
    expect(r.documents.map((d) => d.object.kind)).toEqual(['A']);
    expect(r.errors.map((e) => e.line)).toEqual([3, 5, 6]);
    expect(r.errors[0].message).toMatch(/expected a mapping/);
  });

  it('survives deep nesting: reported, not a crash', () => {
    const deep = `${'['.repeat(20000)}${']'.repeat(20000)}`;
    const r = parseText(deep, 'deep.json');
    expect(r.documents).toEqual([]);
    expect(r.errors.length).toBeGreaterThan(0);
    let list: Record<string, unknown> = { kind: 'Pod' };
    for (let i = 0; i < 10; i++) list = { kind: 'List', items: [list] };
    const nested = parseText(JSON.stringify(list), 'lists.json');
    expect(nested.documents).toEqual([]);
    expect(nested.errors[0].message).toMatch(/List nested more than 4 deep/);
    expect(parseText('[[{"kind": "A"}]]', 'x.json').errors[0].message).toMatch(/a list inside a list/);
  });

  it('stops alias bombs instead of expanding them', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++)
      lines.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [*${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}, *${String.fromCharCode(96 + i)}]`,
      );
    const r = parseText(lines.join('\n'), 'bomb.yaml');
    expect(r.documents).toEqual([]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].line).toBe(1);
  });

  it('sets the construct path from the hcb.dev/construct-path annotation', () => {
    const r = parseText(
      'kind: NetworkPolicy\nmetadata:\n  name: deny\n  annotations:\n    hcb.dev/construct-path: blueprint/team-a/default-deny\n',
      'np.yaml',
    );
    expect(r.documents[0].source).toEqual({ file: 'np.yaml', line: 1, constructPath: 'blueprint/team-a/default-deny' });
    expect(parseText('kind: A\n', 'a.yaml').documents[0].source).toEqual({ file: 'a.yaml', line: 1 });
  });

  it('warns about mappings without a kind and ignores a byte order mark', () => {
    const r = parseText('\ufeffreplicaCount: 2\n', 'values.yaml');
    expect(r.documents).toHaveLength(1);
    expect(r.warnings).toEqual([{ file: 'values.yaml', line: 1, message: expect.stringMatching(/no kind/) }]);
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const r = parseText(s, 'x');
        for (const e of r.errors) expect(e.file).toBe('x');
      }),
      { numRuns: 300 },
    );
  });

  it('finds every generated object at the line where it starts', () => {
    const object = fc.record({
      apiVersion: fc.constantFrom('v1', 'apps/v1'),
      kind: fc.constantFrom('Pod', 'Service', 'ConfigMap'),
      metadata: fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/) }),
      data: fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.oneof(fc.string(), fc.integer(), fc.boolean()), {
        maxKeys: 4,
      }),
    });
    fc.assert(
      fc.property(fc.array(object, { minLength: 1, maxLength: 6 }), fc.boolean(), (objects, leading) => {
        const chunks = objects.map((o) => stringify(o, { version: '1.1' }));
        let text = leading ? '---\n' : '';
        const expectedLines: number[] = [];
        for (const c of chunks) {
          expectedLines.push(text.split('\n').length);
          text += `${c}---\n`;
        }
        const r = parseText(text, 'gen.yaml');
        expect(r.errors).toEqual([]);
        expect(r.documents.map((d) => d.object)).toEqual(objects);
        expect(r.documents.map((d) => d.source.line)).toEqual(expectedLines);
      }),
      { numRuns: 100 },
    );
  });
});

describe('loadInputs', () => {
  it('reads directories recursively in a stable order, only manifest files, not dot entries', async () => {
    const dir = await tree({
      'b.yaml': 'kind: B\n',
      'a/z.yml': 'kind: Z\n',
      'a/c.json': '{"kind": "C"}',
      'A.yaml': 'kind: UpperA\n',
      'notes.txt': 'kind: Ignored\n',
      '.github/workflows/ci.yaml': 'on: push\n',
      '.hidden.yaml': 'kind: Hidden\n',
      'node_modules/pkg/package.json': '{"name": "pkg"}',
    });
    const r = await loadInputs([dir], { cwd: dir });
    expect(r.files).toEqual(['A.yaml', 'a/c.json', 'a/z.yml', 'b.yaml']);
    expect(r.documents.map((d) => d.object.kind)).toEqual(['UpperA', 'C', 'Z', 'B']);
    expect(r.errors).toEqual([]);
    expect(r.missing).toEqual([]);
    // What was passed over is named, not skipped unseen.
    expect(r.warnings).toEqual([
      {
        file: path.basename(dir),
        message:
          'not read: 3 hidden or node_modules (.github, .hidden.yaml, node_modules); 1 not .yaml, .yml or .json (notes.txt). Name a file or directory as an argument to read it.',
      },
    ]);
  });

  it('reads a file named explicitly whatever its extension, once', async () => {
    const dir = await tree({ 'm.txt': 'kind: T\n', 'x.yaml': 'kind: X\n' });
    const r = await loadInputs(['m.txt', 'x.yaml', dir], { cwd: dir });
    expect(r.documents.map((d) => d.object.kind)).toEqual(['T', 'X']);
    expect(r.documents[0].source).toEqual({ file: 'm.txt', line: 1 });
  });

  it('reads standard input for "-"', async () => {
    const r = await loadInputs(['-'], { readStdin: async () => 'kind: A\n---\nkind: B\n' });
    expect(r.documents.map((d) => [d.object.kind, d.source.file, d.source.line])).toEqual([
      ['A', STDIN_NAME, 1],
      ['B', STDIN_NAME, 3],
    ]);
    expect(r.files).toEqual([STDIN_NAME]);
  });

  it('reports missing paths apart and parse problems with file and line', async () => {
    const dir = await tree({ 'bad.yaml': 'kind: A\nmetadata:\n\tname: tab-indented\n' });
    const r = await loadInputs(['bad.yaml', 'nope.yaml'], { cwd: dir });
    expect(r.missing).toEqual(['nope.yaml']);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ file: 'bad.yaml', line: 3 });
    const findings = loadProblemsToFindings(r.errors);
    expect(findings).toEqual([
      expect.objectContaining({ control: INPUT_PARSE_CONTROL, status: 'error', object: { file: 'bad.yaml', line: 3 } }),
    ]);
    expect(findings[0].message).toBe('bad.yaml:3:1: Tabs are not allowed as indentation');
  });

  it('warns about a directory without manifests', async () => {
    const dir = await tree({ 'readme.md': '# hi\n' });
    const r = await loadInputs([dir], { cwd: dir });
    expect(r.documents).toEqual([]);
    expect(r.warnings[0].message).toMatch(/no \.yaml/);
  });
});

describe('parseExceptions', () => {
  it('reads a list of exceptions, dates stay strings', () => {
    const r = parseExceptions(
      [
        '- control: HCB-POD-RUN-AS-NON-ROOT',
        '  scope: {namespace: kube-system, kind: DaemonSet, name: node-agent}',
        '  justification: reads host logs',
        '  owner: platform-team',
        '  expires: 2026-12-31',
        '  ticket: SEC-12',
      ].join('\n'),
      'exceptions.yaml',
    );
    expect(r.errors).toEqual([]);
    expect(r.exceptions).toEqual([
      {
        control: 'HCB-POD-RUN-AS-NON-ROOT',
        scope: { namespace: 'kube-system', kind: 'DaemonSet', name: 'node-agent' },
        justification: 'reads host logs',
        owner: 'platform-team',
        expires: '2026-12-31',
        ticket: 'SEC-12',
      },
    ]);
  });

  it('rejects unknown scope fields, bad dates and missing owners, with the line of the entry', () => {
    const r = parseExceptions(
      [
        'exceptions:',
        '  - control: A',
        '    scope: {}',
        '    justification: ok',
        '    owner: me',
        '    expires: "2026-01-01"',
        '  - control: B', // 7
        '    scope: {namspace: x}',
        '    justification: typo widens scope',
        '    owner: me',
        '    expires: 2026-02-30',
      ].join('\n'),
      'e.yaml',
    );
    expect(r.exceptions.map((e) => e.control)).toEqual(['A']);
    expect(r.errors.map((e) => e.line)).toEqual([7, 7]);
    expect(r.errors.map((e) => e.message).join('\n')).toMatch(/unknown scope field "namspace"/);
    expect(r.errors.map((e) => e.message).join('\n')).toMatch(/"expires" must be a date/);
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        parseExceptions(s, 'e.yaml');
      }),
      { numRuns: 300 },
    );
    expect(parseExceptions(`${'['.repeat(20000)}${']'.repeat(20000)}`, 'e.yaml').errors.length).toBeGreaterThan(0);
  });

  it('reports YAML errors with their line', () => {
    const r = parseExceptions('- control: A\n  scope: {\n', 'e.yaml');
    expect(r.exceptions).toEqual([]);
    expect(r.errors[0].file).toBe('e.yaml');
    expect(r.errors[0].line).toBeDefined();
  });
});

/**
 * The loader's fast path (policies/input/fast-parse.ts, js-yaml events) gives exactly what the
 * yaml package path gives, or gives up and lets that path read the text: same documents (values
 * and lines), same errors and warnings. Compared on every YAML and JSON file of the repository's
 * fixtures and examples, on inputs where YAML 1.1, the yaml package and js-yaml are known to
 * differ, and on generated hostile text (fixed seed).
 */
import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { fastParse } from '../../../policies/input/fast-parse';
import { parseText } from '../../../policies/input';
import { parseTextWith } from '../../../policies/input/parse';

const ROOT = path.resolve(__dirname, '../../..');
/** Fixed in `npm test`; HCB_FUZZ_RUNS=50000 HCB_FUZZ_SEED=$RANDOM for a longer hunt. */
const RUNS = Number(process.env.HCB_FUZZ_RUNS) > 0 ? Number(process.env.HCB_FUZZ_RUNS) : 1500;
const SEED =
  Number.isInteger(Number(process.env.HCB_FUZZ_SEED)) && process.env.HCB_FUZZ_SEED
    ? Number(process.env.HCB_FUZZ_SEED)
    : 13;

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ya?ml|json)$/i.test(e.name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

const same = (text: string, file = 'in.yaml'): void => {
  expect(parseText(text, file)).toEqual(parseTextWith(text, file, { fast: false }));
};

const YAML_OPTIONS_PROBE = {
  version: '1.1' as const,
  merge: true,
  uniqueKeys: true,
  customTags: (tags: unknown[]) =>
    tags.filter((t) => (t as { tag?: string }).tag !== 'tag:yaml.org,2002:timestamp') as never,
};

describe('loader fast path', () => {
  it('reads every fixture and example file as the yaml path does, and takes most of them', () => {
    const all = [...files(path.join(ROOT, 'test/fixtures')), ...files(path.join(ROOT, 'examples'))];
    expect(all.length).toBeGreaterThan(300);
    let fast = 0;
    for (const f of all) {
      const text = fs.readFileSync(f, 'utf8');
      const rel = path.relative(ROOT, f);
      const a = parseText(text, rel);
      const b = parseTextWith(text, rel, { fast: false });
      if (JSON.stringify(a) !== JSON.stringify(b)) expect({ file: rel, result: a }).toEqual({ file: rel, result: b });
      if (fastParse(text, YAML_OPTIONS_PROBE) !== undefined) fast++;
    }
    // Not a vacuous comparison: most real manifests go through the fast path.
    expect(fast / all.length).toBeGreaterThan(0.6);
  });

  it('resolves YAML 1.1 plain scalars as the yaml package does', () => {
    const scalars = [
      '0600',
      '0o600',
      '0x1F',
      '-0x1f',
      '0b101',
      '+0b1_0',
      '1_000',
      '1__0',
      '08',
      '09',
      '0',
      '-0',
      '+12',
      '12e03',
      '1e3',
      '1.5e+3',
      '.5',
      '1.',
      '.inf',
      '-.Inf',
      '+.INF',
      '.NaN',
      '.nan',
      '1:30',
      '190:20:30',
      '190:20:30.15',
      '-1:30',
      '685_230.15',
      '6.8523015e+5',
      '99999999999999999999',
      '1e400',
      '0.1_2',
      'e3',
      '0x',
      '1e',
      'yes',
      'Yes',
      'YES',
      'yEs',
      'y',
      'Y',
      'n',
      'N',
      'no',
      'on',
      'On',
      'ON',
      'off',
      'Off',
      'true',
      'False',
      'TRUE',
      '~',
      'null',
      'Null',
      'NULL',
      'nULL',
      '',
      '2001-12-14',
      '2001-12-14t21:59:43.10-05:00',
      '=',
      'Infinity',
      'NaN',
      '- x',
      'a b',
      'a  b',
      '0.',
      '+.5',
      '-',
      '+',
      '.',
      '..',
      '.e3',
      '1_',
      '_1',
      '0b',
      '0b2',
      '0_7',
      '07_7',
    ];
    for (const s of scalars) {
      same(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  v: ${s}\n  l: [${s}]\n`);
      same(`${s}: x\nkind: K\n`);
    }
  });

  it('agrees on documents, lists, lines, strings and what either parser refuses', () => {
    const probes = [
      'a: 1\na: 2\n',
      'kind: A\nitems: [1]\n',
      'kind: List\nitems:\n- kind: Pod\n  metadata: {name: a}\n- kind: Pod\n  metadata: {name: b}\n',
      'kind: List\nitems:\n- 1\n- kind: Pod\n',
      '- kind: Pod\n- kind: Service\n',
      '- - kind: Pod\n',
      '[{"kind": "Pod"}, {"kind": "Service"}]',
      '{"kind": "Pod",\n "metadata": {"name": "x"}}\n',
      '---\n---\nkind: Pod\n...\n---\n# only a comment\n---\nkind: Service\n',
      'kind: Pod\nspec:\n  hostNetwork: "true"\n',
      'kind: Pod\nspec:\n  containers:\n  - name: c\n    securityContext:\n      privileged: yes\n',
      'kind: Pod\nmetadata:\n  name: a\n  annotations:\n    x: |\n      line 1\n\n      line 3\n    y: >-\n      folded\n      text\n\n      more\n',
      "kind: Pod\nx: \"a\\tb\\u00e9\\x41\\\n  c\"\ny: 'it''s'\n",
      'kind: Pod\nx: a\n  b\n  c\n',
      'kind: Pod\nx: [\n  1, 2\n]\n',
      'kind: Pod\nx: {a: 1,\n  b: 2}\n',
      'kind: Pod\nx: [a, "]", \'[\']\n',
      'kind: Pod\n__proto__: {a: 1}\n',
      'kind: Pod\nconstructor: 1\ntoString: 2\n',
      'kind: Pod\n<<: {a: 1}\n',
      'kind: Pod\nx: &a 1\ny: *a\n',
      'kind: !!str Pod\n',
      '%YAML 1.2\n---\nkind: Pod\n',
      'kind: Pod\n? [a]\n: 1\n',
      'kind: Pod\n? a\n: 1\n',
      'kind: Pod\na:\n\tb: 1\n',
      'kind: Pod\na:\n  b: 1\n c: 2\n',
      'kind: Pod\na: "x\n',
      'kind: Pod\na: b: c\n',
      'kind: Pod\na: "x"#c\n',
      'kind: Pod\na: @x\n',
      'kind: Pod\na: `x\n',
      `kind: Pod\n${'k'.repeat(1100)}: 1\n`,
      'kind: Pod\r\nmetadata:\r\n  name: a\r\n',
      'kind: Pod\rmetadata: 1\r',
      'kind: Pod\n"a": 1\n\'a\': 2\n',
      'kind: Pod\n1: a\n"1": b\n',
      'kind: Pod\nx: 1\n...\nnot yaml: [\n',
      'kind: Pod\n---\n- 1\n- 2\n',
      'just a string\n',
      'kind: Pod\nspec: {containers: [{name: c, image: "x:1", args: ["--a=b", "--c"]}]}\n',
      'kind: Pod\nspec:\n  containers:\n  - {name: c, securityContext: {privileged: true}}\n',
      'kind: Pod\nx: |2\n    indented\n',
      'kind: Pod\nx: |\n\n  \n  text\n',
      'kind: Pod\nx: >\n  a\n    b\n  c\n',
      'kind: Pod\nx: "\n  a\n\n  b\n"\n',
      "kind: Pod\nx: '\n  a\n\n  b\n'\n",
      'kind: Pod\n# comment\nx: 1 # trailing\n',
      'kind: Pod\nx: a #b\ny: a#b\n',
      'kind: Pod\nlist:\n- a\n-\n- c\n',
      'kind: Pod\nx:\n',
      'kind: Pod\nx: ""\n',
      'kind: Pod\nx: null\ny: ~\n',
      'kind: Pod\nspec:\n  replicas: 0x10\n',
      '\ufeffkind: Pod\n',
      'kind: Pod\nx: "\\ud800 \\U0001F600 \\N\\_\\L\\P\\0\\a\\e\\ \\/"\n',
      'kind: Pod\nx: "\\q"\n',
      'kind: Pod\nmetadata:\n  labels: &l {app: a}\nspec:\n  selector:\n    matchLabels: *l\n',
      'kind: Pod\na: &e {}\nb: *e\nc: &s x\nd: *s\n',
      'kind: Pod\na: &l [1]\nb: [*l]\n',
      'kind: Pod\na: &l {x: 1}\nb: &m {y: *l}\nc: *m\n',
      'kind: Pod\na: &l {x: 1}\na2: &l {x: 2}\nb: *l\n',
      'kind: Pod\nb: *l\na: &l {x: 1}\n',
      'kind: Pod\na: &l {x: 1}\n---\nkind: Pod\nb: *l\n',
      'kind: Pod\na: &l: {x: 1}\n',
      `kind: Pod\na: &l {x: 1}\n${Array.from({ length: 120 }, (_, i) => `b${i}: *l`).join('\n')}\n`,
      `kind: Pod\na: &l {x: 1}\n${Array.from({ length: 99 }, (_, i) => `b${i}: *l`).join('\n')}\n`,
      '- &p {kind: Pod}\n- *p\n',
      'kind: List\nitems:\n- &p {kind: Pod}\n- *p\n',
      'kind: Pod\n? *l\n: 1\n',
      'kind: Pod\nx: "\\U00110000"\n',
      'kind: Pod\nx: "\\x4"\n',
      'kind: Pod\nmetadata:\n  annotations:\n    last: \'{"a":"b\\n","c":[1,2]}\'\n    j: "{\\"a\\":\\"b\\\\n\\"}"\n',
    ];
    for (const p of probes) same(p);
  });

  it('agrees on generated hostile text', () => {
    const fragments = [
      'apiVersion: v1\n',
      'kind: Pod\n',
      'kind: List\n',
      'metadata:\n',
      '  name: p\n',
      'spec:\n',
      '  containers:\n',
      '  - name: c\n',
      '    securityContext: {privileged: true}\n',
      'items:\n',
      '- ',
      '  ',
      '\t',
      '---\n',
      '...\n',
      '<<: ',
      '&a ',
      '*a',
      '{',
      '}',
      '[',
      ']',
      ',',
      ': ',
      '? ',
      '"',
      "'",
      '\\',
      '#',
      ' #',
      '|',
      '>',
      '|-\n',
      '!!str ',
      '\r\n',
      '\n',
      'yes',
      'on',
      '0600',
      '0x1F',
      '~',
      'null',
      '1:30',
      '.inf',
      'x',
      'a: b',
      '"a": 1\n',
      '__proto__',
      '\ufeff',
      '\u2028',
      '\u0085',
      '\u00a0',
      'e3',
      '- - ',
      '-\n',
      '? a\n',
      'k: |2\n',
    ];
    const text = fc.oneof(
      fc
        .array(
          fc.oneof(
            fc.constantFrom(...fragments),
            fc.string({ maxLength: 6 }),
            fc.fullUnicodeString({ maxLength: 4 }),
            fc.nat({ max: 12 }).map((n) => ' '.repeat(n)),
          ),
          { maxLength: 40 },
        )
        .map((p) => p.join('')),
      fc.json({ maxDepth: 4 }),
    );
    fc.assert(
      fc.property(text, (t) => {
        same(t);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

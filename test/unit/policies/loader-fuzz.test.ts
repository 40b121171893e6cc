/**
 * Property-based fuzz of the loader (issue 15): whatever the text, parseText returns (never
 * throws, never hangs) and every input either yields documents or error findings, unless it is
 * blank as YAML (comments, markers, nulls, empty lists), which the audit fails as empty input.
 *
 * Fixed seed and a bounded number of runs in `npm test`; a longer run on demand:
 *   HCB_FUZZ_RUNS=20000 HCB_FUZZ_SEED=$RANDOM npx jest test/unit/policies/loader-fuzz.test.ts
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { loadInputs, parseText } from '../../../policies/input';

const RUNS = Number(process.env.HCB_FUZZ_RUNS) > 0 ? Number(process.env.HCB_FUZZ_RUNS) : 300;
const SEED =
  Number.isInteger(Number(process.env.HCB_FUZZ_SEED)) && process.env.HCB_FUZZ_SEED
    ? Number(process.env.HCB_FUZZ_SEED)
    : 15;
/** Per input: far above what any input of this size needs, far below "hangs". */
const TIME_LIMIT_MS = 3000;

jest.setTimeout(Math.max(120_000, RUNS * 200));

/** Pieces of YAML and JSON that hostile input is made of. */
const FRAGMENTS = [
  'apiVersion: v1\n',
  'kind: Pod\n',
  'kind: List\n',
  'kind: ControlExceptionList\n',
  'metadata:\n',
  '  name: p\n',
  'spec:\n',
  '  containers:\n',
  '  - name: c\n',
  '    securityContext: {privileged: true}\n',
  'items:\n',
  'items: {}\n',
  '- ',
  '  ',
  '\t',
  '---\n',
  '--- ',
  '...\n',
  '<<: ',
  '"<<": ',
  '!!merge <<: ',
  '&a ',
  '*a',
  '&b ',
  '*b',
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
  '|',
  '>',
  '|-\n',
  '!!str ',
  '!!binary ',
  '!custom ',
  '%YAML 1.1\n',
  '%TAG ! tag:x,2000:\n',
  '\ufeff',
  '\u0000',
  '\u202e',
  '\r\n',
  '\n',
  'yes',
  'on',
  '0600',
  '0x1F',
  '~',
  'null',
  '1e400',
  '-.inf',
  '2001-12-14t21:59:43.10-05:00',
  'x'.repeat(1100),
  'true',
  'privileged: false\n',
  '<<: {privileged: true}\n',
];

const yamlish = fc
  .array(
    fc.oneof(
      fc.constantFrom(...FRAGMENTS),
      fc.string({ maxLength: 8 }),
      fc.nat({ max: 40 }).map((n) => ' '.repeat(n)),
    ),
    { maxLength: 60 },
  )
  .map((parts) => parts.join(''));
const anyText = fc.oneof(
  yamlish,
  fc.string({ maxLength: 300 }),
  fc.fullUnicodeString({ maxLength: 200 }),
  fc.json({ maxDepth: 6 }),
);

/** Blank as YAML: every document is empty, null or an empty list, as the yaml package sees it. */
function blankAsYaml(text: string): boolean {
  try {
    const docs = parseAllDocuments(text, { version: '1.1', merge: true, uniqueKeys: true });
    const list = Array.isArray(docs) ? docs : [docs];
    return list.every((d) => {
      if (d.errors.length > 0) return false;
      const v = d.toJS({ maxAliasCount: 100, mapAsMap: true }) as unknown;
      if (v === null || v === undefined) return true;
      if (Array.isArray(v)) return v.every((x) => x === null);
      if (v instanceof Map) {
        const items = v.get('items') as unknown;
        return Array.isArray(items) && items.length === 0;
      }
      return false;
    });
  } catch {
    return false;
  }
}

function checkResult(text: string): void {
  const t0 = Date.now();
  const r = parseText(text, 'fuzz.yaml');
  expect(Date.now() - t0).toBeLessThan(TIME_LIMIT_MS);
  for (const d of r.documents) {
    expect(d.object !== null && typeof d.object === 'object' && !Array.isArray(d.object)).toBe(true);
    expect(d.source.file).toBe('fuzz.yaml');
    expect(Number.isInteger(d.source.line) && (d.source.line as number) >= 1).toBe(true);
  }
  for (const e of [...r.errors, ...r.warnings]) {
    expect(e.file).toBe('fuzz.yaml');
    expect(typeof e.message === 'string' && e.message.length > 0).toBe(true);
    if (e.line !== undefined) expect(Number.isInteger(e.line) && e.line >= 1).toBe(true);
  }
  if (r.documents.length === 0 && r.errors.length === 0) expect(blankAsYaml(text)).toBe(true);
}

test('parseText never throws, never hangs, and yields documents or errors for every non-blank input', () => {
  fc.assert(
    fc.property(anyText, (text) => checkResult(text)),
    { seed: SEED, numRuns: RUNS },
  );
});

test('documents built from Kubernetes fragments: a privileged container is never dropped silently', () => {
  const pod =
    'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x\n    securityContext: {privileged: true}\n';
  const noise = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 12 }).map((p) => p.join(''));
  fc.assert(
    fc.property(noise, fc.constantFrom('', '\ufeff'), (before, bom) => {
      // The pod as its own document in a stream after arbitrary noise: it is read, or the stream
      // is reported as broken; the pod is never silently lost.
      const r = parseText(`${before}\n---\n${bom}${pod}`, 'fuzz.yaml');
      const found = r.documents.some(
        (d) => d.object.kind === 'Pod' && JSON.stringify(d.object).includes('"privileged":true'),
      );
      expect(found || r.errors.length > 0).toBe(true);
    }),
    { seed: SEED, numRuns: Math.ceil(RUNS / 2) },
  );
});

test('loadInputs on arbitrary bytes: never throws; invalid UTF-8 and NUL bytes are errors', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-fuzz-'));
  try {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), async (bytes) => {
        const file = path.join(dir, 'in.yaml');
        fs.writeFileSync(file, bytes);
        const r = await loadInputs(['in.yaml'], { cwd: dir });
        const buf = Buffer.from(bytes);
        let valid = true;
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(buf);
        } catch {
          valid = false;
        }
        if (!valid || buf.includes(0)) expect(r.errors.length).toBeGreaterThan(0);
        for (const e of r.errors) expect(e.file).toBe('in.yaml');
      }),
      { seed: SEED, numRuns: Math.ceil(RUNS / 3) },
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Issue 15, scale: an input too large for one audit stops early with an error that names the
 * limit and how to raise it, instead of running out of memory minutes later (1.25 M documents
 * ended in a V8 out-of-memory abort). Measured costs: BENCHMARKS.md, "Large inputs".
 */
import * as path from 'path';
import { runAudit } from '../../../cli/commands/audit';
import { evaluate } from '../../../policies/engine';
import { loadInputs, loadProblemsToFindings } from '../../../policies/input';
import { DEFAULT_MAX_DOCUMENTS, maxDocuments } from '../../../policies/input/files';
import { fakeIo, tempTree } from '../cli/io';

const ns = (i: number): string => `apiVersion: v1\nkind: Namespace\nmetadata: {name: ns-${i}}\n`;
const stream = (from: number, n: number): string => Array.from({ length: n }, (_, i) => ns(from + i)).join('---\n');

describe('the document limit', () => {
  it('reads up to the limit, then stops with an error at the first document past it and checks nothing', async () => {
    const dir = await tempTree({ 'a.yaml': stream(0, 3), 'b.yaml': stream(3, 3), 'c.yaml': stream(6, 3) });
    const r = await loadInputs(['.'], { cwd: dir, maxDocuments: 5 });
    // Released: the checks relate objects across the input, a part would give partial answers.
    expect(r.documents).toEqual([]);
    expect(r.files).toEqual(['a.yaml', 'b.yaml']); // c.yaml never read
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ file: 'b.yaml', line: 9 });
    expect(r.errors[0].message).toContain('more than 5 documents, the limit of one audit (HCB_MAX_DOCUMENTS)');
    expect(r.errors[0].message).toContain('no document was checked');
    const [f] = loadProblemsToFindings(r.errors);
    expect(f).toMatchObject({ status: 'error', control: 'HCB-INPUT-PARSE', object: { file: 'b.yaml', line: 9 } });
  });

  it('exactly the limit is read whole, without an error', async () => {
    const dir = await tempTree({ 'a.yaml': stream(0, 5) });
    const r = await loadInputs(['a.yaml'], { cwd: dir, maxDocuments: 5 });
    expect(r.documents).toHaveLength(5);
    expect(r.errors).toEqual([]);
  });

  it('applies to standard input too', async () => {
    const r = await loadInputs(['-'], { cwd: '/', maxDocuments: 2, readStdin: async () => stream(0, 4) });
    expect(r.documents).toEqual([]);
    expect(r.errors[0]).toMatchObject({ file: '<stdin>', line: 9 });
  });

  it('HCB_MAX_DOCUMENTS sets it; nonsense falls back to the default', () => {
    const old = process.env.HCB_MAX_DOCUMENTS;
    try {
      process.env.HCB_MAX_DOCUMENTS = '1234';
      expect(maxDocuments()).toBe(1234);
      process.env.HCB_MAX_DOCUMENTS = '-1';
      expect(maxDocuments()).toBe(DEFAULT_MAX_DOCUMENTS);
      process.env.HCB_MAX_DOCUMENTS = 'lots';
      expect(maxDocuments()).toBe(DEFAULT_MAX_DOCUMENTS);
    } finally {
      if (old === undefined) delete process.env.HCB_MAX_DOCUMENTS;
      else process.env.HCB_MAX_DOCUMENTS = old;
    }
  });

  it('hcb audit: the limit fails the run (exit 1) with the error in the report and no result but errors and not-evaluated', async () => {
    const dir = await tempTree({ 'a.yaml': stream(0, 4) });
    const io = fakeIo(dir, { env: {} });
    const old = process.env.HCB_MAX_DOCUMENTS;
    process.env.HCB_MAX_DOCUMENTS = '3';
    try {
      const code = await runAudit(['a.yaml', '--format', 'json'], io);
      expect(code).toBe(1);
      const results = (
        JSON.parse(io.out()) as {
          results: { control: string; status: string; message: string; object: { name: string | null } }[];
        }
      ).results;
      expect(results.find((x) => x.control === 'HCB-INPUT-PARSE')?.message).toContain('HCB_MAX_DOCUMENTS');
      expect(new Set(results.map((x) => x.status))).toEqual(new Set(['error', 'not-evaluated']));
      expect(results.filter((x) => x.object.name !== null)).toEqual([]);
    } finally {
      if (old === undefined) delete process.env.HCB_MAX_DOCUMENTS;
      else process.env.HCB_MAX_DOCUMENTS = old;
    }
  });
});

describe('the heap guard', () => {
  it('stops before the next input once the documents read fill half the heap', async () => {
    const dir = await tempTree({ 'a.yaml': stream(0, 2), 'b.yaml': stream(2, 2), 'c.yaml': stream(4, 2) });
    let used = 100;
    // After a.yaml the heap is "full": b.yaml and c.yaml are not read.
    const heap = (): { used: number; limit: number } => ({ used: (used += 500) - 500, limit: 1000 });
    const r = await loadInputs([path.join(dir, 'a.yaml'), 'b.yaml', 'c.yaml'], { cwd: dir, heap });
    expect(r.files).toEqual(['a.yaml']);
    expect(r.documents).toEqual([]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].file).toBe('b.yaml');
    expect(r.errors[0].message).toMatch(
      /not read, nor anything after it: the 2 documents read before it fill 0 MiB of the 0 MiB heap/,
    );
    expect(r.errors[0].message).toContain('--max-old-space-size');
  });

  it('does not stop while the heap has room', async () => {
    const dir = await tempTree({ 'a.yaml': stream(0, 2), 'b.yaml': stream(2, 2) });
    const r = await loadInputs(['.'], { cwd: dir, heap: () => ({ used: 400, limit: 1000 }) });
    expect(r.errors).toEqual([]);
    expect(r.documents).toHaveLength(4);
  });
});

describe('the engine stops before memory runs out', () => {
  afterEach(() => jest.restoreAllMocks());

  it('past the heap share for findings: one error, nothing partial', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const v8 = require('v8') as typeof import('v8');
    const real = v8.getHeapStatistics();
    let calls = 0;
    jest.spyOn(v8, 'getHeapStatistics').mockImplementation(() => ({
      ...real,
      heap_size_limit: 1000 * 2 ** 20,
      used_heap_size: (++calls >= 3 ? 800 : 100) * 2 ** 20,
    }));
    const docs = [
      { object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }, source: { file: 'a.yaml', line: 1 } },
    ];
    const findings = evaluate(docs, { now: new Date('2026-01-15T00:00:00Z') });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ control: 'HCB-ENGINE-ERROR', status: 'error' });
    expect(findings[0].message).toMatch(
      /^The engine stopped after 3 of \d+ controls .*fill 800 MiB of the 1000 MiB heap.*--max-old-space-size/,
    );
  });

  it('with room on the heap it runs every control', () => {
    const docs = [
      { object: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } }, source: { file: 'a.yaml', line: 1 } },
    ];
    expect(
      evaluate(docs, { now: new Date('2026-01-15T00:00:00Z') }).some((f) => f.control === 'HCB-ENGINE-ERROR'),
    ).toBe(false);
  });
});

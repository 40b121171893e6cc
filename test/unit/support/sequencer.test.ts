/**
 * test/support/sequencer.js: e2e files start longest first from test/e2e/durations.json, so a fresh
 * machine (no Jest timing cache) does not start the longest file last.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const REPO = path.resolve(__dirname, '../../..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Sequencer = require('../../support/sequencer.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const durations: { seconds: Record<string, number> } = require('../../e2e/durations.json');

// An empty timing cache of its own: what a fresh machine has.
const cacheDirectory = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-sequencer-'));
const config = { rootDir: REPO, cacheDirectory, haste: {}, name: 'e2e', id: 'e2e' };

function fakeTest(rel: string): { path: string; context: unknown } {
  return { path: path.join(REPO, rel), context: { config, hasteFS: { getSize: () => 1 } } };
}

describe('e2e test order', () => {
  test('every e2e file has a typical duration, and no listed file is gone', () => {
    const files = fs
      .readdirSync(path.join(REPO, 'test/e2e'))
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => `test/e2e/${f}`)
      .sort();
    expect(Object.keys(durations.seconds).sort()).toEqual(files);
    for (const s of Object.values(durations.seconds)) expect(s).toBeGreaterThan(0);
  });

  test('longest first; a file missing from the table counts as a minute', () => {
    const seq = new Sequencer();
    const rels = [
      'test/e2e/toolchain.test.ts',
      'test/e2e/hosts-ha.test.ts',
      'test/e2e/new-file.test.ts',
      'test/e2e/pulumi-local.test.ts',
      'test/e2e/tenant-live.test.ts',
    ];
    const order = seq.sort(rels.map(fakeTest)).map((t: { path: string }) => path.relative(REPO, t.path));
    expect(order).toEqual([
      'test/e2e/hosts-ha.test.ts',
      'test/e2e/pulumi-local.test.ts',
      'test/e2e/new-file.test.ts',
      'test/e2e/tenant-live.test.ts',
      'test/e2e/toolchain.test.ts',
    ]);
  });

  test('unit files keep Jest order (none is in the table)', () => {
    const seq = new Sequencer();
    const tests = ['test/unit/a.test.ts', 'test/unit/b.test.ts'].map(fakeTest);
    const jestOrder = Object.getPrototypeOf(Sequencer.prototype).sort.call(seq, [...tests]);
    expect(seq.sort([...tests])).toEqual(jestOrder);
  });
});

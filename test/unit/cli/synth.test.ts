/**
 * `hcb synth` output is deterministic (same input, byte-identical files), written whole, and
 * never carries key material: only the {{hcb-secret:NAME}} tokens the stack materializes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { command as synth } from '../../../cli/commands/synth';

async function run(args: string[]): Promise<number> {
  const write = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await synth.run(args);
  } finally {
    process.stderr.write = write;
  }
}

describe('hcb synth', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-synth-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test.each(['basic', 'standard', 'high'])('profile %s: two runs give byte-identical files', async (profile) => {
    const a = path.join(tmp, `${profile}-a`);
    const b = path.join(tmp, `${profile}-b`);
    expect(await run(['--out', a, '--profile', profile, '--namespace', 'team-a', '--namespace', 'team-b'])).toBe(0);
    expect(await run(['--out', b, '--profile', profile, '--namespace', 'team-a', '--namespace', 'team-b'])).toBe(0);
    const files = fs.readdirSync(a).sort();
    expect(files).toEqual(expect.arrayContaining(['cluster.yaml', 'control-plane.yaml']));
    expect(fs.readdirSync(b).sort()).toEqual(files);
    for (const f of files) expect(fs.readFileSync(path.join(b, f))).toEqual(fs.readFileSync(path.join(a, f)));
  });

  test('encryption keys appear only as tokens', async () => {
    const out = path.join(tmp, 'tokens');
    expect(await run(['--out', out, '--local'])).toBe(0);
    const cp = fs.readFileSync(path.join(out, 'control-plane.yaml'), 'utf8');
    const secrets = [...cp.matchAll(/secret:\s*(\S+)/g)].map((m) => m[1]);
    expect(secrets.length).toBeGreaterThan(0);
    for (const s of secrets) expect(s).toMatch(/^"?\{\{hcb-secret:[a-z0-9-]+\}\}"?$/);
  });

  test('a bad profile is refused and nothing is written', async () => {
    const out = path.join(tmp, 'bad');
    expect(await run(['--out', out, '--profile', 'extreme'])).toBe(2);
    expect(fs.existsSync(out)).toBe(false);
  });
});

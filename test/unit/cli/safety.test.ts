/**
 * Misuse that could lose a user's files or hide an insecure object (issue "Reliability"):
 * synth never deletes what it did not write, --output never replaces a device, FIFO or symlink,
 * and input kubectl would read differently (or refuse) is an error, never a silent pass.
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runAudit, writeFileAtomic } from '../../../cli/commands/audit';
import { command as synth, SYNTH_MARKER } from '../../../cli/commands/synth';
import { fakeIo } from './io';

jest.setTimeout(60_000);

async function runSynth(args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    return { code: await synth.run(args), err };
  } finally {
    process.stderr.write = write;
  }
}

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-safety-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('hcb synth --out never deletes what it did not write', () => {
  test('--out . inside a git repository keeps .git and every foreign file', async () => {
    const repo = path.join(tmp, 'repo');
    fs.mkdirSync(repo);
    execFileSync('git', ['init', '-q'], { cwd: repo });
    fs.writeFileSync(path.join(repo, 'main.ts'), 'precious');
    const r = await runSynth(['--out', repo]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/holds files that hcb synth did not write/);
    expect(fs.readFileSync(path.join(repo, 'main.ts'), 'utf8')).toBe('precious');
    expect(fs.existsSync(path.join(repo, '.git', 'HEAD'))).toBe(true);
    expect(fs.existsSync(path.join(repo, 'cluster.yaml'))).toBe(false);
  });

  test('a file given as the directory is refused and untouched', async () => {
    const f = path.join(tmp, 'notes.txt');
    fs.writeFileSync(f, 'keep me');
    expect((await runSynth(['--out', f])).code).toBe(2);
    expect(fs.readFileSync(f, 'utf8')).toBe('keep me');
  });

  test('a symbolic link as the directory is refused', async () => {
    fs.mkdirSync(path.join(tmp, 'real'));
    fs.symlinkSync(path.join(tmp, 'real'), path.join(tmp, 'link'));
    expect((await runSynth(['--out', path.join(tmp, 'link')])).code).toBe(2);
    expect(fs.readdirSync(path.join(tmp, 'real'))).toEqual([]);
  });

  test('re-synth into its own directory replaces our files, keeps a file the user added, leaves no temporaries; modes 0644 under umask 000', async () => {
    const out = path.join(tmp, 'out');
    const old = process.umask(0);
    try {
      expect((await runSynth(['--out', out])).code).toBe(0);
      fs.writeFileSync(path.join(out, 'README.md'), 'mine');
      expect((await runSynth(['--out', out, '--profile', 'high'])).code).toBe(0);
    } finally {
      process.umask(old);
    }
    expect(fs.readdirSync(out).sort()).toEqual([SYNTH_MARKER, 'README.md', 'cluster.yaml', 'control-plane.yaml', 'exceptions.yaml'].sort());
    for (const f of ['cluster.yaml', 'control-plane.yaml', 'exceptions.yaml']) expect(fs.statSync(path.join(out, f)).mode & 0o777).toBe(0o644);
    expect(fs.readdirSync(tmp).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  test('an empty existing directory is used', async () => {
    const out = path.join(tmp, 'empty');
    fs.mkdirSync(out);
    expect((await runSynth(['--out', out])).code).toBe(0);
    expect(fs.existsSync(path.join(out, 'cluster.yaml'))).toBe(true);
  });
});

describe('--output never replaces what is not a regular file', () => {
  test('/dev/null stays a character device', async () => {
    await writeFileAtomic('/dev/null', 'report');
    expect(fs.statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  test('a symbolic link is followed; the link itself stays', async () => {
    const target = path.join(tmp, 'target.txt');
    fs.writeFileSync(target, 'old');
    const link = path.join(tmp, 'link.txt');
    fs.symlinkSync(target, link);
    await writeFileAtomic(link, 'new');
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(target, 'utf8')).toBe('new');
  });

  test('a FIFO is written through to its reader and stays a FIFO', async () => {
    const fifo = path.join(tmp, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo]);
    let got = '';
    reader.stdout.on('data', (d) => (got += d));
    await writeFileAtomic(fifo, 'through the pipe');
    await new Promise((r) => reader.on('close', r));
    expect(got).toBe('through the pipe');
    expect(fs.statSync(fifo).isFIFO()).toBe(true);
  });

  test('a directory is refused', async () => {
    await expect(writeFileAtomic(tmp, 'x')).rejects.toThrow(/is a directory/);
  });
});

describe('hcb audit: input kubectl reads differently or refuses is an error', () => {
  const audit = async (files: Record<string, string | Buffer>, args: string[] = [], stdin?: string) => {
    for (const [n, c] of Object.entries(files)) fs.writeFileSync(path.join(tmp, n), c);
    const io = fakeIo(tmp, { stdin });
    const code = await runAudit([...args, '--format', 'json'], io);
    return { code, report: JSON.parse(io.out()), err: io.errText() };
  };
  const failing = (report: any, control: string) => report.results.filter((r: any) => r.control === control && (r.status === 'fail' || r.status === 'error'));

  test('empty input fails unless --allow-empty: empty file, /dev/null, empty stdin, empty directory', async () => {
    expect((await audit({ 'empty.yaml': '' }, ['empty.yaml'])).code).toBe(1);
    expect((await audit({}, ['/dev/null'])).code).toBe(1);
    expect((await audit({}, ['-'], '')).code).toBe(1);
    fs.mkdirSync(path.join(tmp, 'nothing'));
    const r = await audit({}, ['nothing']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no Kubernetes document/);
    expect((await audit({ 'e.yaml': '' }, ['e.yaml', '--allow-empty'])).code).toBe(0);
  });

  test('a BOM at the start of a later document does not hide the object', async () => {
    const r = await audit({ 'bom.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n\ufeffapiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  containers:\n  - {name: c, image: x, securityContext: {privileged: true}}\n' }, ['bom.yaml']);
    expect(r.code).toBe(1);
    expect(failing(r.report, 'HCB-WORKLOAD-PRIVILEGED')).toHaveLength(1);
  });

  test('a merge key after an explicit key is rejected (Go decoders let the merged value win)', async () => {
    const r = await audit({ 'm.yaml': 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x\n    securityContext:\n      privileged: false\n      <<: {privileged: true}\n' }, ['m.yaml']);
    expect(r.code).toBe(1);
    const errs = failing(r.report, 'HCB-INPUT-PARSE');
    expect(errs).toHaveLength(1);
    expect(errs[0].message).toMatch(/merge key << sets "privileged"/);
  });

  test('NUL bytes, invalid UTF-8 and a %YAML directive are errors that name the file, never quote it', async () => {
    const r = await audit({ 'nul.yaml': 'kind: Secret\u0000\nstringData: {password: hunter2}\n', 'latin1.yaml': Buffer.from([0x6b, 0x69, 0x6e, 0x64, 0x3a, 0x20, 0xff, 0x0a]), 'dir.yaml': '%YAML 1.2\n---\nkind: Namespace\n' }, ['nul.yaml', 'latin1.yaml', 'dir.yaml']);
    expect(r.code).toBe(1);
    const errs = failing(r.report, 'HCB-INPUT-PARSE');
    expect(errs.map((e: any) => e.object?.file ?? e.message).join(' ')).toMatch(/nul\.yaml/);
    expect(errs.length).toBe(3);
    expect(JSON.stringify(r.report)).not.toContain('hunter2');
  });

  test('a FIFO or a device named as input is refused, not read forever', async () => {
    const fifo = path.join(tmp, 'in.yaml');
    execFileSync('mkfifo', [fifo]);
    const r = await audit({}, ['in.yaml', '/dev/zero']);
    expect(r.code).toBe(1);
    expect(r.err + JSON.stringify(r.report)).toMatch(/not a regular file/);
  });
});

/**
 * Misuse that could lose a user's files or hide an insecure object (issue "Reliability"):
 * synth never deletes what it did not write, --output never replaces a device, FIFO or symlink,
 * and input kubectl would read differently (or refuse) is an error, never a silent pass.
 */
import { execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runAudit, writeFileAtomic } from '../../../cli/commands/audit';
import { command as controls } from '../../../cli/commands/controls';
import { runReport } from '../../../cli/commands/report';
import { readBoundedFile } from '../../../cli/fs-safe';
import { command as synth, SYNTH_MARKER } from '../../../cli/commands/synth';
import { fakeIo } from './io';

jest.setTimeout(300_000); // subprocess tests start ts-node; the machine may be busy

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
    expect(fs.readdirSync(out).sort()).toEqual(
      [SYNTH_MARKER, 'README.md', 'cluster.yaml', 'control-plane.yaml', 'exceptions.yaml'].sort(),
    );
    for (const f of ['cluster.yaml', 'control-plane.yaml', 'exceptions.yaml'])
      expect(fs.statSync(path.join(out, f)).mode & 0o777).toBe(0o644);
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
    // Listen before writing: cat exits as soon as the write end closes, and its 'close' can come
    // before the write's own completion is handled (once, under load, this test waited 300 s for
    // an event that had already passed).
    const closed = new Promise((resolve, reject) => {
      reader.on('close', resolve);
      reader.on('error', reject);
    });
    await writeFileAtomic(fifo, 'through the pipe');
    await closed;
    expect(got).toBe('through the pipe');
    expect(fs.statSync(fifo).isFIFO()).toBe(true);
  }, 60_000);

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
  const failing = (report: any, control: string) =>
    report.results.filter((r: any) => r.control === control && (r.status === 'fail' || r.status === 'error'));

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
    const r = await audit(
      {
        'bom.yaml':
          'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n\ufeffapiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  containers:\n  - {name: c, image: x, securityContext: {privileged: true}}\n',
      },
      ['bom.yaml'],
    );
    expect(r.code).toBe(1);
    expect(failing(r.report, 'HCB-WORKLOAD-PRIVILEGED')).toHaveLength(1);
  });

  test('a merge key after an explicit key is rejected (Go decoders let the merged value win)', async () => {
    const r = await audit(
      {
        'm.yaml':
          'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x\n    securityContext:\n      privileged: false\n      <<: {privileged: true}\n',
      },
      ['m.yaml'],
    );
    expect(r.code).toBe(1);
    const errs = failing(r.report, 'HCB-INPUT-PARSE');
    expect(errs).toHaveLength(1);
    expect(errs[0].message).toMatch(/merge key << sets "privileged"/);
  });

  test('NUL bytes, invalid UTF-8 and a %YAML directive are errors that name the file, never quote it', async () => {
    const r = await audit(
      {
        'nul.yaml': 'kind: Secret\u0000\nstringData: {password: hunter2}\n',
        'latin1.yaml': Buffer.from([0x6b, 0x69, 0x6e, 0x64, 0x3a, 0x20, 0xff, 0x0a]),
        'dir.yaml': '%YAML 1.2\n---\nkind: Namespace\n',
      },
      ['nul.yaml', 'latin1.yaml', 'dir.yaml'],
    );
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

describe('issue 15, continued: links to descriptors, bounded reads, strict stack config, quiet pipes', () => {
  const MAIN = path.resolve(__dirname, '../../../cli/main.ts');
  const TS_NODE = require.resolve('ts-node/register/transpile-only');
  const ENV = { ...process.env, TS_NODE_PROJECT: path.resolve(__dirname, '../../../tsconfig.json') };
  const hcb = (args: string[], opts: { cwd: string; input?: string }) =>
    spawnSync(process.execPath, ['-r', TS_NODE, MAIN, ...args], {
      cwd: opts.cwd,
      input: opts.input,
      encoding: 'utf8',
      env: ENV,
      timeout: 240_000,
    });
  const NS = 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n';

  afterAll(() => {
    // Should a regression replace /dev/stdout, put the link back: the machine must not be damaged by a test.
    const st = fs.lstatSync('/dev/stdout', { throwIfNoEntry: false });
    if (st && !st.isSymbolicLink()) {
      fs.rmSync('/dev/stdout');
      fs.symlinkSync('/proc/self/fd/1', '/dev/stdout');
    }
  });

  test('--output /dev/stdout and a link to /proc/self/fd/1 with stdout a pipe: the report arrives, nothing is replaced', () => {
    fs.writeFileSync(path.join(tmp, 'ns.yaml'), NS);
    fs.symlinkSync('/proc/self/fd/1', path.join(tmp, 'out-link'));
    for (const out of ['/dev/stdout', 'out-link']) {
      const r = hcb(['audit', 'ns.yaml', '--format', 'json', '--output', out], { cwd: tmp });
      expect(r.stderr).not.toMatch(/cannot write/);
      expect(r.status).toBe(1); // the namespace lacks its policies: a failing audit, not an I/O error
      expect(JSON.parse(r.stdout).results.length).toBeGreaterThan(0);
    }
    expect(fs.lstatSync('/dev/stdout').isSymbolicLink()).toBe(true);
    expect(fs.lstatSync(path.join(tmp, 'out-link')).isSymbolicLink()).toBe(true);
  });

  test('a reader that closes early (| head -1): no stack trace, the exit code is the audit result', async () => {
    fs.writeFileSync(
      path.join(tmp, 'ns.yaml'),
      Array.from({ length: 300 }, (_, i) => NS.replace('name: a', `name: a${i}`)).join('---\n'),
    );
    const child = spawn(process.execPath, ['-r', TS_NODE, MAIN, 'audit', 'ns.yaml', '--format', 'json'], {
      cwd: tmp,
      env: ENV,
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise((r) => child.on('close', r));
    expect(code).toBe(1);
    expect(err).not.toMatch(/EPIPE|\n\s+at /);
  });

  test('a control character in a file name reaches the terminal escaped', async () => {
    const name = 'evil\u001b[31m.yaml';
    fs.writeFileSync(path.join(tmp, name), 'a: 1\n'); // no kind: a warning that names the file
    const io = fakeIo(tmp);
    await runAudit([name, '--format', 'json'], io);
    expect(io.errText()).not.toContain('\u001b');
    expect(io.errText()).toContain('\\x1b[31m');
  });

  const inProcess = async (args: string[]): Promise<{ status: number; stderr: string }> => {
    const [cmd, ...rest] = args;
    if (cmd === 'audit' || cmd === 'report') {
      const io = fakeIo(tmp);
      const status = cmd === 'audit' ? await runAudit(rest, io) : await runReport(rest, io);
      return { status, stderr: io.errText() };
    }
    const cwd = process.cwd();
    process.chdir(tmp);
    try {
      if (cmd === 'synth') {
        const r = await runSynth(rest);
        return { status: r.code, stderr: r.err };
      }
      let err = '';
      const write = process.stderr.write;
      process.stderr.write = ((x: string) => ((err += x), true)) as typeof process.stderr.write;
      try {
        return { status: await controls.run(rest), stderr: err };
      } finally {
        process.stderr.write = write;
      }
    } finally {
      process.chdir(cwd);
    }
  };

  test.each([
    [['audit', 'x.yaml', '--format', 'json', '--format', 'sarif']],
    [['report', '--base', 'a', '--head', 'b', '--format', 'json', '--format', 'markdown']],
    [['synth', '--out', 'a', '--out', 'b']],
    [['controls', '--format', 'json', '--format', 'text']],
  ])('an option given twice is a usage error: %j', async (args) => {
    const r = await inProcess(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/given more than once/);
  });

  test('/dev/zero and a FIFO as --stack-config, --exceptions or --base are refused at once, not read forever', async () => {
    execFileSync('mkfifo', [path.join(tmp, 'fifo')]);
    fs.writeFileSync(path.join(tmp, 'ns.yaml'), NS);
    for (const args of [
      ['synth', '--out', 'o', '--stack-config', '/dev/zero'],
      ['synth', '--out', 'o', '--stack-config', 'fifo'],
      ['audit', 'ns.yaml', '--exceptions', 'fifo'],
      ['audit', 'ns.yaml', '--exceptions', '/dev/zero'],
      ['report', '--base', 'fifo', '--head', '/dev/zero'],
    ]) {
      const r = await inProcess(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/not a regular file/);
    }
    expect(fs.existsSync(path.join(tmp, 'o'))).toBe(false);
  });

  test('a configuration file above the size limit is refused with the limit named', async () => {
    fs.writeFileSync(path.join(tmp, 'big.json'), ' '.repeat(2048));
    await expect(readBoundedFile(path.join(tmp, 'big.json'), 'big.json', 1024)).rejects.toThrow(
      /2048 bytes, larger than the 1024-byte limit/,
    );
  });

  test.each([
    ['{"hcb:profile": "high"}', /"hcb:profile" must be an object such as \{"value"/],
    ['{"hcb:profil": {"value": "high"}}', /"hcb:profil" is not a setting of this stack/],
    ['{"hcb:apiServerPort": {"value": true}}', /"hcb:apiServerPort" = boolean true is not a port/],
    ['{"hcb:apiServerPort": {"value": "0x1bb"}}', /"hcb:apiServerPort" = "0x1bb" is not a port/],
    ['{"hcb:profile": {"value": "high", "secrt": true}}', /"hcb:profile" has an unknown field "secrt"/],
    ['{"hcb:profile": {"secret": true}}', /"hcb:profile" is secret and its value is not in the file/],
    ['{"hcb:profile": {"value": ["high"]}}', /"hcb:profile" must be a string/],
    ['["hcb:profile"]', /must be the JSON object/],
    ['{"hcb:profile": {"value": "high"', /not valid JSON/],
  ])('stack config %s is refused naming the key (exit 2, nothing written)', async (json, message) => {
    fs.writeFileSync(path.join(tmp, 'stack.json'), json);
    const r = await inProcess(['synth', '--out', 'o', '--stack-config', 'stack.json']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(fs.existsSync(path.join(tmp, 'o'))).toBe(false);
  });

  test('stack config as pulumi config --json writes it is accepted; other namespaces are left alone', async () => {
    fs.writeFileSync(
      path.join(tmp, 'stack.json'),
      JSON.stringify({ 'hcb:profile': { value: 'high', secret: false }, 'kubernetes:context': { value: 'x' } }),
    );
    const r = await inProcess(['synth', '--out', 'o', '--stack-config', 'stack.json']);
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(tmp, 'o', 'control-plane.yaml'), 'utf8').length).toBeGreaterThan(0);
  });
});

describe('issue 15, continued: input read the way kubectl reads it', () => {
  const audit = async (files: Record<string, string>, args: string[] = []) => {
    for (const [n, c] of Object.entries(files)) fs.writeFileSync(path.join(tmp, n), c);
    const io = fakeIo(tmp);
    const code = await runAudit([...Object.keys(files), ...args], io);
    return { code, out: io.out(), err: io.errText() };
  };
  const json = async (files: Record<string, string>) => {
    const r = await audit(files, ['--format', 'json']);
    return { ...r, report: JSON.parse(r.out) };
  };
  const POD = (sc: string) =>
    `apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  containers:\n  - name: c\n    image: x\n    securityContext:\n${sc}`;
  const parseErrors = (report: any) =>
    report.results.filter((r: any) => r.control === 'HCB-INPUT-PARSE' && r.status === 'error');

  test('two merge keys setting the same key are rejected (go-yaml: the later wins; YAML merge rules: the earlier)', async () => {
    const r = await json({ 'm.yaml': POD('      <<: {privileged: false}\n      <<: {privileged: true}\n') });
    expect(r.code).toBe(1);
    expect(parseErrors(r.report)[0].message).toMatch(/m\.yaml:10.*merge key << sets "privileged"/);
  });

  test('a merge through an anchor whose map itself merges is checked too', async () => {
    const r = await json({
      'm.yaml': `x-base: &b\n  <<: {privileged: true}\n${POD('      privileged: false\n      <<: *b\n')}`,
    });
    expect(parseErrors(r.report).some((e: any) => /merge key << sets "privileged"/.test(e.message))).toBe(true);
  });

  test('a quoted "<<" is an ordinary key (as in go-yaml), not a merge', async () => {
    const r = await json({ 'q.yaml': POD('      privileged: true\n      "<<": {privileged: false}\n') });
    expect(parseErrors(r.report)).toEqual([]);
    expect(r.report.results.some((x: any) => x.control === 'HCB-WORKLOAD-PRIVILEGED' && x.status === 'fail')).toBe(
      true,
    );
  });

  test('a BOM at the start of a line inside a document does not hide the key (go-yaml skips it)', async () => {
    const r = await json({ 'b.yaml': POD('      privileged: true\n').replace('\nspec:', '\n\ufeffspec:') });
    expect(r.report.results.some((x: any) => x.control === 'HCB-WORKLOAD-PRIVILEGED' && x.status === 'fail')).toBe(
      true,
    );
  });

  test('a List whose items is a map is an error; a Pod carrying an items list is read as a list, as kubectl does', async () => {
    const r1 = await json({ 'l.yaml': 'apiVersion: v1\nkind: List\nitems: {a: 1}\n' });
    expect(r1.code).toBe(1);
    expect(parseErrors(r1.report)[0].message).toMatch(/"items" that is not a list/);
    const r2 = await json({
      'p.yaml': `apiVersion: v1\nkind: Pod\nmetadata: {name: outer}\nitems:\n- ${POD('      privileged: true\n').split('\n').join('\n  ')}`,
    });
    expect(r2.report.results.some((x: any) => x.control === 'HCB-WORKLOAD-PRIVILEGED' && x.status === 'fail')).toBe(
      true,
    );
  });

  test('one over-deep document fails alone with its line; the other documents are still checked', async () => {
    const deep = `kind: ConfigMap\nmetadata: {name: d}\ndata: ${'['.repeat(5000)}${']'.repeat(5000)}\n`;
    const r = await json({ 'd.yaml': `${deep}---\n${POD('      privileged: true\n')}` });
    expect(parseErrors(r.report).map((e: any) => e.message)).toEqual([
      expect.stringMatching(/^d\.yaml:3: nested more than 200 levels deep/),
    ]);
    expect(r.report.results.some((x: any) => x.control === 'HCB-WORKLOAD-PRIVILEGED' && x.status === 'fail')).toBe(
      true,
    );
  });

  test.each(['sarif', 'markdown', 'html', 'junit', 'json', 'terminal', 'oscal'])(
    'parse errors quote the position, never the content (%s)',
    async (format) => {
      const secret =
        'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData:\n  password: "hunter2\\q"\n  token: !!binary |notbase64hunter3\n';
      const r = await audit({ 's.yaml': secret, 't.yaml': 'hunter4-as-a-plain-document\n' }, ['--format', format]);
      expect(r.code).toBe(1);
      for (const leak of ['hunter2', 'hunter3', 'hunter4']) {
        expect(r.out).not.toContain(leak);
        expect(r.err).not.toContain(leak);
      }
      expect(r.out).toContain('s.yaml');
    },
  );
});

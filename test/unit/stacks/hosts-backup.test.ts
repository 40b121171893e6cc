// The parts of the hosts target's backups that need no host: the program that takes the snapshot on
// the host (tools/hosts, run here against a stand-in of etcd's snapshot stream over TLS with a client
// certificate), and the CLI's usage errors for the hosts options. The real backup and restore run in
// test/e2e/hosts-backup.test.ts.
import { execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { command } from '../../../cli/commands/backup';
import { buildHostBackupProgram, hostToolsRoot } from '../../../stacks/hosts/backup';
import { decryptBackup, listBackups } from '../../../stacks/local/backup-archive';

jest.setTimeout(180_000);

let dir: string;
let program: string;
let server: https.Server;
let port: number;
/** What the stand-in sends for the next request: lines of the gateway's stream. */
let respond: () => string[] = () => [];

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-hosts-backup-unit-'));
  program = buildHostBackupProgram(path.join(dir, 'cache'));
  // A CA, a serving certificate for 127.0.0.1 and a client certificate, as kubeadm's etcd PKI has.
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=etcd-ca',
  ]);
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ]) {
    fs.writeFileSync(path.join(dir, `${name}.ext`), `${ext}\n`);
    openssl([
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    ]);
    openssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    ]);
  }
  const read = (f: string) => fs.readFileSync(path.join(dir, f));
  server = https.createServer(
    {
      key: read('server.key'),
      cert: read('server.crt'),
      ca: read('ca.crt'),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      if (req.method !== 'POST' || req.url !== '/v3/maintenance/snapshot') {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      for (const l of respond()) res.write(`${l}\n`);
      res.end();
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The gateway's lines for a database sent in chunks, then the sha256 etcd appends (or `digest`). */
function stream(db: Buffer, chunk: number, digest = crypto.createHash('sha256').update(db).digest()): string[] {
  const lines: string[] = [];
  for (let i = 0; i < db.length; i += chunk) {
    const part = db.subarray(i, i + chunk);
    lines.push(
      JSON.stringify({
        result: {
          header: {},
          remaining_bytes: String(db.length - i - part.length),
          blob: part.toString('base64'),
          version: '3.6.0',
        },
      }),
    );
  }
  lines.push(JSON.stringify({ result: { header: {}, blob: digest.toString('base64'), version: '3.6.0' } }));
  return lines;
}

function snapshot(out: string, extra: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(program, [
      'snapshot',
      '--endpoint',
      `https://127.0.0.1:${port}`,
      '--cacert',
      path.join(dir, 'ca.crt'),
      '--cert',
      path.join(dir, 'client.crt'),
      '--key',
      path.join(dir, 'client.key'),
      '--out',
      out,
      '--timeout',
      '30s',
      ...extra,
    ]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('hcb-host-backup snapshot (tools/hosts)', () => {
  test('writes the stream as etcdctl does (database, then the digest), 0600, and reports size and sha256', async () => {
    const db = crypto.randomBytes(100_000);
    respond = () => stream(db, 32 * 1024);
    const out = path.join(dir, 'ok.db');
    const r = await snapshot(out);
    expect(r).toMatchObject({ code: 0 });
    const file = fs.readFileSync(out);
    expect(file.length).toBe(db.length + 32);
    expect(file.subarray(0, db.length).equals(db)).toBe(true);
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    expect(JSON.parse(r.stdout)).toEqual({
      bytes: file.length,
      sha256: crypto.createHash('sha256').update(file).digest('hex'),
      version: '3.6.0',
    });
  });

  test('a digest that does not match, a stream cut short and an error message are failures; no file is left', async () => {
    const db = crypto.randomBytes(70_000);
    const cases: Array<[string, () => string[], RegExp]> = [
      ['bad-digest', () => stream(db, 32 * 1024, Buffer.alloc(32, 1)), /does not match the sha256/],
      ['short', () => stream(db, 32 * 1024).slice(0, 2), /ended early/],
      ['error', () => [JSON.stringify({ error: { code: 14, message: 'etcdserver: no leader' } })], /no leader/],
    ];
    for (const [name, lines, why] of cases) {
      respond = lines;
      const out = path.join(dir, `${name}.db`);
      const r = await snapshot(out);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(why);
      expect(fs.existsSync(out)).toBe(false);
    }
  });

  test('an existing output file is never overwritten; a server the CA did not sign is refused', async () => {
    respond = () => stream(Buffer.alloc(10, 2), 32 * 1024);
    const existing = path.join(dir, 'existing.db');
    fs.writeFileSync(existing, 'keep');
    expect((await snapshot(existing)).code).toBe(1);
    expect(fs.readFileSync(existing, 'utf8')).toBe('keep');
    const other = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(program, [
        'snapshot',
        '--endpoint',
        `https://127.0.0.1:${port}`,
        '--cacert',
        path.join(dir, 'client.crt'),
        '--cert',
        path.join(dir, 'client.crt'),
        '--key',
        path.join(dir, 'client.key'),
        '--out',
        path.join(dir, 'x.db'),
      ]);
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/certificate/);
  });
});

describe('hcb-host-backup scheduled (the backup a host timer runs)', () => {
  let sched: string;
  let key: Buffer;
  const run = (config: string) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(program, ['scheduled', '--config', config]);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const config = (over: Record<string, unknown> = {}) => {
    const f = path.join(sched, `schedule-${crypto.randomBytes(4).toString('hex')}.json`);
    fs.writeFileSync(
      f,
      JSON.stringify({
        cluster: 'unit',
        host: 'cp1',
        address: '198.18.5.11',
        backupDir: path.join(sched, 'backups'),
        workDir: path.join(sched, 'work'),
        keyFile: path.join(sched, 'backup-key'),
        retain: 2,
        etcdutl: path.join(sched, 'etcdutl'),
        hcbVersion: 'unit',
        timeout: '30s',
        etcd: {
          endpoint: `https://127.0.0.1:${port}`,
          caFile: path.join(dir, 'ca.crt'),
          certFile: path.join(dir, 'client.crt'),
          keyFile: path.join(dir, 'client.key'),
        },
        include: [path.join(sched, 'pki'), path.join(sched, 'encryption'), path.join(sched, 'missing')],
        ...over,
      }),
      { mode: 0o600 },
    );
    return f;
  };

  beforeAll(() => {
    sched = path.join(dir, 'sched');
    fs.mkdirSync(path.join(sched, 'pki', 'etcd'), { recursive: true });
    fs.mkdirSync(path.join(sched, 'encryption'));
    fs.writeFileSync(path.join(sched, 'pki', 'ca.key'), 'ca key material', { mode: 0o600 });
    fs.writeFileSync(path.join(sched, 'pki', 'etcd', 'ca.crt'), 'etcd ca', { mode: 0o644 });
    fs.writeFileSync(path.join(sched, 'encryption', 'encryption-config.yaml'), 'kind: EncryptionConfiguration\n', {
      mode: 0o600,
    });
    // etcdutl stands in with the revision it would read (the real one reads the bbolt file).
    fs.writeFileSync(path.join(sched, 'etcdutl'), '#!/bin/sh\necho \'{"hash":1,"revision":4242,"totalKey":9}\'\n', {
      mode: 0o755,
    });
    key = crypto.randomBytes(32);
    fs.writeFileSync(path.join(sched, 'backup-key'), key, { mode: 0o600 });
  });

  test('writes the backup file hcb reads with the same key (AES-256-GCM), manifest beside it; retention keeps the newest', async () => {
    const db = crypto.randomBytes(50_000);
    respond = () => stream(db, 16 * 1024);
    const cfg = config();
    const backups = path.join(sched, 'backups');
    // Another cluster's backup in the same directory is never pruned.
    fs.mkdirSync(backups, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(backups, 'other-20260101T000000Z-r1.hcbbak'), 'x');
    fs.writeFileSync(
      path.join(backups, 'other-20260101T000000Z-r1.hcbbak.json'),
      JSON.stringify({ cluster: 'other', file: 'other-20260101T000000Z-r1.hcbbak', time: '2026-01-01T00:00:00.000Z' }),
    );
    const outputs: string[] = [];
    for (let i = 0; i < 3; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 1100)); // names carry the second
      const r = await run(cfg);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(/^wrote .*\/unit-\d{8}T\d{6}Z-r4242\.hcbbak \(revision 4242, /);
      outputs.push(r.stdout + r.stderr);
    }
    expect(outputs[2]).toMatch(/removed unit-.*\.hcbbak \(retention keeps the newest 2\)/);
    const mine = listBackups(backups).filter((m) => m.cluster === 'unit');
    expect(mine).toHaveLength(2);
    expect(listBackups(backups).filter((m) => m.cluster === 'other')).toHaveLength(1);
    expect(fs.statSync(backups).mode & 0o777).toBe(0o700);
    const file = path.join(backups, mine[0].file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const out = path.join(sched, 'decrypted');
    const { manifest, files } = decryptBackup(file, key, out);
    expect(manifest).toMatchObject({
      format: 1,
      cluster: 'unit',
      revision: 4242,
      source: { target: 'hosts', host: 'cp1', address: '198.18.5.11' },
      versions: { etcd: '3.6.0', hcb: 'unit' },
    });
    expect(manifest.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const byName = new Map(files.map((f) => [f.name, f]));
    expect(fs.readFileSync(byName.get('etcd/snapshot.db')!.path).subarray(0, db.length).equals(db)).toBe(true);
    expect(fs.readFileSync(byName.get(`config${sched}/pki/ca.key`)!.path, 'utf8')).toBe('ca key material');
    expect(byName.get(`config${sched}/pki/ca.key`)!.mode).toBe(0o600);
    expect(byName.get(`config${sched}/pki/etcd/ca.crt`)!.mode).toBe(0o644);
    expect(byName.has(`config${sched}/encryption/encryption-config.yaml`)).toBe(true);
    // Encrypted at rest; the key never in the program's output; a wrong key fails authentication.
    expect(fs.readFileSync(file).includes(Buffer.from('ca key material'))).toBe(false);
    for (const o of outputs)
      for (const form of [key.toString('hex'), key.toString('base64'), key.toString('latin1')])
        expect(o.includes(form)).toBe(false);
    expect(() => decryptBackup(file, crypto.randomBytes(32), path.join(sched, 'wrong'))).toThrow(
      /failed authentication/,
    );
    expect(fs.readdirSync(path.join(sched, 'work')).filter((f) => f.endsWith('.db'))).toEqual([]);
  });

  test('a key others may read, a missing PKI and a failing snapshot are refused; nothing is written', async () => {
    const before = fs.readdirSync(path.join(sched, 'backups')).sort();
    const openKey = path.join(sched, 'open-key');
    fs.writeFileSync(openKey, crypto.randomBytes(32));
    fs.chmodSync(openKey, 0o644);
    const r1 = await run(config({ keyFile: openKey }));
    expect(r1.code).toBe(1);
    expect(r1.stderr).toMatch(/must not be readable by group or others/);
    respond = () => stream(Buffer.alloc(100, 1), 1024);
    const r2 = await run(config({ include: [path.join(sched, 'missing')] }));
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/missing holds no files/);
    respond = () => [JSON.stringify({ error: { code: 14, message: 'etcdserver: no leader' } })];
    const r3 = await run(config());
    expect(r3.code).toBe(1);
    expect(r3.stderr).toMatch(/no leader/);
    expect(fs.readdirSync(path.join(sched, 'backups')).sort()).toEqual(before);
    expect(fs.readdirSync(path.join(sched, 'work')).filter((f) => f.endsWith('.db'))).toEqual([]);
  });
});

describe('hcb backup: hosts options', () => {
  const run = async (args: string[]) => {
    let err = '';
    const write = process.stderr.write;
    (process.stderr as unknown as { write: (s: string) => boolean }).write = (s: string) => ((err += s), true);
    try {
      return { code: await command.run(args), err };
    } finally {
      process.stderr.write = write;
    }
  };
  test('usage errors exit 2 with the reason', async () => {
    expect(await run(['now', '--host', '198.18.5.11'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--host needs --host-key/),
    });
    expect(await run(['now', '--host', '198.18.5.11', '--host-key', 'k.pub'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--host needs --ssh-key/),
    });
    expect(await run(['now', '--host', 'a', '--stack', 'dev'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/exactly one of --stack/),
    });
    expect(await run(['now', '--stack', 'dev', '--host-key', 'k.pub'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/go with --host/),
    });
    expect(await run(['now', '--stack', 'dev', '--state-dir', dir])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--state-dir names a local cluster/),
    });
    expect(await run(['timer', 'start', '--stack', 'dev', '--cluster', 'dev'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/local target only/),
    });
  });
  test('a malformed host key and a private key others can read are refused before any connection (exit 1)', async () => {
    const key = path.join(dir, 'ssh-key');
    fs.writeFileSync(key, 'not used');
    fs.chmodSync(key, 0o644);
    const bad = path.join(dir, 'bad.pub');
    fs.writeFileSync(bad, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGdvb2Q= x\n');
    const common = ['--ssh-key', key, '--dir', dir, '--key', path.join(dir, 'bk')];
    expect(await run(['now', '--host', '198.18.5.11', '--host-key', bad, ...common])).toMatchObject({
      code: 1,
      err: expect.stringMatching(/--host-key .* ed25519 key that is not 32 bytes/),
    });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'unit', '-f', path.join(dir, 'host')]);
    expect(
      await run(['now', '--host', '198.18.5.11', '--host-key', path.join(dir, 'host.pub'), ...common]),
    ).toMatchObject({ code: 1, err: expect.stringMatching(/may be read by group or others/) });
  });
  test('--stack-config: the first control-plane host of hcb:hosts; the SSH key must be shown or given; a local stack is refused', async () => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cp', '-f', path.join(dir, 'cp')]);
    const hostKey = fs.readFileSync(path.join(dir, 'cp.pub'), 'utf8').trim();
    const hosts = [{ name: 'cp1', address: '198.18.5.11', port: 22, user: 'root', role: 'control-plane', hostKey }];
    const cfg = path.join(dir, 'prod.json');
    fs.writeFileSync(
      cfg,
      JSON.stringify({
        'hcb:target': { value: 'hosts' },
        'hcb:hosts': { value: JSON.stringify(hosts), objectValue: hosts },
        'hcb:sshPrivateKey': { secret: true },
      }),
    );
    const hidden = await run(['list', '--stack-config', cfg]);
    expect(hidden).toMatchObject({ code: 1, err: expect.stringMatching(/does not show hcb:sshPrivateKey/) });
    const key = path.join(dir, 'cp');
    let out = '';
    const write = process.stdout.write;
    (process.stdout as unknown as { write: (s: string) => boolean }).write = (s: string) => ((out += s), true);
    try {
      expect(
        await run(['list', '--stack-config', cfg, '--ssh-key', key, '--dir', path.join(dir, 'none')]),
      ).toMatchObject({ code: 0 });
    } finally {
      process.stdout.write = write;
    }
    expect(out).toMatch(/no backups in .*none/);
    const local = path.join(dir, 'local.json');
    fs.writeFileSync(local, JSON.stringify({ 'hcb:target': { value: 'local' } }));
    expect(await run(['list', '--stack-config', local])).toMatchObject({
      code: 1,
      err: expect.stringMatching(/hcb:target is local, not hosts/),
    });
  });
});

describe('hostToolsRoot', () => {
  it('finds tools/hosts from the source tree', () => {
    expect(hostToolsRoot()).toBe(path.resolve(__dirname, '../../..'));
  });

  it('finds the package root from dist/stacks/hosts of an installed package, not dist/', () => {
    const pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-pkg-'));
    try {
      fs.mkdirSync(path.join(pkg, 'tools', 'hosts'), { recursive: true });
      fs.writeFileSync(path.join(pkg, 'tools', 'hosts', 'go.mod'), 'module x\n');
      fs.mkdirSync(path.join(pkg, 'dist', 'stacks', 'hosts'), { recursive: true });
      expect(hostToolsRoot(path.join(pkg, 'dist', 'stacks', 'hosts'))).toBe(pkg);
    } finally {
      fs.rmSync(pkg, { recursive: true, force: true });
    }
  });

  it('says undefined when no directory above holds tools/hosts', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-none-'));
    try {
      expect(hostToolsRoot(dir)).toBeUndefined();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

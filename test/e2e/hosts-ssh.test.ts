/**
 * The hosts target's SSH transport (stacks/hosts/ssh.ts) against real sshds from Debian's
 * openssh-server, each in a lab host made of namespaces this test creates
 * (test/e2e/support/hosts-lab.ts, addresses in 198.18.2.0/24 inside the lab only).
 *
 * Port range: 47653-47659 (loopback listeners that reach the lab hosts' sshds).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseHostsConfig } from '../../stacks/hosts/config';
import { SshConnection, SshError, SshHost, SshOptions } from '../../stacks/hosts/ssh';
import { HostsLab } from './support/hosts-lab';
import { tempDir } from './support/env';

jest.setTimeout(180_000);

const PORTS = [47653, 47654, 47655, 47656, 47657, 47658, 47659];
const NAMES = ['cp1', 'w1'];

let lab: HostsLab;
const errors: string[] = [];
const opened: SshConnection[] = [];

/**
 * Traces of the lab in this machine's own namespaces: its interfaces (the bridge, the veth ends),
 * a 198.18.2.x address, a mount of the lab directory. Other tests may add their own interfaces
 * and mounts meanwhile, so only the lab's are looked for.
 */
function labTraces(dir: string): string[] {
  const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0])
    .filter(Boolean);
  const addrs = execFileSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' });
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  return [
    ...links.filter((l) => /^(hcblab0|h[0-9]+)$/.test(l)).map((l) => `interface ${l}`),
    ...[...addrs.matchAll(/inet (198\.18\.2\.[0-9]+)/g)].map((m) => `address ${m[1]}`),
    ...mounts.filter((m) => m.includes(dir) || m.includes('/run/hcb-lab')).map((m) => `mount ${m}`),
  ];
}

function target(name: string, over: Partial<SshHost> = {}): SshHost {
  const h = lab.host(name);
  return { name: h.name, address: h.address, port: 22, user: 'root', hostKey: h.hostKey, ...over };
}

function options(name: string, over: Partial<SshOptions> = {}): SshOptions {
  return {
    privateKey: lab.clientPrivateKey,
    dial: { host: '127.0.0.1', port: lab.host(name).loopbackPort },
    connectTimeoutMs: 15_000,
    ...over,
  };
}

async function connect(
  name: string,
  host: Partial<SshHost> = {},
  opts: Partial<SshOptions> = {},
): Promise<SshConnection> {
  const c = await SshConnection.connect(target(name, host), options(name, opts));
  opened.push(c);
  return c;
}

/** The SshError a promise rejects with (recorded for the secrets check at the end). */
async function refusal(p: Promise<unknown>): Promise<SshError> {
  try {
    await p;
  } catch (e) {
    errors.push(String((e as Error).message), String((e as Error).stack));
    if (!(e instanceof SshError)) throw e;
    return e;
  }
  throw new Error('expected a refusal');
}

beforeAll(async () => {
  lab = await HostsLab.start({ hosts: NAMES, ports: PORTS });
});

afterAll(async () => {
  for (const c of opened) await c.close().catch(() => undefined);
  if (lab) await lab.destroy();
});

test('the lab: each host has its own namespaces, name and 198.18.2.0/24 address; nothing of it in this namespace', () => {
  for (const name of NAMES) {
    const h = lab.host(name);
    expect(lab.exec(name, ['hostname']).trim()).toBe(name);
    const addrs = lab.exec(name, ['ip', '-o', '-4', 'addr', 'show']);
    expect(addrs).toContain(`${h.address}/24`);
    for (const m of addrs.matchAll(/inet ([0-9.]+)\//g))
      expect(m[1] === '127.0.0.1' || m[1].startsWith('198.18.2.')).toBe(true);
    expect(fs.readlinkSync(`/proc/${h.holderPid}/ns/net`)).not.toBe(fs.readlinkSync('/proc/self/ns/net'));
  }
  expect(labTraces(lab.dir)).toEqual([]);
  // Inside a host, the lab's mounts are there (its own /etc overlay and the bound lab directory).
  expect(lab.exec('cp1', ['cat', '/proc/self/mountinfo'])).toMatch(/ \/run\/hcb-lab /);
  // The hosts reach each other across the lab bridge: w1's sshd greets a client on cp1.
  const banner = lab.exec('cp1', [
    process.execPath,
    '-e',
    `const s = require('net').connect(22, '${lab.host('w1').address}'); s.setTimeout(5000, () => process.exit(1)); s.on('data', (d) => { process.stdout.write(String(d).split('\\n')[0]); process.exit(0); });`,
  ]);
  expect(banner).toMatch(/^SSH-2\.0-OpenSSH/);
});

test('connect with the pinned key and run: exit code, stdout, stderr, stdin', async () => {
  const c = await connect('cp1');
  const r = await c.run(['sh', '-c', 'hostname; id -u; echo oops >&2; exit 3'], { check: false });
  expect(r.code).toBe(3);
  expect(r.stdout).toBe('cp1\n0\n');
  expect(r.stderr).toBe('oops\n');
  expect((await c.run(['cat'], { input: 'from stdin' })).stdout).toBe('from stdin');
  // Words are quoted for the remote shell: nothing in an argument is run.
  expect((await c.run(['printf', '%s|', 'a b', "it's", '$(id)', ';reboot'])).stdout).toBe("a b|it's|$(id)|;reboot|");
  const failed = await refusal(c.run(['sh', '-c', 'echo no such thing >&2; exit 7']));
  expect(failed.kind).toBe('exit');
  expect(failed.message).toMatch(/ssh root@cp1 \(198\.18\.2\.11:22\): .*failed \(exit 7\): no such thing/);
  const w = await connect('w1');
  expect((await w.run(['hostname'])).stdout.trim()).toBe('w1');
});

test('output is bounded per stream and marked truncated', async () => {
  const c = await connect('cp1');
  const r = await c.run(
    ['sh', '-c', 'head -c 300000 /dev/zero | tr "\\0" x; head -c 5000 /dev/zero | tr "\\0" y >&2'],
    { maxOutputBytes: 1000 },
  );
  expect(r.stdout).toBe('x'.repeat(1000));
  expect(r.stdoutTruncated).toBe(true);
  expect(r.stderr).toBe('y'.repeat(1000));
  expect(r.stderrTruncated).toBe(true);
});

test('upload: atomic, sha256-verified, owner and mode as asked, checked on the host itself', async () => {
  const c = await connect('cp1');
  await c.run(['mkdir', '-p', '/etc/hcb-upload-test']);
  const content = 'apiVersion: v1\nkind: Config\n# not a secret\n';
  const res = await c.upload(content, '/etc/hcb-upload-test/admin.conf', { mode: '0640', owner: 'root:nogroup' });
  expect(res).toMatchObject({ size: Buffer.byteLength(content), mode: '640', owner: 'root:nogroup' });
  // The host's own view (not over SSH).
  expect(lab.exec('cp1', ['stat', '-c', '%a %U:%G %s', '/etc/hcb-upload-test/admin.conf']).trim()).toBe(
    `640 root:nogroup ${Buffer.byteLength(content)}`,
  );
  expect(lab.exec('cp1', ['cat', '/etc/hcb-upload-test/admin.conf'])).toBe(content);
  expect(lab.exec('cp1', ['sha256sum', '/etc/hcb-upload-test/admin.conf']).split(' ')[0]).toBe(res.sha256);
  // Replacing it: another owner and mode, and no temporary file left behind.
  const bin = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256));
  await c.upload(bin, '/etc/hcb-upload-test/admin.conf', { mode: '600', owner: 'nobody:nogroup' });
  expect(lab.exec('cp1', ['stat', '-c', '%a %U:%G %s', '/etc/hcb-upload-test/admin.conf']).trim()).toBe(
    '600 nobody:nogroup 70000',
  );
  expect(lab.exec('cp1', ['ls', '-A', '/etc/hcb-upload-test']).trim()).toBe('admin.conf');
  // Only in that host: not on w1, not on this machine.
  expect(fs.existsSync('/etc/hcb-upload-test')).toBe(false);
  expect(
    spawnSync('nsenter', [
      `--target=${lab.host('w1').holderPid}`,
      '--mount',
      '--',
      'test',
      '-e',
      '/etc/hcb-upload-test',
    ]).status,
  ).not.toBe(0);
  // A failing upload (the owner does not exist) leaves the old file and no temporary file.
  const bad = await refusal(
    c.upload('new', '/etc/hcb-upload-test/admin.conf', { mode: '0600', owner: 'nosuchuser:root' }),
  );
  expect(bad.kind).toBe('upload');
  expect(bad.message).toMatch(/previous file, if any, is unchanged/);
  expect(lab.exec('cp1', ['stat', '-c', '%s', '/etc/hcb-upload-test/admin.conf']).trim()).toBe('70000');
  expect(lab.exec('cp1', ['ls', '-A', '/etc/hcb-upload-test']).trim()).toBe('admin.conf');
  // A missing directory and bad modes are refused.
  expect((await refusal(c.upload('x', '/nonexistent-dir/f', { mode: '0600', owner: 'root:root' }))).message).toMatch(
    /directory \/nonexistent-dir does not exist/,
  );
  expect((await refusal(c.upload('x', '/etc/hcb-upload-test/f', { mode: '4755', owner: 'root:root' }))).kind).toBe(
    'usage',
  );
  expect((await refusal(c.upload('x', 'relative/f', { mode: '0600', owner: 'root:root' }))).kind).toBe('usage');
});

test('a host without a pinned key is refused before anything is dialled (no trust on first use)', async () => {
  const e = await refusal(
    SshConnection.connect(
      target('cp1', { hostKey: undefined }),
      options('cp1', { dial: { host: '127.0.0.1', port: 1 } }),
    ),
  );
  expect(e.kind).toBe('host-key-unknown');
  expect(e.message).toMatch(
    /ssh root@cp1 \(198\.18\.2\.11:22\): refused: no host key is pinned for "cp1" and keys are never trusted on first use/,
  );
});

test("a host presenting another key than the pinned one is refused, naming both SHA256 fingerprints (another host's key, then a rotated key)", async () => {
  const cp1 = parseHostsConfig([
    { name: 'cp1', address: '198.18.2.11', user: 'root', role: 'control-plane', hostKey: lab.host('cp1').hostKey },
  ]).hosts[0];
  const w1Fp = parseHostsConfig([
    { name: 'w1', address: '198.18.2.12', user: 'root', role: 'control-plane', hostKey: lab.host('w1').hostKey },
  ]).hosts[0].hostKeyFingerprint;
  // cp1's key pinned, but w1 answers (e.g. an address taken over).
  const w1Log = path.join(lab.dir, 'hosts', 'w1', 'sshd.log');
  const authLines = () =>
    fs
      .readFileSync(w1Log, 'utf8')
      .split('\n')
      .filter((l) => /publickey|Accepted|Postponed|userauth/i.test(l)).length;
  const authBefore = authLines();
  const wrong = await refusal(
    SshConnection.connect(target('w1', { name: 'cp1', address: '198.18.2.11', hostKey: cp1.hostKey }), options('w1')),
  );
  expect(wrong.kind).toBe('host-key-changed');
  expect(wrong.message).toContain(
    `presented key ssh-ed25519 ${w1Fp}, but ssh-ed25519 ${cp1.hostKeyFingerprint} is pinned for "cp1"`,
  );
  expect(wrong.message).toMatch(/Nothing was sent/);
  // w1's sshd saw no login attempt: the client stopped at the key exchange.
  expect(authLines()).toBe(authBefore);

  // w1 gets a new host key (as after a reinstall): the old pin no longer opens it.
  const oldKey = lab.host('w1').hostKey;
  const newKey = await lab.rotateHostKey('w1');
  expect(newKey).not.toBe(oldKey);
  const changed = await refusal(SshConnection.connect(target('w1', { hostKey: oldKey }), options('w1')));
  expect(changed.kind).toBe('host-key-changed');
  expect(changed.message).toContain(`but ssh-ed25519 ${w1Fp} is pinned for "w1"`);
  // The new pin works.
  const c = await connect('w1', { hostKey: newKey });
  expect((await c.run(['hostname'])).stdout.trim()).toBe('w1');
});

test('a key the host does not authorise is refused as an authentication error, naming our key by fingerprint only', async () => {
  const dir = tempDir('hosts-ssh-key');
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'stranger', '-f', path.join(dir, 'k')]);
    const strangerKey = fs.readFileSync(path.join(dir, 'k'), 'utf8');
    const fp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', path.join(dir, 'k.pub')], {
      encoding: 'utf8',
    }).split(' ')[1];
    const e = await refusal(SshConnection.connect(target('cp1'), options('cp1', { privateKey: strangerKey })));
    expect(e.kind).toBe('auth');
    expect(e.message).toContain(`the host refused our key (${fp}) for user "root"`);
    for (const line of strangerKey.split('\n').filter((l) => l.length > 20))
      expect(errors.join('\n')).not.toContain(line);
    // Another user with the authorised key: refused as well.
    expect((await refusal(SshConnection.connect(target('cp1', { user: 'nobody' }), options('cp1')))).kind).toBe('auth');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a command that does not finish is stopped at its bound and killed on the host', async () => {
  const c = await connect('cp1');
  const t0 = Date.now();
  const e = await refusal(c.run(['sleep', '4711'], { timeoutMs: 1_500 }));
  const took = Date.now() - t0;
  expect(e.kind).toBe('timeout');
  expect(e.message).toMatch(/no result within 1500 ms; its processes on the host were killed \([1-9]\)/);
  expect(took).toBeLessThan(5_000);
  // The connection still works, and the remote sleep is gone.
  expect((await c.run(['true'])).code).toBe(0);
  let left = '';
  for (let i = 0; i < 50; i++) {
    left = lab
      .exec('cp1', [
        'sh',
        '-c',
        'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline 2>/dev/null; echo; done | grep "^sleep 4711" || true',
      ])
      .trim();
    if (!left) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(left).toBe('');
  // A command that ignores TERM and starts a child in a session of its own: all of it is killed.
  const t2 = Date.now();
  const e3 = await refusal(
    c.run(['sh', '-c', 'trap "" TERM HUP; setsid sleep 4712 & sleep 4712'], { timeoutMs: 1_000 }),
  );
  expect(e3.kind).toBe('timeout');
  expect(e3.message).toMatch(/were killed \([2-9]\)/);
  expect(Date.now() - t2).toBeLessThan(5_000);
  expect(
    lab
      .exec('cp1', [
        'sh',
        '-c',
        'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline 2>/dev/null; echo; done | grep "^sleep 4712" || true',
      ])
      .trim(),
  ).toBe('');
  // A connect that gets no answer is bounded too (a listener that never speaks).
  const net = await import('net');
  const silent = net.createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(PORTS[6], '127.0.0.1', () => r()));
  try {
    const t1 = Date.now();
    const e2 = await refusal(
      SshConnection.connect(
        target('cp1'),
        options('cp1', { dial: { host: '127.0.0.1', port: PORTS[6] }, connectTimeoutMs: 1_500 }),
      ),
    );
    expect(e2.kind).toBe('timeout');
    expect(Date.now() - t1).toBeLessThan(5_000);
  } finally {
    silent.close();
  }
});

test('secrets never appear in errors: the private key, tokens in commands, secret uploads', async () => {
  const c = await connect('cp1', {}, { secrets: ['s3cr3t-encryption-key-value'] });
  const token = 'abcdef.0123456789abcdef';
  const e1 = await refusal(
    c.run(['sh', '-c', `echo "join failed for token ${token} key s3cr3t-encryption-key-value" >&2; exit 1`, token]),
  );
  expect(e1.message).toContain('[redacted');
  // Output that echoes the private key (e.g. a failing tool printing its input) is redacted too.
  const e2 = await refusal(c.run(['sh', '-c', 'cat >&2; exit 1'], { input: lab.clientPrivateKey }));
  expect(e2.message).toMatch(/\[redacted private key\]/);
  const secretContent = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB4yPzE0b3Nl\n-----END EC PRIVATE KEY-----\n';
  await refusal(
    c.upload(secretContent, '/etc/hcb-upload-test/key.pem', { mode: '0600', owner: 'nosuchuser:root', secret: true }),
  );
  const all = errors.join('\n');
  expect(all).not.toContain(token);
  expect(all).not.toContain('s3cr3t-encryption-key-value');
  expect(all).not.toContain('MHcCAQEEIB4yPzE0b3Nl');
  for (const line of lab.clientPrivateKey.split('\n').filter((l) => l.length > 20)) expect(all).not.toContain(line);
  expect(all).not.toContain('PRIVATE KEY-----\n');
});

test('teardown leaves no process, namespace, interface or mount', async () => {
  for (const c of opened.splice(0)) await c.close();
  const pids = [...lab.processes()];
  expect(pids.length).toBeGreaterThan(0);
  const dir = lab.dir;
  await lab.destroy();
  expect(lab.processes()).toEqual([]);
  expect(
    pids.filter((p) => fs.existsSync(`/proc/${p}`) && !/\) Z /.test(fs.readFileSync(`/proc/${p}/stat`, 'utf8'))),
  ).toEqual([]);
  expect(fs.existsSync(dir)).toBe(false);
  expect(labTraces(dir)).toEqual([]);
  for (const p of PORTS) {
    const net = await import('net');
    const refused = await new Promise<boolean>((r) => {
      const s = net.connect(p, '127.0.0.1');
      s.on('connect', () => {
        s.destroy();
        r(false);
      });
      s.on('error', () => r(true));
    });
    expect(refused).toBe(true);
  }
});

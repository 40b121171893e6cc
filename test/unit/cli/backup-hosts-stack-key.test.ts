/**
 * `hcb backup --stack|--stack-config` with the stack's secret hcb:backupKey (issue 14): the key
 * comes from the stack when set (no key file is read or created), `--key FILE` still wins, and a
 * backup sealed with another key is refused. Every control-plane host of the stack is a member
 * (the first one first) for a restore of several control planes.
 */
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { command } from '../../../cli/commands/backup';
import { resolveTarget } from '../../../cli/commands/backup-hosts';
import { projectDir } from '../../../cli/package-paths';
import { writeBackup } from '../../../stacks/local/backup-archive';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    return { code: await command.run(args), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

let dir: string;
let configFile: string;
let plainConfigFile: string;
const stackKey = crypto.randomBytes(32);
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-backup-stack-key-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'user', '-f', path.join(dir, 'user')]);
  const hostKeys = [1, 2].map((i) => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `h${i}`, '-f', path.join(dir, `h${i}`)]);
    return fs.readFileSync(path.join(dir, `h${i}.pub`), 'utf8').trim();
  });
  const hosts = [1, 2].map((i) => ({
    name: `cp${i}`,
    address: `198.18.5.1${i}`,
    port: 22,
    user: 'root',
    role: 'control-plane',
    hostKey: hostKeys[i - 1],
  }));
  const base = {
    'hcb:target': { value: 'hosts' },
    'hcb:hosts': { value: '[]', objectValue: hosts },
    'hcb:controlPlaneEndpoint': { value: '198.18.5.10:6443' },
    'hcb:sshPrivateKey': { value: fs.readFileSync(path.join(dir, 'user'), 'utf8'), secret: true },
  };
  configFile = path.join(dir, 'prod.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({ ...base, 'hcb:backupKey': { value: stackKey.toString('base64'), secret: true } }),
  );
  plainConfigFile = path.join(dir, 'plain.json');
  fs.writeFileSync(plainConfigFile, JSON.stringify(base));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A backup sealed with `key` in `backupDir` (a stand-in snapshot; verify authenticates it whole). */
function backupWith(key: Buffer, backupDir: string) {
  const snap = path.join(dir, 'snapshot.db');
  fs.writeFileSync(snap, crypto.randomBytes(4096));
  const sha = crypto.createHash('sha256').update(fs.readFileSync(snap)).digest('hex');
  return writeBackup({
    backupDir,
    key,
    cluster: 'prod',
    retain: 5,
    snapshot: { path: snap, bytes: 4096, sha256: sha, revision: 7 },
    configFiles: [],
    source: { target: 'hosts', host: 'cp1', address: '198.18.5.11' },
  });
}

test('resolveTarget: the stack key, every control plane as a member, no schedule without hcb:backup', async () => {
  const r = await resolveTarget(
    { stackConfig: configFile, retain: 7, replaceConfig: false, json: false, help: false, positional: [] },
    () => '/nonexistent-bin',
    () => undefined,
  );
  expect(r.stackKey?.equals(stackKey)).toBe(true);
  expect(r.members.map((m) => m.host.name)).toEqual(['cp1', 'cp2']);
  expect(r.target.host.name).toBe('cp1');
  expect(r.scheduled).toBe(false);
  const plain = await resolveTarget(
    { stackConfig: plainConfigFile, retain: 7, replaceConfig: false, json: false, help: false, positional: [] },
    () => '/nonexistent-bin',
    () => undefined,
  );
  expect(plain.stackKey).toBeUndefined();
});

test('hcb backup verify --stack-config reads the backup with the stack key; a backup of another key is refused', async () => {
  const backupDir = path.join(dir, 'backups');
  const good = backupWith(stackKey, backupDir);
  const ok = await run(['verify', '--stack-config', configFile, '--dir', backupDir, good.file]);
  expect(ok).toMatchObject({ code: 0, out: expect.stringMatching(/^ok: prod-.*\(cluster prod, host cp1, revision 7/) });
  expect(ok.out + ok.err).not.toContain(stackKey.toString('base64'));
  // There is no key file for the cluster: the stack's key read it (and none was created).
  expect(fs.existsSync(path.join(projectDir(), '.hcb', 'hosts', 'prod', 'secrets', 'backup-key'))).toBe(false);

  const other = backupWith(crypto.randomBytes(32), path.join(dir, 'other'));
  const bad = await run(['verify', '--stack-config', configFile, path.join(dir, 'other', other.file)]);
  expect(bad.code).toBe(1);
  expect(bad.err).toMatch(/failed authentication/);

  // --key FILE still wins over the stack's key.
  const keyFile = path.join(dir, 'key');
  fs.writeFileSync(keyFile, crypto.randomBytes(32), { mode: 0o600 });
  const withFile = await run(['verify', '--stack-config', configFile, '--key', keyFile, '--dir', backupDir, good.file]);
  expect(withFile.code).toBe(1);
  expect(withFile.err).toMatch(/failed authentication/);
});

// The parts of backups that need no running cluster: the key file rules, refusing what is not a
// backup, and the CLI's usage errors. The real backup and restore run in
// test/e2e/backup-restore-live.test.ts.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { command } from '../../../cli/commands/backup';
import { BACKUP_MAGIC, BackupError, listBackups, loadKey, readHeader } from '../../../stacks/local/backup';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-backup-unit-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('backup key', () => {
  test('created once with mode 0600 and 32 random bytes; reused afterwards', () => {
    const f = path.join(dir, 'secrets', 'backup-key');
    const k1 = loadKey(f, true);
    expect(k1).toHaveLength(32);
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(loadKey(f, true).equals(k1)).toBe(true);
  });
  test('a key others can read, a short key and a missing key are refused', () => {
    const open = path.join(dir, 'open');
    fs.writeFileSync(open, Buffer.alloc(32, 1));
    fs.chmodSync(open, 0o640);
    expect(() => loadKey(open, false)).toThrow(/must not be readable by group or others/);
    const short = path.join(dir, 'short');
    fs.writeFileSync(short, Buffer.alloc(16, 1), { mode: 0o600 });
    expect(() => loadKey(short, false)).toThrow(/exactly 32 bytes/);
    expect(() => loadKey(path.join(dir, 'nope'), false)).toThrow(BackupError);
  });
});

describe('backup files', () => {
  test('a file that is not a backup, or has a damaged header, is refused', () => {
    const junk = path.join(dir, 'junk.hcbbak');
    fs.writeFileSync(junk, 'not a backup at all, just text');
    expect(() => readHeader(junk)).toThrow(/not an hcb backup/);
    const lenBuf = Buffer.alloc(4);
    lenBuf.writeUInt32BE(5000);
    fs.writeFileSync(junk, Buffer.concat([BACKUP_MAGIC, lenBuf, Buffer.from('{}')]));
    expect(() => readHeader(junk)).toThrow(/damaged/);
    expect(() => readHeader(dir)).toThrow(/not a regular file/);
  });
  test('list of a missing or empty directory is empty', () => {
    expect(listBackups(path.join(dir, 'missing'))).toEqual([]);
    expect(listBackups(dir)).toEqual([]);
  });
});

describe('hcb backup', () => {
  const run = async (args: string[]) => {
    let err = '';
    const write = process.stderr.write;
    (process.stderr as any).write = (s: string) => ((err += s), true);
    try {
      return { code: await command.run(args), err };
    } finally {
      (process.stderr as any).write = write;
    }
  };
  test('usage errors exit 2 with the reason', async () => {
    expect(await run(['now', '--retain', '0'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--retain must be a whole number/),
    });
    expect(await run(['now', '--dir', 'a', '--dir', 'b'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--dir given more than once/),
    });
    expect(await run(['verify'])).toMatchObject({ code: 2, err: expect.stringMatching(/exactly one backup file/) });
    expect(await run(['frobnicate'])).toMatchObject({ code: 2, err: expect.stringMatching(/unknown action/) });
    expect(await run(['list', '--bogus'])).toMatchObject({ code: 2, err: expect.stringMatching(/unknown option/) });
  });
  test('a state directory that is no cluster gives a clear error, exit 1', async () => {
    const r = await run(['now', '--state-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no etcd manifest|toolchain is not built|etcdutl not found/);
  });
});

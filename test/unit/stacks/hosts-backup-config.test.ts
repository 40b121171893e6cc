/**
 * The hosts target's backup settings (issue 14): `hcb:backup` (interval, retain, maxAge) validated
 * with errors naming setting, value and fix, and `hcb:backupKey` a secret of 32 bytes in base64
 * that no error quotes. The spec carries the schedule and the control plane's BackupConfiguration
 * says the same; the key never enters the spec.
 */
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseBackupConfig, parseBackupKey } from '../../../stacks/hosts/config';
import { HOST_BACKUP_KEY_PATH, readerFromPulumiConfigJson, stackSpec, STACK_CONFIG_KEYS } from '../../../stacks/spec';

let tmp: string;
let privateKey: string;
let hostKey: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-backup-config-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', path.join(tmp, 'id')]);
  privateKey = fs.readFileSync(path.join(tmp, 'id'), 'utf8');
  hostKey = fs.readFileSync(path.join(tmp, 'id.pub'), 'utf8').trim();
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const KEY = crypto.randomBytes(32).toString('base64');

function hostsJson(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'hcb:target': { value: 'hosts' },
    'hcb:hosts': {
      value: '[]',
      objectValue: [{ name: 'cp1', address: '198.18.2.11', port: 22, user: 'root', role: 'control-plane', hostKey }],
    },
    'hcb:sshPrivateKey': { value: privateKey, secret: true },
    ...extra,
  };
}

describe('parseBackupConfig', () => {
  test('unset is undefined; defaults are 24h, 7 and interval + 2h', () => {
    expect(parseBackupConfig(undefined)).toBeUndefined();
    expect(parseBackupConfig({})).toEqual({ interval: '24h', retain: 7, maxAge: '26h' });
    expect(parseBackupConfig({ interval: '90m', retain: '3' })).toEqual({ interval: '90m', retain: 3, maxAge: '210m' });
    expect(parseBackupConfig('{"interval":"1h","retain":2,"maxAge":"3h"}')).toEqual({
      interval: '1h',
      retain: 2,
      maxAge: '3h',
    });
    expect(parseBackupConfig({ interval: '61s' })?.maxAge).toBe('7261s');
  });

  test.each([
    [[], /must be an object \{interval, retain, maxAge\}.*Fix: pulumi config set --path 'backup.interval' 24h/],
    [{ interval: 'daily' }, /"interval" = "daily" is not a duration of at least 1m .*backup.interval' 24h/],
    [{ interval: '30s' }, /"interval" = "30s" is not a duration of at least 1m/],
    [{ interval: 24 }, /"interval" = number 24 is not a duration/],
    [{ retain: 0 }, /"retain" = number 0 is not a whole number of backups to keep.*backup.retain' 7/],
    [{ retain: 1.5 }, /"retain" = number 1.5/],
    [{ retain: 'seven' }, /"retain" = "seven"/],
    [{ interval: '24h', maxAge: '12h' }, /"maxAge" = "12h" is not a duration of at least 24h/],
    [
      { intervall: '24h' },
      /unknown field "intervall" \(known: interval, retain, maxAge\).*pulumi config rm --path 'backup.intervall'/,
    ],
    [{ key: 'x' }, /unknown field "key".*the key is the secret hcb:backupKey/],
  ])('%j is refused with setting, value and fix', (v, re) => {
    expect(() => parseBackupConfig(v)).toThrow(re);
    expect(() => parseBackupConfig(v)).toThrow(/^hcb: config "hcb:backup"/);
  });
});

describe('parseBackupKey', () => {
  test('32 bytes in base64', () => {
    expect(parseBackupKey(KEY).equals(Buffer.from(KEY, 'base64'))).toBe(true);
    expect(parseBackupKey(`${KEY}\n`).length).toBe(32);
  });

  test('a wrong key is refused without quoting it', () => {
    const short = crypto.randomBytes(16).toString('base64');
    for (const [v, re] of [
      [short, /decodes to 16 bytes; an AES-256 key has 32/],
      ['not base64 at all!', /is not base64/],
      [42, /must be text/],
    ] as const) {
      let msg = '';
      try {
        parseBackupKey(v);
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).toMatch(re);
      expect(msg).toMatch(/Fix: openssl rand -base64 32 \| pulumi config set --secret hcb:backupKey/);
      if (typeof v === 'string') expect(msg).not.toContain(v);
    }
  });
});

describe('stackSpec with hcb:backup', () => {
  test('both keys are stack settings', () => {
    expect(STACK_CONFIG_KEYS).toEqual(expect.arrayContaining(['backup', 'backupKey']));
  });

  test('the schedule reaches the spec and the BackupConfiguration; the key does not', () => {
    const s = stackSpec(
      readerFromPulumiConfigJson(
        hostsJson({
          'hcb:backup': { value: '{}', objectValue: { interval: '1h', retain: 2 } },
          'hcb:backupKey': { value: KEY, secret: true },
        }),
      ),
    );
    expect(s.backup).toEqual({ interval: '1h', retain: 2, maxAge: '3h' });
    expect(s.spec.controlPlane?.backup).toEqual({
      interval: '1h',
      retain: 2,
      maxAge: '3h',
      keyFile: HOST_BACKUP_KEY_PATH,
    });
    expect(JSON.stringify(s)).not.toContain(KEY);
  });

  test('without hcb:backup nothing changes (the key alone serves hcb backup --stack)', () => {
    const s = stackSpec(readerFromPulumiConfigJson(hostsJson({ 'hcb:backupKey': { value: KEY, secret: true } })));
    expect(s.backup).toBeUndefined();
    expect(s.spec.controlPlane?.backup).toBeUndefined();
  });

  test('a secret key whose value is not shown is accepted (pulumi config --json without --show-secrets)', () => {
    const s = stackSpec(
      readerFromPulumiConfigJson(
        hostsJson({ 'hcb:backup': { value: '{}', objectValue: {} }, 'hcb:backupKey': { secret: true } }),
      ),
    );
    expect(s.backup?.interval).toBe('24h');
  });

  test('hcb:backup without the key, a plain-text key, a malformed key and another target are refused', () => {
    const withBackup = { 'hcb:backup': { value: '{}', objectValue: {} } };
    expect(() => stackSpec(readerFromPulumiConfigJson(hostsJson(withBackup)))).toThrow(
      /"hcb:backup" is set but "hcb:backupKey" is not.*Fix: openssl rand -base64 32 \| pulumi config set --secret hcb:backupKey/,
    );
    let msg = '';
    try {
      stackSpec(readerFromPulumiConfigJson(hostsJson({ ...withBackup, 'hcb:backupKey': { value: KEY } })));
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/"hcb:backupKey" is stored in plain text in the stack file; it must be a secret/);
    expect(msg).not.toContain(KEY);
    const bad = crypto.randomBytes(20).toString('base64');
    expect(() =>
      stackSpec(
        readerFromPulumiConfigJson(hostsJson({ ...withBackup, 'hcb:backupKey': { value: bad, secret: true } })),
      ),
    ).toThrow(/decodes to 20 bytes/);
    expect(() => stackSpec(readerFromPulumiConfigJson({ 'hcb:backup': { value: '{}', objectValue: {} } }))).toThrow(
      /"hcb:backup" is set but hcb:target is local.*pulumi config rm hcb:backup/,
    );
    expect(() => stackSpec(readerFromPulumiConfigJson({ 'hcb:backupKey': { value: KEY, secret: true } }))).toThrow(
      /"hcb:backupKey" is set but hcb:target is local/,
    );
  });
});

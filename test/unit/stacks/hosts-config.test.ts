/**
 * Stack config of the hosts target: the host list (pinned host keys, roles, unique names and
 * addresses) and the SSH private key (a secret, never quoted in an error).
 */
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkSshPrivateKey, parseHostKey, parseHostsConfig } from '../../../stacks/hosts/config';
import * as pulumi from '@pulumi/pulumi';
import { pulumiConfigReader } from '../../../stacks/hosts/program';
import { ConfigReader, readerFromPulumiConfigJson, stackSpec } from '../../../stacks/spec';

function sshString(b: Buffer | string): Buffer {
  const buf = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
}

/** A fresh ed25519 public key as an OpenSSH line. */
function ed25519Line(comment = 'root@host'): string {
  const { publicKey } = crypto.generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  return `ssh-ed25519 ${Buffer.concat([sshString('ssh-ed25519'), sshString(raw)]).toString('base64')} ${comment}`;
}

let tmp: string;
let privateKey: string;
let encryptedKey: string;
let keyLine: string;
let keyFingerprint: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-hosts-config-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', path.join(tmp, 'id')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'a passphrase', '-C', 'test', '-f', path.join(tmp, 'enc')]);
  privateKey = fs.readFileSync(path.join(tmp, 'id'), 'utf8');
  encryptedKey = fs.readFileSync(path.join(tmp, 'enc'), 'utf8');
  keyLine = fs.readFileSync(path.join(tmp, 'id.pub'), 'utf8').trim();
  keyFingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', path.join(tmp, 'id.pub')], {
    encoding: 'utf8',
  }).split(' ')[1];
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const host = (over: Record<string, unknown> = {}) => ({
  name: 'cp1',
  address: '198.18.2.11',
  port: 22,
  user: 'root',
  role: 'control-plane',
  hostKey: ed25519Line(),
  ...over,
});

/** A reader as `pulumi config --json` gives it, with the private key stored as a secret. */
function reader(
  hosts: unknown,
  opts: { key?: string | null; secret?: boolean; extra?: Record<string, unknown> } = {},
): ConfigReader {
  const json: Record<string, unknown> = { 'hcb:target': { value: 'hosts' } };
  if (hosts !== undefined) json['hcb:hosts'] = { value: JSON.stringify(hosts), objectValue: hosts };
  if (opts.key !== null)
    json['hcb:sshPrivateKey'] =
      opts.secret === false ? { value: opts.key ?? privateKey } : { value: opts.key ?? privateKey, secret: true };
  for (const [k, v] of Object.entries(opts.extra ?? {})) json[`hcb:${k}`] = v;
  return readerFromPulumiConfigJson(json);
}

test('a valid host list: defaults, normalised pinned key, fingerprint as ssh-keygen prints it', () => {
  const s = stackSpec(
    reader([
      host({ hostKey: `${keyLine}` }),
      host({ name: 'w1', address: '198.18.2.12', role: 'worker', port: '2222' }),
    ]),
  );
  expect(s.target).toBe('hosts');
  expect(s.node).toBe(false);
  expect(s.spec.local).toBeUndefined();
  expect(s.hosts!.hosts.map((h) => [h.name, h.role, h.port])).toEqual([
    ['cp1', 'control-plane', 22],
    ['w1', 'worker', 2222],
  ]);
  expect(s.hosts!.hosts[0].hostKey).toBe(keyLine.split(' ').slice(0, 2).join(' '));
  expect(s.hosts!.hosts[0].hostKeyFingerprint).toBe(keyFingerprint);
  // The spec never carries the private key.
  expect(JSON.stringify(s)).not.toContain('PRIVATE KEY');
  const { port: _port, ...noPort } = host();
  expect(parseHostsConfig([noPort]).hosts[0].port).toBe(22);
});

test.each<[string, unknown, RegExp]>([
  ['not set', undefined, /"hcb:hosts" is not set.*Fix: pulumi config set --path 'hosts\[0\]\.name'/],
  ['empty', [], /non-empty list/],
  ['not a list', { name: 'cp1' }, /non-empty list/],
  ['an entry not an object', ['cp1'], /hcb:hosts\[0\]" must be an object/],
  [
    'unknown field (typo)',
    [host({ adress: '1.2.3.4' })],
    /hcb:hosts\[0\]" \(host "cp1"\) has an unknown field "adress".*pulumi config rm --path 'hosts\[0\]\.adress'/,
  ],
  ['name missing', [host({ name: undefined })], /hcb:hosts\[0\]" has no "name"/],
  ['name not a DNS label', [host({ name: 'CP_1' })], /"name" = "CP_1" is not a DNS label.*hosts\[0\]\.name/],
  [
    'address a host name',
    [host({ address: 'cp1.example' })],
    /host "cp1"\): "address" = "cp1.example" is not an IPv4 or IPv6 address.*hosts\[0\]\.address/,
  ],
  ['address with a port', [host({ address: '198.18.2.11:22' })], /not an IPv4 or IPv6 address/],
  ['port 0', [host({ port: 0 })], /"port" = number 0 is not a port.*hosts\[0\]\.port' 22/],
  ['port as hex text', [host({ port: '0x16' })], /"port" = "0x16" is not a port/],
  ['user missing', [host({ user: undefined })], /has no "user".*hosts\[0\]\.user' root/],
  ['user with a shell character', [host({ user: 'root;id' })], /"user" = "root;id" is not a login name/],
  ['role unknown', [host({ role: 'master' })], /"role" = "master" is invalid.*hosts\[0\]\.role' control-plane\|worker/],
  [
    'host key missing (no trust on first use)',
    [host({ hostKey: undefined })],
    /has no "hostKey": its SSH host key must be pinned \(no trust on first use\).*ssh_host_ed25519_key\.pub/,
  ],
  [
    'host key not a key line',
    [host({ hostKey: 'AAAAC3NzaC1lZDI1NTE5' })],
    /"hostKey" is not an OpenSSH public key line/,
  ],
  [
    'host key of an unsupported type',
    [host({ hostKey: 'ssh-dss AAAAB3NzaC1kc3M= x' })],
    /"hostKey" has key type "ssh-dss", not one of ssh-ed25519/,
  ],
  ['host key not base64', [host({ hostKey: 'ssh-ed25519 AAAA$$$$' })], /"hostKey" has a key part that is not base64/],
  [
    'host key type and data disagree',
    [host({ hostKey: `ecdsa-sha2-nistp256 ${ed25519Line().split(' ')[1]}` })],
    /"hostKey" says "ecdsa-sha2-nistp256" but its key data is a "ssh-ed25519" key/,
  ],
  [
    'host key truncated',
    [
      host({
        hostKey: `ssh-ed25519 ${Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(31))]).toString('base64')}`,
      }),
    ],
    /ed25519 key that is not 32 bytes/,
  ],
  ['no control plane', [host({ role: 'worker' })], /no host with role control-plane.*hosts\[0\]\.role' control-plane/],
  [
    'duplicate name',
    [host(), host({ address: '198.18.2.12' })],
    /hcb:hosts\[1\]" \(host "cp1"\) has the same name cp1 as hcb:hosts\[0\]/,
  ],
  [
    'duplicate address',
    [host(), host({ name: 'cp2' })],
    /hcb:hosts\[1\]" \(host "cp2"\) has the same address 198.18.2.11 as hcb:hosts\[0\] \(host "cp1"\)/,
  ],
  [
    'duplicate IPv6 address spelled differently',
    [host({ address: 'fd00::1' }), host({ name: 'cp2', address: 'fd00:0::1' })],
    /has the same address fd00:0::1/,
  ],
])('hcb:hosts %s is refused, naming the host and field, with the fix', (_what, hosts, message) => {
  expect(() => stackSpec(reader(hosts))).toThrow(message);
});

test('two hosts with one host key are refused (a cloned image): the fingerprint is named', () => {
  const k = ed25519Line();
  const fp = parseHostKey(k).fingerprint;
  expect(() =>
    parseHostsConfig([host({ hostKey: k }), host({ name: 'w1', address: '198.18.2.12', hostKey: k })]),
  ).toThrow(`has the same hostKey ${fp}`);
});

test('every key type accepted for pinning parses (ssh-keygen made), and a short RSA key is refused', () => {
  for (const [type, bits] of [
    ['ed25519', ''],
    ['ecdsa', '256'],
    ['ecdsa', '384'],
    ['ecdsa', '521'],
    ['rsa', '3072'],
    ['rsa', '1024'],
  ]) {
    const file = path.join(tmp, `k-${type}-${bits}`);
    execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', bits] : []), '-N', '', '-f', file]);
    const line = fs.readFileSync(`${file}.pub`, 'utf8');
    const fp = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], { encoding: 'utf8' }).split(
      ' ',
    )[1];
    if (bits === '1024') {
      expect(() => parseHostKey(line)).toThrow(/RSA key of 1024 bits/);
    } else {
      expect(parseHostKey(line).fingerprint).toBe(fp);
    }
  }
});

describe('hcb:sshPrivateKey', () => {
  const hosts = () => [host()];
  test('missing', () => {
    expect(() => stackSpec(reader(hosts(), { key: null }))).toThrow(
      /"hcb:sshPrivateKey" is not set.*pulumi config set --secret hcb:sshPrivateKey/,
    );
  });
  test('stored in plain text is refused, and the fix says to rotate it', () => {
    expect(() => stackSpec(reader(hosts(), { secret: false }))).toThrow(
      /plain text.*must be a secret.*rotate that key/,
    );
  });
  test('a reader that cannot tell secrets apart is refused for the hosts target', () => {
    const r = reader(hosts());
    expect(() => stackSpec((k) => r(k))).toThrow(/cannot tell whether config "hcb:sshPrivateKey" is a secret/);
  });
  test('a secret without its value (pulumi config --json without --show-secrets) is accepted: the spec does not need it', () => {
    const json = {
      'hcb:target': { value: 'hosts' },
      'hcb:hosts': { objectValue: hosts() },
      'hcb:sshPrivateKey': { secret: true },
    };
    expect(stackSpec(readerFromPulumiConfigJson(json)).hosts!.hosts).toHaveLength(1);
    // Other keys still need their values.
    expect(() => readerFromPulumiConfigJson({ 'hcb:profile': { secret: true } })).toThrow(
      /is secret and its value is not in the file/,
    );
  });
  test('not a key, an encrypted key, a public key: refused without quoting the value', () => {
    const secretish = 'hunter2-not-a-key-but-secret';
    const cases: Array<[string, RegExp]> = [
      [secretish, /not a private key in OpenSSH or PEM form/],
      [encryptedKey, /encrypted with a passphrase/],
      [keyLine, /not a private key/],
      [
        '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----',
        /encrypted with a passphrase/,
      ],
      ['-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----', /not an OpenSSH key inside/],
      ['-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----', /not a private key/],
    ];
    for (const [value, message] of cases) {
      let err: Error | undefined;
      try {
        stackSpec(reader(hosts(), { key: value }));
      } catch (e) {
        err = e as Error;
      }
      expect(err?.message).toMatch(message);
      expect(err?.message).not.toContain(value.split('\n').length > 1 ? value.split('\n')[1] : value);
    }
    expect(() => checkSshPrivateKey(privateKey)).not.toThrow();
  });
});

test('hosts keys on another target are refused with the fix', () => {
  expect(() => stackSpec((k) => (k === 'hosts' ? [host()] : undefined))).toThrow(
    /"hcb:hosts" is set but hcb:target is local.*pulumi config rm hcb:hosts/,
  );
  expect(() => stackSpec((k) => (({ target: 'existing', sshPrivateKey: 'x' }) as Record<string, string>)[k])).toThrow(
    /"hcb:sshPrivateKey" is set but hcb:target is existing/,
  );
});

test('the Pulumi program: a reader over pulumi.Config asks the runtime about secrets', () => {
  const values: Record<string, string> = {
    target: 'hosts',
    hosts: JSON.stringify([host()]),
    sshPrivateKey: privateKey,
  };
  const config = { name: 'hcb', get: (k: string) => values[k] } as unknown as import('@pulumi/pulumi').Config;
  const asked: string[] = [];
  const r = pulumiConfigReader(config, (k) => {
    asked.push(k);
    return k === 'hcb:sshPrivateKey';
  });
  const s = stackSpec(r);
  expect(asked).toEqual(['hcb:sshPrivateKey']);
  expect(s.hosts!.hosts.map((h) => `${h.name} (${h.role})`)).toEqual(['cp1 (control-plane)']);
  expect(() => stackSpec(pulumiConfigReader(config, () => false))).toThrow(/plain text/);
});

test('the Pulumi program reader with the real runtime: it asks @pulumi/pulumi which keys are secret (as the language host passes them)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const runtimeConfig = require('@pulumi/pulumi/runtime/config') as {
    setAllConfig(c: Record<string, string>, secretKeys?: string[]): void;
  };
  const values = { 'hcb:target': 'hosts', 'hcb:hosts': JSON.stringify([host()]), 'hcb:sshPrivateKey': privateKey };
  const read = () => stackSpec(pulumiConfigReader(new pulumi.Config('hcb')));
  try {
    runtimeConfig.setAllConfig(values, ['hcb:sshPrivateKey']);
    expect(read().hosts!.hosts[0].name).toBe('cp1');
    runtimeConfig.setAllConfig(values, []);
    expect(read).toThrow(/stored in plain text/);
  } finally {
    runtimeConfig.setAllConfig({}, []);
  }
});

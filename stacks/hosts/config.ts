/**
 * Stack configuration of the `hosts` target (machines a team owns, reached over SSH):
 *
 *   hcb:target         hosts
 *   hcb:hosts          a list of { name, address, port, user, role, hostKey }
 *   hcb:sshPrivateKey  the private key the hosts authorise (a Pulumi secret: `--secret`)
 *   hcb:controlPlaneEndpoint  host:port of the load balancer in front of the control planes
 *                      (required with more than one control-plane host)
 *   hcb:backup         the scheduled backup on every control-plane host: { interval, retain, maxAge }
 *   hcb:backupKey      the backups' AES-256 key, 32 bytes in base64 (a Pulumi secret: `--secret`)
 *
 * Each host's SSH host key is pinned as one OpenSSH public key line (`ssh-ed25519 AAAA... comment`,
 * as in /etc/ssh/ssh_host_ed25519_key.pub on the host). A host without a pinned key is refused:
 * there is no trust on first use.
 *
 * No imports beyond Node's: this file is read by `stacks/spec.ts`, which the CLI ships.
 */
import * as crypto from 'crypto';
import * as net from 'net';

export type HostRole = 'control-plane' | 'worker';

export interface HostSpec {
  /** Node name (a DNS-1123 label): the host name kubeadm gives the node. */
  name: string;
  /** IPv4 or IPv6 literal the SSH client dials and the node advertises. */
  address: string;
  /** SSH port (default 22). */
  port: number;
  /** Login user (root, or a user allowed to run the bring-up with sudo). */
  user: string;
  role: HostRole;
  /** The pinned host key: `<type> <base64>` (comment dropped). */
  hostKey: string;
  /** Its SHA256 fingerprint as OpenSSH prints it (`SHA256:...`). */
  hostKeyFingerprint: string;
}

export interface HostsTargetSpec {
  hosts: HostSpec[];
  /**
   * `hcb:controlPlaneEndpoint`: the stable API address every node and client uses (`host:port`,
   * IPv6 in brackets), normally a load balancer forwarding TCP to port 6443 of each control plane.
   * kubeadm writes it into the ClusterConfiguration (controlPlaneEndpoint) and the API server's
   * certificate; joining a second control plane needs it.
   */
  controlPlaneEndpoint?: ControlPlaneEndpoint;
}

export interface ControlPlaneEndpoint {
  /** DNS name or IP literal (IPv6 without brackets). */
  host: string;
  port: number;
  /** `host:port` as kubeadm's controlPlaneEndpoint takes it (IPv6 in brackets). */
  text: string;
}

/** Host key types accepted for pinning (what OpenSSH 8+ servers offer). */
export const HOST_KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
] as const;
export type HostKeyType = (typeof HOST_KEY_TYPES)[number];

export interface PinnedHostKey {
  type: HostKeyType;
  /** The key in SSH wire format (what the server presents during the handshake). */
  blob: Buffer;
  /** `<type> <base64>` */
  line: string;
  fingerprint: string;
}

/** `SHA256:<base64 without padding>` of a key blob, as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${crypto.createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Parses one OpenSSH public key line and checks that the blob is a well-formed key of the
 * named type. Throws a message without the fix; callers add where the line came from.
 */
export function parseHostKey(text: string): PinnedHostKey {
  const parts = text.trim().split(/\s+/);
  if (parts.length < 2 || !parts[0]) throw new Error('is not an OpenSSH public key line ("<type> <base64> [comment]")');
  const [type, b64] = parts;
  if (!(HOST_KEY_TYPES as readonly string[]).includes(type)) {
    throw new Error(`has key type "${type.slice(0, 40)}", not one of ${HOST_KEY_TYPES.join(', ')}`);
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new Error('has a key part that is not base64');
  const blob = Buffer.from(b64, 'base64');
  const r = new WireReader(blob);
  const inner = r.string()?.toString('latin1');
  if (inner !== type)
    throw new Error(
      `says "${type}" but its key data is ${inner === undefined ? 'not an SSH key' : `a "${inner.slice(0, 40)}" key`}`,
    );
  if (type === 'ssh-ed25519') {
    const k = r.string();
    if (!k || k.length !== 32) throw new Error('has an ed25519 key that is not 32 bytes');
  } else if (type === 'ssh-rsa') {
    const e = r.string();
    const n = r.string();
    if (!e || !n || e.length === 0 || e.length > 8) throw new Error('has malformed RSA key data');
    const bits = (n.length - (n[0] === 0 ? 1 : 0)) * 8;
    if (bits < 2048) throw new Error(`has an RSA key of ${bits} bits (at least 2048 needed)`);
  } else {
    const curve = r.string()?.toString('latin1');
    const q = r.string();
    const want = {
      'ecdsa-sha2-nistp256': ['nistp256', 65],
      'ecdsa-sha2-nistp384': ['nistp384', 97],
      'ecdsa-sha2-nistp521': ['nistp521', 133],
    }[type] as [string, number];
    if (curve !== want[0] || !q || q.length !== want[1] || q[0] !== 4) throw new Error('has malformed ECDSA key data');
  }
  if (!r.done()) throw new Error('has trailing data after the key');
  return { type: type as HostKeyType, blob, line: `${type} ${b64}`, fingerprint: fingerprint(blob) };
}

class WireReader {
  private off = 0;
  constructor(private readonly buf: Buffer) {}
  string(): Buffer | undefined {
    if (this.off + 4 > this.buf.length) return undefined;
    const len = this.buf.readUInt32BE(this.off);
    if (this.off + 4 + len > this.buf.length) return undefined;
    const s = this.buf.subarray(this.off + 4, this.off + 4 + len);
    this.off += 4 + len;
    return s;
  }
  done(): boolean {
    return this.off === this.buf.length;
  }
}

const HOST_FIELDS = ['name', 'address', 'port', 'user', 'role', 'hostKey'] as const;
const MAX_HOSTS = 500;

/**
 * Validates `hcb:hosts` (a list, or its JSON text as `config.get` returns it). Every error names
 * the key, the host (index and name) and the field, and says how to fix it.
 */
export function parseHostsConfig(value: unknown, endpointValue?: unknown): HostsTargetSpec {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v) as unknown;
    } catch {
      v = undefined;
    }
  }
  const fixList = "pulumi config set --path 'hosts[0].name' cp1 (and address, port, user, role, hostKey for each host)";
  if (v === undefined || v === null)
    throw new Error(
      `hcb: config "hcb:hosts" is not set; the hosts target needs at least one control-plane host. Fix: ${fixList}`,
    );
  if (!Array.isArray(v) || v.length === 0)
    throw new Error(`hcb: config "hcb:hosts" must be a non-empty list of hosts. Fix: ${fixList}`);
  if (v.length > MAX_HOSTS)
    throw new Error(`hcb: config "hcb:hosts" lists ${v.length} hosts; at most ${MAX_HOSTS} are supported`);
  const hosts: HostSpec[] = [];
  v.forEach((entry: unknown, i: number) => {
    const at = `hcb: config "hcb:hosts[${i}]"`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new Error(
        `${at} must be an object with ${HOST_FIELDS.join(', ')}. Fix: pulumi config set --path 'hosts[${i}].name' <name>`,
      );
    }
    const e = entry as Record<string, unknown>;
    const label = typeof e.name === 'string' && /^[a-z0-9-]{1,63}$/.test(e.name) ? ` (host "${e.name}")` : '';
    const where = `${at}${label}`;
    for (const field of Object.keys(e)) {
      if (!(HOST_FIELDS as readonly string[]).includes(field)) {
        throw new Error(
          `${where} has an unknown field "${field.slice(0, 40)}" (known: ${HOST_FIELDS.join(', ')}). Fix: pulumi config rm --path 'hosts[${i}].${field.slice(0, 40)}'`,
        );
      }
    }
    const fix = (field: string, example: string) => `Fix: pulumi config set --path 'hosts[${i}].${field}' ${example}`;
    const str = (field: string, example: string): string => {
      const x = e[field];
      if (x === undefined) throw new Error(`${where} has no "${field}". ${fix(field, example)}`);
      if (typeof x !== 'string')
        throw new Error(`${where}: "${field}" must be a string, got ${describe(x)}. ${fix(field, example)}`);
      return x;
    };
    const name = str('name', '<name>');
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) {
      throw new Error(
        `${where}: "name" = ${describe(name)} is not a DNS label (lowercase letters, digits and '-', at most 63, it becomes the node name). ${fix('name', 'cp1')}`,
      );
    }
    const address = str('address', '<IP address>');
    if (net.isIP(address) === 0)
      throw new Error(
        `${where}: "address" = ${describe(address)} is not an IPv4 or IPv6 address (the node advertises it; host names are not accepted). ${fix('address', '<IP address>')}`,
      );
    let port = 22;
    if (e.port !== undefined) {
      const p = e.port;
      const n = typeof p === 'number' ? p : typeof p === 'string' && /^[0-9]{1,5}$/.test(p) ? Number(p) : NaN;
      if (!Number.isInteger(n) || n < 1 || n > 65535)
        throw new Error(`${where}: "port" = ${describe(p)} is not a port. ${fix('port', '22')}`);
      port = n;
    }
    const user = str('user', 'root');
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user))
      throw new Error(`${where}: "user" = ${describe(user)} is not a login name. ${fix('user', 'root')}`);
    const role = str('role', 'control-plane|worker');
    if (role !== 'control-plane' && role !== 'worker')
      throw new Error(`${where}: "role" = ${describe(role)} is invalid. ${fix('role', 'control-plane|worker')}`);
    const keyText = e.hostKey;
    const keyFix = `Fix: on the host's console, cat /etc/ssh/ssh_host_ed25519_key.pub, then pulumi config set --path 'hosts[${i}].hostKey' "<that line>"`;
    if (keyText === undefined)
      throw new Error(`${where} has no "hostKey": its SSH host key must be pinned (no trust on first use). ${keyFix}`);
    if (typeof keyText !== 'string')
      throw new Error(`${where}: "hostKey" must be a string, got ${describe(keyText)}. ${keyFix}`);
    let key: PinnedHostKey;
    try {
      key = parseHostKey(keyText);
    } catch (err) {
      throw new Error(`${where}: "hostKey" ${(err as Error).message}. ${keyFix}`, { cause: err });
    }
    hosts.push({ name, address, port, user, role, hostKey: key.line, hostKeyFingerprint: key.fingerprint });
  });
  const seen = (what: 'name' | 'address' | 'hostKey') => {
    const first = new Map<string, number>();
    hosts.forEach((h, i) => {
      const k = what === 'address' ? canonicalAddress(h.address) : h[what];
      const j = first.get(k);
      if (j !== undefined) {
        const shown = what === 'hostKey' ? h.hostKeyFingerprint : h[what];
        throw new Error(
          `hcb: config "hcb:hosts[${i}]" (host "${h.name}") has the same ${what} ${shown} as hcb:hosts[${j}] (host "${hosts[j].name}"); each host needs its own. Fix: pulumi config set --path 'hosts[${i}].${what}' <value>`,
        );
      }
      first.set(k, i);
    });
  };
  seen('name');
  seen('address');
  // Two hosts presenting one host key are one machine, or a cloned image whose keys were not regenerated.
  seen('hostKey');
  if (!hosts.some((h) => h.role === 'control-plane')) {
    throw new Error(
      `hcb: config "hcb:hosts" has no host with role control-plane (kubeadm init needs one). Fix: pulumi config set --path 'hosts[0].role' control-plane`,
    );
  }
  const cps = hosts.filter((h) => h.role === 'control-plane');
  const controlPlaneEndpoint = parseControlPlaneEndpoint(endpointValue, hosts);
  if (cps.length > 1 && !controlPlaneEndpoint) {
    throw new Error(
      `hcb: config "hcb:hosts" lists ${cps.length} control-plane hosts (${cps.map((h) => h.name).join(', ')}) but "hcb:controlPlaneEndpoint" is not set. ` +
        'Several control planes need one stable API address that is not any single host (kubeadm joins a control plane only to a cluster with a controlPlaneEndpoint): ' +
        'put a TCP load balancer in front of port 6443 of every control-plane host. ' +
        'Fix: pulumi config set hcb:controlPlaneEndpoint <load balancer host or IP>:6443 (set it before the first pulumi up: kubeadm fixes it at init)',
    );
  }
  return controlPlaneEndpoint ? { hosts, controlPlaneEndpoint } : { hosts };
}

const ENDPOINT_FIX = 'Fix: pulumi config set hcb:controlPlaneEndpoint <load balancer host or IP>:6443';

/**
 * Validates `hcb:controlPlaneEndpoint` (`host:port`; host a DNS name or an IP literal, IPv6 in
 * brackets). It may not be one control-plane host's own address: that host going down would take
 * the API with it, which is what the endpoint is there to avoid. Undefined when not set.
 */
export function parseControlPlaneEndpoint(value: unknown, hosts: HostSpec[] = []): ControlPlaneEndpoint | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const at = 'hcb: config "hcb:controlPlaneEndpoint"';
  if (typeof value !== 'string')
    throw new Error(`${at} must be a string "host:port", got ${describe(value)}. ${ENDPOINT_FIX}`);
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):([0-9]{1,5})$/.exec(value);
  if (!m)
    throw new Error(
      `${at} = ${describe(value)} is not "host:port" (a DNS name or IP address, IPv6 in brackets, and the port: e.g. api.example.org:6443 or [2001:db8::10]:6443). ${ENDPOINT_FIX}`,
    );
  const host = (m[1] ?? m[2]).toLowerCase();
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`${at} = ${describe(value)}: ${m[3]} is not a port (1-65535). ${ENDPOINT_FIX}`);
  if (m[1] !== undefined && !net.isIPv6(host))
    throw new Error(`${at} = ${describe(value)}: "${m[1]}" in brackets is not an IPv6 address. ${ENDPOINT_FIX}`);
  if (m[2] !== undefined && net.isIP(host) === 0) {
    if (net.isIPv6(host) || /^[0-9.]+$/.test(host))
      throw new Error(`${at} = ${describe(value)}: "${m[2]}" is not a valid IPv4 address. ${ENDPOINT_FIX}`);
    if (host.length > 253 || !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(host))
      throw new Error(
        `${at} = ${describe(value)}: "${m[2]}" is not a DNS name (lowercase labels of letters, digits and '-', dot-separated) or IP address. ${ENDPOINT_FIX}`,
      );
  }
  if (net.isIP(host) !== 0) {
    const same = hosts.find(
      (h) => h.role === 'control-plane' && canonicalAddress(h.address) === canonicalAddress(host),
    );
    if (same)
      throw new Error(
        `${at} = ${describe(value)} is the address of control-plane host "${same.name}"; the endpoint must stay reachable when any one control plane is down, so it cannot be one of them. ${ENDPOINT_FIX}`,
      );
  }
  const text = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  return { host, port, text };
}

/** One spelling per address, so "::1" and "0:0::1" are seen as the same host. */
function canonicalAddress(a: string): string {
  if (net.isIPv4(a)) return a;
  const sa = new net.SocketAddress({ address: a, family: 'ipv6' });
  return sa.address;
}

const PRIVATE_KEY_FIX =
  'Fix: pulumi config set --secret hcb:sshPrivateKey < ~/.ssh/<key> (an unencrypted OpenSSH, or PEM RSA/EC, private key; Pulumi encrypts the secret)';

/**
 * Checks the private key's shape without ever quoting it: PEM armour of a known kind, and an
 * OpenSSH key must not be passphrase-protected (there is nobody to type the passphrase).
 * Returns nothing: the key itself is read by the runner as a Pulumi secret.
 */
export function checkSshPrivateKey(value: unknown): void {
  const at = 'hcb: config "hcb:sshPrivateKey"';
  if (typeof value !== 'string')
    throw new Error(`${at} must be a string (a private key file's text). ${PRIVATE_KEY_FIX}`);
  const text = value.trim();
  const m =
    /^-----BEGIN (OPENSSH|RSA|EC) PRIVATE KEY-----\r?\n([\s\S]*?)\r?\n-----END (OPENSSH|RSA|EC) PRIVATE KEY-----$/.exec(
      text,
    );
  if (!m || m[1] !== m[3])
    throw new Error(
      `${at} is not a private key in OpenSSH or PEM form (BEGIN ... PRIVATE KEY armour). ${PRIVATE_KEY_FIX}`,
    );
  const body = m[2];
  if (/Proc-Type:\s*4,ENCRYPTED/.test(body))
    throw new Error(`${at} is encrypted with a passphrase; a run has no one to type it. ${PRIVATE_KEY_FIX}`);
  if (m[1] === 'OPENSSH') {
    const raw = Buffer.from(body.replace(/\s+/g, ''), 'base64');
    const magic = Buffer.from('openssh-key-v1\0', 'latin1');
    if (raw.length < magic.length + 4 || !raw.subarray(0, magic.length).equals(magic))
      throw new Error(`${at} has OpenSSH armour but not an OpenSSH key inside. ${PRIVATE_KEY_FIX}`);
    const cipher = new WireReader(raw.subarray(magic.length)).string()?.toString('latin1');
    if (cipher === undefined) throw new Error(`${at} is a truncated OpenSSH key. ${PRIVATE_KEY_FIX}`);
    if (cipher !== 'none')
      throw new Error(`${at} is encrypted with a passphrase; a run has no one to type it. ${PRIVATE_KEY_FIX}`);
  }
}

/** `hcb:backup` as the stack carries it: the schedule on every control-plane host (issue 14). */
export interface HostsBackupSpec {
  /** Go duration between two scheduled backups (at least 1m). */
  interval: string;
  /** Backups kept on each host. */
  retain: number;
  /** Age of the newest backup past which HCB-BACKUP-RECENT fails (at least the interval). */
  maxAge: string;
}

const BACKUP_FIELDS = ['interval', 'retain', 'maxAge'] as const;
const BACKUP_DURATION = /^(\d+(\.\d+)?(h|m|s))+$/;
const BACKUP_FIX =
  "Fix: pulumi config set --path 'backup.interval' 24h; pulumi config set --path 'backup.retain' 7 (and the key: openssl rand -base64 32 | pulumi config set --secret hcb:backupKey)";

function durationSeconds(d: string): number {
  let total = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(h|m|s)/g))
    total += Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  return total;
}

/**
 * Validates `hcb:backup` (an object, or its JSON text): `interval` a Go duration of at least 1m
 * (default 24h), `retain` a whole number of at least 1 (default 7), `maxAge` at least the interval
 * (default interval + 2h, written in hours, minutes or seconds). Undefined when unset. The key is
 * not here: it is `hcb:backupKey`, a secret of its own, so that interval and retention stay plain
 * values a reader may see.
 */
export function parseBackupConfig(value: unknown): HostsBackupSpec | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const at = 'hcb: config "hcb:backup"';
  let v: unknown = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v) as unknown;
    } catch {
      v = undefined;
    }
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new Error(`${at} must be an object {interval, retain, maxAge}, got ${describe(value)}. ${BACKUP_FIX}`);
  const e = v as Record<string, unknown>;
  for (const field of Object.keys(e)) {
    if (!(BACKUP_FIELDS as readonly string[]).includes(field)) {
      const hint =
        field === 'key'
          ? ' (the key is the secret hcb:backupKey: openssl rand -base64 32 | pulumi config set --secret hcb:backupKey)'
          : '';
      throw new Error(
        `${at} has an unknown field "${field.slice(0, 40)}" (known: ${BACKUP_FIELDS.join(', ')})${hint}. Fix: pulumi config rm --path 'backup.${field.slice(0, 40)}'`,
      );
    }
  }
  const duration = (field: 'interval' | 'maxAge', dflt: string, min: number): string => {
    const x = e[field];
    if (x === undefined) return dflt;
    if (typeof x !== 'string' || !BACKUP_DURATION.test(x) || durationSeconds(x) < min)
      throw new Error(
        `${at}: "${field}" = ${describe(x)} is not a duration of at least ${min >= 3600 ? `${min / 3600}h` : `${min / 60}m`} (Go form: 24h, 90m, 1h30m). Fix: pulumi config set --path 'backup.${field}' ${field === 'interval' ? '24h' : '26h'}`,
      );
    return x;
  };
  const interval = duration('interval', '24h', 60);
  let retain = 7;
  if (e.retain !== undefined) {
    const r = e.retain;
    const n = typeof r === 'number' ? r : typeof r === 'string' && /^[0-9]{1,6}$/.test(r) ? Number(r) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > 100_000)
      throw new Error(
        `${at}: "retain" = ${describe(r)} is not a whole number of backups to keep (1 or more). Fix: pulumi config set --path 'backup.retain' 7`,
      );
    retain = n;
  }
  const iv = durationSeconds(interval);
  const maxAge = duration('maxAge', goDuration(Math.ceil(iv + 7200)), iv);
  return { interval, retain, maxAge };
}

function goDuration(secs: number): string {
  if (secs % 3600 === 0) return `${secs / 3600}h`;
  if (secs % 60 === 0) return `${secs / 60}m`;
  return `${secs}s`;
}

/** Bytes of the backup key (AES-256). */
export const BACKUP_KEY_BYTES = 32;
const BACKUP_KEY_FIX = 'Fix: openssl rand -base64 32 | pulumi config set --secret hcb:backupKey';

/**
 * Decodes `hcb:backupKey` (32 bytes in standard base64) without ever quoting it. The caller checks
 * that the stack stores it as a secret.
 */
export function parseBackupKey(value: unknown): Buffer {
  const at = 'hcb: config "hcb:backupKey"';
  if (typeof value !== 'string') throw new Error(`${at} must be text (32 bytes in base64). ${BACKUP_KEY_FIX}`);
  const text = value.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0)
    throw new Error(`${at} is not base64 (the value is not shown). ${BACKUP_KEY_FIX}`);
  const key = Buffer.from(text, 'base64');
  if (key.length !== BACKUP_KEY_BYTES)
    throw new Error(
      `${at} decodes to ${key.length} bytes; an AES-256 key has ${BACKUP_KEY_BYTES} (the value is not shown). ${BACKUP_KEY_FIX}`,
    );
  return key;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

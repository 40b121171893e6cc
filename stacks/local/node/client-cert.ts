/**
 * Client identities signed by the cluster CA: the node's own components (kube-proxy, the
 * NetworkPolicy enforcer) and the e2e tests' named users. The openssl CLI signs (Node's crypto
 * cannot create X.509 certificates); Node's X509Certificate checks what is already on disk.
 *
 * The API server's x509 authenticator takes the certificate's CN as the user name and every O as a
 * group, so a certificate without O carries no group.
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parse, stringify } from 'yaml';

export interface ClientIdentity {
  /** User name (the certificate's CN). */
  readonly user: string;
  /** Groups (one O each); none by default. */
  readonly groups?: readonly string[];
}

/**
 * A new EC P-256 key and a certificate for `id` (clientAuth only, not a CA), valid `days` days,
 * signed by `<pkiDir>/ca.{crt,key}`. The key only exists in a private temporary directory below
 * `workDir` while openssl runs.
 */
export function signClientCertificate(
  pkiDir: string,
  id: ClientIdentity,
  workDir: string,
  days = 365,
): { cert: Buffer; key: Buffer } {
  fs.mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const dir = fs.mkdtempSync(path.join(workDir, '.client-cert-'));
  try {
    fs.chmodSync(dir, 0o700);
    const keyFile = path.join(dir, 'client.key');
    const csrFile = path.join(dir, 'client.csr');
    const crtFile = path.join(dir, 'client.crt');
    const extFile = path.join(dir, 'ext.cnf');
    fs.writeFileSync(
      extFile,
      'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nbasicConstraints=critical,CA:FALSE\n',
    );
    const subject = `/CN=${escapeRdn(id.user)}${(id.groups ?? []).map((g) => `/O=${escapeRdn(g)}`).join('')}`;
    openssl(
      ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
        '-keyout',
        keyFile,
        '-subj',
        subject,
        '-out',
        csrFile,
      ]),
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        csrFile,
        '-CA',
        path.join(pkiDir, 'ca.crt'),
        '-CAkey',
        path.join(pkiDir, 'ca.key'),
      ].concat(
        ['-set_serial', `0x${crypto.randomBytes(16).toString('hex')}`, '-days', String(days), '-sha256'],
        ['-extfile', extFile, '-out', crtFile],
      ),
    );
    return { cert: fs.readFileSync(crtFile), key: fs.readFileSync(keyFile) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Options of {@link ensureClientKubeconfig}. */
export interface ClientKubeconfigOptions {
  /** The kubeconfig file (written 0600, through a temporary file). */
  readonly file: string;
  /** The cluster's PKI directory (ca.crt, ca.key). */
  readonly pkiDir: string;
  readonly id: ClientIdentity;
  /** The API server URL the kubeconfig names. */
  readonly server: string;
  /** Cluster and context name inside the kubeconfig. */
  readonly context: string;
  /** Where the temporary key material lives while openssl runs (a private directory is made below it). */
  readonly workDir: string;
  /** Renew when the certificate expires within this many seconds (default 30 days). */
  readonly renewWithinSeconds?: number;
}

/**
 * The kubeconfig of a client identity: kept when the file names this server and CA and its
 * certificate is for this user, was issued by this CA and stays valid for `renewWithinSeconds`;
 * otherwise a new key and certificate are issued and the file replaced. Returns its text and
 * whether it was (re)issued.
 */
export function ensureClientKubeconfig(o: ClientKubeconfigOptions): { text: string; issued: boolean } {
  const caPem = fs.readFileSync(path.join(o.pkiDir, 'ca.crt'));
  if (fs.existsSync(o.file)) {
    const text = fs.readFileSync(o.file, 'utf8');
    if (kubeconfigCurrent(text, caPem, o)) {
      fs.chmodSync(o.file, 0o600);
      return { text, issued: false };
    }
  }
  const { cert, key } = signClientCertificate(o.pkiDir, o.id, o.workDir);
  const text = stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: o.context, cluster: { server: o.server, 'certificate-authority-data': caPem.toString('base64') } },
    ],
    users: [
      {
        name: o.id.user,
        user: { 'client-certificate-data': cert.toString('base64'), 'client-key-data': key.toString('base64') },
      },
    ],
    contexts: [{ name: o.context, context: { cluster: o.context, user: o.id.user } }],
    'current-context': o.context,
  });
  fs.mkdirSync(path.dirname(o.file), { recursive: true, mode: 0o700 });
  const tmp = `${o.file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, o.file);
  return { text, issued: true };
}

/** True when the kubeconfig text is the one {@link ensureClientKubeconfig} would keep. */
export function kubeconfigCurrent(
  text: string,
  caPem: Buffer,
  o: Pick<ClientKubeconfigOptions, 'id' | 'server' | 'renewWithinSeconds'>,
): boolean {
  try {
    const doc = parse(text) as {
      clusters?: Array<{ cluster?: { server?: string; 'certificate-authority-data'?: string } }>;
      users?: Array<{ user?: { 'client-certificate-data'?: string; 'client-key-data'?: string } }>;
    };
    const cluster = doc.clusters?.[0]?.cluster;
    const user = doc.users?.[0]?.user;
    if (doc.clusters?.length !== 1 || doc.users?.length !== 1 || !cluster || !user) return false;
    if (cluster.server !== o.server || cluster['certificate-authority-data'] !== caPem.toString('base64')) return false;
    if (!user['client-certificate-data'] || !user['client-key-data']) return false;
    const cert = new crypto.X509Certificate(Buffer.from(user['client-certificate-data'], 'base64'));
    const ca = new crypto.X509Certificate(caPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    const rdns = cert.subject.split('\n');
    if (rdns.find((l) => l.startsWith('CN='))?.slice(3) !== o.id.user) return false;
    const groups = rdns.filter((l) => l.startsWith('O=')).map((l) => l.slice(2));
    if (JSON.stringify(groups.sort()) !== JSON.stringify([...(o.id.groups ?? [])].sort())) return false;
    const renew = (o.renewWithinSeconds ?? 30 * 86400) * 1000;
    if (Date.parse(cert.validTo) - Date.now() < renew) return false;
    // The key in the file belongs to the certificate.
    const key = crypto.createPrivateKey(Buffer.from(user['client-key-data'], 'base64'));
    return crypto
      .createPublicKey(key)
      .export({ format: 'der', type: 'spki' })
      .equals(cert.publicKey.export({ format: 'der', type: 'spki' }));
  } catch {
    return false;
  }
}

function openssl(args: string[]): void {
  const res = spawnSync('openssl', args, { encoding: 'utf8', timeout: 30_000 });
  if (res.status !== 0) throw new Error(`openssl ${args[0]} failed: ${res.stderr || String(res.error)}`);
}

// openssl -subj separates RDNs with '/'; escape it (and '\') inside a value.
function escapeRdn(value: string): string {
  if (/[\n\r]/.test(value)) throw new Error(`bad certificate subject value: ${JSON.stringify(value)}`);
  return value.replace(/[\\/]/g, (c) => `\\${c}`);
}

/**
 * Client certificates for named users, signed by the test cluster's CA with the openssl CLI
 * (node's crypto cannot create X.509 certificates). The API server's x509 authenticator takes
 * the CN as the user name and every O as a group, so a test can send real requests as a tenant
 * user instead of only asking SubjectAccessReview about one.
 */
import { execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ApiClient, tempDir } from './env';

export interface UserIdentity {
  /** User name (certificate CN). */
  user: string;
  /** Groups (one certificate O each). */
  groups?: string[];
}

/** Mints a key and a one-day certificate for `id`, signed by `<rootfs>/etc/kubernetes/pki/ca.{crt,key}`. */
export function mintUserCertificate(rootfs: string, id: UserIdentity): { cert: Buffer; key: Buffer; ca: Buffer } {
  const pki = path.join(rootfs, 'etc/kubernetes/pki');
  const dir = tempDir('user-cert');
  try {
    const keyFile = path.join(dir, 'user.key');
    const csrFile = path.join(dir, 'user.csr');
    const crtFile = path.join(dir, 'user.crt');
    const subject = `/CN=${escapeRdn(id.user)}${(id.groups ?? []).map((g) => `/O=${escapeRdn(g)}`).join('')}`;
    const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    openssl([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-subj',
      subject,
      '-out',
      csrFile,
    ]);
    openssl([
      'x509',
      '-req',
      '-in',
      csrFile,
      '-CA',
      path.join(pki, 'ca.crt'),
      '-CAkey',
      path.join(pki, 'ca.key'),
      '-set_serial',
      `0x${crypto.randomBytes(16).toString('hex')}`,
      '-days',
      '1',
      '-sha256',
      '-out',
      crtFile,
    ]);
    return {
      cert: fs.readFileSync(crtFile),
      key: fs.readFileSync(keyFile),
      ca: fs.readFileSync(path.join(pki, 'ca.crt')),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** An ApiClient that authenticates as `id` with a freshly minted client certificate. */
export function clientAs(rootfs: string, server: string, id: UserIdentity): ApiClient {
  const { cert, key, ca } = mintUserCertificate(rootfs, id);
  return new ApiClient({ server, tls: { cert, key, ca } });
}

// openssl -subj separates RDNs with '/'; escape it (and '\') inside a value.
function escapeRdn(value: string): string {
  if (/[\n\r]/.test(value)) throw new Error(`bad certificate subject value: ${JSON.stringify(value)}`);
  return value.replace(/[\\/]/g, (c) => `\\${c}`);
}

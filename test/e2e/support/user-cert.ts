/**
 * Client certificates for named users, signed by the test cluster's CA with the openssl CLI
 * (node's crypto cannot create X.509 certificates). The API server's x509 authenticator takes
 * the CN as the user name and every O as a group, so a test can send real requests as a tenant
 * user instead of only asking SubjectAccessReview about one.
 */
import * as fs from 'fs';
import * as path from 'path';
import { signClientCertificate } from '../../../stacks/local/node/client-cert';
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
    return { ...signClientCertificate(pki, id, dir, 1), ca: fs.readFileSync(path.join(pki, 'ca.crt')) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** An ApiClient that authenticates as `id` with a freshly minted client certificate. */
export function clientAs(rootfs: string, server: string, id: UserIdentity): ApiClient {
  const { cert, key, ca } = mintUserCertificate(rootfs, id);
  return new ApiClient({ server, tls: { cert, key, ca } });
}

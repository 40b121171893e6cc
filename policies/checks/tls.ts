/** TLS settings shared by the API server, controller manager, scheduler, etcd and kubelet checks. */
import { flagList } from '../components';
import { fail, pass, Verdict } from './helpers';

const GOOD_VERSIONS = new Set(['VersionTLS12', 'VersionTLS13']);

/** The minimum TLS version must be 1.2 or 1.3, written explicitly. */
export function tlsMinVersionVerdict(value: string | undefined, setting: string): Verdict {
  if (value === undefined || value.trim() === '') {
    return fail(
      `${setting} is not set: without it the minimum depends on the Go release the binary was built with; set VersionTLS12 or VersionTLS13.`,
    );
  }
  if (GOOD_VERSIONS.has(value.trim())) return pass(`${setting}=${value}.`);
  return fail(`${setting}=${value} allows TLS below 1.2; set VersionTLS12 or VersionTLS13.`);
}

/**
 * TLS 1.3 suites, and TLS 1.2 suites with forward secrecy (ECDHE) and an AEAD cipher (AES-GCM or
 * ChaCha20-Poly1305). Everything else (RSA key exchange, CBC, 3DES, RC4) is rejected.
 */
export function isApprovedCipherSuite(name: string): boolean {
  const n = name.trim().toUpperCase();
  if (['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'].includes(n)) return true;
  if (!n.startsWith('TLS_ECDHE_')) return false;
  return /_WITH_(AES_(128|256)_GCM_SHA(256|384)|CHACHA20_POLY1305(_SHA256)?)$/.test(n);
}

/** The cipher suite list must be given and hold approved suites only. */
export function cipherSuitesVerdict(suites: readonly string[] | undefined, setting: string): Verdict {
  if (suites === undefined || suites.length === 0) {
    return fail(
      `${setting} is not set: the Go defaults then apply, which the STIG does not accept as an approved list; list ECDHE suites with AES-GCM or ChaCha20-Poly1305.`,
    );
  }
  const bad = suites.filter((s) => !isApprovedCipherSuite(s));
  if (bad.length > 0)
    return fail(`${setting} includes suites without forward secrecy or an AEAD cipher: ${bad.join(', ')}.`);
  return pass(`${setting} lists ${suites.length} approved suite(s).`);
}

/**
 * The TLS floor of a component's secure port: --tls-min-version must pass, and when
 * --tls-cipher-suites is set, every suite must be approved.
 */
export function servingTlsVerdict(c: { flag(name: string): string | undefined }): Verdict {
  const v = tlsMinVersionVerdict(c.flag('tls-min-version'), '--tls-min-version');
  if (v.status !== 'pass') return v;
  const s = c.flag('tls-cipher-suites');
  if (s === undefined) return v;
  const cs = cipherSuitesVerdict(flagList(s), '--tls-cipher-suites');
  return cs.status === 'pass' ? pass(`${v.message} ${cs.message}`) : cs;
}

import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';
import { ProtectionProfile } from './profile';

/** Minimum TLS version, as the Kubernetes components spell it. TLS 1.0 and 1.1 are not offered. */
export type TlsVersion = 'VersionTLS12' | 'VersionTLS13';

/**
 * TLS 1.2 cipher suites the blueprint accepts: ECDHE key exchange (forward secrecy) with an
 * AEAD cipher (AES-GCM or ChaCha20-Poly1305). The names are the Go crypto/tls names that
 * kube-apiserver, kube-controller-manager, kube-scheduler, the kubelet and etcd all accept.
 */
export const APPROVED_CIPHER_SUITES: readonly string[] = [
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
];

/**
 * Suites the components know but the blueprint refuses (CBC mode, static RSA key exchange,
 * 3DES, RC4), plus the TLS 1.3 suites, which Go does not let anyone configure.
 */
const REFUSED_CIPHER_SUITES: Record<string, string> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'CBC mode',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'CBC mode',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'CBC mode',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'CBC mode',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'CBC mode',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'CBC mode',
  TLS_ECDHE_ECDSA_WITH_RC4_128_SHA: 'RC4',
  TLS_ECDHE_RSA_WITH_RC4_128_SHA: 'RC4',
  TLS_RSA_WITH_RC4_128_SHA: 'RC4',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: '3DES',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: '3DES',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'static RSA key exchange (no forward secrecy)',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'static RSA key exchange (no forward secrecy)',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'static RSA key exchange (no forward secrecy)',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'static RSA key exchange (no forward secrecy)',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'static RSA key exchange (no forward secrecy)',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'a legacy alias; use the _SHA256 name',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'a legacy alias; use the _SHA256 name',
  TLS_AES_128_GCM_SHA256: 'a TLS 1.3 suite, which cannot be configured (TLS 1.3 always uses its fixed, strong suites)',
  TLS_AES_256_GCM_SHA384: 'a TLS 1.3 suite, which cannot be configured (TLS 1.3 always uses its fixed, strong suites)',
  TLS_CHACHA20_POLY1305_SHA256:
    'a TLS 1.3 suite, which cannot be configured (TLS 1.3 always uses its fixed, strong suites)',
};

/**
 * The default list: the four AES-GCM suites with ECDHE that the DISA STIG (V-242418) names,
 * for RSA and ECDSA certificates.
 */
export const DEFAULT_CIPHER_SUITES: readonly string[] = [
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
];

export interface TlsPolicyProps {
  /**
   * Minimum TLS version of every control-plane endpoint (API server, controller manager,
   * scheduler, etcd) and of the kubelet.
   * @default 'VersionTLS13' for the high profile, 'VersionTLS12' otherwise
   */
  readonly minVersion?: TlsVersion;
  /**
   * TLS 1.2 cipher suites, in Go crypto/tls names; only ECDHE with AES-GCM or
   * ChaCha20-Poly1305 is accepted (see APPROVED_CIPHER_SUITES).
   * @default DEFAULT_CIPHER_SUITES
   */
  readonly cipherSuites?: string[];
}

/** A validated TLS policy shared by all components. */
export class TlsPolicy {
  /** Validates props and applies the profile default; throws BlueprintPropError. */
  public static resolve(
    scope: Construct,
    profile: ProtectionProfile,
    props: TlsPolicyProps = {},
    propPrefix = 'tls',
  ): TlsPolicy {
    const minVersion = props.minVersion ?? (profile === 'high' ? 'VersionTLS13' : 'VersionTLS12');
    if (minVersion !== 'VersionTLS12' && minVersion !== 'VersionTLS13') {
      throw new BlueprintPropError(
        scope,
        `${propPrefix}.minVersion`,
        minVersion,
        'only TLS 1.2 and TLS 1.3 are acceptable (STIG V-242376/242377/242378, CCN-STIC TLS table)',
        "use 'VersionTLS12' or 'VersionTLS13'",
      );
    }
    const suites = props.cipherSuites ?? [...DEFAULT_CIPHER_SUITES];
    if (suites.length === 0) {
      throw new BlueprintPropError(
        scope,
        `${propPrefix}.cipherSuites`,
        suites,
        'the list is empty, so Go defaults (including CBC suites) would apply',
        'omit the prop for the default list or name approved suites',
      );
    }
    const seen = new Set<string>();
    for (const s of suites) {
      if (seen.has(s)) {
        throw new BlueprintPropError(
          scope,
          `${propPrefix}.cipherSuites`,
          s,
          'the suite is listed twice',
          'list each suite once',
        );
      }
      seen.add(s);
      if (APPROVED_CIPHER_SUITES.includes(s)) continue;
      const why = REFUSED_CIPHER_SUITES[s];
      throw new BlueprintPropError(
        scope,
        `${propPrefix}.cipherSuites`,
        s,
        why ? `the suite is not approved: ${why}` : 'unknown cipher suite name',
        `choose from ${APPROVED_CIPHER_SUITES.join(', ')}`,
      );
    }
    return new TlsPolicy(minVersion, suites);
  }

  private constructor(
    /** e.g. VersionTLS12 (API server, controller manager, scheduler, kubelet). */
    public readonly minVersion: TlsVersion,
    public readonly cipherSuites: readonly string[],
  ) {}

  /** The etcd spelling of the minimum version: TLS1.2 or TLS1.3. */
  public get etcdMinVersion(): string {
    return this.minVersion === 'VersionTLS13' ? 'TLS1.3' : 'TLS1.2';
  }

  /**
   * Whether etcd gets --cipher-suites: with TLS 1.3 only, the suites have no effect and etcd
   * refuses to start when both are given. (The Kubernetes components accept and ignore them,
   * so they always get the list.)
   */
  public get etcdConfiguresCipherSuites(): boolean {
    return this.minVersion === 'VersionTLS12';
  }

  /** Comma-separated list for --tls-cipher-suites / --cipher-suites. */
  public get cipherSuitesFlag(): string {
    return this.cipherSuites.join(',');
  }
}

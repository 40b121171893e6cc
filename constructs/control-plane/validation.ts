import { isIP } from 'net';
import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';

/** Shared prop checks; each throws BlueprintPropError naming the construct, prop and fix. */

export function checkPort(scope: Construct, prop: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      'not a TCP port (an integer from 1 to 65535)',
      'use an integer port between 1 and 65535',
    );
  }
  return value;
}

/** Ports that must not collide on the node; `ports` maps prop name to port. */
export function checkDistinctPorts(scope: Construct, ports: Record<string, number | undefined>): void {
  const seen = new Map<number, string>();
  for (const [prop, port] of Object.entries(ports)) {
    if (port === undefined) continue;
    const other = seen.get(port);
    if (other) {
      throw new BlueprintPropError(
        scope,
        prop,
        port,
        `the port is already used by "${other}"`,
        'give every control-plane endpoint its own port',
      );
    }
    seen.set(port, prop);
  }
}

export function checkIp(scope: Construct, prop: string, value: string): string {
  if (isIP(value) === 0) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      'not an IPv4 or IPv6 address',
      "use an address literal such as '10.0.0.10' or '127.0.0.1'",
    );
  }
  return value;
}

export function isLoopback(ip: string): boolean {
  return ip === '::1' || /^127\./.test(ip);
}

export function checkCidr(scope: Construct, prop: string, value: string): string {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(value);
  const family = m ? isIP(m[1]) : 0;
  const bits = m ? Number(m[2]) : -1;
  if (!m || family === 0 || bits > (family === 4 ? 32 : 128)) {
    throw new BlueprintPropError(scope, prop, value, 'not a CIDR block', "use a CIDR such as '10.96.0.0/12'");
  }
  return value;
}

const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function checkDnsSubdomain(scope: Construct, prop: string, value: string): string {
  if (!DNS_SUBDOMAIN.test(value)) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      'not an RFC 1123 DNS subdomain',
      "use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
    );
  }
  return value;
}

export function checkDnsLabel(scope: Construct, prop: string, value: string): string {
  if (!DNS_LABEL.test(value)) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      'not an RFC 1123 label',
      "use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit",
    );
  }
  return value;
}

/** A certificate SAN: an IP literal or a DNS name (a leading '*.' wildcard is allowed). */
export function checkSan(scope: Construct, prop: string, value: string): string {
  if (isIP(value) !== 0) return value;
  const name = value.startsWith('*.') ? value.slice(2) : value;
  if (!DNS_SUBDOMAIN.test(name)) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      'not an IP address or DNS name',
      "use an address literal or a lower-case DNS name such as 'api.example.org'",
    );
  }
  return value;
}

/** Kubernetes version like v1.36.3; returns [major, minor, patch]. */
export function checkKubernetesVersion(scope: Construct, prop: string, value: string): [number, number, number] {
  const m = /^v(\d+)\.(\d+)\.(\d+)$/.exec(value);
  if (!m) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      'not an exact Kubernetes version',
      "pin a release such as 'v1.36.3' (labels like 'stable' make kubeadm fetch from the internet)",
    );
  }
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** Parses a Go duration string ('5m', '1h30m') into seconds; throws for anything else. */
export function checkDuration(scope: Construct, prop: string, value: string): number {
  if (typeof value !== 'string' || !DURATION.test(value)) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      'not a Go duration',
      "write a duration such as '60s', '5m' or '4h'",
    );
  }
  let total = 0;
  for (const part of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(part[1]) * UNIT_SECONDS[part[2]];
  }
  return total;
}

export function checkPositiveInt(
  scope: Construct,
  prop: string,
  value: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      `must be an integer from ${min} to ${max}`,
      `use an integer between ${min} and ${max}`,
    );
  }
  return value;
}

export function checkAbsolutePath(scope: Construct, prop: string, value: string): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.includes('..') || /[\s,]/.test(value)) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      'not an absolute path without spaces, commas or ".."',
      "use an absolute path such as '/var/log/kubernetes/audit/audit.log'",
    );
  }
  return value;
}

/** `host:port` with IPv6 literals in brackets. */
export function hostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Checks a component's feature gates (`{ GateName: true|false }`) and returns them sorted by name.
 * AllAlpha=true is refused (STIG V-242400), and so is anything that is not a gate name with a boolean.
 * Used for the API server, controller manager, scheduler and kubelet gates alike.
 */
export function checkFeatureGates(
  scope: Construct,
  prop: string,
  gates: Record<string, boolean>,
): Array<[string, boolean]> {
  const entries = Object.entries(gates).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [gate, on] of entries) {
    if (gate === 'AllAlpha' && on) {
      throw new BlueprintPropError(
        scope,
        `${prop}.AllAlpha`,
        on,
        'alpha features must not be enabled (STIG V-242400)',
        'remove AllAlpha',
      );
    }
    if (typeof on !== 'boolean' || !/^[A-Z][A-Za-z0-9]+$/.test(gate)) {
      throw new BlueprintPropError(
        scope,
        `${prop}.${gate}`,
        on,
        'not a feature gate setting',
        'use { GateName: true|false }',
      );
    }
  }
  return entries;
}

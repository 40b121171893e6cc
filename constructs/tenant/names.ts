import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';

/**
 * Namespaces that belong to Kubernetes itself or to the provider. User objects never go there
 * (STIG V-242383, V-242417).
 */
export const RESERVED_NAMESPACES: readonly string[] = ['default', 'kube-node-lease', 'kube-public', 'kube-system'];

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** True when `value` is an RFC 1123 label (what Kubernetes requires of namespace names). */
export function isDnsLabel(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= 63 && DNS_LABEL.test(value);
}

/** True when `value` is an RFC 1123 subdomain (names of most other objects). */
export function isDnsSubdomain(value: unknown): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= 253 && DNS_SUBDOMAIN.test(value);
}

/** True when `key` is a valid label or annotation key: optional DNS-subdomain prefix, '/', name. */
export function isLabelKey(key: unknown): key is string {
  if (typeof key !== 'string') return false;
  const slash = key.indexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0 && !isDnsSubdomain(key.slice(0, slash))) return false;
  return name.length >= 1 && name.length <= 63 && LABEL_NAME.test(name);
}

/** True when `value` is a valid label value (may be empty). */
export function isLabelValue(value: unknown): value is string {
  return typeof value === 'string' && (value === '' || (value.length <= 63 && LABEL_NAME.test(value)));
}

/** Throws unless `value` is an RFC 1123 label. */
export function requireDnsLabel(scope: Construct, prop: string, value: unknown): string {
  if (!isDnsLabel(value)) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      'must be an RFC 1123 label (at most 63 characters)',
      "use lower-case letters, digits and '-', starting and ending with a letter or digit",
    );
  }
  return value;
}

/** Throws unless `value` is an RFC 1123 subdomain. */
export function requireDnsSubdomain(scope: Construct, prop: string, value: unknown): string {
  if (!isDnsSubdomain(value)) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      'must be an RFC 1123 subdomain (at most 253 characters)',
      "use lower-case letters, digits, '-' and '.', each dot-separated part starting and ending with a letter or digit",
    );
  }
  return value;
}

/**
 * The object name of a construct that renders one named object: `props.name`, or the construct id
 * when no name is given. Throws when the chosen one is not an RFC 1123 subdomain; an id that is
 * not a name gets its own message, with `example` as the name to pass.
 */
export function objectNameFrom(scope: Construct, id: string, name: string | undefined, example: string): string {
  if (name === undefined && !isDnsSubdomain(id)) {
    throw new BlueprintPropError(
      scope,
      'name',
      undefined,
      `no name given and the construct id "${id}" is not an object name`,
      `pass props.name, e.g. "${example}"`,
    );
  }
  return requireDnsSubdomain(scope, 'name', name ?? id);
}

/** Throws unless `value` names a namespace users may use. */
export function requireUserNamespace(scope: Construct, prop: string, value: unknown): string {
  const name = requireDnsLabel(scope, prop, value);
  if (RESERVED_NAMESPACES.includes(name)) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      `"${name}" is reserved for Kubernetes and the provider (STIG V-242383, V-242417)`,
      'choose a dedicated namespace name for the application, e.g. "payments-prod"',
    );
  }
  return name;
}

/** Throws unless every key and value of `labels` is a valid label; returns a sorted copy. */
export function requireLabels(
  scope: Construct,
  prop: string,
  labels: Record<string, string> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (labels === undefined) return out;
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
    throw new BlueprintPropError(
      scope,
      prop,
      labels,
      'must be a map of label keys to label values',
      'pass an object such as { app: "web" }',
    );
  }
  for (const key of Object.keys(labels).sort()) {
    const value = labels[key];
    if (!isLabelKey(key)) {
      throw new BlueprintPropError(
        scope,
        `${prop}.${key}`,
        key,
        'is not a valid label key',
        "use an optional DNS-subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.'",
      );
    }
    if (!isLabelValue(value)) {
      throw new BlueprintPropError(
        scope,
        `${prop}.${key}`,
        value,
        'is not a valid label value',
        "use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
      );
    }
    out[key] = value;
  }
  return out;
}

/**
 * How each component parses the flags the checks read, confirmed in the v1.36.3 sources:
 *
 * - The Kubernetes components parse with spf13/pflag and normalize `_` to `-` in flag names
 *   (component-base cli.Run sets cliflag.WordSepNormalizeFunc). kubeadm merges its defaults with
 *   extraArgs by literal name (cmd/kubeadm/app/util/arguments.go ArgumentsToCommand: an extraArg
 *   drops every default of the same name; every extraArg, repeated ones included, becomes a flag).
 * - pflag StringSlice / StringArray flags APPEND on repetition (the first Set replaces the default).
 * - `--feature-gates` (compatibility registry: ColonSeparatedMultimapStringString) accepts
 *   `[component:]Key=value` items, appends on repetition; featuregate.Set applies them in order
 *   (a later value for a key wins) and parses values with strconv.ParseBool (an empty or other
 *   value stops the component).
 * - `--runtime-config` (cliflag.ConfigurationMap) merges `key[=value]` items; a key without a
 *   value or with an empty value means true (resourceconfig getRuntimeConfigValue).
 * - Every other flag: the last occurrence wins.
 * - etcd parses with Go's flag package: no normalization, and its list flags (cipher-suites)
 *   are replaced, not appended, by a repetition (etcd pkg/flags StringsValue.Set).
 */
import { ComponentName } from './control';
import { parseGoBool } from './util/go-values';

export type FlagKind = 'list' | 'feature-gates' | 'config-map' | 'scalar';

/** Flags whose repetitions append, per component (kube components share the apiserver library). */
const LIST_FLAGS: Record<ComponentName, ReadonlySet<string>> = {
  'kube-apiserver': new Set([
    'authorization-mode',
    'enable-admission-plugins',
    'disable-admission-plugins',
    'admission-control',
    'tls-cipher-suites',
    'etcd-servers',
    'service-account-key-file',
    'api-audiences',
    'service-account-issuer',
    'tls-sni-cert-key',
    'requestheader-allowed-names',
    'cors-allowed-origins',
  ]),
  'kube-controller-manager': new Set(['controllers', 'tls-cipher-suites', 'tls-sni-cert-key', 'authentication-skip-lookup', 'requestheader-allowed-names']),
  'kube-scheduler': new Set(['tls-cipher-suites', 'tls-sni-cert-key', 'requestheader-allowed-names']),
  etcd: new Set(),
};

export function flagKind(component: ComponentName, name: string): FlagKind {
  if (component === 'etcd') return 'scalar';
  if (name === 'feature-gates') return 'feature-gates';
  if (name === 'runtime-config') return 'config-map';
  return LIST_FLAGS[component].has(name) ? 'list' : 'scalar';
}

/** The name the component sees: Kubernetes components turn `_` into `-`; etcd does not. */
export function normalizeFlagName(component: ComponentName, name: string): string {
  return component === 'etcd' ? name : name.replace(/_/g, '-');
}

/** Items of a list flag value (pflag splits on commas and trims nothing but empty items stay). */
function items(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * The effective value of a flag given every occurrence in command-line order, as one string in the
 * flag's own syntax (so existing readers keep working): lists joined, maps merged, last scalar.
 */
export function effectiveFlagValue(component: ComponentName, name: string, values: readonly string[]): string {
  const kind = flagKind(component, name);
  if (values.length === 0) return '';
  switch (kind) {
    case 'list':
      return values.flatMap(items).join(',');
    case 'feature-gates': {
      const merged = new Map<string, string>();
      for (const v of values) {
        for (const item of items(v)) {
          const eq = item.indexOf('=');
          let key = (eq < 0 ? item : item.slice(0, eq)).trim();
          const value = eq < 0 ? '' : item.slice(eq + 1).trim();
          // `kube:` (or no component) addresses the Kubernetes gates; other components are not ours.
          const colon = key.indexOf(':');
          if (colon >= 0) {
            if (key.slice(0, colon).trim() !== 'kube') continue;
            key = key.slice(colon + 1).trim();
          }
          merged.delete(key);
          merged.set(key, eq < 0 ? '<missing>' : value);
        }
      }
      return [...merged].map(([k, v]) => `${k}=${v}`).join(',');
    }
    case 'config-map': {
      const merged = new Map<string, string>();
      for (const v of values) {
        for (const item of items(v)) {
          const eq = item.indexOf('=');
          const key = (eq < 0 ? item : item.slice(0, eq)).trim();
          merged.delete(key);
          merged.set(key, eq < 0 ? '' : item.slice(eq + 1).trim());
        }
      }
      return [...merged].map(([k, v]) => `${k}=${v}`).join(',');
    }
    default:
      return values[values.length - 1];
  }
}

/**
 * Feature gates from an effective `--feature-gates` value: true/false per strconv.ParseBool, or
 * 'invalid' when the component would refuse the value (and not start).
 */
export function parseFeatureGates(value: string | undefined): Map<string, boolean | 'invalid'> {
  const out = new Map<string, boolean | 'invalid'>();
  if (value === undefined) return out;
  for (const item of items(value)) {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    const b = eq < 0 ? undefined : parseGoBool(item.slice(eq + 1).trim());
    out.set(key, b === undefined ? 'invalid' : b);
  }
  return out;
}

/**
 * `--runtime-config` entries: on (true), off (false) or 'invalid', per getRuntimeConfigValue (an
 * empty value means true).
 */
export function parseRuntimeConfig(value: string | undefined): Map<string, boolean | 'invalid'> {
  const out = new Map<string, boolean | 'invalid'>();
  if (value === undefined) return out;
  for (const item of items(value)) {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    const raw = eq < 0 ? '' : item.slice(eq + 1).trim();
    const b = raw === '' ? true : parseGoBool(raw);
    out.set(key, b === undefined ? 'invalid' : b);
  }
  return out;
}

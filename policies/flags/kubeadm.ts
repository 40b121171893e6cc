/**
 * How kubeadm turns its configuration into command lines (k8s.io/kubernetes v1.36.3):
 * - extraArgs (and nodeRegistration.kubeletExtraArgs): kubeadm.k8s.io/v1beta3 writes a map
 *   {name: value}, converted to a list sorted by name (then value) (v1beta3/conversion.go
 *   convertToArgs); v1beta4 writes a list of {name, value} in which a name may repeat.
 * - cmd/kubeadm/app/util/arguments.go ArgumentsToCommand: kubeadm's own default flags, minus every
 *   default whose LITERAL name an extraArg repeats, then every extraArg in order, each rendered as
 *   `--name=value` (repeated extraArgs become repeated flags; the component then combines them
 *   by the flag's type, see effective.ts).
 */
import { asDicts, isDict } from '../util/values';

/** extraArgs in either form, in the order kubeadm renders them. */
export function readExtraArgs(v: unknown): Array<[string, string]> {
  if (Array.isArray(v)) {
    return asDicts(v)
      .filter((a) => typeof a.name === 'string')
      .map((a) => [a.name as string, a.value === undefined || a.value === null ? '' : String(a.value)]);
  }
  if (isDict(v)) {
    const args: Array<[string, string]> = Object.entries(v).map(([name, value]) => [
      name,
      value === null || value === undefined ? '' : String(value),
    ]);
    return args.sort(([an, av], [bn, bv]) => (an === bn ? (av < bv ? -1 : av > bv ? 1 : 0) : an < bn ? -1 : 1));
  }
  return [];
}

/** ArgumentsToCommand: defaults without those an override names (literally), then the overrides. */
export function argumentsToCommand<T>(
  defaults: ReadonlyArray<[string, string, T]>,
  overrides: ReadonlyArray<[string, string, T]>,
): Array<[string, string, T]> {
  const named = new Set(overrides.map(([n]) => n));
  const base = [...defaults].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return [...base.filter(([n]) => !named.has(n)), ...overrides];
}

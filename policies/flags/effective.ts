/**
 * The value a component ends up with for a flag, from every occurrence in command-line order,
 * combined and parsed according to the flag's type (see table.ts).
 */
import { ComponentName } from '../control';
import { parseGoBool, parseGoDuration, parseGoInt } from '../util/go-values';
import { flagSpec, FlagType } from './table';

/** The effective value of one flag, typed. */
export interface EffectiveFlag {
  type: FlagType;
  /** Every value given, in command-line order. */
  values: string[];
  /**
   * The effective value in the flag's own syntax: list items joined with ',', map entries as
   * `key=value` joined with ',', otherwise the last value.
   */
  value: string;
  /** stringSlice / stringArray: the items, appended over every occurrence. */
  list?: string[];
  /** featureGates / mapStringBool / configurationMap: key → raw value, later keys win. */
  map?: ReadonlyMap<string, string>;
  bool?: boolean;
  int?: number;
  /** duration: seconds. */
  seconds?: number;
  /** Why the component refuses the value (it does not start); undefined when it accepts it. */
  invalid?: string;
}

/**
 * One CSV record as encoding/csv reads it with its defaults (what pflag StringSlice uses): items
 * separated by commas, double quotes around an item allow commas in it, no trimming. Undefined
 * when csv.Reader would return an error (a bare quote in an unquoted item, an unterminated quote).
 */
export function readCsvRecord(v: string): string[] | undefined {
  if (v === '') return [];
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let item = '';
    if (v[i] === '"') {
      i++;
      for (;;) {
        if (i >= v.length) return undefined;
        if (v[i] === '"') {
          if (v[i + 1] === '"') {
            item += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        item += v[i++];
      }
      if (i < v.length && v[i] !== ',') return undefined;
    } else {
      while (i < v.length && v[i] !== ',') {
        if (v[i] === '"') return undefined;
        item += v[i++];
      }
    }
    out.push(item);
    if (i >= v.length) return out;
    i++; // the comma
    if (i >= v.length) {
      out.push('');
      return out;
    }
  }
}

/** Items of a comma-separated map value, skipping empty ones (strings.Split, then `len(s) == 0` skipped). */
function mapItems(v: string): string[] {
  return v.split(',').filter((s) => s.length > 0);
}

/**
 * Kubernetes feature gates from every --feature-gates occurrence of the API server, controller
 * manager or scheduler. The compatibility registry collects `[component:]Key=value` items per
 * component; items without a component belong to "kube", and mixing them with `kube:` items is
 * refused, as is a component the binary does not register. Each component's items then go
 * through featuregate.Set: every item needs `=` and a strconv.ParseBool value.
 */
function kubeFeatureGates(values: readonly string[]): { map: Map<string, string>; invalid?: string } {
  const byComponent = new Map<string, string[]>();
  for (const v of values) {
    for (const pair of mapItems(v)) {
      const colon = pair.indexOf(':');
      const comp = colon < 0 ? '' : pair.slice(0, colon).trim();
      const item = colon < 0 ? pair.trim() : pair.slice(colon + 1).trim();
      byComponent.set(comp, [...(byComponent.get(comp) ?? []), item]);
    }
  }
  const map = new Map<string, string>();
  let invalid: string | undefined;
  if (byComponent.has('') && byComponent.has('kube'))
    invalid = 'feature gates are given both with and without the kube: prefix, which the component refuses';
  for (const comp of byComponent.keys()) {
    if (comp !== '' && comp !== 'kube')
      invalid ??= `feature gates for component "${comp}", which the Kubernetes component does not register`;
  }
  for (const item of [...(byComponent.get('') ?? []), ...(byComponent.get('kube') ?? [])]) {
    if (item.length === 0) continue;
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    if (eq < 0) {
      invalid ??= `feature gate ${key} has no value (a value is required)`;
      map.set(key, '');
      continue;
    }
    const raw = item.slice(eq + 1).trim();
    if (parseGoBool(raw) === undefined)
      invalid ??= `feature gate ${key}=${raw} is not a boolean strconv.ParseBool accepts`;
    map.delete(key);
    map.set(key, raw);
  }
  return invalid === undefined ? { map } : { map, invalid };
}

/** cliflag.MapStringBool (kubelet --feature-gates): `Key=bool` items, later keys win. */
function mapStringBool(values: readonly string[]): { map: Map<string, string>; invalid?: string } {
  const map = new Map<string, string>();
  let invalid: string | undefined;
  for (const v of values) {
    for (const item of mapItems(v)) {
      const eq = item.indexOf('=');
      const key = (eq < 0 ? item : item.slice(0, eq)).trim();
      if (eq < 0) {
        invalid ??= `${key} has no value (expected key=bool)`;
        map.delete(key);
        map.set(key, '');
        continue;
      }
      const raw = item.slice(eq + 1).trim();
      if (parseGoBool(raw) === undefined) invalid ??= `${key}=${raw} is not a boolean strconv.ParseBool accepts`;
      map.delete(key);
      map.set(key, raw);
    }
  }
  return invalid === undefined ? { map } : { map, invalid };
}

/** cliflag.ConfigurationMap: `key[=value]` items, trimmed, merged over occurrences. */
function configurationMap(values: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const v of values) {
    for (const item of mapItems(v)) {
      const eq = item.indexOf('=');
      const key = (eq < 0 ? item : item.slice(0, eq)).trim();
      map.delete(key);
      map.set(key, eq < 0 ? '' : item.slice(eq + 1).trim());
    }
  }
  return map;
}

function joinMap(map: ReadonlyMap<string, string>): string {
  return [...map].map(([k, v]) => `${k}=${v}`).join(',');
}

/** The effective value of a flag of a type, from its occurrences in command-line order. */
export function effectiveOf(type: FlagType, name: string, values: readonly string[]): EffectiveFlag {
  const last = values.length > 0 ? values[values.length - 1] : '';
  const base = { type, values: [...values] };
  switch (type) {
    case 'bool': {
      const b = parseGoBool(last);
      return b === undefined
        ? { ...base, value: last, invalid: `--${name}=${last} is not a boolean strconv.ParseBool accepts` }
        : { ...base, value: last, bool: b };
    }
    case 'int':
    case 'int32': {
      const n = parseGoInt(last, type === 'int' ? 64 : 32);
      return n === undefined
        ? { ...base, value: last, invalid: `--${name}=${last} is not an integer strconv.ParseInt accepts` }
        : { ...base, value: last, int: n };
    }
    case 'duration': {
      const s = parseGoDuration(last);
      return s === undefined
        ? { ...base, value: last, invalid: `--${name}=${last} is not a duration time.ParseDuration accepts` }
        : { ...base, value: last, seconds: s };
    }
    case 'stringSlice': {
      const list: string[] = [];
      let invalid: string | undefined;
      for (const v of values) {
        const items = readCsvRecord(v);
        if (items === undefined) {
          invalid ??= `--${name}=${v} is not a comma-separated list the component can read (unbalanced quotes)`;
          continue;
        }
        // One at a time: push(...items) passes every item as an argument and overflows the stack for a huge value.
        for (const item of items) list.push(item);
      }
      return invalid === undefined
        ? { ...base, value: list.join(','), list }
        : { ...base, value: list.join(','), list, invalid };
    }
    case 'stringArray':
      return { ...base, value: values.join(','), list: [...values] };
    case 'featureGates': {
      const { map, invalid } = kubeFeatureGates(values);
      return invalid === undefined
        ? { ...base, value: joinMap(map), map }
        : { ...base, value: joinMap(map), map, invalid: `--${name}: ${invalid}` };
    }
    case 'mapStringBool': {
      const { map, invalid } = mapStringBool(values);
      return invalid === undefined
        ? { ...base, value: joinMap(map), map }
        : { ...base, value: joinMap(map), map, invalid: `--${name}: ${invalid}` };
    }
    case 'configurationMap': {
      const map = configurationMap(values);
      return { ...base, value: joinMap(map), map };
    }
    default:
      return { ...base, value: last };
  }
}

/** The effective value of a component's flag (its type from the component's table). */
export function effectiveFlag(component: ComponentName, name: string, values: readonly string[]): EffectiveFlag {
  return effectiveOf(flagSpec(component, name).type, name, values);
}

/**
 * Feature gates from an effective `--feature-gates` value (`Key=value,…`): true/false per
 * strconv.ParseBool, or 'invalid' when the component would refuse the value (and not start).
 */
export function parseFeatureGates(value: string | undefined): Map<string, boolean | 'invalid'> {
  const out = new Map<string, boolean | 'invalid'>();
  if (value === undefined) return out;
  for (const item of mapItems(value)) {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    const b = eq < 0 ? undefined : parseGoBool(item.slice(eq + 1).trim());
    out.set(key, b === undefined ? 'invalid' : b);
  }
  return out;
}

/**
 * `--runtime-config` entries: on (true), off (false) or 'invalid'. The API server reads an entry
 * without a value, or with an empty one, as true (resourceconfig getRuntimeConfigValue).
 */
export function parseRuntimeConfig(value: string | undefined): Map<string, boolean | 'invalid'> {
  const out = new Map<string, boolean | 'invalid'>();
  if (value === undefined) return out;
  for (const item of mapItems(value)) {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    const raw = eq < 0 ? '' : item.slice(eq + 1).trim();
    const b = raw === '' ? true : parseGoBool(raw);
    out.set(key, b === undefined ? 'invalid' : b);
  }
  return out;
}

/** Small, total helpers for reading untyped parsed YAML. None of them throws. */

export type Dict = Record<string, unknown>;

export function isDict(v: unknown): v is Dict {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function asDict(v: unknown): Dict {
  return isDict(v) ? v : {};
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function asDicts(v: unknown): Dict[] {
  return asArray(v).filter(isDict);
}

export function asString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function asStrings(v: unknown): string[] {
  return asArray(v).filter((x): x is string => typeof x === 'string');
}

/** Reads a dotted path; array indices are not supported (use asDicts). */
export function get(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (!isDict(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/**
 * A boolean as Kubernetes reads it from YAML or a flag value: true/false booleans, and the
 * strings "true"/"false" (any case). Anything else is undefined (unknown), never a guess.
 */
export function asBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'true') return true;
    if (s === 'false') return false;
  }
  return undefined;
}

/** Code-unit comparison: the same order on every machine and locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Octal text of permission bits, e.g. 0o644 → "0644". */
export function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

/**
 * Permission bits from a manifest value: an octal string ("0600", "600", "0o600") or a number
 * that already holds the bits (YAML 1.1 reads an unquoted 0600 as 384). Undefined when unreadable.
 */
export function parseMode(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= 0o7777 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim().replace(/^0o/i, '');
  if (!/^[0-7]{1,4}$/.test(s)) return undefined;
  return parseInt(s, 8);
}

/** True when `mode` sets no permission bit outside `allowed` (i.e. it is as strict or stricter). */
export function withinMode(mode: number, allowed: number): boolean {
  return (mode & ~allowed & 0o7777) === 0;
}

/** Lists items as "a, b and c". */
export function listText(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';

// Kubernetes resource quantity: <sign><number><suffix>, suffix binary (Ki..Ei), decimal (n u m k M G T P E)
// or an exponent (e3, E-2). Negative quantities are never valid for resources, so no sign here.
const QUANTITY = /^(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|n|u|m|k|M|G|T|P|E)?$/;

const BINARY: Record<string, bigint> = { Ki: 10n, Mi: 20n, Gi: 30n, Ti: 40n, Pi: 50n, Ei: 60n };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/**
 * Parses a Kubernetes quantity ("500m", "1.5Gi", "2", "1e3") into nano-units (value × 10⁹),
 * rounded up as the API server does, or returns undefined when the text is not a quantity.
 */
export function parseQuantity(text: unknown): bigint | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return undefined;
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const [whole, frac = ''] = m[1].split('.');
  const digits = BigInt((whole || '0') + frac);
  let exp10 = 9 - frac.length;
  let pow2 = 0n;
  const suffix = m[2] ?? '';
  if (suffix in BINARY) pow2 = BINARY[suffix];
  else if (suffix in DECIMAL) exp10 += DECIMAL[suffix];
  else {
    const e = Number(suffix.slice(1));
    if (!Number.isSafeInteger(e) || Math.abs(e) > 30) return undefined;
    exp10 += e;
  }
  let value = digits << pow2;
  if (exp10 >= 0) return value * 10n ** BigInt(exp10);
  const div = 10n ** BigInt(-exp10);
  value = (value + div - 1n) / div;
  return value;
}

/** True when `text` is a non-negative Kubernetes quantity. */
export function isQuantity(text: unknown): text is string {
  return parseQuantity(text) !== undefined;
}

/**
 * Throws unless `value` is a Kubernetes quantity; with `positive`, also unless it is above zero.
 * Returns the parsed nano-units.
 */
export function requireQuantity(
  scope: Construct,
  prop: string,
  value: unknown,
  opts: { positive?: boolean } = {},
): bigint {
  const parsed = parseQuantity(value);
  if (parsed === undefined) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      'is not a Kubernetes quantity',
      'write a number with an optional suffix, e.g. "500m" or "2" for CPU, "256Mi" or "1Gi" for memory and storage',
    );
  }
  if (opts.positive && parsed === 0n) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      'must be greater than zero',
      'give a positive quantity, e.g. "100m" or "128Mi"',
    );
  }
  return parsed;
}

/** Throws unless quantity `lower` ≤ `upper` (both already valid). */
export function requireNotAbove(
  scope: Construct,
  lowerProp: string,
  lower: string,
  upperProp: string,
  upper: string,
): void {
  const l = parseQuantity(lower)!;
  const u = parseQuantity(upper)!;
  if (l > u) {
    throw new BlueprintPropError(
      scope,
      lowerProp,
      lower,
      `is above ${upperProp} (${upper})`,
      `lower ${lowerProp} or raise ${upperProp} so that ${lowerProp} <= ${upperProp}`,
    );
  }
}

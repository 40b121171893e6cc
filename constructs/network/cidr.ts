import { Construct } from 'constructs';
import { BlueprintPropError } from '../common/errors';

/** A parsed CIDR: address family, network address as a number, prefix length. */
export interface ParsedCidr {
  readonly family: 4 | 6;
  readonly address: bigint;
  readonly prefix: number;
}

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    value = (value << 8n) | BigInt(p);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:]+$/.test(text) || text.length > 39) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const all = [...head, ...Array(8 - total).fill('0'), ...tail];
  let value = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    value = (value << 16n) | BigInt(parseInt(g, 16));
  }
  return value;
}

/** Parses "10.0.0.0/8" or "fd00::/8"; undefined when not a CIDR. */
export function parseCidr(text: unknown): ParsedCidr | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^([^/]+)\/(0|[1-9]\d{0,2})$/.exec(text);
  if (!m) return undefined;
  const prefix = Number(m[2]);
  const v4 = parseIpv4(m[1]);
  if (v4 !== undefined) return prefix <= 32 ? { family: 4, address: v4, prefix } : undefined;
  const v6 = m[1].includes(':') ? parseIpv6(m[1]) : undefined;
  if (v6 !== undefined) return prefix <= 128 ? { family: 6, address: v6, prefix } : undefined;
  return undefined;
}

function hostMask(c: ParsedCidr): bigint {
  const bits = BigInt(c.family === 4 ? 32 : 128);
  return (1n << (bits - BigInt(c.prefix))) - 1n;
}

/** True when `inner` lies inside `outer` and is strictly smaller. */
export function cidrStrictlyContains(outer: ParsedCidr, inner: ParsedCidr): boolean {
  return (
    outer.family === inner.family && inner.prefix > outer.prefix && (inner.address & ~hostMask(outer)) === outer.address
  );
}

/** Throws unless `value` is a CIDR whose host bits are zero; returns it parsed. */
export function requireCidr(scope: Construct, prop: string, value: unknown): ParsedCidr {
  const c = parseCidr(value);
  if (!c) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      'is not a CIDR',
      'write an IPv4 or IPv6 network with a prefix length, e.g. "10.0.0.0/16" or "fd00::/64"',
    );
  }
  if ((c.address & hostMask(c)) !== 0n) {
    throw new BlueprintPropError(
      scope,
      prop,
      value,
      'has host bits set, so it does not name a network',
      'use the network address of the block (all bits after the prefix zero), e.g. "10.1.0.0/16" instead of "10.1.2.3/16"',
    );
  }
  return c;
}

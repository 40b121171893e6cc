/**
 * networking.k8s.io/v1 NetworkPolicy semantics (k8s.io/api networking/v1 types.go, defaults in
 * k8s.io/kubernetes pkg/apis/networking/v1/defaults.go), for deciding whether a namespace's default
 * deny still holds:
 * - spec.podSelector is optional and defaults to the empty selector: every pod of the namespace.
 * - policyTypes, when empty, defaults to Ingress, plus Egress when the egress list is non-empty
 *   (an `egress: []` does not make a policy an egress policy).
 * - Rules of all policies that select a pod are ORed. In a rule, an empty or missing from/to
 *   matches every peer and an empty or missing ports matches every port; a port entry without
 *   `port` matches every port of its protocol (TCP when not given).
 * - A peer with namespaceSelector matches pods in the selected namespaces (all of them when
 *   podSelector is absent); an empty selector matches everything. A peer with only podSelector
 *   stays in the policy's own namespace. ipBlock matches addresses in the CIDR minus `except`.
 */
import { isEmptySelector } from './label-selector';
import { asArray, asDict, asDicts, asString, asStrings, Dict, isDict } from '../util/values';

export type Direction = 'Ingress' | 'Egress';

export function policyTypes(spec: Dict): string[] {
  const given = asStrings(spec.policyTypes);
  if (given.length > 0) return given;
  return asArray(spec.egress).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** spec.podSelector absent (defaults to {}) or empty. */
export function selectsEveryPod(spec: Dict): boolean {
  const sel = spec.podSelector;
  return sel === undefined || sel === null || isEmptySelector(sel);
}

/** The label every namespace carries (set by the API server since v1.22). */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** A namespace selector every namespace matches: empty, or only `Exists` on kubernetes.io/metadata.name. */
function selectsEveryNamespace(sel: unknown): boolean {
  if (!isDict(sel)) return false;
  if (Object.keys(asDict(sel.matchLabels)).length > 0) return false;
  return asDicts(sel.matchExpressions).every((e) => e.operator === 'Exists' && e.key === NAMESPACE_NAME_LABEL);
}

/** A pod selector every pod matches (absent counts only when the caller says so). */
function selectsEveryPodSel(sel: unknown): boolean {
  return isEmptySelector(sel);
}

/** Which protocols a rule's ports leave fully open; all three when ports is empty. */
function openProtocols(rule: Dict): string[] {
  const ports = asDicts(rule.ports);
  if (asArray(rule.ports).length === 0) return ['TCP', 'UDP', 'SCTP'];
  const open = new Set<string>();
  for (const p of ports) {
    const proto = asString(p.protocol) ?? 'TCP';
    const port = p.port;
    const end = typeof p.endPort === 'number' ? p.endPort : undefined;
    if (port === undefined || port === null) open.add(proto);
    else if (port === 1 && end !== undefined && end >= 65535) open.add(proto);
  }
  return [...open];
}

// ---- CIDR coverage -------------------------------------------------------------------------

interface Range {
  family: 4 | 6;
  start: bigint;
  end: bigint; // inclusive
}

function parseIPv4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = BigInt(0);
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    v = (v << BigInt(8)) | BigInt(Number(p));
  }
  return v;
}

function parseIPv6(s: string): bigint | undefined {
  let text = s;
  if (text.includes('.')) {
    // An embedded IPv4 tail ("::ffff:10.0.0.1") stands for the last two groups.
    const i = text.lastIndexOf(':');
    const v4 = i < 0 ? undefined : parseIPv4(text.slice(i + 1));
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, i + 1)}${(v4 >> BigInt(16)).toString(16)}:${(v4 & BigInt(0xffff)).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (![...head, ...tail].every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const given = head.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined;
  const words = [...head, ...Array<string>(8 - given).fill('0'), ...tail];
  return words.reduce((acc, w) => (acc << BigInt(16)) | BigInt(parseInt(w, 16)), BigInt(0));
}

/** A CIDR as Go's net.ParseCIDR reads it (host bits masked off); undefined when malformed. */
export function parseCidr(cidr: string): Range | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr.trim());
  if (!m) return undefined;
  const isV6 = m[1].includes(':');
  const bits = isV6 ? 128 : 32;
  const prefix = Number(m[2]);
  if (prefix > bits) return undefined;
  const addr = isV6 ? parseIPv6(m[1]) : parseIPv4(m[1]);
  if (addr === undefined) return undefined;
  const hostBits = BigInt(bits - prefix);
  const start = (addr >> hostBits) << hostBits;
  return { family: isV6 ? 6 : 4, start, end: start + (BigInt(1) << hostBits) - BigInt(1) };
}

/** The address families whose whole space the CIDRs cover together ("0.0.0.0/0", "::/0", or halves that add up). */
export function fullyCoveredFamilies(cidrs: readonly string[]): Array<4 | 6> {
  const out: Array<4 | 6> = [];
  for (const family of [4, 6] as const) {
    const max = (BigInt(1) << BigInt(family === 4 ? 32 : 128)) - BigInt(1);
    const ranges = cidrs
      .map(parseCidr)
      .filter((r): r is Range => r !== undefined && r.family === family)
      .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    let next = BigInt(0);
    for (const r of ranges) {
      if (r.start > next) break;
      if (r.end + BigInt(1) > next) next = r.end + BigInt(1);
    }
    if (ranges.length > 0 && next > max) out.push(family);
  }
  return out;
}

// ---- open rules ----------------------------------------------------------------------------

export interface Opening {
  /** NetworkPolicy names whose rules make up the opening. */
  policies: string[];
  /** What is open, in words. */
  what: string;
}

/**
 * Rules, among the policies that select every pod and apply to `direction`, that allow traffic
 * from (ingress) or to (egress) everywhere on every port of some protocol: an empty rule, a rule
 * without peers, `namespaceSelector: {}` with no or an empty podSelector, or ipBlocks that
 * together cover all IPv4 or all IPv6 addresses (even with holes cut out by `except`).
 * A peer that only selects pods of the policy's own namespace is not an opening.
 */
export function allowAllOpenings(
  policies: ReadonlyArray<{ name: string; spec: Dict }>,
  direction: Direction,
): Opening[] {
  const rulesKey = direction === 'Ingress' ? 'ingress' : 'egress';
  const peersKey = direction === 'Ingress' ? 'from' : 'to';
  const everyone = direction === 'Ingress' ? 'every source' : 'every destination';
  const out: Opening[] = [];
  // ipBlocks per protocol, pooled over all such policies: halves in two policies still add up.
  const blocks = new Map<string, { cidrs: string[]; policies: Set<string>; excepts: string[] }>();
  for (const p of policies) {
    if (!selectsEveryPod(p.spec) || !policyTypes(p.spec).includes(direction)) continue;
    asDicts(p.spec[rulesKey]).forEach((rule, i) => {
      const protocols = openProtocols(rule);
      if (protocols.length === 0) return;
      const portText = protocols.length === 3 ? 'every port' : `every ${protocols.join('/')} port`;
      const peers = asArray(rule[peersKey]);
      const where = `${rulesKey} rule ${i + 1}`;
      if (peers.length === 0) {
        out.push({
          policies: [p.name],
          what: `${where} has no (or an empty) ${peersKey}, so it allows ${everyone} on ${portText}`,
        });
        return;
      }
      for (const peer of asDicts(peers)) {
        // JSON null is an absent pointer in Go.
        const nsSel = peer.namespaceSelector ?? undefined;
        const podSel = peer.podSelector ?? undefined;
        if (
          nsSel !== undefined &&
          selectsEveryNamespace(nsSel) &&
          (podSel === undefined || selectsEveryPodSel(podSel))
        ) {
          const nsText = isEmptySelector(nsSel)
            ? 'namespaceSelector {}'
            : `namespaceSelector ${NAMESPACE_NAME_LABEL} Exists`;
          out.push({
            policies: [p.name],
            what: `${where} allows every pod of every namespace (${nsText}${podSel !== undefined ? ' with podSelector {}' : ''}) on ${portText}`,
          });
        }
        const block = asDict(peer.ipBlock);
        const cidr = asString(block.cidr);
        if (cidr !== undefined) {
          for (const proto of protocols) {
            const b = blocks.get(proto) ?? { cidrs: [], policies: new Set<string>(), excepts: [] };
            b.cidrs.push(cidr);
            b.policies.add(p.name);
            for (const x of asStrings(block.except)) b.excepts.push(x);
            blocks.set(proto, b);
          }
        }
      }
    });
  }
  // The same ipBlocks usually open TCP, UDP and SCTP alike: report them once.
  const grouped = new Map<string, { protos: string[]; what: (ports: string) => string; policies: string[] }>();
  for (const [proto, b] of blocks) {
    const families = fullyCoveredFamilies(b.cidrs);
    if (families.length === 0) continue;
    const space = families.map((f) => (f === 4 ? 'IPv4' : 'IPv6')).join(' and ');
    const cidrs = [
      ...new Set(
        b.cidrs.filter((c) => {
          const f = parseCidr(c)?.family;
          return f !== undefined && families.includes(f);
        }),
      ),
    ];
    const excepts = [...new Set(b.excepts)];
    const policiesOf = [...b.policies];
    const key = `${policiesOf.join(',')}|${cidrs.join(',')}|${excepts.join(',')}`;
    const g = grouped.get(key) ?? {
      protos: [],
      policies: policiesOf,
      what: (ports: string) =>
        `ipBlock ${cidrs.join(', ')} allows all of ${space}${excepts.length > 0 ? ` (except ${excepts.join(', ')})` : ''} on ${ports}`,
    };
    g.protos.push(proto);
    grouped.set(key, g);
  }
  for (const g of grouped.values()) {
    out.push({
      policies: g.policies,
      what: g.what(g.protos.length === 3 ? 'every port' : `every ${g.protos.join('/')} port`),
    });
  }
  return out;
}

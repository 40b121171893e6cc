/**
 * The audit's speed-ups (issue 13) must not change a result: each shortcut against the plain
 * computation it replaces.
 */
import {
  auditLevelFor,
  countProbes,
  firstRefused,
  probes,
  recordedAt,
  type AuditDecision,
  type Probe,
} from '../../../policies/checks/audit-policy';
import { markerOrDirectiveLine } from '../../../policies/input/parse';
import { Finding, FRAMEWORKS, ObjectRef } from '../../../policies/model';
import { compareFindings, compareStatus } from '../../../policies/order';
import { normalizeFrameworks, normalizeStigId, compareNatural } from '../../../policies/report/common';

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const policyA = () => ({
  rules: [
    { level: 'None', users: ['system:kube-proxy'], verbs: ['watch'] },
    { level: 'Metadata', resources: [{ group: '', resources: ['secrets', 'configmaps'] }] },
    { level: 'RequestResponse', resources: [{ group: 'rbac.authorization.k8s.io' }] },
    { level: 'Metadata', omitStages: ['RequestReceived'] },
  ],
});

/** The first refused probe, computed without any shared state. */
function plainFirstRefused(
  policy: Record<string, unknown>,
  all: readonly Probe[],
  accept: (d: AuditDecision) => boolean,
) {
  for (const p of all) {
    const d = auditLevelFor(policy, p.request);
    if (!accept(d)) return { probe: p, decision: d };
  }
  return undefined;
}

describe('audit policy probes and decisions shared per policy content', () => {
  const accept = (d: AuditDecision) => recordedAt(d, ['Metadata', 'Request', 'RequestResponse']);

  it('gives equal policies (distinct objects) the same probes and results as a plain evaluation', () => {
    const a = policyA();
    const b = policyA();
    expect(probes(a)).toBe(probes(b)); // one list per content
    expect(countProbes(probes(a))).toBeGreaterThan(1000);
    const shared = firstRefused(a, probes(a), accept);
    const again = firstRefused(b, probes(b), accept);
    const plain = plainFirstRefused(b, probes(b), accept);
    expect(shared?.probe).toBe(plain?.probe);
    expect(shared?.decision).toEqual(plain?.decision);
    expect(again?.decision).toEqual(plain?.decision);
  });

  it('sees a change to the policy object made after a call (nothing keyed by object identity)', () => {
    const a = policyA();
    const before = firstRefused(a, probes(a), accept);
    expect(before).toBeDefined(); // kube-proxy watches are dropped by rule 1
    a.rules.shift();
    const after = firstRefused(a, probes(a), accept);
    expect(after).toEqual(plainFirstRefused(a, probes(a), accept));
    expect(after).toBeUndefined();
    // A policy equal to the changed one shares its entry; the original content still has its own.
    expect(firstRefused(policyA(), probes(policyA()), accept)?.decision).toEqual(before?.decision);
  });

  it('keeps policies apart that JSON would not tell apart (NaN and null)', () => {
    const withNull = { rules: [{ level: 'Metadata', users: null }] };
    const withNaN = { rules: [{ level: 'Metadata', users: NaN }] };
    expect(probes(withNull)).not.toBe(probes(withNaN));
  });

  it('answers a probe list of another policy with this policy’s decisions', () => {
    const strict = { rules: [{ level: 'None' }] };
    const a = policyA();
    const r = firstRefused(strict, probes(a), accept);
    expect(r?.decision.level).toBe('None');
    expect(r?.checked).toBe(1);
  });
});

/** The finding order before issue 13's change: a key array per finding and comparison. */
function referenceCompare(a: Finding, b: Finding): number {
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  const c = cmp(a.control, b.control);
  if (c !== 0) return c;
  const key = (o: ObjectRef | undefined): string[] =>
    o
      ? [
          o.namespace ?? '',
          o.kind ?? '',
          o.name ?? '',
          o.path ?? '',
          o.file ?? '',
          String(o.line ?? 0).padStart(9, '0'),
          o.apiVersion ?? '',
        ]
      : [];
  const ka = key(a.object);
  const kb = key(b.object);
  if (ka.length !== kb.length) return ka.length - kb.length;
  for (let i = 0; i < ka.length; i++) {
    const d = cmp(ka[i], kb[i]);
    if (d !== 0) return d;
  }
  return compareStatus(a.status, b.status) || cmp(a.message, b.message);
}

describe('compareFindings without key arrays', () => {
  it('orders like the key-array comparison on random findings', () => {
    const rand = prng(13);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const maybe = <T>(xs: readonly T[]): T | undefined => (rand() < 0.3 ? undefined : pick(xs));
    const statuses = ['error', 'fail', 'not-evaluated', 'accepted', 'pass', 'not-applicable'] as const;
    const finding = (): Finding => {
      const f: Finding = {
        control: pick(['HCB-A', 'HCB-B']),
        status: pick(statuses),
        severity: 'low',
        frameworks: {},
        message: pick(['m', 'n', '']),
      };
      if (rand() < 0.8) {
        f.object = {
          namespace: maybe(['a', 'b', '']),
          kind: maybe(['Pod', 'Role']),
          name: maybe(['x', 'y']),
          path: maybe(['/etc/a', '/etc/b']),
          file: maybe(['f1', 'f2']),
          line: maybe([0, 1, 2, 9, 10, 100, 1e9, 12345678901]),
          apiVersion: maybe(['v1', 'apps/v1']),
        };
      }
      return f;
    };
    const differ: Array<[Finding, Finding]> = [];
    for (let i = 0; i < 20000; i++) {
      const a = finding();
      const b = rand() < 0.2 ? { ...a, object: a.object && { ...a.object } } : finding();
      if (Math.sign(compareFindings(a, b)) !== Math.sign(referenceCompare(a, b))) differ.push([a, b]);
    }
    expect(differ.slice(0, 3)).toEqual([]);
  });
});

describe('normalizeFrameworks remembering the last references', () => {
  const reference = (refs: Record<string, unknown[] | undefined>) => {
    const out: Record<string, string[]> = {};
    for (const fw of FRAMEWORKS) {
      const ids = new Set<string>();
      for (const id of refs[fw] ?? []) ids.add(fw === 'stig' ? normalizeStigId(id as string) : String(id).trim());
      out[fw] = [...ids].filter((id) => id !== '').sort(compareNatural);
    }
    return out;
  };
  it('gives the plain result for runs of equal and different references, as fresh arrays', () => {
    const seq: Array<Record<string, string[] | undefined>> = [
      { stig: ['242390', 'V-242400'], cis: ['1.2.10', '1.2.9'] },
      { stig: ['242390', 'V-242400'], cis: ['1.2.10', '1.2.9'] },
      { stig: ['242390'], cis: ['1.2.10', '1.2.9'] },
      { stig: ['242390'], cis: undefined, bsi: ['APP.4.4.A10', ' APP.4.4.A2 '] },
      { stig: ['242390'], cis: [], bsi: ['APP.4.4.A10', ' APP.4.4.A2 '] },
      {},
    ];
    for (const refs of seq) {
      const got = normalizeFrameworks(refs);
      expect(got).toEqual(reference(refs));
      got.stig.push('changed by a caller');
      expect(normalizeFrameworks(refs)).toEqual(reference(refs));
    }
    // References that are not all strings still normalise (without being remembered).
    const odd = { stig: [242390 as unknown as string] };
    expect(normalizeFrameworks(odd)).toEqual(reference(odd));
    // A caller that changes its references after a call gets the new result.
    const mutable = { stig: ['242390'] };
    normalizeFrameworks(mutable);
    mutable.stig.push('242401');
    expect(normalizeFrameworks(mutable)).toEqual(reference(mutable));
  });
});

describe('the fast path’s marker and directive test', () => {
  it('agrees with /^([ ]+(---|\\.\\.\\.)|%)/m on random texts', () => {
    const rand = prng(7);
    const alphabet = [' ', ' ', '-', '-', '.', '.', '%', 'a', ':', '\n', '\r', '\r\n', '\u2028', '\u2029'];
    const re = /^([ ]+(---|\.\.\.)|%)/m;
    const differ: string[] = [];
    for (let i = 0; i < 50000; i++) {
      let t = '';
      const n = Math.floor(rand() * 14);
      for (let k = 0; k < n; k++) t += alphabet[Math.floor(rand() * alphabet.length)];
      if (markerOrDirectiveLine(t) !== re.test(t)) differ.push(t);
    }
    expect(differ.slice(0, 3)).toEqual([]);
  });
});

/**
 * Coverage of each framework by the catalogue: for every canonical requirement ID, whether an
 * automated control checks it completely, only in part, or only manual or organisational
 * controls answer for it.
 *
 * A BSI, CCN or SCS requirement counts as automated only when an automated control's mapping to
 * it is claimed `full` in policies/frameworks/coverage-claims.ts (alone, or together with the
 * other controls the claim names, all present and automated). Automated mappings without a full
 * claim make the requirement `partial`. STIG and CIS mappings are not graded: each rule names one
 * setting and is mapped only to the control that checks it.
 */
import { CATALOGUE } from './catalogue';
import { Automation, Control } from './control';
import { FRAMEWORK_DEFINITIONS } from './frameworks';
import { claimOf, isClaimedFramework } from './frameworks/coverage-claims';
import { Framework, FRAMEWORKS } from './model';

export interface FrameworkCoverage {
  framework: Framework;
  name: string;
  edition: string;
  /** Canonical requirement IDs of the framework. */
  total: number;
  /** IDs an automated control checks completely (a full claim holds, or the framework is not graded). */
  automated: string[];
  /** IDs automated controls check only in part (no full claim holds); manual or organisational controls may answer the rest. */
  partial: string[];
  /** IDs answered by manual controls and no automated one (at least one manual). */
  manual: string[];
  /** IDs answered only by organisational controls. */
  organisational: string[];
  /** Canonical IDs no control references. */
  uncovered: string[];
  /** IDs controls reference that are not canonical (typos, or a framework list to extend). */
  unknown: string[];
  /** Per ID, the controls that reference it (sorted). */
  controls: Record<string, string[]>;
  /** Per ID, every mapping with how much of the requirement it covers (sorted by control). */
  mappings: Record<string, MappingCoverage[]>;
  /** Automated mappings of a graded framework without a coverage claim, as `CONTROL framework:ID` (counted as partial). */
  unclaimed: string[];
}

/** One control's mapping to one requirement. */
export interface MappingCoverage {
  control: string;
  automation: Automation;
  /**
   * automated controls only: `full` when the control (with the controls its claim names) checks
   * the whole requirement, `partial` otherwise; undefined for manual and organisational controls.
   */
  coverage?: 'full' | 'partial';
  /** Why (from the claim); for an automated mapping without a claim, says so. */
  reason?: string;
  /** The other controls a full claim holds together with. */
  together?: string[];
}

const RANK: Record<Automation, number> = { automated: 0, manual: 1, organisational: 2 };

/** Sorts IDs naturally: V-242390 < V-245541, APP.4.4.A2 < APP.4.4.A10, 1.2.2 < 1.2.10. */
export function compareIds(a: string, b: string): number {
  const pa = a.split(/(\d+)/);
  const pb = b.split(/(\d+)/);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    if (pa[i] === pb[i]) continue;
    const na = /^\d+$/.test(pa[i]);
    const nb = /^\d+$/.test(pb[i]);
    if (na && nb) return Number(pa[i]) - Number(pb[i]);
    return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}

export function frameworkCoverage(framework: Framework, controls: readonly Control[] = CATALOGUE): FrameworkCoverage {
  const def = FRAMEWORK_DEFINITIONS[framework];
  const canonical = new Set(def.requirements.map((r) => r.id));
  const best = new Map<string, Automation>();
  const byId: Record<string, string[]> = {};
  const automatedFor = new Map<string, Set<string>>();
  for (const c of controls) {
    for (const id of c.frameworks[framework] ?? []) {
      (byId[id] ??= []).push(c.id);
      if (c.automation === 'automated') {
        if (!automatedFor.has(id)) automatedFor.set(id, new Set());
        automatedFor.get(id)!.add(c.id);
      }
      const prev = best.get(id);
      if (prev === undefined || RANK[c.automation] < RANK[prev]) best.set(id, c.automation);
    }
  }
  const mappings: Record<string, MappingCoverage[]> = {};
  const unclaimed: string[] = [];
  const fullIds = new Set<string>();
  for (const id of Object.keys(byId).sort(compareIds)) {
    const seen = new Set<string>();
    const list: MappingCoverage[] = [];
    for (const c of [...controls].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      if (seen.has(c.id) || !(c.frameworks[framework] ?? []).includes(id)) continue;
      seen.add(c.id);
      if (c.automation !== 'automated') {
        list.push({ control: c.id, automation: c.automation });
        continue;
      }
      if (!isClaimedFramework(framework)) {
        list.push({ control: c.id, automation: c.automation, coverage: 'full' });
        fullIds.add(id);
        continue;
      }
      const claim = claimOf(c.id, framework, id);
      if (claim === undefined) {
        unclaimed.push(`${c.id} ${framework}:${id}`);
        list.push({
          control: c.id,
          automation: c.automation,
          coverage: 'partial',
          reason: 'No coverage claim recorded (policies/frameworks/coverage-claims.ts); counted as partial.',
        });
        continue;
      }
      const together = [...(claim.together ?? [])];
      const missing = together.filter((o) => !automatedFor.get(id)?.has(o));
      if (claim.coverage === 'full' && missing.length === 0) {
        fullIds.add(id);
        list.push({
          control: c.id,
          automation: c.automation,
          coverage: 'full',
          reason: claim.reason,
          ...(together.length > 0 ? { together } : {}),
        });
      } else {
        const reason =
          claim.coverage === 'full'
            ? `${claim.reason} (counted as partial: ${missing.join(', ')} not automated here)`
            : claim.reason;
        list.push({ control: c.id, automation: c.automation, coverage: 'partial', reason });
      }
    }
    mappings[id] = list;
  }
  const category = (id: string): Automation | 'partial' | undefined => {
    if (fullIds.has(id)) return 'automated';
    if (automatedFor.has(id)) return 'partial';
    return best.get(id);
  };
  const ids = def.requirements.map((r) => r.id);
  const sorted = (xs: string[]) => [...xs].sort(compareIds);
  const controlsSorted: Record<string, string[]> = {};
  for (const id of Object.keys(byId).sort(compareIds)) controlsSorted[id] = [...new Set(byId[id])].sort();
  return {
    framework,
    name: def.name,
    edition: def.edition,
    total: ids.length,
    automated: sorted(ids.filter((id) => category(id) === 'automated')),
    partial: sorted(ids.filter((id) => category(id) === 'partial')),
    manual: sorted(ids.filter((id) => category(id) === 'manual')),
    organisational: sorted(ids.filter((id) => category(id) === 'organisational')),
    uncovered: sorted(ids.filter((id) => !best.has(id))),
    unknown: sorted([...best.keys()].filter((id) => !canonical.has(id))),
    controls: controlsSorted,
    mappings,
    unclaimed: [...unclaimed].sort(),
  };
}

/** Coverage of every framework (or the ones given), in the standard framework order. */
export function coverage(
  controls: readonly Control[] = CATALOGUE,
  frameworks: readonly Framework[] = FRAMEWORKS,
): FrameworkCoverage[] {
  return FRAMEWORKS.filter((f) => frameworks.includes(f)).map((f) => frameworkCoverage(f, controls));
}

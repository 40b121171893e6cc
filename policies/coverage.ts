/**
 * Coverage of each framework by the catalogue: for every canonical requirement ID, whether an
 * automated control checks it, or only manual or organisational controls answer for it.
 */
import { CATALOGUE } from './catalogue';
import { Automation, Control } from './control';
import { FRAMEWORK_DEFINITIONS } from './frameworks';
import { Framework, FRAMEWORKS } from './model';

export interface FrameworkCoverage {
  framework: Framework;
  name: string;
  edition: string;
  /** Canonical requirement IDs of the framework. */
  total: number;
  /** IDs checked by at least one automated control. */
  automated: string[];
  /** IDs answered only by manual controls (at least one manual). */
  manual: string[];
  /** IDs answered only by organisational controls. */
  organisational: string[];
  /** Canonical IDs no control references. */
  uncovered: string[];
  /** IDs controls reference that are not canonical (typos, or a framework list to extend). */
  unknown: string[];
  /** Per ID, the controls that reference it (sorted). */
  controls: Record<string, string[]>;
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
  for (const c of controls) {
    for (const id of c.frameworks[framework] ?? []) {
      (byId[id] ??= []).push(c.id);
      const prev = best.get(id);
      if (prev === undefined || RANK[c.automation] < RANK[prev]) best.set(id, c.automation);
    }
  }
  const ids = def.requirements.map((r) => r.id);
  const sorted = (xs: string[]) => [...xs].sort(compareIds);
  const controlsSorted: Record<string, string[]> = {};
  for (const id of Object.keys(byId).sort(compareIds)) controlsSorted[id] = [...new Set(byId[id])].sort();
  return {
    framework,
    name: def.name,
    edition: def.edition,
    total: ids.length,
    automated: sorted(ids.filter((id) => best.get(id) === 'automated')),
    manual: sorted(ids.filter((id) => best.get(id) === 'manual')),
    organisational: sorted(ids.filter((id) => best.get(id) === 'organisational')),
    uncovered: sorted(ids.filter((id) => !best.has(id))),
    unknown: sorted([...best.keys()].filter((id) => !canonical.has(id))),
    controls: controlsSorted,
  };
}

/** Coverage of every framework (or the ones given), in the standard framework order. */
export function coverage(controls: readonly Control[] = CATALOGUE, frameworks: readonly Framework[] = FRAMEWORKS): FrameworkCoverage[] {
  return FRAMEWORKS.filter((f) => frameworks.includes(f)).map((f) => frameworkCoverage(f, controls));
}

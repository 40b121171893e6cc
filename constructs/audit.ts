// One call that audits what an app's charts render, for an app repo's own tests:
//   expect(auditApp(app).failures).toEqual([]);
// It synthesizes each chart in memory (cdk8s validates the app first, as `cdk8s synth` does),
// reads the objects the way `hcb audit` reads files (YAML 1.1, construct paths from the
// annotation) and runs the catalogue. Nothing is written to disk.
import { App, Chart } from 'cdk8s';
import { stringify } from 'yaml';
import { CATALOGUE } from '../policies/catalogue';
import { NAMESPACE_CONTROLS } from '../policies/catalogue/namespaces';
import { RBAC_CONTROLS } from '../policies/catalogue/rbac';
import { WORKLOAD_CONTROLS } from '../policies/catalogue/workloads';
import { evaluate } from '../policies/engine';
import { loadProblemsToFindings } from '../policies/input/findings';
import { parseText } from '../policies/input/parse';
import type { ControlException, Document, Finding } from '../policies/model';

/** Options of auditApp. */
export interface AuditAppOptions {
  /** Reviewed exceptions (e.g. `synthesizeBlueprint(...).exceptions`, or your own). @default - none */
  readonly exceptions?: readonly ControlException[];
  /** Clock for exception expiry. @default - now */
  readonly now?: Date;
  /**
   * Which controls run: `app` = the workload, namespace and RBAC controls (what an app repo
   * renders, as `hcb audit --scope workloads,namespaces,rbac`), `all` = the whole catalogue
   * (control-plane controls then report not-evaluated for want of their files).
   * @default 'app'
   */
  readonly scope?: 'app' | 'all';
}

/** What auditApp found. */
export interface AppAudit {
  /** Every finding, in the engine's order. */
  readonly findings: Finding[];
  /** The findings with status `fail` or `error`: empty when the charts audit clean. */
  readonly failures: Finding[];
  /** The objects audited, one document per object, with file `<chart id>.k8s.yaml`. */
  readonly documents: Document[];
}

const APP_CONTROL_IDS = new Set<string>([
  ...CATALOGUE.filter((c) => c.id.startsWith('HCB-WORKLOAD-')).map((c) => c.id),
  ...[...WORKLOAD_CONTROLS, ...NAMESPACE_CONTROLS, ...RBAC_CONTROLS].map((c) => c.id),
]);

/**
 * Audits the charts of a cdk8s App (or one chart, or a list) with the control catalogue and
 * returns the findings. Throws what `app.synth()` would throw (construct validation).
 */
export function auditApp(target: App | Chart | readonly Chart[], options: AuditAppOptions = {}): AppAudit {
  const charts: readonly Chart[] = Array.isArray(target)
    ? target
    : Chart.isChart(target)
      ? [target]
      : (target as App).charts;
  if (!Array.isArray(charts) || charts.some((c) => !Chart.isChart(c))) {
    throw new TypeError('auditApp: pass a cdk8s App, a Chart or a list of Charts');
  }
  const documents: Document[] = [];
  const problems: Finding[] = [];
  for (const chart of charts) {
    const objects = chart.toJson();
    if (objects.length === 0) continue;
    const parsed = parseText(objects.map((o: unknown) => stringify(o)).join('---\n'), `${chart.node.id}.k8s.yaml`);
    documents.push(...parsed.documents);
    problems.push(...loadProblemsToFindings(parsed.errors));
  }
  const scope = options.scope ?? 'app';
  if (scope !== 'app' && scope !== 'all')
    throw new TypeError(`auditApp: scope must be 'app' or 'all', got ${JSON.stringify(scope)}`);
  const findings = [
    ...problems,
    ...evaluate(documents, {
      exceptions: options.exceptions,
      now: options.now,
      controls: scope === 'app' ? CATALOGUE.filter((c) => APP_CONTROL_IDS.has(c.id)) : undefined,
    }),
  ];
  return { findings, failures: findings.filter((f) => f.status === 'fail' || f.status === 'error'), documents };
}

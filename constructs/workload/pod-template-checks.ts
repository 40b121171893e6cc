/**
 * The workload controls of the catalogue, run on a rendered pod spec when a construct is built.
 * HardenedWorkload, PodRestartSchedule and ClusterDns add it as a construct validation, so
 * changes made through escape hatches (the exposed cdk8s-plus object, JSON patches) are caught
 * too. There is no second copy of the rules: the spec is wrapped into the object it belongs to
 * and the catalogue's own checks (policies/catalogue/workloads.ts) decide, through the engine.
 */
import { CATALOGUE } from '../../policies/catalogue';
import type { CatalogueControl } from '../../policies/control';
import { evaluate } from '../../policies/engine';
import { FRAMEWORKS, type Finding, type KubeObject } from '../../policies/model';

/**
 * The workload controls a construct enforces on its own pod spec. Left to the audit and to
 * admission: HCB-WORKLOAD-IMAGE-DIGEST (the constructs accept an image by tag, with a warning),
 * HCB-WORKLOAD-SA-TOKEN-AUTOMOUNT and HCB-WORKLOAD-USER-NAMESPACE (decided with other objects:
 * the ServiceAccount, the namespace), HCB-WORKLOAD-HOST-PORTS (host ports from 1024 up warn at
 * construct time), HCB-WORKLOAD-NO-DASHBOARD and HCB-WORKLOAD-SINGLE-IMAGE-VERSION (about which
 * workloads a cluster runs, not about one pod).
 */
export const CONSTRUCT_TIME_WORKLOAD_CONTROLS: readonly string[] = [
  'HCB-WORKLOAD-HOST-NAMESPACES',
  'HCB-WORKLOAD-DEDICATED-SERVICE-ACCOUNT',
  'HCB-WORKLOAD-PRIVILEGED',
  'HCB-WORKLOAD-PRIVILEGE-ESCALATION',
  'HCB-WORKLOAD-RUN-AS-NON-ROOT',
  'HCB-WORKLOAD-READ-ONLY-ROOT-FS',
  'HCB-WORKLOAD-CAPABILITIES',
  'HCB-WORKLOAD-SECCOMP',
  'HCB-WORKLOAD-RESOURCE-LIMITS',
  'HCB-WORKLOAD-EPHEMERAL-STORAGE',
  'HCB-WORKLOAD-PROBES',
  'HCB-WORKLOAD-SECRETS-IN-ENV',
  'HCB-WORKLOAD-PRIVILEGED-HOST-PORTS',
  'HCB-WORKLOAD-HOST-PATH',
];

const CONTROLS: readonly CatalogueControl[] = CONSTRUCT_TIME_WORKLOAD_CONTROLS.map((id) => {
  const c = CATALOGUE.find((x) => x.id === id);
  if (!c || c.automation !== 'automated')
    throw new Error(`hcb: construct-time control ${id} is not an automated catalogue control`);
  return c;
});

/** The kinds whose pod spec a construct renders, and where the spec sits in them. */
export type PodSpecKind = 'Pod' | 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'ReplicaSet' | 'Job' | 'CronJob';

const API_VERSION: Record<PodSpecKind, string> = {
  Pod: 'v1',
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  ReplicaSet: 'apps/v1',
  Job: 'batch/v1',
  CronJob: 'batch/v1',
};

/** The object a pod spec belongs to, as the API server would receive it (name and namespace are placeholders). */
function wrap(spec: Record<string, unknown>, kind: PodSpecKind): KubeObject {
  const metadata = { name: 'construct', namespace: 'construct' };
  const template = { metadata: {}, spec };
  const body = kind === 'Pod' ? spec : kind === 'CronJob' ? { jobTemplate: { spec: { template } } } : { template };
  return { apiVersion: API_VERSION[kind], kind, metadata, spec: body } as KubeObject;
}

function frameworkText(f: Finding): string {
  return FRAMEWORKS.filter((k) => (f.frameworks[k] ?? []).length > 0)
    .map((k) => `${k.toUpperCase()} ${(f.frameworks[k] ?? []).join(' ')}`)
    .join(', ');
}

/**
 * The workload controls (CONSTRUCT_TIME_WORKLOAD_CONTROLS) on a rendered pod spec (plain JSON),
 * decided by the catalogue's checks on the object of `kind` that carries it (default: a Pod).
 * One message per control that does not pass: the control id and framework IDs, the control's
 * title, what the check found (container, field and value), and the fix (construct and prop).
 * A control the checks cannot decide on this spec is a problem too, never a silent pass.
 */
export function checkPodSpec(spec: unknown, kind: PodSpecKind = 'Pod'): string[] {
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) return ['no pod spec'];
  const podSpec = spec as Record<string, unknown>;
  if (!Array.isArray(podSpec.containers) || podSpec.containers.length === 0) return ['no containers'];
  const findings = evaluate([{ object: wrap(podSpec, kind), source: { file: 'construct' } }], {
    controls: CONTROLS,
    includeManual: false,
  });
  const title = new Map(CONTROLS.map((c) => [c.id, c.title]));
  return findings
    .filter((f) => f.status !== 'pass' && f.status !== 'not-applicable')
    .map((f) => {
      const fw = frameworkText(f);
      const what = f.status === 'fail' ? '' : `${f.status}: `;
      return `${f.control}${fw ? ` (${fw})` : ''}: ${title.get(f.control) ?? f.control}: ${what}${f.message}${f.remediation ? ` Fix: ${f.remediation}` : ''}`;
    });
}

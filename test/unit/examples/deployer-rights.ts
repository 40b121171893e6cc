// What the pipeline identity (the deployer preset bound to a ServiceAccount) may apply, checked
// against the Role it really holds in the rendered platform chart. Used by the docs/constructs.md
// split example test and the examples/app test.
import { stringify } from 'yaml';
import { evaluate, parseText } from '../../../policies';
import { grantsOn } from '../../../policies/checks/rbac-rules';

type Obj = Record<string, any>;

/** The API resource (group, plural) of each kind an app chart may render. A new kind must be added here, so it gets checked. */
export const RESOURCES: Record<string, [string, string]> = {
  Deployment: ['apps', 'deployments'],
  StatefulSet: ['apps', 'statefulsets'],
  Service: ['', 'services'],
  ServiceAccount: ['', 'serviceaccounts'],
  ConfigMap: ['', 'configmaps'],
  PersistentVolumeClaim: ['', 'persistentvolumeclaims'],
  PodDisruptionBudget: ['policy', 'poddisruptionbudgets'],
  HorizontalPodAutoscaler: ['autoscaling', 'horizontalpodautoscalers'],
  CronJob: ['batch', 'cronjobs'],
  Job: ['batch', 'jobs'],
  Ingress: ['networking.k8s.io', 'ingresses'],
  NetworkPolicy: ['networking.k8s.io', 'networkpolicies'],
  Role: ['rbac.authorization.k8s.io', 'roles'],
  RoleBinding: ['rbac.authorization.k8s.io', 'rolebindings'],
  ResourceQuota: ['', 'resourcequotas'],
  LimitRange: ['', 'limitranges'],
};

/** What `kubectl apply` (client- and server-side) and Pulumi's Kubernetes provider send. */
export const APPLY_VERBS = ['get', 'create', 'update', 'patch', 'delete'];

/** The RoleBindings of `platform` that bind ServiceAccount `account` in `namespace`, and the rules of the Role they name. */
export function rulesOfServiceAccount(
  platform: Obj[],
  namespace: string,
  account: string,
): { bindings: Obj[]; role: Obj | undefined; rules: Obj[] } {
  const bindings = platform.filter(
    (o) =>
      o.kind === 'RoleBinding' &&
      o.metadata.namespace === namespace &&
      (o.subjects ?? []).some(
        (s: Obj) => s.kind === 'ServiceAccount' && s.name === account && s.namespace === namespace,
      ),
  );
  const role = platform.find(
    (o) => o.kind === 'Role' && o.metadata.namespace === namespace && o.metadata.name === bindings[0]?.roleRef?.name,
  );
  return { bindings, role, rules: role?.rules ?? [] };
}

/** True when the rules allow `verb` on objects of `kind`. */
export function allowed(rules: Obj[], kind: string, verb: string): boolean {
  if (!(kind in RESOURCES))
    throw new Error(`no API resource known for ${kind}: add it to RESOURCES so the deployer's rights are checked`);
  const [group, resource] = RESOURCES[kind];
  return rules.some((r) => grantsOn(r, group, resource, [verb]).length > 0);
}

/** The objects of `objs` the rules do not allow `verb` on, as Kind/name. */
export function refused(objs: Obj[], rules: Obj[], verb: string): string[] {
  return objs.filter((o) => !allowed(rules, o.kind, verb)).map((o) => `${o.kind}/${o.metadata.name}`);
}

/** fail and error findings of the catalogue on the objects, as text ('' prefix for the chart). */
export function auditProblems(name: string, objs: Obj[]): string[] {
  const parsed = parseText(objs.map((o) => stringify(o)).join('---\n'), `${name}.k8s.yaml`);
  if (parsed.errors.length > 0) return parsed.errors.map((e) => `${name}: ${e.message}`);
  return evaluate(parsed.documents, { now: new Date('2026-11-29T00:00:00Z') })
    .filter((f) => f.status === 'fail' || f.status === 'error')
    .map((f) => `${name}: ${f.control} ${f.object?.kind}/${f.object?.name}: ${f.message}`);
}

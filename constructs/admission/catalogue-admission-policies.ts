import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { CATALOGUE } from '../../policies/catalogue';
import {
  BOOTSTRAP_CLUSTER_ROLES,
  BOOTSTRAP_LABEL,
  BOOTSTRAP_LABEL_VALUE,
  BOOTSTRAP_ROLES,
  BUILTIN_ROLES_FLAGGED_BY,
  READ_ONLY_BUILTIN_NAMESPACED_ROLES,
  READ_ONLY_BUILTIN_ROLES,
} from '../../policies/checks/rbac-builtins';
import { ESCALATION_VERBS, RBAC_GROUP } from '../../policies/checks/rbac-rules';
import type { Control } from '../../policies/control';
import { validateException } from '../../policies/exceptions';
import { FRAMEWORKS, type ControlException } from '../../policies/model';
import { BlueprintPropError } from '../common/errors';
import { isDnsLabel } from '../tenant/names';
import { stampProvenance } from '../tenant/provenance';

/** Label and annotation that carry the catalogue control id on every rendered object. */
export const ADMISSION_CONTROL_LABEL = 'hcb.dev/control';
/** Annotation with the control's framework IDs, e.g. "stig:V-242415 cis:5.4.1 bsi:APP.4.4.A2". */
export const ADMISSION_FRAMEWORKS_ANNOTATION = 'hcb.dev/frameworks';

/** Namespaces no binding applies to: they belong to the control plane and the provider. */
export const ADMISSION_SYSTEM_NAMESPACES: readonly string[] = ['kube-node-lease', 'kube-public', 'kube-system'];

/**
 * CEL variables: the pod spec of a Pod, or the pod template of a workload controller, its
 * labels, and its containers (all of them, and without the ephemeral ones), as the catalogue's
 * checks read them.
 */
const POD_SPEC_VARIABLES = [
  {
    name: 'podTemplate',
    expression: "object.kind == 'Pod' ? object : (object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template : object.spec.template)",
  },
  { name: 'podSpec', expression: 'variables.podTemplate.spec' },
  {
    name: 'podLabels',
    expression: "has(variables.podTemplate.metadata) && has(variables.podTemplate.metadata.labels) ? variables.podTemplate.metadata.labels : {'': ''}",
  },
  {
    name: 'regularContainers',
    expression:
      '(has(variables.podSpec.initContainers) ? variables.podSpec.initContainers : []) + (has(variables.podSpec.containers) ? variables.podSpec.containers : [])',
  },
  {
    name: 'containers',
    expression: 'variables.regularContainers + (has(variables.podSpec.ephemeralContainers) ? variables.podSpec.ephemeralContainers : [])',
  },
];

/** What a rule's policy matches. */
type RuleTarget = 'workloads' | 'roles' | 'bindings';

interface AdmissionRule {
  /** CEL: true when the object complies. */
  readonly expression: string;
  readonly target: RuleTarget;
  /** What the rule enforces (the message's detail after the control's title). */
  readonly detail: string;
  /**
   * The mode the control starts in when neither `modes` nor `mode` says otherwise. Only where the
   * blueprint's own constructs still accept what the rule rejects: HardenedWorkload warns about
   * an image without a digest but renders it, so that policy warns and audits until it denies.
   */
  readonly defaultMode?: AdmissionPolicyMode;
}

// ------------------------------------------------------------------------------------------------
// CEL builders. Each mirrors one predicate of the catalogue (policies/catalogue/workloads.ts,
// policies/checks/rbac-rules.ts); test/unit/policies/differential.test.ts and
// test/e2e/admission-differential.test.ts hold them to the same verdicts on every fixture.
// ------------------------------------------------------------------------------------------------

const celList = (xs: Iterable<string>): string => `[${[...xs].map((x) => `'${x.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(', ')}]`;

/** `field` of the container's securityContext if set there, else of the pod's (effective() in checks/workloads.ts). */
function effective(field: string): { set: string; value: string } {
  const own = `has(c.securityContext) && has(c.securityContext.${field})`;
  const pod = `has(variables.podSpec.securityContext) && has(variables.podSpec.securityContext.${field})`;
  return {
    set: `(${own}) || (${pod})`,
    value: `((${own}) ? c.securityContext.${field} : variables.podSpec.securityContext.${field})`,
  };
}

/** rbac-rules.ts grantsOn(r, group, resource, verbs) is not empty. */
function grants(group: string, resource: string, verbs: readonly string[]): string {
  const slash = resource.indexOf('/');
  const resources = ["x == '*'", `x == '${resource}'`, ...(slash > 0 ? [`x == '*${resource.slice(slash)}'`] : [])];
  return (
    `(has(r.apiGroups) && r.apiGroups.exists(g, g == '*' || g == '${group}')) && ` +
    `(has(r.resources) && r.resources.exists(x, ${resources.join(' || ')})) && ` +
    `(has(r.verbs) && r.verbs.exists(v, v == '*' || v in ${celList(verbs)}))`
  );
}

const RULE_PROBLEMS: Record<keyof typeof BUILTIN_ROLES_FLAGGED_BY, string> = {
  wildcards: ['apiGroups', 'resources', 'verbs', 'nonResourceURLs'].map((k) => `(has(r.${k}) && r.${k}.exists(x, x.endsWith('*')))`).join(' || '),
  escalation:
    `(has(r.verbs) && r.verbs.exists(v, v in ${celList(ESCALATION_VERBS)})) || ` +
    `(has(r.verbs) && r.verbs.exists(v, v == '*') && (` +
    [
      ...['roles', 'clusterroles'].map((res) => grants(RBAC_GROUP, res, ['escalate', 'bind'])),
      ...['users', 'groups', 'serviceaccounts'].map((res) => grants('', res, ['impersonate'])),
      ...['userextras/scopes', 'uids'].map((res) => grants('authentication.k8s.io', res, ['impersonate'])),
    ]
      .map((g) => `(${g})`)
      .join(' || ') +
    '))',
  secretsRead:
    `(${grants('', 'secrets', ['get', 'list', 'watch'])}) && ` +
    "(!has(r.resourceNames) || size(r.resourceNames) == 0 || r.verbs.exists(v, v in ['*', 'list', 'watch']))",
  persistentVolumeWrite: grants('', 'persistentvolumes', ['create', 'update', 'patch', 'delete']),
  networkPolicyWrite: grants('networking.k8s.io', 'networkpolicies', ['create', 'update', 'patch', 'delete']),
};

/** Key of a role in the built-in lists: a ClusterRole by name, a Role as namespace/name. */
const ROLE_KEY = "(object.kind == 'ClusterRole' ? object.metadata.name : request.namespace + '/' + object.metadata.name)";

/**
 * A role check (catalogue/rbac.ts ruleCheck): an aggregated role is not decided (its rules come
 * from other roles), a built-in role (bootstrap name and label) whose bootstrap rules the check
 * flags is not applicable, any other role complies when none of its rules has the problem.
 */
function roleRule(flagged: keyof typeof BUILTIN_ROLES_FLAGGED_BY): string {
  const builtInFlagged =
    `has(object.metadata.labels) && '${BOOTSTRAP_LABEL}' in object.metadata.labels && object.metadata.labels['${BOOTSTRAP_LABEL}'] == '${BOOTSTRAP_LABEL_VALUE}' && ` +
    `${ROLE_KEY} in ${celList(BUILTIN_ROLES_FLAGGED_BY[flagged])}`;
  return (
    // dyn(): a Role has no aggregationRule, and the policy is type-checked against both kinds.
    "(object.kind == 'ClusterRole' && has(dyn(object).aggregationRule) && has(dyn(object).aggregationRule.clusterRoleSelectors)) || " +
    `(${builtInFlagged}) || ` +
    `!has(object.rules) || object.rules.all(r, !(${RULE_PROBLEMS[flagged]}))`
  );
}

const BROAD_SUBJECT =
  "(s.kind == 'Group' && (s.name in ['system:authenticated', 'system:unauthenticated', 'system:anonymous', 'system:serviceaccounts'] || s.name.startsWith('system:serviceaccounts:'))) || (s.kind == 'User' && s.name == 'system:anonymous')";

const SUBJECTS = '(has(object.subjects) ? object.subjects : [])';

/** Bootstrap role names the built-in lists know (for the differential tests: rules decide only these by name). */
export const ADMISSION_BUILTIN_ROLE_NAMES: { readonly clusterRoles: ReadonlySet<string>; readonly roles: Readonly<Record<string, ReadonlySet<string>>> } = {
  clusterRoles: BOOTSTRAP_CLUSTER_ROLES,
  roles: BOOTSTRAP_ROLES,
};

/**
 * The catalogue controls enforced at admission, each exactly as its synth-time check decides
 * for the objects the policy sees. Pod Security admission already rejects privileged
 * containers and host namespaces in namespaces at baseline or restricted; these policies add the
 * rejection at the controller (Deployment, …) instead of only at its pods, the control id in
 * the message, and hold in namespaces whose Pod Security level is relaxed by an exemption.
 * Secrets in environment variables, the default namespace and RBAC are not covered by Pod
 * Security at all.
 *
 * Where the API server fills a field only in Pods (LimitRange defaults, the service account token
 * volume), the rule decides on Pods, which the policy sees after that defaulting, and lets a
 * controller's template through unless its own fields decide (e.g. automountServiceAccountToken
 * set on the template).
 */
const RULES: Readonly<Record<string, AdmissionRule>> = {
  'HCB-WORKLOAD-SECRETS-IN-ENV': {
    target: 'workloads',
    expression:
      'variables.containers.all(c, (!has(c.env) || c.env.all(e, !has(e.valueFrom) || !has(e.valueFrom.secretKeyRef))) && (!has(c.envFrom) || c.envFrom.all(f, !has(f.secretRef))))',
    detail: 'no container may read a Secret through env valueFrom.secretKeyRef or envFrom.secretRef',
  },
  'HCB-NAMESPACE-NO-DEFAULT-OBJECTS': {
    target: 'workloads',
    expression: "request.namespace != 'default'",
    detail: 'pods and workload controllers may not be created in the default namespace',
  },
  'HCB-WORKLOAD-USER-NAMESPACE': {
    target: 'workloads',
    expression: "request.namespace != 'default'",
    detail: 'user workloads run in a namespace of their own, not in default (the system namespaces are left to the provider by the binding)',
  },
  'HCB-WORKLOAD-PRIVILEGED-HOST-PORTS': {
    target: 'workloads',
    expression:
      'variables.containers.all(c, !has(c.ports) || c.ports.all(p, (!has(p.hostPort) || p.hostPort <= 0 || p.hostPort >= 1024) && ' +
      '(!has(variables.podSpec.hostNetwork) || variables.podSpec.hostNetwork != true || !has(p.containerPort) || p.containerPort <= 0 || p.containerPort >= 1024)))',
    detail: 'no container may bind a hostPort below 1024, nor a containerPort below 1024 on the host network',
  },
  'HCB-WORKLOAD-HOST-PORTS': {
    target: 'workloads',
    expression:
      'variables.containers.all(c, !has(c.ports) || c.ports.all(p, (!has(p.hostPort) || p.hostPort <= 0) && ' +
      '(!has(variables.podSpec.hostNetwork) || variables.podSpec.hostNetwork != true || !has(p.containerPort) || p.containerPort <= 0)))',
    detail: 'no container may bind a hostPort, nor declare a port on the host network (there every containerPort is a host port)',
  },
  'HCB-WORKLOAD-PRIVILEGED': {
    target: 'workloads',
    expression: 'variables.containers.all(c, !has(c.securityContext) || !has(c.securityContext.privileged) || c.securityContext.privileged != true)',
    detail: 'no container may set securityContext.privileged: true',
  },
  'HCB-WORKLOAD-HOST-NAMESPACES': {
    target: 'workloads',
    expression: ['hostNetwork', 'hostPID', 'hostIPC'].map((k) => `(!has(variables.podSpec.${k}) || variables.podSpec.${k} != true)`).join(' && '),
    detail: 'the pod may not set hostNetwork, hostPID or hostIPC',
  },
  'HCB-WORKLOAD-HOST-PATH': {
    target: 'workloads',
    expression: '!has(variables.podSpec.volumes) || variables.podSpec.volumes.all(v, !has(v.hostPath))',
    detail: 'the pod may not mount a hostPath volume',
  },
  'HCB-WORKLOAD-PRIVILEGE-ESCALATION': {
    target: 'workloads',
    expression: 'variables.containers.all(c, has(c.securityContext) && has(c.securityContext.allowPrivilegeEscalation) && c.securityContext.allowPrivilegeEscalation == false)',
    detail: 'every container must set securityContext.allowPrivilegeEscalation: false',
  },
  'HCB-WORKLOAD-RUN-AS-NON-ROOT': {
    target: 'workloads',
    expression: (() => {
      const user = effective('runAsUser');
      const nonRoot = effective('runAsNonRoot');
      return `variables.containers.all(c, (!(${user.set}) || ${user.value} != 0) && (${nonRoot.set}) && ${nonRoot.value} == true)`;
    })(),
    detail: 'every container must run with runAsNonRoot: true (container or pod securityContext) and no runAsUser 0',
  },
  'HCB-WORKLOAD-READ-ONLY-ROOT-FS': {
    target: 'workloads',
    expression: 'variables.regularContainers.all(c, has(c.securityContext) && has(c.securityContext.readOnlyRootFilesystem) && c.securityContext.readOnlyRootFilesystem == true)',
    detail: 'every container must set securityContext.readOnlyRootFilesystem: true',
  },
  'HCB-WORKLOAD-CAPABILITIES': {
    target: 'workloads',
    expression:
      'variables.containers.all(c, has(c.securityContext) && has(c.securityContext.capabilities) && has(c.securityContext.capabilities.drop) && ' +
      "c.securityContext.capabilities.drop.exists(d, d.upperAscii() == 'ALL') && " +
      "(!has(c.securityContext.capabilities.add) || c.securityContext.capabilities.add.all(a, a.upperAscii() == 'NET_BIND_SERVICE')))",
    detail: 'every container must drop ALL capabilities and add back NET_BIND_SERVICE at most',
  },
  'HCB-WORKLOAD-SECCOMP': {
    target: 'workloads',
    expression: (() => {
      const p = effective('seccompProfile');
      return `variables.containers.all(c, (${p.set}) && has(${p.value}.type) && ${p.value}.type in ['RuntimeDefault', 'Localhost'])`;
    })(),
    detail: 'every container must run with a RuntimeDefault or Localhost seccomp profile (container or pod securityContext)',
  },
  'HCB-WORKLOAD-RESOURCE-LIMITS': {
    target: 'workloads',
    // Decided on Pods, after the LimitRanger admission plugin has filled the namespace's defaults.
    expression:
      "object.kind != 'Pod' || variables.regularContainers.all(c, has(c.resources) && has(c.resources.limits) && 'cpu' in c.resources.limits && 'memory' in c.resources.limits)",
    detail: 'every container of a pod must have CPU and memory limits (directly or from a LimitRange default; decided on the Pod)',
  },
  'HCB-WORKLOAD-EPHEMERAL-STORAGE': {
    target: 'workloads',
    // Decided on Pods, after the LimitRanger has filled defaults and pod defaulting has copied limits into requests.
    expression:
      "object.kind != 'Pod' || variables.regularContainers.all(c, has(c.resources) && has(c.resources.limits) && 'ephemeral-storage' in c.resources.limits && " +
      "has(c.resources.requests) && 'ephemeral-storage' in c.resources.requests)",
    detail: 'every container of a pod must have an ephemeral-storage request and limit (directly or from a LimitRange default; decided on the Pod)',
  },
  'HCB-WORKLOAD-IMAGE-DIGEST': {
    target: 'workloads',
    expression: "variables.containers.all(c, has(c.image) && c.image.matches('@(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$'))",
    detail: 'every container image must be pinned by digest (repository@sha256:…)',
    defaultMode: 'dry-run',
  },
  'HCB-WORKLOAD-SA-TOKEN-AUTOMOUNT': {
    target: 'workloads',
    // On a Pod the ServiceAccount admission plugin has already added the token volume
    // (kube-api-access-…) when pod and service account leave automounting on.
    expression:
      "has(variables.podSpec.automountServiceAccountToken) ? variables.podSpec.automountServiceAccountToken == false : " +
      "(object.kind != 'Pod' || !has(variables.podSpec.volumes) || !variables.podSpec.volumes.exists(v, v.name.startsWith('kube-api-access-')))",
    detail: 'the pod may not mount a service account token (automountServiceAccountToken: false on the pod or its ServiceAccount)',
  },
  'HCB-WORKLOAD-DEDICATED-SERVICE-ACCOUNT': {
    target: 'workloads',
    expression:
      "(has(variables.podSpec.serviceAccountName) && variables.podSpec.serviceAccountName != '' ? variables.podSpec.serviceAccountName : " +
      "(has(variables.podSpec.serviceAccount) && variables.podSpec.serviceAccount != '' ? variables.podSpec.serviceAccount : 'default')) != 'default'",
    detail: 'the pod must run under its own service account, not "default"',
  },
  'HCB-WORKLOAD-PROBES': {
    target: 'workloads',
    expression:
      "object.kind in ['Job', 'CronJob'] || (has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists(o, o.kind == 'Job')) || " +
      '!has(variables.podSpec.containers) || variables.podSpec.containers.all(c, has(c.livenessProbe) && has(c.readinessProbe))',
    detail: 'every long-running container must define livenessProbe and readinessProbe (Jobs, CronJobs and the pods a Job creates are left out)',
  },
  'HCB-WORKLOAD-NO-DASHBOARD': {
    target: 'workloads',
    expression:
      "variables.containers.all(c, !has(c.image) || !c.image.matches('(^|/)kubernetesui/dashboard|(^|/)kubernetes-dashboard(:|@|$)')) && " +
      "(!has(object.metadata.name) || object.metadata.name != 'kubernetes-dashboard') && " +
      [
        'has(object.metadata.labels) ? object.metadata.labels : {\'\': \'\'}',
        'variables.podLabels',
      ]
        .map(
          (l) =>
            `!((${l}).exists(k, (k == 'k8s-app' && (${l})[k] == 'kubernetes-dashboard') || (k == 'app.kubernetes.io/part-of' && (${l})[k] == 'kubernetes-dashboard') || ` +
            `(k == 'app.kubernetes.io/name' && (${l})[k].matches('^kubernetes-dashboard(-|$)'))))`,
        )
        .join(' && '),
    detail: 'the Kubernetes Dashboard (kubernetesui/dashboard image, a workload named kubernetes-dashboard, or its k8s-app / app.kubernetes.io labels) may not be deployed',
  },
  'HCB-RBAC-NO-WILDCARDS': {
    target: 'roles',
    expression: roleRule('wildcards'),
    detail: 'no rule may use a wildcard in apiGroups, resources, verbs or nonResourceURLs',
  },
  'HCB-RBAC-NO-ESCALATION-VERBS': {
    target: 'roles',
    expression: roleRule('escalation'),
    detail: 'no rule may grant escalate, bind or impersonate (spelled out or through verb "*")',
  },
  'HCB-RBAC-SECRETS-READ': {
    target: 'roles',
    expression: roleRule('secretsRead'),
    detail: 'no rule may grant get, list or watch on Secrets (get on named Secrets only is allowed)',
  },
  'HCB-RBAC-PERSISTENT-VOLUMES': {
    target: 'roles',
    expression: roleRule('persistentVolumeWrite'),
    detail: 'no rule may grant create, update, patch or delete on PersistentVolumes',
  },
  'HCB-RBAC-NETWORK-POLICY-WRITE': {
    target: 'roles',
    expression: roleRule('networkPolicyWrite'),
    detail: 'no rule may grant create, update, patch or delete on NetworkPolicies',
  },
  'HCB-RBAC-CLUSTER-ADMIN-BINDINGS': {
    target: 'bindings',
    expression: `!(object.roleRef.kind == 'ClusterRole' && object.roleRef.name == 'cluster-admin') || ${SUBJECTS}.all(s, s.kind == 'Group' && s.name in ['system:masters', 'kubeadm:cluster-admins'])`,
    detail: 'cluster-admin may be bound only to the groups system:masters and kubeadm:cluster-admins',
  },
  'HCB-RBAC-DEFAULT-SA-UNBOUND': {
    target: 'bindings',
    expression: `${SUBJECTS}.all(s, !(s.kind == 'ServiceAccount' && s.name == 'default'))`,
    detail: 'no binding may name a default service account',
  },
  'HCB-RBAC-BROAD-GROUP-BINDINGS': {
    target: 'bindings',
    // Admission cannot read the bound role: only the API server's read-only built-in roles may
    // reach broad groups (stricter than the synth check, which reads custom roles in its input).
    expression:
      `!${SUBJECTS}.exists(s, ${BROAD_SUBJECT}) || ` +
      `(object.roleRef.kind == 'ClusterRole' && object.roleRef.name in ${celList(READ_ONLY_BUILTIN_ROLES)}) || ` +
      `(object.roleRef.kind == 'Role' && request.namespace + '/' + object.roleRef.name in ${celList(READ_ONLY_BUILTIN_NAMESPACED_ROLES)})`,
    detail:
      'system:authenticated, system:unauthenticated, system:anonymous and system:serviceaccounts[:<ns>] may be bound only to the read-only built-in roles (admission cannot read a custom role)',
  },
};

/** Ids of the catalogue controls this construct can enforce, in rendering order. */
export const ADMISSION_POLICY_CONTROLS: readonly string[] = Object.keys(RULES);

/** Which objects each enforced control's policy matches (for tests and documentation). */
export function admissionRuleTarget(controlId: string): RuleTarget | undefined {
  return RULES[controlId]?.target;
}

const OPERATIONS = ['CREATE', 'UPDATE'];
const MATCH_RESOURCE_RULES: Record<RuleTarget, Array<Record<string, string[]>>> = {
  workloads: [
    { apiGroups: [''], apiVersions: ['v1'], operations: OPERATIONS, resources: ['pods', 'pods/ephemeralcontainers', 'replicationcontrollers'] },
    { apiGroups: ['apps'], apiVersions: ['v1'], operations: OPERATIONS, resources: ['daemonsets', 'deployments', 'replicasets', 'statefulsets'] },
    { apiGroups: ['batch'], apiVersions: ['v1'], operations: OPERATIONS, resources: ['cronjobs', 'jobs'] },
  ],
  roles: [{ apiGroups: [RBAC_GROUP], apiVersions: ['v1'], operations: OPERATIONS, resources: ['roles', 'clusterroles'] }],
  bindings: [{ apiGroups: [RBAC_GROUP], apiVersions: ['v1'], operations: OPERATIONS, resources: ['rolebindings', 'clusterrolebindings'] }],
};

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** 'enforce': reject and audit (validationActions Deny, Audit); 'dry-run': warn the client and audit only. */
export type AdmissionPolicyMode = 'enforce' | 'dry-run';

export interface CatalogueAdmissionPoliciesProps {
  /**
   * Which controls to enforce (ids from ADMISSION_POLICY_CONTROLS).
   * @default - all of ADMISSION_POLICY_CONTROLS
   */
  readonly controls?: string[];
  /**
   * 'enforce' binds with validationActions [Deny, Audit]; 'dry-run' with [Warn, Audit], so a new
   * policy can be watched before it rejects anything. Given, it applies to every control `modes`
   * does not name.
   * @default 'enforce' (HCB-WORKLOAD-IMAGE-DIGEST: 'dry-run')
   */
  readonly mode?: AdmissionPolicyMode;
  /**
   * Per control (ids from ADMISSION_POLICY_CONTROLS), a mode other than `mode`; without either,
   * every control enforces except HCB-WORKLOAD-IMAGE-DIGEST, which starts in 'dry-run' (the
   * constructs still render images by tag, with a warning). Roll a new policy
   * out in 'dry-run' (Warn, Audit) while the others deny, or keep one in 'dry-run' while the
   * workloads it would reject are fixed.
   * @default - every control in `mode`
   */
  readonly modes?: Readonly<Record<string, AdmissionPolicyMode>>;
  /**
   * Reviewed exceptions (the same objects `hcb audit --exceptions` reads). An exception for an
   * enforced control scoped to one namespace (`scope: { namespace }`) excludes that namespace
   * from the control's binding; one with an empty scope leaves the control unbound. Exceptions
   * for other controls are ignored. Any other scope cannot be expressed exactly at admission and
   * fails construction, as does an expired exception.
   * @default - none
   */
  readonly exceptions?: readonly ControlException[];
  /**
   * Namespaces excluded from every binding. 'default' is refused (use an exception).
   * @default ADMISSION_SYSTEM_NAMESPACES (kube-node-lease, kube-public, kube-system)
   */
  readonly systemNamespaces?: string[];
  /**
   * Date (YYYY-MM-DD, UTC) against which exception expiry is checked.
   * @default - today (UTC)
   */
  readonly evaluationDate?: string;
}

/** What was rendered for one control. */
export interface RenderedAdmissionPolicy {
  readonly control: string;
  readonly policyName: string;
  /** Namespaces excluded by exceptions (sorted); empty when none. */
  readonly exceptedNamespaces: readonly string[];
  /** False when an exception with an empty scope accepts the control everywhere (nothing rendered). */
  readonly bound: boolean;
}

/** Human-readable framework IDs of a control, e.g. "STIG V-242415, CIS 5.4.1, BSI APP.4.4.A2". */
function frameworkText(control: Control): string {
  return FRAMEWORKS.filter((f) => (control.frameworks[f] ?? []).length > 0)
    .map((f) => `${f.toUpperCase()} ${(control.frameworks[f] ?? []).join(' ')}`)
    .join(', ');
}

function frameworkAnnotation(control: Control): string {
  return FRAMEWORKS.flatMap((f) => (control.frameworks[f] ?? []).map((id) => `${f}:${id}`)).join(' ');
}

/** Policy (and binding) name of a control: 'hcb-' and the id in lower case without its 'HCB-' prefix. */
export function admissionPolicyName(controlId: string): string {
  return `hcb-${controlId.replace(/^HCB-/, '').toLowerCase()}`;
}

/**
 * ValidatingAdmissionPolicies (admissionregistration.k8s.io/v1) rendered from the control
 * catalogue: for each enforced control one policy (CEL over the pod spec of Pods and the pod
 * template of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs;
 * failurePolicy Fail; messages naming the control id and its framework IDs) and one binding
 * that leaves out the system namespaces and the namespaces reviewed exceptions name.
 */
export class CatalogueAdmissionPolicies extends Construct {
  public readonly mode: AdmissionPolicyMode;
  /** The mode each rendered control is bound in. */
  public readonly modes: Readonly<Record<string, AdmissionPolicyMode>>;
  public readonly policies: readonly RenderedAdmissionPolicy[];

  constructor(scope: Construct, id: string, props: CatalogueAdmissionPoliciesProps = {}) {
    super(scope, id);
    this.mode = props.mode ?? 'enforce';
    if (this.mode !== 'enforce' && this.mode !== 'dry-run') {
      throw new BlueprintPropError(this, 'mode', this.mode, "not an admission policy mode", "use 'enforce' or 'dry-run'");
    }
    const today = props.evaluationDate ?? new Date().toISOString().slice(0, 10);
    if (!ISO_DATE.test(today) || Number.isNaN(Date.parse(`${today}T00:00:00Z`))) {
      throw new BlueprintPropError(this, 'evaluationDate', today, 'not an ISO date', "write 'YYYY-MM-DD'");
    }

    const controls = props.controls ?? [...ADMISSION_POLICY_CONTROLS];
    if (controls.length === 0) {
      throw new BlueprintPropError(this, 'controls', controls, 'no control to enforce', 'name at least one control, or leave the construct out');
    }
    const seenControls = new Set<string>();
    controls.forEach((c, i) => {
      if (!RULES[c]) {
        throw new BlueprintPropError(this, `controls[${i}]`, c, 'not a control this construct can enforce at admission', `use one of ${ADMISSION_POLICY_CONTROLS.join(', ')}`);
      }
      if (seenControls.has(c)) throw new BlueprintPropError(this, `controls[${i}]`, c, 'the control is given twice', 'name each control once');
      seenControls.add(c);
    });

    const modes: Record<string, AdmissionPolicyMode> = {};
    for (const [c, m] of Object.entries(props.modes ?? {})) {
      if (!seenControls.has(c)) {
        throw new BlueprintPropError(this, `modes.${c}`, m, 'not a control this construct enforces', `name one of ${[...seenControls].join(', ')}`);
      }
      if (m !== 'enforce' && m !== 'dry-run') throw new BlueprintPropError(this, `modes.${c}`, m, 'not an admission policy mode', "use 'enforce' or 'dry-run'");
      modes[c] = m;
    }
    for (const c of seenControls) modes[c] ??= props.mode ?? RULES[c].defaultMode ?? this.mode;
    this.modes = modes;

    const system = props.systemNamespaces ?? [...ADMISSION_SYSTEM_NAMESPACES];
    system.forEach((ns, i) => {
      if (!isDnsLabel(ns)) throw new BlueprintPropError(this, `systemNamespaces[${i}]`, ns, 'not a namespace name (RFC 1123 label)', 'name an existing namespace');
      if (ns === 'default') {
        throw new BlueprintPropError(this, `systemNamespaces[${i}]`, ns, 'the default namespace is not a system namespace; excluding it would switch off HCB-NAMESPACE-NO-DEFAULT-OBJECTS', 'keep workloads out of default, or add a reviewed exception for the control');
      }
    });

    // Exceptions: namespace exclusions (or the whole control) per enforced control.
    const excepted = new Map<string, Set<string>>();
    const unbound = new Set<string>();
    const known = new Set(CATALOGUE.map((c) => c.id));
    (props.exceptions ?? []).forEach((e, i) => {
      const prop = `exceptions[${i}]`;
      const problems = validateException(e, known);
      if (problems.length > 0) {
        throw new BlueprintPropError(this, prop, e, problems.join('; '), 'give control (a catalogue id), scope, justification, owner and expires (YYYY-MM-DD)');
      }
      if (!seenControls.has(e.control)) return;
      const where = e.scope.namespace !== undefined ? `namespace "${e.scope.namespace}"` : 'every namespace';
      if (e.expires < today) {
        throw new BlueprintPropError(
          this,
          `${prop}.expires`,
          e.expires,
          `the exception for control ${e.control} in ${where} expired on ${e.expires} (checked on ${today}), so it no longer excludes anything from admission`,
          'renew it after review, or remove it and make the workloads compliant',
        );
      }
      const keys = Object.keys(e.scope).filter((k) => (e.scope as Record<string, unknown>)[k] !== undefined);
      if (keys.length === 0) {
        unbound.add(e.control);
        return;
      }
      if (keys.length !== 1 || keys[0] !== 'namespace') {
        throw new BlueprintPropError(
          this,
          `${prop}.scope`,
          e.scope,
          `the exception for control ${e.control} is scoped by ${keys.join(', ')}, which an admission binding cannot exclude exactly (pods created by a controller carry other names)`,
          'scope it to one namespace ({ namespace }), or set admission policies aside for this control',
        );
      }
      const ns = e.scope.namespace!;
      if (!isDnsLabel(ns)) throw new BlueprintPropError(this, `${prop}.scope.namespace`, ns, 'not a namespace name (RFC 1123 label)', 'name one namespace');
      const set = excepted.get(e.control) ?? new Set<string>();
      set.add(ns);
      excepted.set(e.control, set);
    });

    const rendered: RenderedAdmissionPolicy[] = [];
    for (const controlId of ADMISSION_POLICY_CONTROLS.filter((c) => seenControls.has(c))) {
      const control = CATALOGUE.find((c) => c.id === controlId);
      if (!control) throw new Error(`hcb: control ${controlId} is not in the catalogue`);
      const name = admissionPolicyName(controlId);
      const exceptedNamespaces = [...(excepted.get(controlId) ?? [])].sort();
      if (unbound.has(controlId)) {
        rendered.push({ control: controlId, policyName: name, exceptedNamespaces, bound: false });
        continue;
      }
      const rule = RULES[controlId];
      const labels = { [ADMISSION_CONTROL_LABEL]: controlId };
      const annotations = { [ADMISSION_CONTROL_LABEL]: controlId, [ADMISSION_FRAMEWORKS_ANNOTATION]: frameworkAnnotation(control) };
      const message = `${controlId} (${frameworkText(control)}): ${control.title}: ${rule.detail}. Fix: ${control.remediation}`;
      stampProvenance(
        new ApiObject(this, `${controlId}-policy`, {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingAdmissionPolicy',
          metadata: { name, labels, annotations },
          spec: {
            failurePolicy: 'Fail',
            matchConstraints: { resourceRules: MATCH_RESOURCE_RULES[rule.target].map((r) => ({ ...r })) },
            ...(rule.target === 'workloads' && rule.expression.includes('variables.') ? { variables: POD_SPEC_VARIABLES.map((v) => ({ ...v })) } : {}),
            validations: [{ expression: rule.expression, message, reason: 'Forbidden' }],
          },
        }),
      );
      stampProvenance(
        new ApiObject(this, `${controlId}-binding`, {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingAdmissionPolicyBinding',
          metadata: { name, labels, annotations },
          spec: {
            policyName: name,
            validationActions: modes[controlId] === 'enforce' ? ['Deny', 'Audit'] : ['Warn', 'Audit'],
            matchResources: {
              namespaceSelector: {
                matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: [...new Set([...system, ...exceptedNamespaces])].sort() }],
              },
            },
          },
        }),
      );
      rendered.push({ control: controlId, policyName: name, exceptedNamespaces, bound: true });
    }
    this.policies = rendered;
  }
}

import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { CATALOGUE } from '../../policies/catalogue';
import { POD_SPEC_VARIABLES } from '../../policies/checks/admission-cel';
import { BOOTSTRAP_CLUSTER_ROLES, BOOTSTRAP_ROLES } from '../../policies/checks/rbac-builtins';
import { RBAC_GROUP } from '../../policies/checks/rbac-rules';
import {
  remediationText,
  type AdmissionCel,
  type AdmissionPolicyMode as CatalogueAdmissionPolicyMode,
  type AdmissionTarget,
  type Control,
} from '../../policies/control';
import { validateException } from '../../policies/exceptions';
import { FRAMEWORKS, type ControlException } from '../../policies/model';
import { BlueprintPropError } from '../common/errors';
import { isDnsLabel } from '../tenant/names';
import { stampProvenance } from '../tenant/provenance';

/** Label and annotation that carry the catalogue control id on every rendered object. */
export const ADMISSION_CONTROL_LABEL = 'hcb.dev/control';
/** Label of a grouped policy and its binding: its target and mode, e.g. "workloads-enforce". */
export const ADMISSION_GROUP_LABEL = 'hcb.dev/control-group';
/** Annotation of a grouped policy and its binding: the ids of its controls, space-separated, in catalogue order. */
export const ADMISSION_CONTROLS_ANNOTATION = 'hcb.dev/controls';
/** Annotation with the control's framework IDs, e.g. "stig:V-242415 cis:5.4.1 bsi:APP.4.4.A2". */
export const ADMISSION_FRAMEWORKS_ANNOTATION = 'hcb.dev/frameworks';

/** Namespaces no binding applies to: they belong to the control plane and the provider. */
export const ADMISSION_SYSTEM_NAMESPACES: readonly string[] = ['kube-node-lease', 'kube-public', 'kube-system'];

/** Bootstrap role names the built-in lists know (for the differential tests: rules decide only these by name). */
export const ADMISSION_BUILTIN_ROLE_NAMES: {
  readonly clusterRoles: ReadonlySet<string>;
  readonly roles: Readonly<Record<string, ReadonlySet<string>>>;
} = {
  clusterRoles: BOOTSTRAP_CLUSTER_ROLES,
  roles: BOOTSTRAP_ROLES,
};

/**
 * The catalogue controls enforced at admission: those whose record has an `admission` part (its
 * CEL lives next to the check, in policies/catalogue), in catalogue order, each exactly as its
 * synth-time check decides for the objects the policy sees. Pod Security admission already rejects privileged
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
const ADMISSION_RECORDS: ReadonlyMap<string, AdmissionCel> = new Map(
  CATALOGUE.flatMap((c) =>
    c.automation === 'automated' && c.admission ? [[c.id, c.admission] as [string, AdmissionCel]] : [],
  ),
);

/** Ids of the catalogue controls this construct can enforce, in rendering order (catalogue order). */
export const ADMISSION_POLICY_CONTROLS: readonly string[] = Object.freeze([...ADMISSION_RECORDS.keys()]);

/** Which objects each enforced control's policy matches (for tests and documentation). */
export function admissionRuleTarget(controlId: string): AdmissionTarget | undefined {
  return ADMISSION_RECORDS.get(controlId)?.target;
}

const OPERATIONS = ['CREATE', 'UPDATE'];
const MATCH_RESOURCE_RULES: Record<AdmissionTarget, Array<Record<string, string[]>>> = {
  workloads: [
    {
      apiGroups: [''],
      apiVersions: ['v1'],
      operations: OPERATIONS,
      resources: ['pods', 'pods/ephemeralcontainers', 'replicationcontrollers'],
    },
    {
      apiGroups: ['apps'],
      apiVersions: ['v1'],
      operations: OPERATIONS,
      resources: ['daemonsets', 'deployments', 'replicasets', 'statefulsets'],
    },
    { apiGroups: ['batch'], apiVersions: ['v1'], operations: OPERATIONS, resources: ['cronjobs', 'jobs'] },
  ],
  roles: [
    { apiGroups: [RBAC_GROUP], apiVersions: ['v1'], operations: OPERATIONS, resources: ['roles', 'clusterroles'] },
  ],
  bindings: [
    {
      apiGroups: [RBAC_GROUP],
      apiVersions: ['v1'],
      operations: OPERATIONS,
      resources: ['rolebindings', 'clusterrolebindings'],
    },
  ],
};

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** 'enforce': reject and audit (validationActions Deny, Audit); 'dry-run': warn the client and audit only. */
export type AdmissionPolicyMode = CatalogueAdmissionPolicyMode;

/**
 * 'grouped': one policy and binding for all controls of the same target (workloads, roles,
 * bindings) and mode, one validation per control; 'per-control': one policy and binding per
 * control. The verdicts are the same: every validation keeps its control's expression and message.
 */
export type AdmissionPolicyLayout = 'grouped' | 'per-control';

export interface CatalogueAdmissionPoliciesProps {
  /**
   * 'grouped' renders one ValidatingAdmissionPolicy per target and mode (at most six, four by
   * default) holding one validation per control; 'per-control' one policy per control (28),
   * which lets the API server's per-policy metrics count each control apart. The API server turns
   * the object into its CEL form once per policy that matches it, so grouping costs it about a
   * tenth of the CPU per request (BENCHMARKS.md "Admission"). A control with a namespace exception
   * gets its own policy in either layout, since its binding leaves those namespaces out.
   * @default 'grouped'
   */
  readonly layout?: AdmissionPolicyLayout;
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
  /** The policy (and binding) holding the control's validation: its group's, or its own in 'per-control' or with an exception. */
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

/**
 * Policy (and binding) name of a group of controls in the 'grouped' layout: 'hcb-', the target's
 * plural and the mode, e.g. hcb-workloads-enforce, hcb-workloads-dry-run, hcb-roles-enforce.
 */
export function admissionGroupPolicyName(target: AdmissionTarget, mode: AdmissionPolicyMode): string {
  return `hcb-${target}-${mode}`;
}

/** Policy (and binding) name of a control: 'hcb-' and the id in lower case without its 'HCB-' prefix. */
export function admissionPolicyName(controlId: string): string {
  return `hcb-${controlId.replace(/^HCB-/, '').toLowerCase()}`;
}

/**
 * ValidatingAdmissionPolicies (admissionregistration.k8s.io/v1) rendered from the control
 * catalogue: for each enforced control one validation (CEL over the pod spec of Pods and the pod
 * template of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs; messages
 * naming the control id and its framework IDs), held by one policy per target and mode
 * ('grouped', the default) or per control ('per-control'), failurePolicy Fail, each with one
 * binding that leaves out the system namespaces and the namespaces reviewed exceptions name.
 */
export class CatalogueAdmissionPolicies extends Construct {
  public readonly mode: AdmissionPolicyMode;
  public readonly layout: AdmissionPolicyLayout;
  /** The mode each rendered control is bound in. */
  public readonly modes: Readonly<Record<string, AdmissionPolicyMode>>;
  public readonly policies: readonly RenderedAdmissionPolicy[];

  constructor(scope: Construct, id: string, props: CatalogueAdmissionPoliciesProps = {}) {
    super(scope, id);
    this.mode = props.mode ?? 'enforce';
    if (this.mode !== 'enforce' && this.mode !== 'dry-run') {
      throw new BlueprintPropError(
        this,
        'mode',
        this.mode,
        'not an admission policy mode',
        "use 'enforce' or 'dry-run'",
      );
    }
    this.layout = props.layout ?? 'grouped';
    if (this.layout !== 'grouped' && this.layout !== 'per-control') {
      throw new BlueprintPropError(
        this,
        'layout',
        this.layout,
        'not an admission policy layout',
        "use 'grouped' (one policy per target and mode) or 'per-control'",
      );
    }
    const today = props.evaluationDate ?? new Date().toISOString().slice(0, 10);
    if (!ISO_DATE.test(today) || Number.isNaN(Date.parse(`${today}T00:00:00Z`))) {
      throw new BlueprintPropError(this, 'evaluationDate', today, 'not an ISO date', "write 'YYYY-MM-DD'");
    }

    const controls = props.controls ?? [...ADMISSION_POLICY_CONTROLS];
    if (controls.length === 0) {
      throw new BlueprintPropError(
        this,
        'controls',
        controls,
        'no control to enforce',
        'name at least one control, or leave the construct out',
      );
    }
    const seenControls = new Set<string>();
    controls.forEach((c, i) => {
      if (!ADMISSION_RECORDS.get(c)) {
        throw new BlueprintPropError(
          this,
          `controls[${i}]`,
          c,
          'not a control this construct can enforce at admission',
          `use one of ${ADMISSION_POLICY_CONTROLS.join(', ')}`,
        );
      }
      if (seenControls.has(c))
        throw new BlueprintPropError(this, `controls[${i}]`, c, 'the control is given twice', 'name each control once');
      seenControls.add(c);
    });

    const modes: Record<string, AdmissionPolicyMode> = {};
    for (const [c, m] of Object.entries(props.modes ?? {})) {
      if (!seenControls.has(c)) {
        throw new BlueprintPropError(
          this,
          `modes.${c}`,
          m,
          'not a control this construct enforces',
          `name one of ${[...seenControls].join(', ')}`,
        );
      }
      if (m !== 'enforce' && m !== 'dry-run')
        throw new BlueprintPropError(
          this,
          `modes.${c}`,
          m,
          'not an admission policy mode',
          "use 'enforce' or 'dry-run'",
        );
      modes[c] = m;
    }
    for (const c of seenControls) modes[c] ??= props.mode ?? ADMISSION_RECORDS.get(c)!.defaultMode ?? this.mode;
    this.modes = modes;

    const system = props.systemNamespaces ?? [...ADMISSION_SYSTEM_NAMESPACES];
    system.forEach((ns, i) => {
      if (!isDnsLabel(ns))
        throw new BlueprintPropError(
          this,
          `systemNamespaces[${i}]`,
          ns,
          'not a namespace name (RFC 1123 label)',
          'name an existing namespace',
        );
      if (ns === 'default') {
        throw new BlueprintPropError(
          this,
          `systemNamespaces[${i}]`,
          ns,
          'the default namespace is not a system namespace; excluding it would switch off HCB-NAMESPACE-NO-DEFAULT-OBJECTS',
          'keep workloads out of default, or add a reviewed exception for the control',
        );
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
        throw new BlueprintPropError(
          this,
          prop,
          e,
          problems.join('; '),
          'give control (a catalogue id), scope, justification, owner and expires (YYYY-MM-DD)',
        );
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
      if (!isDnsLabel(ns))
        throw new BlueprintPropError(
          this,
          `${prop}.scope.namespace`,
          ns,
          'not a namespace name (RFC 1123 label)',
          'name one namespace',
        );
      const set = excepted.get(e.control) ?? new Set<string>();
      set.add(ns);
      excepted.set(e.control, set);
    });

    // One entry per bound control, in catalogue order; then the policies, one per group.
    interface Entry {
      readonly controlId: string;
      readonly control: Control;
      readonly rule: AdmissionCel;
      readonly mode: AdmissionPolicyMode;
      readonly exceptedNamespaces: readonly string[];
    }
    const rendered: RenderedAdmissionPolicy[] = [];
    const groups = new Map<string, Entry[]>();
    for (const controlId of ADMISSION_POLICY_CONTROLS.filter((c) => seenControls.has(c))) {
      const control = CATALOGUE.find((c) => c.id === controlId);
      if (!control) throw new Error(`hcb: control ${controlId} is not in the catalogue`);
      const exceptedNamespaces = [...(excepted.get(controlId) ?? [])].sort();
      if (unbound.has(controlId)) {
        rendered.push({
          control: controlId,
          policyName: admissionPolicyName(controlId),
          exceptedNamespaces,
          bound: false,
        });
        continue;
      }
      const rule = ADMISSION_RECORDS.get(controlId)!;
      const mode = modes[controlId];
      // A control whose binding leaves out namespaces of its own needs a binding of its own.
      const key =
        this.layout === 'per-control' || exceptedNamespaces.length > 0
          ? `control ${controlId}`
          : `group ${rule.target} ${mode}`;
      groups.set(key, [...(groups.get(key) ?? []), { controlId, control, rule, mode, exceptedNamespaces }]);
    }

    for (const [key, entries] of groups) {
      const first = entries[0];
      const single = key.startsWith('control ');
      const name = single
        ? admissionPolicyName(first.controlId)
        : admissionGroupPolicyName(first.rule.target, first.mode);
      const ids = entries.map((e) => e.controlId);
      const labels: Record<string, string> = single
        ? { [ADMISSION_CONTROL_LABEL]: first.controlId }
        : { [ADMISSION_GROUP_LABEL]: `${first.rule.target}-${first.mode}` };
      const annotations: Record<string, string> = single
        ? { [ADMISSION_CONTROL_LABEL]: first.controlId }
        : { [ADMISSION_CONTROLS_ANNOTATION]: ids.join(' ') };
      annotations[ADMISSION_FRAMEWORKS_ANNOTATION] = [
        ...new Set(entries.flatMap((e) => frameworkAnnotation(e.control).split(' ').filter(Boolean))),
      ].join(' ');
      const usesVariables =
        first.rule.target === 'workloads' && entries.some((e) => e.rule.expression.includes('variables.'));
      const validations = entries.map((e) => ({
        expression: e.rule.expression,
        message: `${e.controlId} (${frameworkText(e.control)}): ${e.control.title}: ${e.rule.detail}. Fix: ${remediationText(e.control.remediation)}`,
        reason: 'Forbidden',
      }));
      const idBase = single ? first.controlId : `${first.rule.target}-${first.mode}`;
      stampProvenance(
        new ApiObject(this, `${idBase}-policy`, {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingAdmissionPolicy',
          metadata: { name, labels, annotations },
          spec: {
            failurePolicy: 'Fail',
            matchConstraints: { resourceRules: MATCH_RESOURCE_RULES[first.rule.target].map((r) => ({ ...r })) },
            ...(usesVariables ? { variables: POD_SPEC_VARIABLES.map((v) => ({ ...v })) } : {}),
            validations,
          },
        }),
      );
      stampProvenance(
        new ApiObject(this, `${idBase}-binding`, {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingAdmissionPolicyBinding',
          metadata: { name, labels, annotations },
          spec: {
            policyName: name,
            validationActions: first.mode === 'enforce' ? ['Deny', 'Audit'] : ['Warn', 'Audit'],
            matchResources: {
              namespaceSelector: {
                matchExpressions: [
                  {
                    key: 'kubernetes.io/metadata.name',
                    operator: 'NotIn',
                    values: [...new Set([...system, ...first.exceptedNamespaces])].sort(),
                  },
                ],
              },
            },
          },
        }),
      );
      for (const e of entries)
        rendered.push({
          control: e.controlId,
          policyName: name,
          exceptedNamespaces: e.exceptedNamespaces,
          bound: true,
        });
    }
    // Report in catalogue order, whatever the grouping.
    const order = new Map(ADMISSION_POLICY_CONTROLS.map((c, i) => [c, i]));
    rendered.sort((a, b) => order.get(a.control)! - order.get(b.control)!);
    this.policies = rendered;
  }
}

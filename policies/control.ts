/**
 * A control of the catalogue: one requirement in our own words, its framework references, who
 * answers for it, and (for automated controls) a check over parsed input documents.
 *
 * Checks are pure functions of a CheckContext. They never decide what "missing input" means
 * by themselves returning nothing: a check that cannot see its subject returns a
 * `not-evaluated` result that says what was missing (the engine also turns an empty result
 * list into `not-evaluated`, never into `pass`).
 */
import {
  CheckPoint,
  Document,
  FrameworkRefs,
  KubeObject,
  NodeFile,
  ObjectRef,
  Responsibility,
  Severity,
  Status,
} from './model';

export type Automation = 'automated' | 'manual' | 'organisational';
export const AUTOMATIONS: readonly Automation[] = ['automated', 'manual', 'organisational'];

/** What a control's ValidatingAdmissionPolicy matches: pods and workload controllers, roles, or bindings. */
export type AdmissionTarget = 'workloads' | 'roles' | 'bindings';
export const ADMISSION_TARGETS: readonly AdmissionTarget[] = ['workloads', 'roles', 'bindings'];

/** How an admission policy is bound: 'enforce' (Deny, Audit) or 'dry-run' (Warn, Audit). */
export type AdmissionPolicyMode = 'enforce' | 'dry-run';

/**
 * The part of a control the API server runs at admission: CEL, as data. The check and this
 * expression decide the same way on every object the policy sees (test/unit/policies/
 * differential.test.ts, test/e2e/admission-differential.test.ts); constructs/admission renders it.
 */
export interface AdmissionCel {
  readonly target: AdmissionTarget;
  /** CEL: true when the object complies. Workload expressions may use the variables of checks/admission-cel.ts POD_SPEC_VARIABLES. */
  readonly expression: string;
  /** What the rule enforces (the message's detail after the control's title). */
  readonly detail: string;
  /**
   * The mode the control starts in when the construct's `modes` and `mode` say nothing. Only
   * where the blueprint's own constructs still accept what the rule rejects.
   */
  readonly defaultMode?: AdmissionPolicyMode;
}

/**
 * One step of a remediation: the construct and the prop to change, and what to do. `construct`
 * is a class or props interface the package exports (e.g. 'HardenedControlPlane',
 * 'KubeletConfiguration'); `prop` a path in its props (`apiServer.extraArgs`,
 * `containers[].image`; `[]` for list items), or several. A step outside the constructs (a host
 * setting, an organisational duty) has text only.
 */
export interface RemediationStep {
  readonly construct?: string;
  readonly prop?: string | readonly string[];
  /**
   * What to do, in words. With a prop it is read after "<construct> prop <prop>: "; without one it
   * is a whole sentence that names the construct ("HardenedWorkload renders no hostPath volume.").
   */
  readonly text: string;
}

/** A control's remediation: one step or several, in order. */
export type Remediation = RemediationStep | readonly RemediationStep[];

/** The steps of a remediation (a plain text is one step without construct). */
export function remediationSteps(r: Remediation | string | undefined): RemediationStep[] {
  if (r === undefined) return [];
  if (typeof r === 'string') return [{ text: r }];
  return isStepList(r) ? [...r] : [r];
}

function isStepList(r: Remediation): r is readonly RemediationStep[] {
  return Array.isArray(r);
}

/** The props of a step as a list. */
export function stepProps(step: RemediationStep): string[] {
  if (step.prop === undefined) return [];
  return typeof step.prop === 'string' ? [step.prop] : [...step.prop];
}

function listText(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** One step as a sentence: "HardenedControlPlane prop apiServer.extraArgs: remove 'token-auth-file'." */
export function stepText(step: RemediationStep): string {
  const props = stepProps(step);
  // Without a prop the text is the whole sentence, and names the construct itself.
  if (step.construct === undefined || props.length === 0) return step.text;
  return `${step.construct} prop${props.length > 1 ? 's' : ''} ${listText(props)}: ${step.text}`;
}

/** The whole remediation as the text reports print after "fix:". */
export function remediationText(r: Remediation | string | undefined): string {
  return remediationSteps(r).map(stepText).join(' ');
}

interface ControlCommon {
  /** Stable, ours, e.g. 'HCB-APISERVER-ANONYMOUS-AUTH'. Never renamed once released. */
  id: string;
  title: string;
  rationale: string;
  severity: Severity;
  frameworks: FrameworkRefs;
  responsibility: Responsibility;
  /**
   * What to change: the construct, its prop and what to do, e.g.
   * `{ construct: 'HardenedControlPlane', prop: 'apiServer.anonymousAuth', text: "'disabled'." }`,
   * or several steps. A test resolves every construct and prop against the package's types.
   */
  remediation: Remediation;
}

/**
 * A control something checks: its check (hcb audit, the policy pack, hcb verify), and where it is
 * also checked elsewhere. Its checkpoints are derived from these parts (checkpointsOf), never written.
 */
export interface AutomatedControlRecord extends ControlCommon {
  automation: 'automated';
  check: (ctx: CheckContext) => CheckResult[];
  /** Set when the check's input exists only on a running cluster (hcb verify writes it): why. Then it is no synth checkpoint. */
  liveOnly?: string;
  /** The CEL a ValidatingAdmissionPolicy runs for it (constructs/admission/catalogue-admission-policies.ts). */
  admission?: AdmissionCel;
  /** Names of the behavioural probes `hcb verify` runs for it (implemented in stacks/local/verify.ts and verify-node.ts). */
  probes?: readonly string[];
  checkpoints?: never;
  evidence?: never;
}

/** A control a person answers for: the evidence the blueprint gives, and where it is looked at. */
export interface ReviewedControlRecord extends ControlCommon {
  automation: 'manual' | 'organisational';
  /** The evidence the blueprint gives. */
  evidence: string;
  /** Where the evidence is looked at (nothing runs, so this is declared). */
  checkpoints: readonly CheckPoint[];
  check?: never;
  liveOnly?: never;
  admission?: never;
  probes?: never;
}

/** What a catalogue file writes. */
export type ControlRecord = AutomatedControlRecord | ReviewedControlRecord;

/** An automated control of the catalogue: its record with the checkpoints derived from it. */
export type AutomatedControl = Omit<AutomatedControlRecord, 'checkpoints'> & {
  readonly checkpoints: readonly CheckPoint[];
};
/** A control of the catalogue (CATALOGUE): automated ones always have a check. */
export type CatalogueControl = AutomatedControl | ReviewedControlRecord;

/**
 * What the engine, the reports and coverage accept: a catalogue control, or one a library user
 * builds (the engine reports an automated control without a check as an error, so this shape
 * stays open).
 */
export interface Control {
  id: string;
  title: string;
  rationale: string;
  severity: Severity;
  frameworks: FrameworkRefs;
  /** Where the control is checked (for catalogue controls: derived, see checkpointsOf). */
  readonly checkpoints: readonly CheckPoint[];
  responsibility: Responsibility;
  automation: Automation;
  /** For manual and organisational controls: the evidence the blueprint gives. */
  evidence?: string;
  /** Structured (catalogue controls always are), or a plain text for a control a library user writes. */
  remediation: Remediation | string;
  /** Present exactly when automation is 'automated'. */
  check?: (ctx: CheckContext) => CheckResult[];
  liveOnly?: string;
  admission?: AdmissionCel;
  probes?: readonly string[];
}

/**
 * Where an automated control is checked, from what its record has: 'synth' unless its input is
 * live-only, 'admission' with an admission CEL, 'live' always (hcb verify runs every check), 'probe'
 * with probes.
 */
export function checkpointsOf(record: AutomatedControlRecord): CheckPoint[] {
  const out: CheckPoint[] = [];
  if (record.liveOnly === undefined) out.push('synth');
  if (record.admission) out.push('admission');
  out.push('live');
  if ((record.probes ?? []).length > 0) out.push('probe');
  return out;
}

/** The catalogue's view of a record: automated controls get their derived checkpoints. */
export function toControl(record: ControlRecord): CatalogueControl {
  if (record.automation !== 'automated') return record;
  const { checkpoints: _none, ...rest } = record;
  return { ...rest, checkpoints: Object.freeze(checkpointsOf(record)) };
}

/** One result of one check on one subject. */
export interface CheckResult {
  status: Status;
  object?: ObjectRef;
  message: string;
}

/** The Kubernetes control-plane components whose command-line flags checks read. */
export type ComponentName = 'kube-apiserver' | 'etcd' | 'kube-controller-manager' | 'kube-scheduler';
export const COMPONENT_NAMES: readonly ComponentName[] = [
  'kube-apiserver',
  'etcd',
  'kube-controller-manager',
  'kube-scheduler',
];

/** Where a flag value came from. */
export type FlagOrigin =
  /** Written in a static pod manifest's command/args. */
  | 'static-pod'
  /** Written in a kubeadm ClusterConfiguration's extraArgs. */
  | 'extraArgs'
  /** Not written by the user: kubeadm adds it when it renders the static pod. */
  | 'kubeadm-default'
  /** etcd only: an ETCD_<NAME> environment variable of the container (read for flags not on the command line). */
  | 'environment';

/**
 * The effective value of one flag: every occurrence combined and parsed by the flag's type
 * (policies/flags/table.ts), e.g. a repeated --authorization-mode appended, repeated
 * --feature-gates merged, a boolean read with strconv.ParseBool.
 */
export interface FlagValue {
  /** The pflag type the component registers the flag with. */
  type: import('./flags/table').FlagType;
  /** Every value given, in command-line order. */
  values: string[];
  /** The effective value in the flag's own syntax (lists joined with ',', maps as key=value, else the last value). */
  value: string;
  /** stringSlice / stringArray: every item, appended over the occurrences. */
  list?: string[];
  /** Map flags (feature gates, runtime-config): key → raw value, later keys win. */
  map?: ReadonlyMap<string, string>;
  bool?: boolean;
  int?: number;
  /** duration flags: seconds. */
  seconds?: number;
  /** Why the component refuses this value (it does not start); undefined when it accepts it. */
  invalid?: string;
  /** Where the last occurrence came from. */
  origin: FlagOrigin;
  /** How many times the flag is given (after kubeadm merged its defaults). */
  count: number;
}

/**
 * The flags of one instance of a control-plane component, from either a kubeadm
 * ClusterConfiguration (extraArgs on top of the flags kubeadm itself always adds) or a
 * static pod manifest (the container command and args, also through `sh -c`). The same check
 * works on both.
 */
export interface ComponentConfig {
  component: ComponentName;
  source: 'kubeadm' | 'static-pod';
  /** Flag name (without dashes, as the component normalizes it) → its effective value. */
  flags: ReadonlyMap<string, FlagValue>;
  /** The document the flags were read from. */
  document: Document;
  /** Reference to use in results. */
  ref: ObjectRef;
  /** Effective flag value in the flag's own syntax, or undefined when the flag is not set. */
  flag(name: string): string | undefined;
  /** The typed effective value, or undefined when the flag is not set. */
  effective(name: string): FlagValue | undefined;
  /** Items of a list flag (appended over repetitions); [] when not set. */
  list(name: string): string[];
  /** Why the component would refuse its command line as a whole (stray arguments, bad syntax). */
  problems: readonly string[];
  /**
   * Set when the flags cannot be read without running the container (a shell script with
   * expansions, several commands, …): the reason. Checks report not-evaluated for it.
   */
  unreadable?: string;
  /** Human-readable location of a flag, e.g. "static pod kube-system/kube-apiserver" or "ClusterConfiguration apiServer.extraArgs". */
  describe(name?: string): string;
}

/** A node file manifest entry with the document it came from. */
export interface NodeFileEntry {
  file: NodeFile;
  /** Mode as a number, or undefined when the manifest's mode could not be read. */
  mode: number | undefined;
  document: Document;
  ref: ObjectRef;
}

/** A pod template found in a workload object (Pod, Deployment, …, CronJob). */
export interface PodSubject {
  document: Document;
  /** The workload object (not the template). */
  object: KubeObject;
  kind: string;
  namespace: string | undefined;
  name: string | undefined;
  /** The pod spec (`spec`, `spec.template.spec` or `spec.jobTemplate.spec.template.spec`). */
  spec: Record<string, unknown>;
  /** The pod template's metadata (annotations, labels), or the Pod's own metadata. */
  podMetadata: Record<string, unknown>;
  ref: ObjectRef;
  /** True for the control-plane static pods (kube-apiserver, etcd, …) in kube-system. */
  controlPlane: boolean;
}

/** A container of a pod spec, with its kind. */
export interface ContainerSubject {
  container: Record<string, unknown>;
  name: string;
  type: 'container' | 'initContainer' | 'ephemeralContainer';
}

export interface CheckContext {
  /** Every input document, in input order. */
  readonly documents: readonly Document[];
  /** Documents of a kind; `apiVersion` may be a full apiVersion or a group ('audit.k8s.io'). */
  byKind(kind: string, apiVersion?: string): Document[];
  /** Reference to a document for results. */
  ref(doc: Document): ObjectRef;
  /** Control-plane component configurations found in the input. */
  components(name: ComponentName): ComponentConfig[];
  /** Entries of every NodeFileManifest in the input. */
  readonly nodeFiles: readonly NodeFileEntry[];
  /** True when at least one NodeFileManifest is in the input (it may list no files). */
  readonly hasNodeFileManifest: boolean;
  /** Pod templates of every workload in the input. */
  readonly pods: readonly PodSubject[];
  /** Namespaces declared in the input (Namespace objects). */
  readonly namespaces: readonly Document[];
}

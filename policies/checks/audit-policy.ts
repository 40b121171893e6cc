/**
 * Audit policy semantics (audit.k8s.io/v1 Policy), as the API server applies them
 * (k8s.io/apiserver pkg/audit/policy/checker.go and reader.go, v0.36):
 * - the FIRST rule that matches decides the level; no matching rule means None;
 * - a rule matches when each of its non-empty selectors matches: users (user name), userGroups
 *   (any of the user's groups), verbs; then, if it names namespaces or resources, only resource
 *   requests (namespace '' for cluster-scoped objects and all-namespace lists; group '' core or
 *   '*' any; resource 'pods', 'pods/log', '*' anything, '*\/log' that subresource of any resource,
 *   'pods/*' pods and every subresource of it; resourceNames only where resources are listed),
 *   else, if it names nonResourceURLs, only non-resource requests ('*' any path, a trailing '*'
 *   a prefix); a rule with no selector matches everything;
 * - the stages a request is recorded at: every stage except the union of the policy's
 *   omitStages and the matching rule's omitStages (the outcome of a request is only in the
 *   ResponseComplete event, or the Panic event when its handler crashed);
 * - the policy must be audit.k8s.io/v1, have at least one rule and pass validation, or the API
 *   server refuses to start.
 * Checks replay representative requests through the rules instead of looking for keywords.
 */
import { asArray, asDicts, asString, asStrings, Dict, isDict } from '../util/values';

export type AuditLevel = 'None' | 'Metadata' | 'Request' | 'RequestResponse';
export const AUDIT_LEVELS: readonly AuditLevel[] = ['None', 'Metadata', 'Request', 'RequestResponse'];
export const AUDIT_STAGES = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'] as const;
/** The stages that carry a request's outcome: omitting one loses the result of the request. */
export const COMPLETION_STAGES: readonly string[] = ['ResponseComplete', 'Panic'];

export interface AuditRequest {
  user: string;
  groups: readonly string[];
  verb: string;
  /** Resource request: API group ('' for core), resource, optional subresource and name. */
  resource?: { group: string; resource: string; subresource?: string; name?: string };
  /** Namespace of a namespaced resource; '' for cluster-scoped ones and all-namespace lists. */
  namespace?: string;
  /** Non-resource request path, e.g. /healthz. */
  path?: string;
}

export interface AuditDecision {
  level: AuditLevel;
  /** 1-based index of the rule that matched; 0 when none did. */
  rule: number;
  /** Stages not recorded: the policy's omitStages and the matching rule's. */
  omitStages: string[];
}

const LIST_FIELDS = ['users', 'userGroups', 'verbs', 'namespaces', 'nonResourceURLs', 'omitStages'] as const;

function nonEmpty(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0;
}

/** A rule with its selectors read once (string lists as sets; undefined = no selector). */
interface CompiledRule {
  level: AuditLevel;
  users?: Set<string>;
  groups?: Set<string>;
  verbs?: Set<string>;
  namespaces?: Set<string>;
  resourceRule: boolean;
  resources?: Array<{ group: string; resources?: string[]; names?: Set<string> }>;
  urls?: string[];
  omitStages: string[];
}

const set = (v: unknown): Set<string> | undefined => (nonEmpty(v) ? new Set(asStrings(v)) : undefined);
const compiled = new WeakMap<Dict, CompiledRule[]>();

function compile(policy: Dict): CompiledRule[] {
  const hit = compiled.get(policy);
  if (hit) return hit;
  const global = asStrings(policy.omitStages);
  const rules = asDicts(policy.rules).map((rule): CompiledRule => {
    const level = asString(rule.level) as AuditLevel;
    return {
      level: AUDIT_LEVELS.includes(level) ? level : 'None',
      users: set(rule.users),
      groups: set(rule.userGroups),
      verbs: set(rule.verbs),
      namespaces: set(rule.namespaces),
      resourceRule: nonEmpty(rule.namespaces) || nonEmpty(rule.resources),
      resources: nonEmpty(rule.resources)
        ? asDicts(rule.resources).map((g) => ({
            group: asString(g.group) ?? '',
            resources: nonEmpty(g.resources) ? asStrings(g.resources) : undefined,
            names: set(g.resourceNames),
          }))
        : undefined,
      urls: nonEmpty(rule.nonResourceURLs) ? asStrings(rule.nonResourceURLs) : undefined,
      omitStages: [...new Set([...global, ...asStrings(rule.omitStages)])],
    };
  });
  compiled.set(policy, rules);
  return rules;
}

function matchesResource(rule: CompiledRule, req: AuditRequest): boolean {
  if (!req.resource) return false;
  if (rule.namespaces && !rule.namespaces.has(req.namespace ?? '')) return false;
  if (!rule.resources) return true;
  const { group, resource, subresource, name } = req.resource;
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const gr of rule.resources) {
    if (gr.group !== group && gr.group !== '*') continue;
    if (!gr.resources) return true;
    for (const res of gr.resources) {
      if (gr.names && !gr.names.has(name ?? '')) continue;
      if (res === combined || res === '*') return true;
      if (subresource && res.startsWith('*/') && res.slice(2) === subresource) return true;
      if (res.endsWith('/*') && res.slice(0, -2) === resource) return true;
    }
  }
  return false;
}

function pathMatches(path: string, spec: string): boolean {
  if (spec === '*' || spec === path) return true;
  return spec.endsWith('*') && path.startsWith(spec.replace(/\*+$/, ''));
}

function compiledMatches(rule: CompiledRule, req: AuditRequest): boolean {
  if (rule.users && !rule.users.has(req.user)) return false;
  if (rule.groups && !req.groups.some((g) => rule.groups!.has(g))) return false;
  if (rule.verbs && !rule.verbs.has(req.verb)) return false;
  if (rule.resourceRule) return matchesResource(rule, req);
  if (rule.urls) return !req.resource && req.path !== undefined && rule.urls.some((s) => pathMatches(req.path!, s));
  return true;
}

/** Does the rule apply to the request? */
export function ruleMatches(rule: Dict, req: AuditRequest): boolean {
  return compiledMatches(compile({ rules: [rule] })[0], req);
}

/** The level and stages the policy records a request at, and which rule decided it. */
export function auditLevelFor(policy: Dict, req: AuditRequest): AuditDecision {
  const rules = compile(policy);
  for (let i = 0; i < rules.length; i++) {
    if (compiledMatches(rules[i], req)) return { level: rules[i].level, rule: i + 1, omitStages: rules[i].omitStages };
  }
  return { level: 'None', rule: 0, omitStages: asStrings(policy.omitStages) };
}

/** The completion stages (ResponseComplete, Panic) the decision does not record. */
export function omittedCompletion(d: AuditDecision): string[] {
  return COMPLETION_STAGES.filter((s) => d.omitStages.includes(s));
}

/** True when the request leaves a record with its outcome at a level in `levels`. */
export function recordedAt(d: AuditDecision, levels: readonly AuditLevel[]): boolean {
  return levels.includes(d.level) && d.level !== 'None' && omittedCompletion(d).length === 0;
}

/** Describes the rule that decided, e.g. "rule 1 (level: None, matches every request)". */
export function describeRule(policy: Dict, d: AuditDecision): string {
  if (d.rule === 0) return 'no rule matches, so nothing is logged';
  const r = asDicts(policy.rules)[d.rule - 1];
  const filters = ['users', 'userGroups', 'verbs', 'resources', 'namespaces', 'nonResourceURLs'].filter((k) =>
    nonEmpty(r[k]),
  );
  return `rule ${d.rule} (level: ${String(r.level)}, ${filters.length === 0 ? 'matches every request' : `filters on ${filters.join(', ')}`})`;
}

/** Why the request is not recorded as wanted: the level, or the stages the rule leaves out. */
export function explain(policy: Dict, d: AuditDecision): string {
  const omitted = omittedCompletion(d);
  if (d.level !== 'None' && omitted.length > 0) {
    return `logged at ${d.level} but without the ${omitted.join(' and ')} stage${omitted.length > 1 ? 's' : ''} (omitStages), so no record carries its outcome: ${describeRule(policy, d)}`;
  }
  return `logged at ${d.level}: ${describeRule(policy, d)}`;
}

/**
 * Why the API server would refuse the policy (it then does not start), or [] when it loads it.
 * Mirrors reader.go (only audit.k8s.io/v1, at least one rule, decodable field types) and
 * validation.go (levels, omitStages, nonResourceURLs, resourceNames need resources, a rule
 * cannot select both resources and non-resource URLs).
 */
export function policyProblems(policy: Dict, apiVersion: string | undefined): string[] {
  if (apiVersion !== 'audit.k8s.io/v1')
    return [`apiVersion ${apiVersion ?? '(none)'} is not audit.k8s.io/v1, the only version the API server reads`];
  const problems: string[] = [];
  const stages = (v: unknown, where: string) => {
    if (v !== undefined && v !== null && !Array.isArray(v)) problems.push(`${where} is not a list`);
    for (const s of asArray(v))
      if (!(AUDIT_STAGES as readonly unknown[]).includes(s))
        problems.push(`${where} has unknown stage ${JSON.stringify(s)}`);
  };
  stages(policy.omitStages, 'omitStages');
  if (policy.rules !== undefined && policy.rules !== null && !Array.isArray(policy.rules))
    problems.push('rules is not a list');
  const rules = asArray(policy.rules);
  if (rules.length === 0) problems.push('it has no rules (the API server refuses a policy with 0 rules)');
  rules.forEach((raw, i) => {
    const at = `rule ${i + 1}`;
    if (!isDict(raw)) {
      problems.push(`${at} is not a mapping`);
      return;
    }
    if (!AUDIT_LEVELS.includes(asString(raw.level) as AuditLevel))
      problems.push(`${at} has level ${JSON.stringify(raw.level ?? null)}`);
    for (const f of LIST_FIELDS) {
      const v = raw[f];
      if (v !== undefined && v !== null && (!Array.isArray(v) || v.some((x) => typeof x !== 'string')))
        problems.push(`${at}: ${f} is not a list of strings`);
    }
    stages(raw.omitStages, `${at} omitStages`);
    for (const u of asStrings(raw.nonResourceURLs)) {
      if (u === '*') continue;
      if (!u.startsWith('/')) problems.push(`${at}: non-resource URL ${JSON.stringify(u)} does not start with /`);
      if (u !== '' && u.slice(0, -1).includes('*'))
        problems.push(`${at}: non-resource URL ${JSON.stringify(u)} has '*' before its end`);
    }
    if (nonEmpty(raw.nonResourceURLs) && (nonEmpty(raw.resources) || nonEmpty(raw.namespaces))) {
      problems.push(`${at} selects both resources (or namespaces) and non-resource URLs`);
    }
    if (
      raw.resources !== undefined &&
      raw.resources !== null &&
      (!Array.isArray(raw.resources) || raw.resources.some((g) => !isDict(g)))
    ) {
      problems.push(`${at}: resources is not a list of {group, resources, resourceNames}`);
    }
    for (const g of asDicts(raw.resources)) {
      for (const f of ['resources', 'resourceNames']) {
        const v = g[f];
        if (v !== undefined && v !== null && (!Array.isArray(v) || v.some((x) => typeof x !== 'string')))
          problems.push(`${at}: resources.${f} is not a list of strings`);
      }
      if (g.group !== undefined && g.group !== null && typeof g.group !== 'string')
        problems.push(`${at}: resources.group is not a string`);
      if (nonEmpty(g.resourceNames) && !nonEmpty(g.resources)) problems.push(`${at}: resourceNames without resources`);
    }
  });
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The requests replayed through a policy.

/**
 * Who makes a request. `actor`: people, service accounts, anonymous and bootstrap clients: every
 * request of theirs is probed. `node`: kubelets and kube-proxy: their reads of non-credential
 * objects are not probed (status and watch traffic a policy may drop). `control-plane`: the API
 * server, controller manager and scheduler: only their writes are probed.
 */
export type IdentityClass = 'actor' | 'node' | 'control-plane';

export interface ProbeIdentity {
  user: string;
  groups: readonly string[];
  label: string;
  class: IdentityClass;
}

const AUTH = 'system:authenticated';
const saGroups = (ns: string) => ['system:serviceaccounts', `system:serviceaccounts:${ns}`, AUTH];

export const PROBE_IDENTITIES: readonly ProbeIdentity[] = [
  { user: 'hcb-probe@example.invalid', groups: ['hcb-probe-team', AUTH], label: 'a user', class: 'actor' },
  { user: 'kubernetes-admin', groups: ['kubeadm:cluster-admins', AUTH], label: 'a cluster admin', class: 'actor' },
  { user: 'hcb-probe-master', groups: ['system:masters', AUTH], label: 'a member of system:masters', class: 'actor' },
  { user: 'system:anonymous', groups: ['system:unauthenticated'], label: 'an anonymous request', class: 'actor' },
  {
    user: 'system:serviceaccount:hcb-probe:app',
    groups: saGroups('hcb-probe'),
    label: 'a service account',
    class: 'actor',
  },
  {
    user: 'system:serviceaccount:kube-system:replicaset-controller',
    groups: saGroups('kube-system'),
    label: 'a kube-system service account',
    class: 'actor',
  },
  {
    user: 'system:bootstrap:abcdef',
    groups: ['system:bootstrappers', 'system:bootstrappers:kubeadm:default-node-token', AUTH],
    label: 'a bootstrap token',
    class: 'actor',
  },
  { user: 'system:node:hcb-probe-node', groups: ['system:nodes', AUTH], label: 'a node', class: 'node' },
  { user: 'system:kube-proxy', groups: [AUTH], label: 'kube-proxy', class: 'node' },
  { user: 'system:kube-controller-manager', groups: [AUTH], label: 'the controller manager', class: 'control-plane' },
  { user: 'system:kube-scheduler', groups: [AUTH], label: 'the scheduler', class: 'control-plane' },
  {
    user: 'system:apiserver',
    groups: ['system:masters', AUTH],
    label: 'the API server itself',
    class: 'control-plane',
  },
];

const CONTROL_PLANE_USERS = new Set(['system:apiserver', 'system:kube-controller-manager', 'system:kube-scheduler']);

function classOf(user: string, groups: readonly string[]): IdentityClass {
  if (CONTROL_PLANE_USERS.has(user)) return 'control-plane';
  if (user === 'system:kube-proxy' || user.startsWith('system:node:') || groups.includes('system:nodes')) return 'node';
  return 'actor';
}

/** The fixed identities plus every user and group a rule of the policy names. */
export function identitiesFor(policy: Dict): ProbeIdentity[] {
  const out = [...PROBE_IDENTITIES];
  const known = new Set(out.map((i) => i.user));
  for (const r of asDicts(policy.rules)) {
    for (const u of asStrings(r.users)) {
      if (known.has(u)) continue;
      known.add(u);
      const sa = /^system:serviceaccount:([^:]+):[^:]+$/.exec(u);
      const groups =
        u === 'system:anonymous'
          ? ['system:unauthenticated']
          : sa
            ? saGroups(sa[1])
            : u.startsWith('system:node:')
              ? ['system:nodes', AUTH]
              : [AUTH];
      out.push({ user: u, groups, label: `user ${u}`, class: classOf(u, groups) });
    }
    for (const g of asStrings(r.userGroups)) {
      if (out.some((i) => i.groups.includes(g) && i.class === 'actor')) continue;
      const saNs = /^system:serviceaccounts:([^:]+)$/.exec(g);
      const user = saNs
        ? `system:serviceaccount:${saNs[1]}:hcb-probe`
        : g === 'system:nodes'
          ? 'system:node:hcb-probe-member'
          : `hcb-probe-member-of:${g}`;
      if (known.has(user)) continue;
      known.add(user);
      const groups = saNs ? saGroups(saNs[1]) : g === 'system:unauthenticated' ? [g] : [g, AUTH];
      out.push({ user, groups, label: `a member of ${g}`, class: g === 'system:nodes' ? 'node' : 'actor' });
    }
  }
  return out;
}

export interface ProbeResource {
  group: string;
  resource: string;
  subresource?: string;
  namespaced: boolean;
  verbs: readonly string[];
  /** Holds credentials: node identities' reads are probed too. */
  credential?: boolean;
}

export const READ_VERBS = ['get', 'list', 'watch'];
export const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection'];
const ALL = [...READ_VERBS, ...WRITE_VERBS];
const r = (
  group: string,
  resource: string,
  namespaced: boolean,
  verbs: readonly string[] = ALL,
  subresource?: string,
  credential?: boolean,
): ProbeResource => ({
  group,
  resource,
  namespaced,
  verbs,
  ...(subresource ? { subresource } : {}),
  ...(credential ? { credential } : {}),
});

/** Resources probed in every policy (plus every resource a rule names explicitly). */
export const PROBE_RESOURCES: readonly ProbeResource[] = [
  r('', 'pods', true),
  r('', 'pods', true, ['create', 'get'], 'exec'),
  r('', 'pods', true, ['create', 'get'], 'attach'),
  r('', 'pods', true, ['create', 'get'], 'portforward'),
  r('', 'pods', true, ['get'], 'log'),
  r('', 'pods', true, ['get', 'patch', 'update'], 'ephemeralcontainers'),
  r('', 'pods', true, ['create'], 'eviction'),
  r('', 'secrets', true, ALL, undefined, true),
  r('', 'configmaps', true, ALL, undefined, true),
  r('', 'serviceaccounts', true),
  r('', 'serviceaccounts', true, ['create'], 'token', true),
  r('', 'services', true),
  r('', 'persistentvolumeclaims', true),
  r('', 'events', true),
  r('', 'namespaces', false),
  r('', 'nodes', false),
  r('', 'nodes', false, ['get', 'create'], 'proxy'),
  r('', 'persistentvolumes', false),
  r('apps', 'deployments', true),
  r('apps', 'deployments', true, ['get', 'update', 'patch'], 'scale'),
  r('apps', 'daemonsets', true),
  r('apps', 'statefulsets', true),
  r('batch', 'jobs', true),
  r('batch', 'cronjobs', true),
  r('networking.k8s.io', 'networkpolicies', true),
  r('networking.k8s.io', 'ingresses', true),
  r('coordination.k8s.io', 'leases', true),
  r('rbac.authorization.k8s.io', 'roles', true),
  r('rbac.authorization.k8s.io', 'rolebindings', true),
  r('rbac.authorization.k8s.io', 'clusterroles', false),
  r('rbac.authorization.k8s.io', 'clusterrolebindings', false),
  r('authentication.k8s.io', 'tokenreviews', false, ['create'], undefined, true),
  r('authorization.k8s.io', 'subjectaccessreviews', false, ['create']),
  r('certificates.k8s.io', 'certificatesigningrequests', false),
  r('certificates.k8s.io', 'certificatesigningrequests', false, ['get', 'update'], 'approval'),
  r('admissionregistration.k8s.io', 'validatingadmissionpolicies', false),
  r('admissionregistration.k8s.io', 'validatingwebhookconfigurations', false),
  r('admissionregistration.k8s.io', 'mutatingwebhookconfigurations', false),
  r('apiextensions.k8s.io', 'customresourcedefinitions', false),
  r('node.k8s.io', 'runtimeclasses', false),
  r('hcb-probe.example.invalid', 'widgets', true),
];

/** Namespaces probed (plus every namespace a rule names); cluster-scoped objects use ''. */
export const PROBE_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public', 'hcb-probe'];
/** Non-resource paths probed with get and post (plus every path a rule names). */
export const PROBE_PATHS: readonly string[] = [
  '/api',
  '/apis',
  '/apis/apps/v1',
  '/openapi/v3',
  '/logs/',
  '/debug/pprof/profile',
  '/.well-known/openid-configuration',
  '/hcb-probe',
];

/**
 * Requests a policy may drop without losing anything the requirements ask for: requests to the
 * health, version and metrics endpoints (read-only handlers that hold no object data), and reads
 * of events. Nothing else is exempt.
 */
const HEALTH_PATHS = ['/healthz', '/livez', '/readyz', '/version', '/metrics'];
export function isExemptNoise(req: AuditRequest): boolean {
  if (req.path !== undefined) return HEALTH_PATHS.some((p) => req.path === p || req.path!.startsWith(`${p}/`));
  const res = req.resource;
  return (
    res !== undefined &&
    res.resource === 'events' &&
    !res.subresource &&
    (res.group === '' || res.group === 'events.k8s.io') &&
    READ_VERBS.includes(req.verb)
  );
}

/** Every resource, namespace, name and path the rules name, for probes that hit narrow rules. */
function named(policy: Dict): { resources: ProbeResource[]; namespaces: string[]; names: string[]; paths: string[] } {
  const resources: ProbeResource[] = [];
  const namespaces = new Set<string>();
  const names = new Set<string>();
  const paths = new Set<string>();
  for (const rule of asDicts(policy.rules)) {
    for (const ns of asStrings(rule.namespaces)) if (ns !== '') namespaces.add(ns);
    for (const u of asStrings(rule.nonResourceURLs)) if (u !== '*') paths.add(u.replace(/\*+$/, '') || '/');
    for (const g of asDicts(rule.resources)) {
      const group = asString(g.group) ?? '';
      for (const n of asStrings(g.resourceNames)) names.add(n);
      if (group === '*') continue;
      for (const res of asStrings(g.resources)) {
        const [resource, sub] = res.split('/');
        if (resource === '*' || sub === '*') continue;
        for (const namespaced of [true, false])
          resources.push(r(group, resource, namespaced, sub ? ['get', 'create', 'update', 'patch'] : ALL, sub));
      }
    }
  }
  return { resources, namespaces: [...namespaces], names: [...names], paths: [...paths] };
}

export interface Probe {
  identity: ProbeIdentity;
  request: AuditRequest;
}

/** Requests by name: get, update, patch and delete (and subresources) name an object. */
const NAMED_VERBS = new Set(['get', 'update', 'patch', 'delete']);

/**
 * The requests to replay: every identity × resource × verb × namespace (and the names and paths
 * rules mention), without the reads exempted above, the reads of control-plane components and
 * the non-credential reads of nodes. `select` narrows the resources (for controls about some of
 * them); non-resource paths are only included when `paths` is true.
 *
 * The list depends only on the policy's content, `select` and `paths`, so it is built once per
 * distinct policy text and shared (read-only) by every control and every copy of the same policy
 * in the input (a cluster's control planes usually carry the same one).
 */
export function probes(policy: Dict, select?: (r: ProbeResource) => boolean, paths = true): readonly Probe[] {
  const entry = contentEntry(policy);
  let bySelect = entry.probes.get(select);
  if (!bySelect) {
    bySelect = [undefined, undefined];
    entry.probes.set(select, bySelect);
  }
  const i = paths ? 1 : 0;
  let list = bySelect[i];
  if (!list) {
    list = Object.freeze(buildProbes(entry.policy, select, paths));
    bySelect[i] = list;
  }
  return list;
}

function buildProbes(policy: Dict, select: ((r: ProbeResource) => boolean) | undefined, paths: boolean): Probe[] {
  const out: Probe[] = [];
  const extra = named(policy);
  const identities = identitiesFor(policy);
  const namespaces = [...new Set([...PROBE_NAMESPACES, ...extra.namespaces])];
  const names = [...new Set(['hcb-probe', ...extra.names])];
  const seen = new Set<string>();
  const resources = [...PROBE_RESOURCES, ...extra.resources].filter((x) => {
    const key = `${x.group}/${x.resource}/${x.subresource ?? ''}/${x.namespaced}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return select ? select(x) : true;
  });
  for (const identity of identities) {
    for (const res of resources) {
      for (const verb of res.verbs) {
        const read = READ_VERBS.includes(verb);
        if (read && identity.class === 'control-plane') continue;
        if (read && identity.class === 'node' && !res.credential) continue;
        // Namespaced resources: each namespace, and '' for lists and watches across all of them.
        const nss = res.namespaced ? [...namespaces, ...(verb === 'list' || verb === 'watch' ? [''] : [])] : [''];
        const objectNames = res.subresource || NAMED_VERBS.has(verb) ? names : [undefined];
        for (const namespace of nss) {
          for (const name of objectNames) {
            const request: AuditRequest = {
              user: identity.user,
              groups: identity.groups,
              verb,
              namespace,
              resource: {
                group: res.group,
                resource: res.resource,
                ...(res.subresource ? { subresource: res.subresource } : {}),
                ...(name !== undefined ? { name } : {}),
              },
            };
            if (!isExemptNoise(request)) out.push({ identity, request });
          }
        }
      }
    }
    if (!paths) continue;
    for (const path of [...new Set([...PROBE_PATHS, ...extra.paths])]) {
      for (const verb of ['get', 'post']) {
        if (verb === 'get' && identity.class !== 'actor') continue;
        const request: AuditRequest = { user: identity.user, groups: identity.groups, verb, path };
        if (!isExemptNoise(request)) out.push({ identity, request });
      }
    }
  }
  return out;
}

/**
 * Per distinct policy content: a private deep copy of the policy (the one probes and decisions
 * are computed on, so nothing a caller later changes in its own object reaches them), its probe
 * lists and the decisions already made. Keyed by a serialisation that keeps every value apart
 * (non-finite numbers and undefined included), computed on every call, so two policies share an
 * entry only when every check would read them alike.
 */
interface ContentEntry {
  policy: Dict;
  probes: Map<
    ((r: ProbeResource) => boolean) | undefined,
    [readonly Probe[] | undefined, readonly Probe[] | undefined]
  >;
  decisions: WeakMap<Probe, AuditDecision>;
}

const byContent = new Map<string, ContentEntry>();
/** Distinct policies remembered; past this the memory is dropped and built again. */
const MAX_POLICIES = 64;

function contentKey(policy: Dict): string {
  return JSON.stringify(policy, (_k, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) return `\u0000n${String(v)}`;
    if (typeof v === 'string' && v.startsWith('\u0000')) return `\u0000s${v}`;
    if (v === undefined) return '\u0000u';
    if (typeof v === 'bigint') return `\u0000b${v.toString()}`;
    return v;
  });
}

function contentEntry(policy: Dict): ContentEntry {
  const key = contentKey(policy);
  let entry = byContent.get(key);
  if (!entry) {
    if (byContent.size >= MAX_POLICIES) byContent.clear();
    entry = { policy: structuredClone(policy), probes: new Map(), decisions: new WeakMap() };
    byContent.set(key, entry);
  }
  return entry;
}

/** "get on secrets \"hcb-probe\" in namespace default by a user (alice)". */
export function describeProbe(p: Probe): string {
  const q = p.request;
  const who = `${p.identity.label} (${p.identity.user})`;
  if (q.path !== undefined) return `${q.verb} ${q.path} by ${who}`;
  const res = q.resource!;
  const what = `${res.group ? `${res.group}/` : ''}${res.resource}${res.subresource ? `/${res.subresource}` : ''}`;
  const name = res.name !== undefined ? ` ${JSON.stringify(res.name)}` : '';
  const where = q.namespace ? ` in namespace ${q.namespace}` : '';
  return `${q.verb} on ${what}${name}${where} by ${who}`;
}

/** The first probe whose decision `accept` refuses, with the decision; undefined when all pass. */
export function firstRefused(
  policy: Dict,
  all: Iterable<Probe>,
  accept: (d: AuditDecision, p: Probe) => boolean,
): { probe: Probe; decision: AuditDecision; checked: number } | undefined {
  let checked = 0;
  // A probe's decision depends only on the policy's content and the probe: remembered per
  // content, so each copy of a policy and each control reuses it.
  const entry = contentEntry(policy);
  for (const p of all) {
    checked++;
    let d = entry.decisions.get(p);
    if (d === undefined) {
      d = auditLevelFor(entry.policy, p.request);
      entry.decisions.set(p, d);
    }
    if (!accept(d, p)) return { probe: p, decision: d, checked };
  }
  return undefined;
}

/** How many probes `probes` yields (for pass messages). */
export function countProbes(all: Iterable<Probe>): number {
  if (Array.isArray(all)) return all.length;
  let n = 0;
  for (const _p of all) n++;
  return n;
}

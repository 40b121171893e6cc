import { Construct } from 'constructs';
import type { KubeObject } from '../../policies/model';
import { BlueprintPropError } from '../common/errors';
import { NodeConfigFile } from './node-config-file';
import { AUDIT_POLICY_PATH } from './paths';
import { ProtectionProfile } from './profile';
import { prune } from './render';

export type AuditLevel = 'None' | 'Metadata' | 'Request' | 'RequestResponse';
export type AuditStage = 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic';

const LEVELS: readonly AuditLevel[] = ['None', 'Metadata', 'Request', 'RequestResponse'];
const STAGES: readonly AuditStage[] = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'];
const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection'];

/** Resources of one API group, as in audit.k8s.io/v1 GroupResources. */
export interface AuditGroupResources {
  /** API group; '' (or omitted) is the core group. @default '' */
  readonly group?: string;
  /**
   * Resources: 'pods', 'pods/exec', 'pods/*' (all subresources), '*' (everything).
   * @default - every resource of the group
   */
  readonly resources?: string[];
  /** Object names. @default - any name */
  readonly resourceNames?: string[];
}

/** One audit.k8s.io/v1 policy rule. Omitted selectors match everything. */
export interface AuditRule {
  readonly level: AuditLevel;
  /** @default - any user */
  readonly users?: string[];
  /** @default - any group */
  readonly userGroups?: string[];
  /** @default - any verb */
  readonly verbs?: string[];
  /** @default - every resource (when nonResourceURLs is also unset) */
  readonly resources?: AuditGroupResources[];
  /** '' selects cluster-scoped objects. @default - any namespace */
  readonly namespaces?: string[];
  /** Non-resource URL paths, '*' allowed as the last character. Exclusive with resources. @default - none */
  readonly nonResourceURLs?: string[];
  /** @default - the policy's omitStages only */
  readonly omitStages?: AuditStage[];
}

/** A rule the blueprint always renders, with a stable id used in errors and docs. */
export interface RequiredAuditRule {
  readonly id: string;
  readonly description: string;
  readonly rule: AuditRule;
}

export interface AuditPolicyProps {
  /**
   * Protection profile choosing the defaults.
   * @default 'standard'
   */
  readonly profile?: ProtectionProfile;
  /**
   * Rules evaluated BEFORE the required rules (first match wins), for narrow exclusions. A rule
   * here that would match requests a required rule records at a different level (for example a
   * catch-all `None`) fails construction.
   * @default - none
   */
  readonly precedingRules?: AuditRule[];
  /**
   * Rules evaluated after the required rules and the noise reduction, before the final
   * catch-all rule.
   * @default - none
   */
  readonly additionalRules?: AuditRule[];
  /**
   * Level of the final catch-all rule (None is not accepted: it would make the log blind to
   * everything the other rules do not name).
   * @default 'Request' for the high profile, 'Metadata' otherwise
   */
  readonly defaultLevel?: Exclude<AuditLevel, 'None'>;
  /**
   * Drop read-only system traffic (health checks, kube-proxy and node watches, events reads,
   * leader-election reads) that carries no security information.
   * @default true
   */
  readonly reduceSystemNoise?: boolean;
  /**
   * Leave managedFields out of logged request and response bodies.
   * @default true
   */
  readonly omitManagedFields?: boolean;
}

/**
 * The rules no user rule may shadow, in the order they are rendered (right after any
 * precedingRules):
 * - secrets, configmaps, service-account tokens and token reviews only at Metadata (bodies
 *   would leak credentials);
 * - RBAC changes, access to running pods, and privilege changes at RequestResponse.
 */
export const REQUIRED_AUDIT_RULES: readonly RequiredAuditRule[] = [
  {
    id: 'credentials-metadata-only',
    description: 'Secrets, ConfigMaps, service-account tokens and TokenReviews are logged without bodies',
    rule: {
      level: 'Metadata',
      resources: [
        { group: '', resources: ['secrets', 'configmaps', 'serviceaccounts/token'] },
        { group: 'authentication.k8s.io', resources: ['tokenreviews'] },
      ],
    },
  },
  {
    id: 'rbac-changes',
    description: 'changes to Roles, ClusterRoles and their bindings are logged with request and response',
    rule: {
      level: 'RequestResponse',
      verbs: WRITE_VERBS,
      resources: [
        {
          group: 'rbac.authorization.k8s.io',
          resources: ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings'],
        },
      ],
    },
  },
  {
    id: 'pod-access',
    description: 'exec, attach, port-forward, proxy and ephemeral containers are logged with request and response',
    rule: {
      level: 'RequestResponse',
      resources: [
        {
          group: '',
          resources: [
            'pods/exec',
            'pods/attach',
            'pods/portforward',
            'pods/proxy',
            'pods/ephemeralcontainers',
            'services/proxy',
            'nodes/proxy',
          ],
        },
      ],
    },
  },
  {
    id: 'privilege-changes',
    description:
      'changes that grant or relax privileges (namespaces and their Pod Security labels, service accounts, CSR approval, admission configuration) are logged with request and response',
    rule: {
      level: 'RequestResponse',
      verbs: WRITE_VERBS,
      resources: [
        { group: '', resources: ['namespaces', 'serviceaccounts'] },
        { group: 'certificates.k8s.io', resources: ['certificatesigningrequests/approval'] },
        {
          group: 'admissionregistration.k8s.io',
          resources: [
            'mutatingadmissionpolicies',
            'mutatingadmissionpolicybindings',
            'mutatingwebhookconfigurations',
            'validatingadmissionpolicies',
            'validatingadmissionpolicybindings',
            'validatingwebhookconfigurations',
          ],
        },
      ],
    },
  },
];

/** Read-only system traffic dropped when reduceSystemNoise is on (rendered after the required rules). */
export const NOISE_REDUCTION_RULES: readonly AuditRule[] = [
  { level: 'None', verbs: ['get'], nonResourceURLs: ['/healthz*', '/livez*', '/readyz*', '/version', '/metrics'] },
  {
    level: 'None',
    users: ['system:kube-proxy'],
    verbs: ['watch'],
    resources: [
      { group: '', resources: ['endpoints', 'services', 'services/status'] },
      { group: 'discovery.k8s.io', resources: ['endpointslices'] },
    ],
  },
  {
    level: 'None',
    userGroups: ['system:nodes'],
    verbs: ['get'],
    resources: [{ group: '', resources: ['nodes', 'nodes/status'] }],
  },
  {
    level: 'None',
    users: ['system:kube-controller-manager', 'system:kube-scheduler'],
    verbs: ['get', 'list', 'watch'],
    namespaces: ['kube-system'],
    resources: [{ group: 'coordination.k8s.io', resources: ['leases'] }],
  },
  { level: 'None', users: ['system:apiserver'], verbs: ['get', 'list', 'watch'] },
  {
    level: 'None',
    verbs: ['get', 'list', 'watch'],
    resources: [
      { group: '', resources: ['events'] },
      { group: 'events.k8s.io', resources: ['events'] },
    ],
  },
];

/**
 * The API server's audit policy (audit.k8s.io/v1 Policy), for --audit-policy-file.
 * Order: precedingRules, REQUIRED_AUDIT_RULES, NOISE_REDUCTION_RULES, additionalRules, then a
 * catch-all at defaultLevel. The RequestReceived stage is omitted everywhere.
 */
export class AuditPolicy extends NodeConfigFile {
  public readonly defaultLevel: Exclude<AuditLevel, 'None'>;
  private readonly rules: AuditRule[];
  private readonly omitManagedFields: boolean;

  constructor(scope: Construct, id: string, props: AuditPolicyProps = {}) {
    super(scope, id, { path: AUDIT_POLICY_PATH, mode: 0o600, role: 'audit-policy', sensitive: false });
    const profile = props.profile ?? 'standard';
    this.defaultLevel = props.defaultLevel ?? (profile === 'high' ? 'Request' : 'Metadata');
    if (!['Metadata', 'Request', 'RequestResponse'].includes(this.defaultLevel)) {
      throw new BlueprintPropError(
        this,
        'defaultLevel',
        this.defaultLevel,
        'the catch-all level must record something',
        "use 'Metadata', 'Request' or 'RequestResponse'",
      );
    }
    this.omitManagedFields = props.omitManagedFields ?? true;
    const preceding = props.precedingRules ?? [];
    const additional = props.additionalRules ?? [];
    preceding.forEach((r, i) => validateRule(this, `precedingRules[${i}]`, r));
    additional.forEach((r, i) => validateRule(this, `additionalRules[${i}]`, r));
    preceding.forEach((r, i) => {
      for (const req of REQUIRED_AUDIT_RULES) {
        if (r.level !== req.rule.level && overlaps(r, req.rule)) {
          throw new BlueprintPropError(
            this,
            `precedingRules[${i}]`,
            r,
            `this ${r.level} rule comes first and would take requests that the required rule "${req.id}" (${req.description}) must record at ${req.rule.level}`,
            'narrow its resources, verbs or namespaces so that it does not cover them, or move it to additionalRules, which are evaluated after the required rules',
          );
        }
      }
    });
    this.rules = [
      ...preceding,
      ...REQUIRED_AUDIT_RULES.map((r) => r.rule),
      ...((props.reduceSystemNoise ?? true) ? NOISE_REDUCTION_RULES : []),
      ...additional,
      { level: this.defaultLevel },
    ];
  }

  protected describe(): string {
    return 'kube-apiserver audit policy (--audit-policy-file)';
  }

  public toObjects(): KubeObject[] {
    return [
      {
        apiVersion: 'audit.k8s.io/v1',
        kind: 'Policy',
        omitStages: ['RequestReceived'],
        omitManagedFields: this.omitManagedFields,
        rules: this.rules.map(renderRule),
      },
    ];
  }
}

function renderRule(r: AuditRule): Record<string, unknown> {
  return prune({
    level: r.level,
    users: r.users ? [...r.users] : undefined,
    userGroups: r.userGroups ? [...r.userGroups] : undefined,
    verbs: r.verbs ? [...r.verbs] : undefined,
    resources: r.resources?.map((g) =>
      prune({
        group: g.group ?? '',
        resources: g.resources ? [...g.resources] : undefined,
        resourceNames: g.resourceNames ? [...g.resourceNames] : undefined,
      }),
    ),
    namespaces: r.namespaces ? [...r.namespaces] : undefined,
    nonResourceURLs: r.nonResourceURLs ? [...r.nonResourceURLs] : undefined,
    omitStages: r.omitStages ? [...r.omitStages] : undefined,
  });
}

function validateRule(scope: Construct, prop: string, r: AuditRule): void {
  if (!r || !LEVELS.includes(r.level)) {
    throw new BlueprintPropError(
      scope,
      `${prop}.level`,
      r?.level,
      'unknown audit level',
      `use one of ${LEVELS.join(', ')}`,
    );
  }
  if (r.resources && r.nonResourceURLs) {
    throw new BlueprintPropError(
      scope,
      prop,
      r,
      'a rule cannot select both resources and non-resource URLs',
      'split it into two rules',
    );
  }
  for (const s of r.omitStages ?? []) {
    if (!STAGES.includes(s)) {
      throw new BlueprintPropError(
        scope,
        `${prop}.omitStages`,
        s,
        'unknown audit stage',
        `use one of ${STAGES.join(', ')}`,
      );
    }
  }
  for (const v of r.verbs ?? []) {
    if (!/^[a-z]+$/.test(v)) {
      throw new BlueprintPropError(
        scope,
        `${prop}.verbs`,
        v,
        'not a request verb',
        'use lower-case verbs such as get, list, watch, create, update, patch, delete',
      );
    }
  }
  for (const u of r.nonResourceURLs ?? []) {
    if (!u.startsWith('/') || u.slice(0, -1).includes('*')) {
      throw new BlueprintPropError(
        scope,
        `${prop}.nonResourceURLs`,
        u,
        "not a URL path ('*' is only allowed as the last character)",
        "use a path such as '/healthz' or '/apis*'",
      );
    }
  }
  for (const [gi, g] of (r.resources ?? []).entries()) {
    for (const res of g.resources ?? []) {
      if (!/^(\*|[a-z0-9.-]+)(\/(\*|[a-z0-9.-]+))?$/.test(res)) {
        throw new BlueprintPropError(
          scope,
          `${prop}.resources[${gi}].resources`,
          res,
          'not a resource pattern',
          "use 'pods', 'pods/exec', 'pods/*', '*/scale' or '*'",
        );
      }
    }
  }
}

/** Whether some request could be matched by both rules (users are ignored: required rules cover everyone). */
export function overlaps(a: AuditRule, b: AuditRule): boolean {
  if (!intersects(a.verbs, b.verbs) || !intersects(a.namespaces, b.namespaces)) return false;
  if (!intersects(a.users, b.users) || !intersects(a.userGroups, b.userGroups)) {
    // A rule restricted to some users still overlaps a rule for everyone; only two disjoint
    // explicit lists do not.
    return false;
  }
  // Audit semantics: a rule with non-resource URLs never matches resource requests, and one
  // with resources or namespaces never matches non-resource requests.
  const aUrls = a.nonResourceURLs !== undefined && a.nonResourceURLs.length > 0;
  const bUrls = b.nonResourceURLs !== undefined && b.nonResourceURLs.length > 0;
  const aResourceOnly = (a.resources?.length ?? 0) > 0 || (a.namespaces?.length ?? 0) > 0;
  const bResourceOnly = (b.resources?.length ?? 0) > 0 || (b.namespaces?.length ?? 0) > 0;
  if (aUrls || bUrls) {
    if ((aUrls && bResourceOnly) || (bUrls && aResourceOnly)) return false;
    if (aUrls && bUrls) return a.nonResourceURLs!.some((x) => b.nonResourceURLs!.some((y) => urlsIntersect(x, y)));
    return true;
  }
  if (!a.resources?.length || !b.resources?.length) return true;
  return a.resources.some((ga) => b.resources!.some((gb) => groupResourcesIntersect(ga, gb)));
}

function intersects(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (!a || a.length === 0 || !b || b.length === 0) return true;
  return a.some((x) => b.includes(x));
}

function urlsIntersect(a: string, b: string): boolean {
  const prefix = (s: string) => (s.endsWith('*') ? s.slice(0, -1) : undefined);
  const pa = prefix(a);
  const pb = prefix(b);
  if (pa !== undefined && pb !== undefined) return pa.startsWith(pb) || pb.startsWith(pa);
  if (pa !== undefined) return b.startsWith(pa);
  if (pb !== undefined) return a.startsWith(pb);
  return a === b;
}

function groupResourcesIntersect(a: AuditGroupResources, b: AuditGroupResources): boolean {
  if ((a.group ?? '') !== (b.group ?? '')) return false;
  if (!intersects(a.resourceNames, b.resourceNames)) return false;
  const ra = a.resources && a.resources.length ? a.resources : ['*'];
  const rb = b.resources && b.resources.length ? b.resources : ['*'];
  return ra.some((x) => rb.some((y) => resourcePatternsIntersect(x, y)));
}

function resourcePatternsIntersect(a: string, b: string): boolean {
  if (a === '*' || b === '*') return true;
  const [ar, as] = a.split('/');
  const [br, bs] = b.split('/');
  if (ar !== '*' && br !== '*' && ar !== br) return false;
  if (as === undefined || bs === undefined) return as === bs;
  return as === '*' || bs === '*' || as === bs;
}

/** RBAC: what Roles and ClusterRoles grant, and whom bindings grant it to. */
import { CheckContext, CheckResult, ControlRecord } from '../control';
import { notEvaluated, result } from '../checks/helpers';
import { matchesLabels } from '../checks/label-selector';
import { Document } from '../model';
import {
  BOOTSTRAP_CLUSTER_ROLES,
  BOOTSTRAP_LABEL,
  BOOTSTRAP_LABEL_VALUE,
  BOOTSTRAP_ROLES,
  BUILTIN_AGGREGATION_LABELS,
  BUILTIN_ROLES_FLAGGED_BY,
  isBroadSubject,
  READ_ONLY_BUILTIN_NAMESPACED_ROLES,
  READ_ONLY_BUILTIN_ROLES,
} from '../checks/rbac-builtins';
import {
  dangerousGrants,
  escalationProblem,
  networkPolicyWriteProblem,
  persistentVolumeWriteProblem,
  RBAC_GROUP,
  ruleProblems,
  secretsReadProblem,
  wildcardProblem,
} from '../checks/rbac-rules';
import { BROAD_SUBJECT, celList, roleRule, SUBJECTS } from '../checks/admission-cel';
import { asDict, asDicts, asString, Dict } from '../util/values';

const RBAC = RBAC_GROUP;

function roles(ctx: CheckContext): Document[] {
  return [...ctx.byKind('Role', RBAC), ...ctx.byKind('ClusterRole', RBAC)];
}

/** ClusterRoles by name, Roles as namespace/name (the keys of the built-in lists). */
function builtInKey(d: Document): string {
  const n = d.object.metadata?.name ?? '';
  return d.object.kind === 'ClusterRole' ? n : `${d.object.metadata?.namespace ?? ''}/${n}`;
}

/**
 * Roles the API server ships and reconciles itself: its exact bootstrap names, carrying its
 * bootstrap label. A custom role named `system:…` (or one without the label) is checked like
 * any other role; a built-in one is compared with what its bootstrap version grants.
 */
function builtInRole(d: Document): boolean {
  const n = d.object.metadata?.name ?? '';
  if (d.object.metadata?.labels?.[BOOTSTRAP_LABEL] !== BOOTSTRAP_LABEL_VALUE) return false;
  if (d.object.kind === 'ClusterRole') return BOOTSTRAP_CLUSTER_ROLES.has(n);
  const ns = d.object.metadata?.namespace ?? '';
  return d.object.kind === 'Role' && (BOOTSTRAP_ROLES[ns]?.has(n) ?? false);
}

function isAggregated(d: Document): boolean {
  return asDict((d.object as Dict).aggregationRule).clusterRoleSelectors !== undefined;
}

/** The ClusterRoles of the input a ClusterRole's aggregation selects (the aggregation controller's union). */
function aggregatedSources(selectors: unknown[], self: string, ctx: CheckContext): Document[] {
  return ctx.byKind('ClusterRole', RBAC).filter((c) => {
    if (c.object.metadata?.name === self) return false;
    const labels = c.object.metadata?.labels ?? {};
    return selectors.some((sel) => matchesLabels(sel, labels) === true);
  });
}

interface Grants {
  /** What the role grants that must not reach broad groups. */
  grants: string[];
  /** False when the role (or part of what it aggregates) is not in the input. */
  known: boolean;
}

/**
 * What a bound role grants that must not reach everyone (rbac-rules.ts dangerousGrants), from
 * the role in the input; for a built-in role not in the input, from the API server's bootstrap
 * policy. A built-in name keeps its bootstrap rules even when the input redefines it (the API
 * server adds missing rules back at every start); an aggregated ClusterRole is the union of the
 * input's ClusterRoles its selectors match.
 */
function boundRoleGrants(
  kind: string | undefined,
  name: string,
  bindingNs: string | undefined,
  ctx: CheckContext,
  seen = new Set<string>(),
): Grants {
  const key = kind === 'ClusterRole' ? name : `${bindingNs ?? ''}/${name}`;
  if (seen.has(`${kind}/${key}`)) return { grants: [], known: true };
  seen.add(`${kind}/${key}`);
  const found = roles(ctx).find(
    (d) =>
      d.object.kind === kind &&
      d.object.metadata?.name === name &&
      (kind === 'ClusterRole' || (d.object.metadata?.namespace ?? '') === (bindingNs ?? '')),
  );
  const out = new Set<string>();
  let known = true;
  const builtInName =
    kind === 'ClusterRole'
      ? BOOTSTRAP_CLUSTER_ROLES.has(name)
      : kind === 'Role' && (BOOTSTRAP_ROLES[bindingNs ?? '']?.has(name) ?? false);
  const builtInSafe =
    kind === 'ClusterRole' ? READ_ONLY_BUILTIN_ROLES.has(name) : READ_ONLY_BUILTIN_NAMESPACED_ROLES.has(key);
  if (builtInName && !builtInSafe) out.add(`the API server's built-in ${name} grants write access or Secret reads`);
  if (found) for (const r of asDicts((found.object as Dict).rules)) for (const g of dangerousGrants(r)) out.add(g);
  // Aggregation: the role's own selectors, or for a built-in aggregated role missing from the input, the API server's.
  let selectors: unknown[] | undefined;
  if (found && isAggregated(found))
    selectors = asDicts(asDict((found.object as Dict).aggregationRule).clusterRoleSelectors);
  else if (!found && kind === 'ClusterRole' && BUILTIN_AGGREGATION_LABELS[name] !== undefined)
    selectors = [{ matchLabels: { [BUILTIN_AGGREGATION_LABELS[name]]: 'true' } }];
  if (selectors !== undefined) {
    if (!builtInName) known = false; // other roles in the cluster may carry the selected labels
    for (const src of aggregatedSources(selectors, name, ctx)) {
      const g = boundRoleGrants('ClusterRole', src.object.metadata?.name ?? '', undefined, ctx, seen);
      for (const x of g.grants) out.add(`${x} (aggregated from ${src.object.metadata?.name ?? '?'})`);
    }
  }
  if (!found && !builtInName) known = false;
  return { grants: [...out], known };
}

/** A check over each role's rules: `problem` returns what is wrong with one rule, or undefined. */
function ruleCheck(problem: (rule: Dict) => string | undefined, builtInsFlagged: ReadonlySet<string>, ok: string) {
  return (ctx: CheckContext): CheckResult[] => {
    const all = roles(ctx);
    if (all.length === 0) return [notEvaluated('no Role or ClusterRole in the input.')];
    return all.map((d) => {
      const aggregated = isAggregated(d);
      if (builtInRole(d)) {
        if (aggregated) {
          return result(
            'not-applicable',
            'Built-in aggregated role: its rules are those of the roles it selects, each checked on its own.',
            ctx.ref(d),
          );
        }
        const problems = ruleProblems(d.object as Dict, problem);
        if (problems.length === 0) return result('pass', ok, ctx.ref(d));
        if (builtInsFlagged.has(builtInKey(d))) {
          return result(
            'not-applicable',
            'Built-in role reconciled by the API server, which grants this itself; it reaches users only through bindings, which the binding controls check.',
            ctx.ref(d),
          );
        }
        return result(
          'fail',
          `Built-in role whose bootstrap rules grant no such thing, changed here: ${problems.join('; ')}.`,
          ctx.ref(d),
        );
      }
      if (aggregated) {
        return result(
          'not-evaluated',
          'Not evaluated: an aggregated ClusterRole gets its rules from other roles at run time.',
          ctx.ref(d),
        );
      }
      const problems = ruleProblems(d.object as Dict, problem);
      return problems.length > 0
        ? result('fail', `${problems.join('; ')}.`, ctx.ref(d))
        : result('pass', ok, ctx.ref(d));
    });
  };
}

function bindings(ctx: CheckContext): Document[] {
  return [...ctx.byKind('RoleBinding', RBAC), ...ctx.byKind('ClusterRoleBinding', RBAC)];
}

function bindingCheck(problem: (b: Dict, d: Document) => string | undefined, ok: string) {
  return (ctx: CheckContext): CheckResult[] => {
    const all = bindings(ctx);
    if (all.length === 0) return [notEvaluated('no RoleBinding or ClusterRoleBinding in the input.')];
    return all.map((d) => {
      const p = problem(d.object as Dict, d);
      return p ? result('fail', p, ctx.ref(d)) : result('pass', ok, ctx.ref(d));
    });
  };
}

function subjects(b: Dict): Dict[] {
  return asDicts(b.subjects);
}

function subjectText(s: Dict): string {
  return `${asString(s.kind) ?? '?'} ${asString(s.namespace) ? `${asString(s.namespace)}/` : ''}${asString(s.name) ?? '?'}`;
}

export const RBAC_CONTROLS: readonly ControlRecord[] = [
  {
    id: 'HCB-RBAC-NO-WILDCARDS',
    title: 'Roles name their API groups, resources and verbs (no wildcards)',
    rationale:
      'A wildcard grants everything that exists now and everything added later, including new sensitive resources.',
    severity: 'medium',
    frameworks: { cis: ['5.1.3'], bsi: ['APP.4.4.A3'], ccn: ['CCN-CL-11'], scs: ['SCS-BASE-API-RBAC'] },
    admission: {
      target: 'roles',
      expression: roleRule('wildcards'),
      detail: 'no rule may use a wildcard in apiGroups, resources, verbs or nonResourceURLs',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      text: 'Use the NamespaceAccess / PlatformAccess presets or list groups, resources and verbs explicitly.',
    },
    check: ruleCheck(wildcardProblem, BUILTIN_ROLES_FLAGGED_BY.wildcards, 'No wildcard in any rule.'),
  },
  {
    id: 'HCB-RBAC-NO-ESCALATION-VERBS',
    title: 'Roles do not grant escalate, bind or impersonate',
    rationale:
      'These verbs let the holder give itself any permission or act as any user, making every other restriction moot.',
    severity: 'high',
    frameworks: { cis: ['5.1.8'], bsi: ['APP.4.4.A3'], scs: ['SCS-BASE-API-RBAC'] },
    admission: {
      target: 'roles',
      expression: roleRule('escalation'),
      detail: 'no rule may grant escalate, bind or impersonate (spelled out or through verb "*")',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      text: 'Remove escalate, bind and impersonate from the role; keep them to break-glass administrators.',
    },
    check: ruleCheck(escalationProblem, BUILTIN_ROLES_FLAGGED_BY.escalation, 'No escalate, bind or impersonate.'),
  },
  {
    id: 'HCB-RBAC-SECRETS-READ',
    title: 'Roles do not grant reading Secrets',
    rationale:
      'get, list or watch on Secrets hands out every credential in scope; list and watch even return all of them at once.',
    severity: 'high',
    frameworks: { cis: ['5.1.2'], bsi: ['APP.4.4.A3'], ccn: ['CCN-CL-15'] },
    admission: {
      target: 'roles',
      expression: roleRule('secretsRead'),
      detail: 'no rule may grant get, list or watch on Secrets (get on named Secrets only is allowed)',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      text: 'Mount the one Secret a workload needs as a volume instead of granting API read access; restrict resourceNames if access is unavoidable.',
    },
    check: ruleCheck(secretsReadProblem, BUILTIN_ROLES_FLAGGED_BY.secretsRead, 'No read access to Secrets.'),
  },
  {
    id: 'HCB-RBAC-CLUSTER-ADMIN-BINDINGS',
    title: 'cluster-admin is bound only to the break-glass administrator groups',
    rationale:
      'cluster-admin is unrestricted; binding it to people or workloads turns any credential leak into full control of the cluster.',
    severity: 'high',
    frameworks: { cis: ['5.1.1'], bsi: ['APP.4.4.A3'], scs: ['SCS-BASE-API-RBAC'] },
    admission: {
      target: 'bindings',
      expression: `!(object.roleRef.kind == 'ClusterRole' && object.roleRef.name == 'cluster-admin') || ${SUBJECTS}.all(s, s.kind == 'Group' && s.name in ['system:masters', 'kubeadm:cluster-admins'])`,
      detail: 'cluster-admin may be bound only to the groups system:masters and kubeadm:cluster-admins',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      text: 'Bind the PlatformAccess presets instead; keep cluster-admin for the kubeadm system:masters break-glass credential.',
    },
    check: bindingCheck((b) => {
      const ref = asDict(b.roleRef);
      if (ref.kind !== 'ClusterRole' || ref.name !== 'cluster-admin') return undefined;
      // Only the break-glass groups kubeadm sets up; any other group (system:authenticated!) is everyone in it.
      const others = subjects(b).filter(
        (s) => !(s.kind === 'Group' && ['system:masters', 'kubeadm:cluster-admins'].includes(asString(s.name) ?? '')),
      );
      return others.length > 0 ? `Binds cluster-admin to ${others.map(subjectText).join(', ')}.` : undefined;
    }, 'Binds cluster-admin only to the break-glass groups system:masters or kubeadm:cluster-admins.'),
  },
  {
    id: 'HCB-RBAC-BROAD-GROUP-BINDINGS',
    title: 'No write or Secret access is granted to everyone, every service account or anonymous users',
    rationale:
      'system:authenticated is every user and service account, system:unauthenticated and system:anonymous are anyone who can reach the API server, system:serviceaccounts[:<ns>] every workload: a role with write access or Secret reads bound to them hands it to all of these.',
    severity: 'critical',
    frameworks: { cis: ['5.1.1'], bsi: ['APP.4.4.A3'], scs: ['SCS-BASE-API-RBAC'] },
    admission: {
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
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      text: 'Bind roles to named groups or a WorkloadIdentity service account (NamespaceAccess presets), never to system:authenticated, system:unauthenticated, system:anonymous or system:serviceaccounts.',
    },
    check: (ctx: CheckContext): CheckResult[] => {
      const all = bindings(ctx);
      if (all.length === 0) return [notEvaluated('no RoleBinding or ClusterRoleBinding in the input.')];
      return all.map((d) => {
        const b = d.object as Dict;
        const broad = subjects(b).filter((s) => isBroadSubject(asString(s.kind), asString(s.name)));
        if (broad.length === 0)
          return result('pass', 'No broad group or anonymous user among the subjects.', ctx.ref(d));
        const ref = asDict(b.roleRef);
        // A ClusterRoleBinding can only reference a ClusterRole; a RoleBinding a Role of its namespace or a ClusterRole.
        const kind = asString(ref.kind);
        const { grants, known } = boundRoleGrants(
          kind,
          asString(ref.name) ?? '',
          d.object.kind === 'RoleBinding' ? d.object.metadata?.namespace : undefined,
          ctx,
        );
        const who = broad.map(subjectText).join(', ');
        const scope = d.object.kind === 'RoleBinding' ? ` in ${d.object.metadata?.namespace ?? 'its namespace'}` : '';
        if (grants.length > 0)
          return result(
            'fail',
            `Binds ${String(kind)} ${String(ref.name)} to ${who}${scope}: ${grants.join('; ')}.`,
            ctx.ref(d),
          );
        if (!known) {
          return result(
            'not-evaluated',
            `Not evaluated: binds ${String(kind)} ${String(ref.name)} to ${who}, but that role (or a role it aggregates) is not in the input, so what it grants is unknown.`,
            ctx.ref(d),
          );
        }
        return result(
          'pass',
          `Binds ${String(kind)} ${String(ref.name)} to ${who}; it grants no writes and no Secret reads.`,
          ctx.ref(d),
        );
      });
    },
  },
  {
    id: 'HCB-RBAC-DEFAULT-SA-UNBOUND',
    title: 'No role is bound to a default service account',
    rationale: 'Every pod without its own service account runs as "default"; rights granted to it reach all of them.',
    severity: 'medium',
    frameworks: { cis: ['5.1.5'], bsi: ['APP.4.4.A9'], ccn: ['CCN-CL-15'] },
    admission: {
      target: 'bindings',
      expression: `${SUBJECTS}.all(s, !(s.kind == 'ServiceAccount' && s.name == 'default'))`,
      detail: 'no binding may name a default service account',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      construct: 'WorkloadIdentity',
      text: 'Bind roles to a WorkloadIdentity service account instead of "default".',
    },
    check: bindingCheck((b, d) => {
      const hits = subjects(b).filter((s) => s.kind === 'ServiceAccount' && s.name === 'default');
      const ns = d.object.metadata?.namespace;
      return hits.length > 0
        ? `Grants ${String(asDict(b.roleRef).name)} to ${hits.map((s) => `default service account of ${asString(s.namespace) ?? ns ?? '?'}`).join(', ')}.`
        : undefined;
    }, 'No default service account among the subjects.'),
  },
  {
    id: 'HCB-RBAC-PERSISTENT-VOLUMES',
    title: 'Only platform roles may create or change PersistentVolumes',
    rationale:
      'A PersistentVolume can point at any host path or storage backend; creating one is a way onto the node or into other tenants’ data.',
    severity: 'medium',
    frameworks: { bsi: ['APP.4.4.A3'] },
    admission: {
      target: 'roles',
      expression: roleRule('persistentVolumeWrite'),
      detail: 'no rule may grant create, update, patch or delete on PersistentVolumes',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      text: 'Tenant roles (NamespaceAccess) request storage through PersistentVolumeClaims; PersistentVolume write access stays in PlatformAccess. Record an exception for the platform role.',
    },
    check: ruleCheck(
      persistentVolumeWriteProblem,
      BUILTIN_ROLES_FLAGGED_BY.persistentVolumeWrite,
      'No write access to PersistentVolumes.',
    ),
  },
  {
    id: 'HCB-RBAC-NETWORK-POLICY-WRITE',
    title: 'Only platform roles may change NetworkPolicies',
    rationale:
      'Whoever can edit NetworkPolicies can remove the namespace isolation; that right belongs to selected administrators.',
    severity: 'low',
    frameworks: { bsi: ['APP.4.4.A7', 'APP.4.4.A18'] },
    admission: {
      target: 'roles',
      expression: roleRule('networkPolicyWrite'),
      detail: 'no rule may grant create, update, patch or delete on NetworkPolicies',
    },
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: {
      text: 'Keep NetworkPolicy write access in PlatformAccess; tenants request flows through reviewed NetworkAllowPolicy code. Record an exception for the platform role.',
    },
    check: ruleCheck(
      networkPolicyWriteProblem,
      BUILTIN_ROLES_FLAGGED_BY.networkPolicyWrite,
      'No write access to NetworkPolicies.',
    ),
  },
];

/** RBAC: what Roles and ClusterRoles grant, and whom bindings grant it to. */
import { CheckContext, CheckResult, Control } from '../control';
import { notEvaluated, result } from '../checks/helpers';
import { Document } from '../model';
import { BOOTSTRAP_CLUSTER_ROLES, BOOTSTRAP_LABEL, BOOTSTRAP_LABEL_VALUE, BOOTSTRAP_ROLES, isBroadSubject, READ_ONLY_BUILTIN_ROLES } from '../checks/rbac-builtins';
import { asDict, asDicts, asString, asStrings, Dict } from '../util/values';

const RBAC = 'rbac.authorization.k8s.io';

function roles(ctx: CheckContext): Document[] {
  return [...ctx.byKind('Role', RBAC), ...ctx.byKind('ClusterRole', RBAC)];
}

/**
 * Roles the API server ships and reconciles itself: its exact bootstrap names, carrying its
 * bootstrap label. A custom role named `system:…` (or one without the label) is checked.
 */
function builtInRole(d: Document): boolean {
  const n = d.object.metadata?.name ?? '';
  if (d.object.metadata?.labels?.[BOOTSTRAP_LABEL] !== BOOTSTRAP_LABEL_VALUE) return false;
  if (d.object.kind === 'ClusterRole') return BOOTSTRAP_CLUSTER_ROLES.has(n);
  const ns = d.object.metadata?.namespace ?? '';
  return d.object.kind === 'Role' && (BOOTSTRAP_ROLES[ns]?.has(n) ?? false);
}

const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection'];

/**
 * What a bound role grants that must not reach everyone: write verbs on anything, or reading
 * Secrets. Undefined when the role is not in the input and not a known built-in.
 */
function dangerousGrants(ref: Dict, bindingNs: string | undefined, ctx: CheckContext): string[] | undefined {
  const name = asString(ref.name) ?? '';
  const kind = asString(ref.kind);
  if (kind === 'ClusterRole' && ['cluster-admin', 'admin', 'edit'].includes(name)) return [`${name} grants write access and Secret reads`];
  const found = roles(ctx).find(
    (d) => d.object.kind === kind && d.object.metadata?.name === name && (kind === 'ClusterRole' || (d.object.metadata?.namespace ?? '') === (bindingNs ?? '')),
  );
  if (!found) return kind === 'ClusterRole' && READ_ONLY_BUILTIN_ROLES.has(name) ? [] : undefined;
  const out = new Set<string>();
  for (const r of asDicts((found.object as Dict).rules)) {
    const verbs = asStrings(r.verbs);
    const writes = verbs.includes('*') ? ['*'] : verbs.filter((v) => WRITE_VERBS.includes(v) || ['escalate', 'bind', 'impersonate'].includes(v));
    if (writes.length > 0) out.add(`${writes.join(', ')} on ${asStrings(r.resources).join(', ') || asStrings(r.nonResourceURLs).join(', ') || '?'}`);
    const reads = grantsOn(r, '', 'secrets', ['get', 'list', 'watch']);
    if (reads.length > 0) out.add(`${reads.join(', ')} on secrets`);
  }
  if (asDict((found.object as Dict).aggregationRule).clusterRoleSelectors !== undefined) return undefined;
  return [...out];
}

/** A check over each role's rules: `problem` returns what is wrong with one rule, or undefined. */
function ruleCheck(problem: (rule: Dict) => string | undefined, ok: string) {
  return (ctx: CheckContext): CheckResult[] => {
    const all = roles(ctx);
    if (all.length === 0) return [notEvaluated('no Role or ClusterRole in the input.')];
    return all.map((d) => {
      if (builtInRole(d)) {
        return result('not-applicable', 'Built-in role reconciled by the API server; it is granted through bindings, which the binding controls check.', ctx.ref(d));
      }
      if (asDict((d.object as Dict).aggregationRule).clusterRoleSelectors !== undefined) {
        return result('not-evaluated', 'Not evaluated: an aggregated ClusterRole gets its rules from other roles at run time.', ctx.ref(d));
      }
      const problems = asDicts((d.object as Dict).rules)
        .map((r, i) => ({ i, p: problem(r) }))
        .filter((x) => x.p !== undefined)
        .map((x) => `rule ${x.i + 1}: ${x.p}`);
      return problems.length > 0 ? result('fail', `${problems.join('; ')}.`, ctx.ref(d)) : result('pass', ok, ctx.ref(d));
    });
  };
}

function grantsOn(rule: Dict, group: string, resource: string, verbs: readonly string[]): string[] {
  const groups = asStrings(rule.apiGroups);
  const resources = asStrings(rule.resources);
  const rv = asStrings(rule.verbs);
  if (!groups.some((g) => g === '*' || g === group)) return [];
  if (!resources.some((r) => r === '*' || r === resource)) return [];
  return verbs.filter((v) => rv.includes('*') || rv.includes(v));
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

export const RBAC_CONTROLS: readonly Control[] = [
  {
    id: 'HCB-RBAC-NO-WILDCARDS',
    title: 'Roles name their API groups, resources and verbs (no wildcards)',
    rationale: 'A wildcard grants everything that exists now and everything added later, including new sensitive resources.',
    severity: 'medium',
    frameworks: { cis: ['5.1.3'], bsi: ['APP.4.4.A3'], ccn: ['CCN-CL-11'], scs: ['SCS-BASE-API-RBAC'] },
    checkpoints: ['synth', 'admission', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: 'Use the NamespaceAccess / PlatformAccess presets or list groups, resources and verbs explicitly.',
    check: ruleCheck((r) => {
      const wild = ['apiGroups', 'resources', 'verbs', 'nonResourceURLs'].filter((k) => asStrings(r[k]).some((x) => x === '*' || x.endsWith('*')));
      return wild.length > 0 ? `wildcard in ${wild.join(', ')}` : undefined;
    }, 'No wildcard in any rule.'),
  },
  {
    id: 'HCB-RBAC-NO-ESCALATION-VERBS',
    title: 'Roles do not grant escalate, bind or impersonate',
    rationale: 'These verbs let the holder give itself any permission or act as any user, making every other restriction moot.',
    severity: 'high',
    frameworks: { cis: ['5.1.8'], bsi: ['APP.4.4.A3'], scs: ['SCS-BASE-API-RBAC'] },
    checkpoints: ['synth', 'admission', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: 'Remove escalate, bind and impersonate from the role; keep them to break-glass administrators.',
    check: ruleCheck((r) => {
      const verbs = asStrings(r.verbs).filter((v) => ['escalate', 'bind', 'impersonate'].includes(v));
      if (verbs.length > 0) return `grants ${verbs.join(', ')}`;
      if (!asStrings(r.verbs).includes('*')) return undefined;
      // Verb "*" includes escalate and bind where the rule reaches roles, impersonate where it reaches identities.
      const implied = new Set<string>();
      for (const res of ['roles', 'clusterroles']) for (const v of grantsOn(r, RBAC, res, ['escalate', 'bind'])) implied.add(v);
      for (const res of ['users', 'groups', 'serviceaccounts']) for (const v of grantsOn(r, '', res, ['impersonate'])) implied.add(v);
      return implied.size > 0 ? `verb "*" grants ${[...implied].join(', ')}` : undefined;
    }, 'No escalate, bind or impersonate.'),
  },
  {
    id: 'HCB-RBAC-SECRETS-READ',
    title: 'Roles do not grant reading Secrets',
    rationale: 'get, list or watch on Secrets hands out every credential in scope; list and watch even return all of them at once.',
    severity: 'high',
    frameworks: { cis: ['5.1.2'], bsi: ['APP.4.4.A3'], ccn: ['CCN-CL-15'] },
    checkpoints: ['synth', 'admission', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: 'Mount the one Secret a workload needs as a volume instead of granting API read access; restrict resourceNames if access is unavoidable.',
    check: ruleCheck((r) => {
      const verbs = grantsOn(r, '', 'secrets', ['get', 'list', 'watch']);
      if (verbs.length === 0) return undefined;
      if (asStrings(r.resourceNames).length > 0 && !verbs.includes('list') && !verbs.includes('watch')) return undefined;
      return `${verbs.join(', ')} on secrets`;
    }, 'No read access to Secrets.'),
  },
  {
    id: 'HCB-RBAC-CLUSTER-ADMIN-BINDINGS',
    title: 'cluster-admin is bound only to the break-glass administrator groups',
    rationale: 'cluster-admin is unrestricted; binding it to people or workloads turns any credential leak into full control of the cluster.',
    severity: 'high',
    frameworks: { cis: ['5.1.1'], bsi: ['APP.4.4.A3'], scs: ['SCS-BASE-API-RBAC'] },
    checkpoints: ['synth', 'admission', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: 'Bind the PlatformAccess presets instead; keep cluster-admin for the kubeadm system:masters break-glass credential.',
    check: bindingCheck((b) => {
      const ref = asDict(b.roleRef);
      if (ref.kind !== 'ClusterRole' || ref.name !== 'cluster-admin') return undefined;
      // Only the break-glass groups kubeadm sets up; any other group (system:authenticated!) is everyone in it.
      const others = subjects(b).filter((s) => !(s.kind === 'Group' && ['system:masters', 'kubeadm:cluster-admins'].includes(asString(s.name) ?? '')));
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
    checkpoints: ['synth', 'admission', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: 'Bind roles to named groups or a WorkloadIdentity service account (NamespaceAccess presets), never to system:authenticated, system:unauthenticated, system:anonymous or system:serviceaccounts.',
    check: (ctx: CheckContext): CheckResult[] => {
      const all = bindings(ctx);
      if (all.length === 0) return [notEvaluated('no RoleBinding or ClusterRoleBinding in the input.')];
      return all.map((d) => {
        const b = d.object as Dict;
        const broad = subjects(b).filter((s) => isBroadSubject(asString(s.kind), asString(s.name)));
        if (broad.length === 0) return result('pass', 'No broad group or anonymous user among the subjects.', ctx.ref(d));
        const ref = asDict(b.roleRef);
        const grants = dangerousGrants(ref, d.object.metadata?.namespace, ctx);
        const who = broad.map(subjectText).join(', ');
        if (grants === undefined) {
          return result('not-evaluated', `Not evaluated: binds ${String(ref.kind)} ${String(ref.name)} to ${who}, but that role is not in the input (or is aggregated), so what it grants is unknown.`, ctx.ref(d));
        }
        return grants.length > 0
          ? result('fail', `Binds ${String(ref.kind)} ${String(ref.name)} to ${who}: ${grants.join('; ')}.`, ctx.ref(d))
          : result('pass', `Binds ${String(ref.kind)} ${String(ref.name)} to ${who}; it grants no writes and no Secret reads.`, ctx.ref(d));
      });
    },
  },
  {
    id: 'HCB-RBAC-DEFAULT-SA-UNBOUND',
    title: 'No role is bound to a default service account',
    rationale: 'Every pod without its own service account runs as "default"; rights granted to it reach all of them.',
    severity: 'medium',
    frameworks: { cis: ['5.1.5'], bsi: ['APP.4.4.A9'], ccn: ['CCN-CL-15'] },
    checkpoints: ['synth', 'admission', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: 'Bind roles to a WorkloadIdentity service account instead of "default".',
    check: bindingCheck((b, d) => {
      const hits = subjects(b).filter((s) => s.kind === 'ServiceAccount' && s.name === 'default');
      const ns = d.object.metadata?.namespace;
      return hits.length > 0 ? `Grants ${String(asDict(b.roleRef).name)} to ${hits.map((s) => `default service account of ${asString(s.namespace) ?? ns ?? '?'}`).join(', ')}.` : undefined;
    }, 'No default service account among the subjects.'),
  },
  {
    id: 'HCB-RBAC-PERSISTENT-VOLUMES',
    title: 'Only platform roles may create or change PersistentVolumes',
    rationale: 'A PersistentVolume can point at any host path or storage backend; creating one is a way onto the node or into other tenants’ data.',
    severity: 'medium',
    frameworks: { bsi: ['APP.4.4.A3'] },
    checkpoints: ['synth', 'admission', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: 'Tenant roles (NamespaceAccess) request storage through PersistentVolumeClaims; PersistentVolume write access stays in PlatformAccess. Record an exception for the platform role.',
    check: ruleCheck((r) => {
      const verbs = grantsOn(r, '', 'persistentvolumes', ['create', 'update', 'patch', 'delete']);
      return verbs.length > 0 ? `${verbs.join(', ')} on persistentvolumes` : undefined;
    }, 'No write access to PersistentVolumes.'),
  },
  {
    id: 'HCB-RBAC-NETWORK-POLICY-WRITE',
    title: 'Only platform roles may change NetworkPolicies',
    rationale: 'Whoever can edit NetworkPolicies can remove the namespace isolation; that right belongs to selected administrators.',
    severity: 'low',
    frameworks: { bsi: ['APP.4.4.A7', 'APP.4.4.A18'] },
    checkpoints: ['synth', 'admission', 'live'],
    responsibility: 'cluster-admin',
    automation: 'automated',
    remediation: 'Keep NetworkPolicy write access in PlatformAccess; tenants request flows through reviewed NetworkAllowPolicy code. Record an exception for the platform role.',
    check: ruleCheck((r) => {
      const verbs = grantsOn(r, 'networking.k8s.io', 'networkpolicies', ['create', 'update', 'patch', 'delete']);
      return verbs.length > 0 ? `${verbs.join(', ')} on networkpolicies` : undefined;
    }, 'No write access to NetworkPolicies.'),
  },
];

/**
 * The RBAC rule predicates and NetworkPolicy helpers behind the RBAC and default-deny controls,
 * checked against the Kubernetes semantics they model.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import { matchesLabels } from '../../../policies/checks/label-selector';
import {
  allowAllOpenings,
  fullyCoveredFamilies,
  parseCidr,
  policyTypes,
  selectsEveryPod,
} from '../../../policies/checks/network-policy';
import {
  BOOTSTRAP_CLUSTER_ROLES,
  BUILTIN_ROLES_FLAGGED_BY,
  READ_ONLY_BUILTIN_ROLES,
} from '../../../policies/checks/rbac-builtins';
import {
  dangerousGrants,
  escalationProblem,
  grantsOn,
  networkPolicyWriteProblem,
  persistentVolumeWriteProblem,
  ruleProblems,
  secretsReadProblem,
  wildcardProblem,
} from '../../../policies/checks/rbac-rules';

describe('RBAC rule predicates', () => {
  it('matches resources the way the authorizer does ("*", "*/sub", exact only)', () => {
    expect(
      grantsOn({ apiGroups: [''], resources: ['*/scale'], verbs: ['update'] }, 'apps', 'deployments/scale', ['update']),
    ).toEqual([]);
    expect(
      grantsOn({ apiGroups: ['apps'], resources: ['*/scale'], verbs: ['update'] }, 'apps', 'deployments/scale', [
        'update',
      ]),
    ).toEqual(['update']);
    expect(
      grantsOn({ apiGroups: ['apps'], resources: ['*/scale'], verbs: ['update'] }, 'apps', 'deployments', ['update']),
    ).toEqual([]);
    expect(
      grantsOn({ apiGroups: ['*'], resources: ['secrets'], verbs: ['*'] }, '', 'secrets', ['get', 'list']),
    ).toEqual(['get', 'list']);
    // Verbs are case-sensitive: "GET" grants nothing.
    expect(grantsOn({ apiGroups: [''], resources: ['secrets'], verbs: ['GET'] }, '', 'secrets', ['get'])).toEqual([]);
  });

  it('counts writes, escalation verbs, exec through get and named Secret reads as dangerous; self reviews are not', () => {
    expect(dangerousGrants({ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] })).toEqual([]);
    expect(
      dangerousGrants({
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews'],
        verbs: ['create'],
      }),
    ).toEqual([]);
    expect(
      dangerousGrants({ apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] }),
    ).toEqual(['create on subjectaccessreviews (authorization.k8s.io)']);
    expect(dangerousGrants({ apiGroups: [''], resources: ['pods/exec'], verbs: ['get'] })).toEqual([
      'get on pods/exec',
    ]);
    expect(
      dangerousGrants({ apiGroups: [''], resources: ['secrets'], resourceNames: ['one'], verbs: ['get'] }),
    ).toEqual(['get on secrets named one']);
    expect(dangerousGrants({ apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] })).toEqual([
      'impersonate on serviceaccounts',
    ]);
    expect(dangerousGrants({ nonResourceURLs: ['/logs/*'], verbs: ['post'] })).toEqual(['post on /logs/*']);
  });

  it('keeps the narrow Secret get and reports list/watch even with resourceNames', () => {
    expect(
      secretsReadProblem({ apiGroups: [''], resources: ['secrets'], resourceNames: ['a'], verbs: ['get'] }),
    ).toBeUndefined();
    expect(
      secretsReadProblem({ apiGroups: [''], resources: ['secrets'], resourceNames: ['a'], verbs: ['get', 'list'] }),
    ).toBe('get, list on secrets');
  });

  it('sees escalate/bind/impersonate implied by verb "*"', () => {
    expect(
      escalationProblem({ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['*'] }),
    ).toBe('verb "*" grants escalate, bind');
    expect(escalationProblem({ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] })).toBeUndefined();
  });

  it('numbers the rules it reports', () => {
    expect(
      ruleProblems(
        {
          rules: [
            { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
            { apiGroups: ['*'], resources: ['pods'], verbs: ['get'] },
          ],
        },
        wildcardProblem,
      ),
    ).toEqual(['rule 2: wildcard in apiGroups']);
  });
});

describe('built-in role lists', () => {
  it('only name bootstrap roles', () => {
    for (const n of READ_ONLY_BUILTIN_ROLES) expect(BOOTSTRAP_CLUSTER_ROLES.has(n)).toBe(true);
    for (const set of Object.values(BUILTIN_ROLES_FLAGGED_BY))
      for (const n of set) expect(n.includes('/') || BOOTSTRAP_CLUSTER_ROLES.has(n)).toBe(true);
  });

  // The lists were derived from the API server's bootstrap policy; when the Go module cache holds
  // it (the toolchain build downloads it), recompute them and compare.
  const testdata =
    '/root/go/pkg/mod/k8s.io/kubernetes@v1.36.3/plugin/pkg/auth/authorizer/rbac/bootstrappolicy/testdata';
  const haveTestdata = fs.existsSync(testdata);
  (haveTestdata ? it : it.skip)('agree with k8s.io/kubernetes v1.36.3 bootstrap policy testdata', () => {
    type Role = {
      kind: string;
      metadata: { name: string; namespace?: string };
      rules?: Record<string, unknown>[];
      aggregationRule?: unknown;
    };
    const roles: Role[] = [];
    for (const f of [
      'cluster-roles.yaml',
      'controller-roles.yaml',
      'cluster-roles-featuregates.yaml',
      'namespace-roles.yaml',
    ]) {
      const doc = parseYaml(fs.readFileSync(path.join(testdata, f), 'utf8')) as Record<string, unknown>;
      const lists = Array.isArray(doc.items) ? [doc] : Object.values(doc);
      for (const l of lists as Array<{ items?: Role[] }>) roles.push(...(l.items ?? []));
    }
    const key = (r: Role) =>
      r.kind === 'ClusterRole' ? r.metadata.name : `${r.metadata.namespace}/${r.metadata.name}`;
    const inTestdata = new Set(roles.map(key));
    // Feature-gated roles missing from testdata may be listed in addition; everything testdata flags must be listed.
    const agree = (p: (rule: Record<string, unknown>) => string | undefined, listed: ReadonlySet<string>) => {
      const flagged = new Set(roles.filter((r) => ruleProblems(r as never, p).length > 0).map(key));
      expect([...flagged].filter((n) => !listed.has(n))).toEqual([]);
      expect([...listed].filter((n) => !flagged.has(n) && inTestdata.has(n))).toEqual([]);
    };
    agree(wildcardProblem, BUILTIN_ROLES_FLAGGED_BY.wildcards);
    agree(escalationProblem, BUILTIN_ROLES_FLAGGED_BY.escalation);
    agree(secretsReadProblem, BUILTIN_ROLES_FLAGGED_BY.secretsRead);
    agree(persistentVolumeWriteProblem, BUILTIN_ROLES_FLAGGED_BY.persistentVolumeWrite);
    agree(networkPolicyWriteProblem, BUILTIN_ROLES_FLAGGED_BY.networkPolicyWrite);
    const safe = roles
      .filter(
        (r) =>
          r.kind === 'ClusterRole' &&
          !r.aggregationRule &&
          (r.rules ?? []).every((x) => dangerousGrants(x).length === 0),
      )
      .map((r) => r.metadata.name);
    expect([...new Set([...safe, 'view'])].sort()).toEqual([...READ_ONLY_BUILTIN_ROLES].sort());
    const names = new Set(roles.filter((r) => r.kind === 'ClusterRole').map((r) => r.metadata.name));
    for (const n of names) expect(BOOTSTRAP_CLUSTER_ROLES.has(n)).toBe(true);
  });
});

describe('label selectors', () => {
  it('evaluates matchLabels and matchExpressions', () => {
    expect(matchesLabels({}, { a: '1' })).toBe(true);
    expect(matchesLabels({ matchLabels: { a: '1' } }, { a: '1' })).toBe(true);
    expect(matchesLabels({ matchLabels: { a: '1' } }, { a: '2' })).toBe(false);
    expect(matchesLabels({ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }] }, { a: '2' })).toBe(
      true,
    );
    expect(matchesLabels({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, {})).toBe(true);
    expect(matchesLabels({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, { a: '' })).toBe(false);
    expect(matchesLabels({ matchExpressions: [{ key: 'a', operator: 'Bogus' }] }, { a: '' })).toBeUndefined();
  });
});

describe('NetworkPolicy semantics', () => {
  it('defaults policyTypes as the API server does', () => {
    expect(policyTypes({})).toEqual(['Ingress']);
    expect(policyTypes({ egress: [] })).toEqual(['Ingress']);
    expect(policyTypes({ egress: [{}] })).toEqual(['Ingress', 'Egress']);
    expect(policyTypes({ policyTypes: ['Egress'], ingress: [{}] })).toEqual(['Egress']);
  });

  it('treats a missing podSelector as every pod', () => {
    expect(selectsEveryPod({})).toBe(true);
    expect(selectsEveryPod({ podSelector: { matchLabels: {} } })).toBe(true);
    expect(selectsEveryPod({ podSelector: { matchLabels: { app: 'x' } } })).toBe(false);
  });

  it('parses CIDRs like net.ParseCIDR and finds full coverage', () => {
    expect(parseCidr('10.1.2.3/8')).toEqual({ family: 4, start: 10n << 24n, end: (11n << 24n) - 1n });
    expect(parseCidr('010.0.0.0/8')).toBeUndefined();
    expect(parseCidr('::ffff:0.0.0.0/96')?.family).toBe(6);
    expect(parseCidr('1.2.3.4/33')).toBeUndefined();
    expect(fullyCoveredFamilies(['1.2.3.4/0'])).toEqual([4]);
    expect(fullyCoveredFamilies(['0.0.0.0/1', '128.0.0.0/2', '192.0.0.0/2'])).toEqual([4]);
    expect(fullyCoveredFamilies(['0.0.0.0/1', '192.0.0.0/2'])).toEqual([]);
    expect(fullyCoveredFamilies(['::/1', '8000::/1', '10.0.0.0/8'])).toEqual([6]);
  });

  it('finds allow-all rules only on policies for every pod and the right direction', () => {
    const open = { podSelector: {}, ingress: [{}] };
    expect(allowAllOpenings([{ name: 'a', spec: open }], 'Ingress')).toHaveLength(1);
    expect(allowAllOpenings([{ name: 'a', spec: open }], 'Egress')).toHaveLength(0);
    expect(
      allowAllOpenings([{ name: 'a', spec: { ...open, podSelector: { matchLabels: { app: 'x' } } } }], 'Ingress'),
    ).toHaveLength(0);
    expect(
      allowAllOpenings(
        [{ name: 'a', spec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] } }],
        'Ingress',
      ),
    ).toHaveLength(0);
    expect(
      allowAllOpenings(
        [
          {
            name: 'a',
            spec: { podSelector: {}, ingress: [{ ports: [{ port: 1, endPort: 65535, protocol: 'UDP' }] }] },
          },
        ],
        'Ingress',
      )[0].what,
    ).toContain('every UDP port');
    expect(
      allowAllOpenings([{ name: 'a', spec: { podSelector: {}, ingress: [{ ports: [{ port: 'http' }] }] } }], 'Ingress'),
    ).toHaveLength(0);
    expect(
      allowAllOpenings(
        [{ name: 'a', spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {}, podSelector: null }] }] } }],
        'Ingress',
      ),
    ).toHaveLength(1);
  });
});

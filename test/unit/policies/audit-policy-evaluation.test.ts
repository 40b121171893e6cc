/**
 * The audit policy evaluator against the API server's rules (k8s.io/apiserver
 * pkg/audit/policy/checker.go, reader.go, apis/audit/validation, v0.36): first match, selectors,
 * omitStages (policy ∪ rule), and what the server refuses to load.
 */
import {
  auditLevelFor,
  identitiesFor,
  isExemptNoise,
  policyProblems,
  probes,
  recordedAt,
  ruleMatches,
} from '../../../policies/checks/audit-policy';

const user = { user: 'alice', groups: ['dev', 'system:authenticated'] };
const req = (
  verb: string,
  group: string,
  resource: string,
  extra: { subresource?: string; name?: string; namespace?: string } = {},
) => ({
  ...user,
  verb,
  namespace: extra.namespace ?? 'team-a',
  resource: {
    group,
    resource,
    ...(extra.subresource ? { subresource: extra.subresource } : {}),
    ...(extra.name ? { name: extra.name } : {}),
  },
});

describe('rule matching (checker.go ruleMatchesResource / ruleMatchesNonResource)', () => {
  it("group '*' matches every API group", () => {
    expect(ruleMatches({ resources: [{ group: '*' }] }, req('get', 'apps', 'deployments'))).toBe(true);
    expect(ruleMatches({ resources: [{ group: '*', resources: ['secrets'] }] }, req('get', '', 'secrets'))).toBe(true);
  });
  it("'pods/*' matches pods itself and every subresource; '*/log' only that subresource; '*' everything", () => {
    expect(ruleMatches({ resources: [{ group: '', resources: ['pods/*'] }] }, req('get', '', 'pods'))).toBe(true);
    expect(
      ruleMatches(
        { resources: [{ group: '', resources: ['pods/*'] }] },
        req('get', '', 'pods', { subresource: 'log' }),
      ),
    ).toBe(true);
    expect(
      ruleMatches({ resources: [{ group: '', resources: ['*/log'] }] }, req('get', '', 'pods', { subresource: 'log' })),
    ).toBe(true);
    expect(ruleMatches({ resources: [{ group: '', resources: ['*/log'] }] }, req('get', '', 'pods'))).toBe(false);
    expect(
      ruleMatches({ resources: [{ group: '', resources: ['*'] }] }, req('create', '', 'pods', { subresource: 'exec' })),
    ).toBe(true);
    expect(
      ruleMatches(
        { resources: [{ group: '', resources: ['pods'] }] },
        req('create', '', 'pods', { subresource: 'exec' }),
      ),
    ).toBe(false);
  });
  it('resourceNames restrict only where resources are listed; requests without a name never match them', () => {
    const rule = { resources: [{ group: '', resources: ['secrets'], resourceNames: ['db'] }] };
    expect(ruleMatches(rule, req('get', '', 'secrets', { name: 'db' }))).toBe(true);
    expect(ruleMatches(rule, req('get', '', 'secrets', { name: 'other' }))).toBe(false);
    expect(ruleMatches(rule, req('list', '', 'secrets'))).toBe(false);
  });
  it("namespaces: '' is cluster scope (and all-namespace lists); a namespace rule never matches non-resource requests", () => {
    expect(ruleMatches({ namespaces: [''] }, req('get', '', 'nodes', { namespace: '' }))).toBe(true);
    expect(ruleMatches({ namespaces: [''] }, req('get', '', 'pods'))).toBe(false);
    expect(ruleMatches({ namespaces: ['team-a'] }, { ...user, verb: 'get', path: '/api' })).toBe(false);
  });
  it("non-resource URLs: '*' any path, trailing stars a prefix; never a resource request", () => {
    expect(ruleMatches({ nonResourceURLs: ['*'] }, { ...user, verb: 'get', path: '/logs/x' })).toBe(true);
    expect(ruleMatches({ nonResourceURLs: ['/debug**'] }, { ...user, verb: 'get', path: '/debug/pprof/' })).toBe(true);
    expect(ruleMatches({ nonResourceURLs: ['*'] }, req('get', '', 'pods'))).toBe(false);
  });
  it('users match the name exactly, userGroups any of the groups', () => {
    expect(ruleMatches({ users: ['alice'] }, req('get', '', 'pods'))).toBe(true);
    expect(ruleMatches({ userGroups: ['dev'] }, req('get', '', 'pods'))).toBe(true);
    expect(ruleMatches({ userGroups: ['ops'] }, req('get', '', 'pods'))).toBe(false);
  });
});

describe('levels and stages', () => {
  it("the matching rule's omitStages add to the policy's; no match gives None with the policy's", () => {
    const policy = {
      omitStages: ['RequestReceived'],
      rules: [
        { level: 'Metadata', omitStages: ['ResponseComplete'], resources: [{ group: '', resources: ['secrets'] }] },
      ],
    };
    const d = auditLevelFor(policy, req('get', '', 'secrets'));
    expect(d.level).toBe('Metadata');
    expect([...d.omitStages].sort()).toEqual(['RequestReceived', 'ResponseComplete']);
    expect(recordedAt(d, ['Metadata'])).toBe(false);
    expect(auditLevelFor(policy, req('get', '', 'pods'))).toEqual({
      level: 'None',
      rule: 0,
      omitStages: ['RequestReceived'],
    });
  });
  it('a record needs a level above None and both completion stages', () => {
    expect(recordedAt({ level: 'Request', rule: 1, omitStages: ['RequestReceived'] }, ['Metadata', 'Request'])).toBe(
      true,
    );
    expect(recordedAt({ level: 'Request', rule: 1, omitStages: ['Panic'] }, ['Request'])).toBe(false);
    expect(recordedAt({ level: 'None', rule: 1, omitStages: [] }, ['None'])).toBe(false);
  });
});

describe('what the API server refuses to load', () => {
  it.each([
    [{ rules: [{ level: 'Metadata' }] }, 'audit.k8s.io/v1beta1', /not audit.k8s.io\/v1/],
    [{ rules: [] }, 'audit.k8s.io/v1', /no rules/],
    [{ rules: [{ level: 'metadata' }] }, 'audit.k8s.io/v1', /rule 1 has level "metadata"/],
    [{ rules: [{ level: 'None', omitStages: ['Done'] }] }, 'audit.k8s.io/v1', /unknown stage "Done"/],
    [{ rules: [{ level: 'None', nonResourceURLs: ['/a*b'] }] }, 'audit.k8s.io/v1', /'\*' before its end/],
    [{ rules: [{ level: 'None', nonResourceURLs: ['/a'], namespaces: ['x'] }] }, 'audit.k8s.io/v1', /both resources/],
    [
      { rules: [{ level: 'None', resources: [{ group: '', resourceNames: ['x'] }] }] },
      'audit.k8s.io/v1',
      /resourceNames without resources/,
    ],
    [{ rules: [{ level: 'None', users: 'alice' }] }, 'audit.k8s.io/v1', /users is not a list of strings/],
  ])('%j (%s)', (policy, apiVersion, message) => {
    expect(policyProblems(policy, apiVersion).join('; ')).toMatch(message);
  });
  it('accepts a valid policy', () => {
    expect(
      policyProblems(
        { omitStages: ['RequestReceived'], rules: [{ level: 'None', nonResourceURLs: ['*'] }, { level: 'Metadata' }] },
        'audit.k8s.io/v1',
      ),
    ).toEqual([]);
  });
});

describe('the probe set', () => {
  it('takes users, groups, namespaces, names and paths from the rules', () => {
    const policy = {
      rules: [
        { level: 'None', users: ['bob'], userGroups: ['system:serviceaccounts:prod'], namespaces: ['payments'] },
        { level: 'None', resources: [{ group: 'apps', resources: ['deployments'], resourceNames: ['api'] }] },
        { level: 'None', nonResourceURLs: ['/private*'] },
      ],
    };
    const ids = identitiesFor(policy).map((i) => i.user);
    expect(ids).toEqual(
      expect.arrayContaining([
        'bob',
        'system:serviceaccount:prod:hcb-probe',
        'system:anonymous',
        'system:node:hcb-probe-node',
      ]),
    );
    const all = [...probes(policy)];
    expect(all.some((p) => p.request.namespace === 'payments')).toBe(true);
    expect(all.some((p) => p.request.resource?.name === 'api')).toBe(true);
    expect(all.some((p) => p.request.path === '/private')).toBe(true);
  });
  it("does not probe control-plane reads, nodes' non-credential reads, health endpoints or event reads", () => {
    const all = [...probes({ rules: [{ level: 'Metadata' }] })];
    expect(
      all.some((p) => p.identity.user === 'system:apiserver' && ['get', 'list', 'watch'].includes(p.request.verb)),
    ).toBe(false);
    expect(all.some((p) => p.identity.user === 'system:apiserver' && p.request.verb === 'create')).toBe(true);
    expect(
      all.some(
        (p) => p.identity.class === 'node' && p.request.verb === 'get' && p.request.resource?.resource === 'nodes',
      ),
    ).toBe(false);
    expect(
      all.some(
        (p) => p.identity.class === 'node' && p.request.verb === 'get' && p.request.resource?.resource === 'secrets',
      ),
    ).toBe(true);
    expect(isExemptNoise({ ...user, verb: 'get', path: '/readyz/etcd' })).toBe(true);
    expect(isExemptNoise({ ...user, verb: 'get', path: '/logs/' })).toBe(false);
    expect(isExemptNoise(req('list', 'events.k8s.io', 'events'))).toBe(true);
    expect(isExemptNoise(req('delete', '', 'events'))).toBe(false);
  });
});

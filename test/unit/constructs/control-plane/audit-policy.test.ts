import { App } from 'cdk8s';
import {
  AuditPolicy,
  AuditRule,
  NOISE_REDUCTION_RULES,
  REQUIRED_AUDIT_RULES,
  overlaps,
} from '../../../../constructs/control-plane/audit-policy';

function policy(props: ConstructorParameters<typeof AuditPolicy>[2] = {}): Record<string, any> {
  return new AuditPolicy(new App(), 'audit', props).toObjects()[0] as Record<string, any>;
}

/** First matching rule for a resource request, as the API server evaluates the policy. */
function levelFor(
  p: Record<string, any>,
  req: { user: string; groups?: string[]; verb: string; group: string; resource: string; namespace?: string },
): string {
  for (const r of p.rules as AuditRule[]) {
    if (r.nonResourceURLs) continue;
    if (r.users && !r.users.includes(req.user)) continue;
    if (r.userGroups && !r.userGroups.some((g) => (req.groups ?? []).includes(g))) continue;
    if (r.verbs && !r.verbs.includes(req.verb)) continue;
    if (r.namespaces && !r.namespaces.includes(req.namespace ?? '')) continue;
    if (
      r.resources &&
      !r.resources.some(
        (g) =>
          (g.group ?? '') === req.group &&
          (!g.resources ||
            g.resources.some(
              (x) => x === req.resource || x === '*' || (x.endsWith('/*') && req.resource.startsWith(x.slice(0, -1))),
            )),
      )
    )
      continue;
    return r.level;
  }
  return 'None';
}

describe('AuditPolicy', () => {
  const p = policy();

  test('audit.k8s.io/v1 Policy that omits RequestReceived', () => {
    expect(p.apiVersion).toBe('audit.k8s.io/v1');
    expect(p.kind).toBe('Policy');
    expect(p.omitStages).toEqual(['RequestReceived']);
  });

  test('the required rules come first, then the noise reduction, then a Metadata catch-all', () => {
    const n = REQUIRED_AUDIT_RULES.length;
    expect(p.rules.slice(0, n).map((r: AuditRule) => r.level)).toEqual([
      'Metadata',
      'RequestResponse',
      'RequestResponse',
      'RequestResponse',
    ]);
    expect(p.rules.slice(n, n + NOISE_REDUCTION_RULES.length).every((r: AuditRule) => r.level === 'None')).toBe(true);
    expect(p.rules[p.rules.length - 1]).toEqual({ level: 'Metadata' });
  });

  test('no None rule is a catch-all, and every None rule is read-only', () => {
    for (const r of p.rules as AuditRule[]) {
      if (r.level !== 'None') continue;
      expect(r.verbs).toBeDefined();
      expect(r.verbs!.every((v) => ['get', 'list', 'watch'].includes(v))).toBe(true);
      expect(Boolean(r.users || r.userGroups || r.resources || r.nonResourceURLs)).toBe(true);
    }
  });

  test('credentials only at Metadata, whoever reads them', () => {
    for (const [group, resource] of [
      ['', 'secrets'],
      ['', 'configmaps'],
      ['', 'serviceaccounts/token'],
      ['authentication.k8s.io', 'tokenreviews'],
    ]) {
      for (const user of ['alice', 'system:kube-controller-manager', 'system:apiserver']) {
        expect(levelFor(p, { user, verb: 'get', group, resource, namespace: 'kube-system' })).toBe('Metadata');
        expect(levelFor(p, { user, verb: 'create', group, resource })).toBe('Metadata');
      }
    }
  });

  test('RBAC changes, exec/attach/port-forward and privilege changes at RequestResponse', () => {
    for (const resource of ['roles', 'rolebindings', 'clusterroles', 'clusterrolebindings']) {
      expect(levelFor(p, { user: 'alice', verb: 'create', group: 'rbac.authorization.k8s.io', resource })).toBe(
        'RequestResponse',
      );
      expect(levelFor(p, { user: 'alice', verb: 'delete', group: 'rbac.authorization.k8s.io', resource })).toBe(
        'RequestResponse',
      );
    }
    for (const resource of ['pods/exec', 'pods/attach', 'pods/portforward', 'pods/ephemeralcontainers']) {
      expect(levelFor(p, { user: 'alice', verb: 'create', group: '', resource })).toBe('RequestResponse');
    }
    expect(levelFor(p, { user: 'alice', verb: 'patch', group: '', resource: 'namespaces' })).toBe('RequestResponse');
    expect(
      levelFor(p, {
        user: 'alice',
        verb: 'update',
        group: 'certificates.k8s.io',
        resource: 'certificatesigningrequests/approval',
      }),
    ).toBe('RequestResponse');
    expect(
      levelFor(p, {
        user: 'alice',
        verb: 'create',
        group: 'admissionregistration.k8s.io',
        resource: 'validatingwebhookconfigurations',
      }),
    ).toBe('RequestResponse');
  });

  test('noisy read-only system traffic is dropped, the same users writing is not', () => {
    expect(
      levelFor(p, { user: 'system:kube-proxy', verb: 'watch', group: 'discovery.k8s.io', resource: 'endpointslices' }),
    ).toBe('None');
    expect(
      levelFor(p, { user: 'system:node:n1', groups: ['system:nodes'], verb: 'get', group: '', resource: 'nodes' }),
    ).toBe('None');
    expect(
      levelFor(p, { user: 'system:node:n1', groups: ['system:nodes'], verb: 'patch', group: '', resource: 'nodes' }),
    ).toBe('Metadata');
    expect(levelFor(p, { user: 'system:kube-proxy', verb: 'create', group: '', resource: 'pods' })).toBe('Metadata');
  });

  test('precedingRules come before the required rules, additionalRules after them', () => {
    const custom = policy({
      precedingRules: [{ level: 'None', verbs: ['get'], resources: [{ group: 'apps', resources: ['deployments'] }] }],
      additionalRules: [{ level: 'Request', resources: [{ group: 'apps' }] }],
    });
    expect(custom.rules[0]).toEqual({
      level: 'None',
      verbs: ['get'],
      resources: [{ group: 'apps', resources: ['deployments'] }],
    });
    expect(custom.rules[custom.rules.length - 2]).toEqual({ level: 'Request', resources: [{ group: 'apps' }] });
  });

  test('reduceSystemNoise: false keeps everything', () => {
    expect(policy({ reduceSystemNoise: false }).rules.filter((r: AuditRule) => r.level === 'None')).toHaveLength(0);
  });

  test('overlap detection', () => {
    const secrets: AuditRule = { level: 'Metadata', resources: [{ group: '', resources: ['secrets'] }] };
    expect(overlaps({ level: 'None' }, secrets)).toBe(true);
    expect(overlaps({ level: 'None', nonResourceURLs: ['/healthz'] }, secrets)).toBe(false);
    expect(overlaps({ level: 'None', resources: [{ group: 'apps' }] }, secrets)).toBe(false);
    expect(overlaps({ level: 'None', resources: [{ group: '', resources: ['*'] }] }, secrets)).toBe(true);
    expect(
      overlaps({ level: 'None', resources: [{ group: '', resources: ['secrets'], resourceNames: ['x'] }] }, secrets),
    ).toBe(true);
    expect(overlaps({ level: 'None', verbs: ['get'] }, { ...secrets, verbs: ['create'] })).toBe(false);
    expect(
      overlaps(
        { level: 'None', resources: [{ group: '', resources: ['pods'] }] },
        { level: 'Metadata', resources: [{ group: '', resources: ['pods/exec'] }] },
      ),
    ).toBe(false);
    expect(
      overlaps(
        { level: 'None', resources: [{ group: '', resources: ['*/exec'] }] },
        { level: 'Metadata', resources: [{ group: '', resources: ['pods/exec'] }] },
      ),
    ).toBe(true);
  });
});

// examples/app/main.ts, run in-repo (the package name resolving to this repository's constructs;
// app.test.ts runs it from the packed tarball): a platform chart and an app chart. The pipeline's
// ServiceAccount (deployer preset) may apply every object of the app chart and none of the
// platform chart's namespace-level objects; each chart audits clean on its own.
import * as fs from 'fs';
import * as path from 'path';
import { secretsReadProblem } from '../../../policies/checks/rbac-rules';
import { allowed, APPLY_VERBS, auditProblems, refused, rulesOfServiceAccount } from './deployer-rights';
import { runReadmeExample, typeCheckReadmeExample } from './readme-example';

jest.setTimeout(120_000);

const SOURCE = fs.readFileSync(path.resolve(__dirname, '../../../examples/app/main.ts'), 'utf8');
type Obj = Record<string, any>;

describe('examples/app: platform chart and app chart', () => {
  const objs = runReadmeExample(SOURCE);
  const chartOf = (o: Obj) => String(o.metadata?.annotations?.['hcb.dev/construct-path'] ?? '').split('/')[0];
  const platform = objs.filter((o) => chartOf(o) === 'shop-platform');
  const appChart = objs.filter((o) => chartOf(o) === 'shop-app');
  const { bindings, role, rules } = rulesOfServiceAccount(platform, 'shop', 'shop-deployer');

  test('type-checks; every object belongs to one of the two charts', () => {
    expect(typeCheckReadmeExample(SOURCE)).toEqual([]);
    expect(platform.length + appChart.length).toBe(objs.length);
    expect(appChart.map((o) => o.kind).sort()).toEqual([
      'Deployment',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
    ]);
    expect(new Set(platform.map((o) => o.kind))).toEqual(
      new Set(['Namespace', 'ResourceQuota', 'LimitRange', 'NetworkPolicy', 'ServiceAccount', 'Role', 'RoleBinding']),
    );
  });

  test('the pipeline identity holds the deployer preset, reads no Secret, and only the platform team may request its tokens', () => {
    expect(bindings).toHaveLength(1);
    expect(role?.metadata.labels['hcb.dev/access-preset']).toBe('deployer');
    expect(rules.map((r) => secretsReadProblem(r)).filter(Boolean)).toEqual([]);
    expect(allowed(rules, 'ServiceAccount', 'create')).toBe(true);
    const issuer = platform.find((o) => o.kind === 'Role' && o.metadata.name === 'shop-deployer-token-issuer');
    expect(issuer?.rules).toEqual([
      { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: ['shop-deployer'] },
    ]);
    const issuerBinding = platform.find(
      (o) => o.kind === 'RoleBinding' && o.roleRef.name === 'shop-deployer-token-issuer',
    );
    expect(issuerBinding?.subjects).toEqual([
      { kind: 'Group', name: 'platform-team', apiGroup: 'rbac.authorization.k8s.io' },
    ]);
  });

  test.each(APPLY_VERBS)('the deployer may %s every object of the app chart', (verb) => {
    expect(refused(appChart, rules, verb)).toEqual([]);
  });

  test("the deployer may not change the platform chart's namespace-level objects", () => {
    for (const kind of ['ResourceQuota', 'LimitRange', 'NetworkPolicy', 'Role', 'RoleBinding']) {
      for (const verb of ['create', 'update', 'patch', 'delete'])
        expect([kind, verb, allowed(rules, kind, verb)]).toEqual([kind, verb, false]);
    }
  });

  test('each chart audits clean on its own (no fail, no error)', () => {
    expect(auditProblems('shop-platform', platform)).toEqual([]);
    expect(auditProblems('shop-app', appChart)).toEqual([]);
  });
});

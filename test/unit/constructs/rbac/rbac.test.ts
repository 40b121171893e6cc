import { Chart as SysChart, Testing as SysTesting } from 'cdk8s';
import { synthesizeBlueprint } from '../../../../constructs/blueprint';
import { SystemServiceAccountLockdown } from '../../../../constructs/rbac/default-service-account';
import {
  ACCESS_PRESETS,
  AccessPreset,
  AutomationIdentity,
  NamespaceAccess,
  PlatformAccess,
  Subject,
  Tenant,
  WorkloadIdentity,
} from '../../../../constructs';
import { accessPresetRules } from '../../../../constructs/rbac/access-presets';
import { Obj, ofKind, one, propError, synth } from '../helpers';

function rulesOf(preset: AccessPreset): Obj[] {
  const out = synth(
    (chart) => new NamespaceAccess(chart, 'a', { namespace: 'shop', preset, subjects: [Subject.group('team-a')] }),
  );
  return one(out, 'Role').rules;
}

const allows = (rules: Obj[], group: string, resource: string, verb: string) =>
  rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));

describe('access presets', () => {
  test.each(ACCESS_PRESETS)(
    '%s: no wildcards, no escalate/bind/impersonate, no PVs, no NetworkPolicy or quota changes',
    (preset) => {
      const rules = rulesOf(preset);
      expect(rules.length).toBeGreaterThan(0);
      for (const r of rules) {
        for (const field of ['apiGroups', 'resources', 'verbs']) expect(r[field].join(',')).not.toContain('*');
        for (const v of ['escalate', 'bind', 'impersonate']) expect(r.verbs).not.toContain(v);
        expect(r.resources).not.toContain('persistentvolumes');
        expect(r.resources).not.toContain('serviceaccounts/token');
        expect(r.resources).not.toContain('nodes');
      }
      for (const v of ['create', 'update', 'patch', 'delete']) {
        expect(allows(rules, 'networking.k8s.io', 'networkpolicies', v)).toBe(false);
        expect(allows(rules, '', 'resourcequotas', v)).toBe(false);
        expect(allows(rules, '', 'limitranges', v)).toBe(false);
      }
    },
  );

  test('viewer reads but never secrets and writes nothing', () => {
    const rules = rulesOf('viewer');
    expect(allows(rules, 'apps', 'deployments', 'list')).toBe(true);
    expect(rules.some((r) => r.resources.includes('secrets'))).toBe(false);
    for (const r of rules) expect(r.verbs).toEqual(['get', 'list', 'watch']);
  });

  test('developer changes workloads but not secrets, RBAC or exec', () => {
    const rules = rulesOf('developer');
    expect(allows(rules, 'apps', 'deployments', 'patch')).toBe(true);
    expect(rules.some((r) => r.resources.includes('secrets'))).toBe(false);
    expect(rules.some((r) => r.apiGroups.includes('rbac.authorization.k8s.io'))).toBe(false);
    expect(rules.some((r) => r.resources.includes('pods/exec'))).toBe(false);
  });

  test('deployer writes secrets but cannot read them', () => {
    const rules = rulesOf('deployer');
    expect(allows(rules, '', 'secrets', 'create')).toBe(true);
    for (const v of ['get', 'list', 'watch']) expect(allows(rules, '', 'secrets', v)).toBe(false);
  });

  test('deployer cannot patch or update secrets: the API server answers both with the whole stored Secret', () => {
    const rules = rulesOf('deployer');
    for (const v of ['create', 'delete']) expect(allows(rules, '', 'secrets', v)).toBe(true);
    for (const v of ['patch', 'update', 'deletecollection']) expect(allows(rules, '', 'secrets', v)).toBe(false);
  });

  test('namespace-admin manages roles without escalate/bind; creates and deletes Secrets but does not read them by default', () => {
    const rules = rulesOf('namespace-admin');
    expect(allows(rules, 'rbac.authorization.k8s.io', 'roles', 'create')).toBe(true);
    for (const v of ['create', 'delete']) expect(allows(rules, '', 'secrets', v)).toBe(true);
    for (const v of ['get', 'list', 'watch', 'patch', 'update']) expect(allows(rules, '', 'secrets', v)).toBe(false);
  });

  test('namespace-admin with readSecrets: true reads and writes Secrets', () => {
    const out = synth(
      (chart) =>
        new NamespaceAccess(chart, 'a', {
          namespace: 'shop',
          preset: 'namespace-admin',
          subjects: [Subject.user('alice')],
          readSecrets: true,
        }),
    );
    const rules = one(out, 'Role').rules;
    for (const v of ['get', 'list', 'watch', 'create', 'delete', 'patch', 'update'])
      expect(allows(rules, '', 'secrets', v)).toBe(true);
  });

  test.each(['viewer', 'developer', 'deployer'] as const)('readSecrets is refused for %s', (preset) => {
    const e = propError(() =>
      synth(
        (chart) =>
          new NamespaceAccess(chart, 'a', {
            namespace: 'shop',
            preset,
            subjects: [Subject.user('alice')],
            readSecrets: true,
          }),
      ),
    );
    expect(e.prop).toBe('readSecrets');
    expect(e.message).toMatch(/only the namespace-admin preset/);
  });

  test('Tenant: namespaceAdminsReadSecrets reaches the namespace-admin Role only, and needs namespace admins', () => {
    const out = synth(
      (chart) =>
        new Tenant(chart, 'pay', {
          environments: [{ name: 'dev' }, { name: 'prod', access: { namespaceAdmins: [Subject.user('alice')] } }],
          access: {
            developers: [Subject.group('devs')],
            namespaceAdmins: [Subject.user('alice')],
            namespaceAdminsReadSecrets: true,
          },
        }),
    );
    const secretReaders = ofKind(out, 'Role')
      .filter((r) => allows(r.rules, '', 'secrets', 'get'))
      .map((r) => `${r.metadata.namespace}/${r.metadata.name}`);
    expect(secretReaders).toEqual(['pay-dev/hcb-namespace-admin']);
    const e = propError(() =>
      synth(
        (chart) =>
          new Tenant(chart, 'pay', {
            access: { developers: [Subject.group('devs')], namespaceAdminsReadSecrets: true },
          }),
      ),
    );
    expect(e.prop).toBe('access.namespaceAdminsReadSecrets');
  });

  test('RoleBinding binds the Role in the namespace to the subjects', () => {
    const out = synth(
      (chart) =>
        new NamespaceAccess(chart, 'a', {
          namespace: 'shop',
          preset: 'viewer',
          subjects: [Subject.user('alice'), Subject.serviceAccount('ci', 'bot')],
        }),
    );
    const rb = one(out, 'RoleBinding');
    expect(rb.metadata.namespace).toBe('shop');
    expect(rb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'hcb-viewer' });
    expect(rb.subjects).toEqual([
      { kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' },
      { kind: 'ServiceAccount', name: 'bot', namespace: 'ci' },
    ]);
    expect(ofKind(out, 'ClusterRoleBinding')).toHaveLength(0);
  });

  test.each([
    'system:authenticated',
    'system:unauthenticated',
    'system:masters',
    'system:serviceaccounts',
    'system:serviceaccounts:shop',
  ])('refuses group %s', (g) => {
    const e = propError(() =>
      synth(
        (chart) =>
          new NamespaceAccess(chart, 'a', { namespace: 'shop', preset: 'viewer', subjects: [Subject.group(g)] }),
      ),
    );
    expect(e.prop).toBe('subjects[0].name');
  });

  test('preset data is stable', () => {
    expect(accessPresetRules('viewer')).toEqual(accessPresetRules('viewer'));
  });
});

describe('PlatformAccess', () => {
  test('storage-admin and network-admin are named ClusterRoles bound to named admins', () => {
    const out = synth((chart) => {
      new PlatformAccess(chart, 'storage', { role: 'storage-admin', subjects: [Subject.group('platform-storage')] });
      new PlatformAccess(chart, 'net', {
        role: 'network-admin',
        subjects: [Subject.group('platform-net')],
        namespaces: ['shop', 'billing'],
      });
    });
    const roles = ofKind(out, 'ClusterRole');
    expect(roles.map((r) => r.metadata.name)).toEqual(['hcb:platform:storage-admin', 'hcb:platform:network-admin']);
    expect(allows(roles[0].rules, '', 'persistentvolumes', 'create')).toBe(true);
    expect(allows(roles[1].rules, 'networking.k8s.io', 'networkpolicies', 'update')).toBe(true);
    expect(one(out, 'ClusterRoleBinding').subjects[0].name).toBe('platform-storage');
    expect(ofKind(out, 'RoleBinding').map((b) => b.metadata.namespace)).toEqual(['shop', 'billing']);
  });

  test('storage-admin cannot be namespaced', () => {
    expect(
      propError(() =>
        synth(
          (chart) =>
            new PlatformAccess(chart, 's', { role: 'storage-admin', subjects: [Subject.user('a')], namespaces: ['x'] }),
        ),
      ).prop,
    ).toBe('namespaces');
  });
});

describe('WorkloadIdentity', () => {
  test('own ServiceAccount, token automount off, no rights by default', () => {
    const out = synth((chart) => new WorkloadIdentity(chart, 'api', { namespace: 'shop' }));
    expect(out).toHaveLength(1);
    expect(one(out, 'ServiceAccount').automountServiceAccountToken).toBe(false);
  });

  test('explicit least-privilege rules become a Role bound to the account only', () => {
    const out = synth(
      (chart) =>
        new WorkloadIdentity(chart, 'operator', {
          namespace: 'shop',
          automountToken: true,
          rules: [
            { apiGroup: '', resources: ['configmaps'], verbs: ['get', 'watch', 'list'] },
            { apiGroup: '', resources: ['secrets'], verbs: ['get'], resourceNames: ['db'] },
          ],
        }),
    );
    expect(one(out, 'ServiceAccount').automountServiceAccountToken).toBe(true);
    expect(one(out, 'Role').rules[0].verbs).toEqual(['get', 'list', 'watch']);
    expect(one(out, 'RoleBinding').subjects).toEqual([{ kind: 'ServiceAccount', name: 'operator', namespace: 'shop' }]);
  });

  test.each([
    [[{ apiGroup: '*', resources: ['pods'], verbs: ['get'] }], 'rules[0].apiGroup'],
    [[{ apiGroup: '', resources: ['*'], verbs: ['get'] }], 'rules[0].resources'],
    [[{ apiGroup: '', resources: ['pods'], verbs: ['*'] }], 'rules[0].verbs'],
    [[{ apiGroup: 'rbac.authorization.k8s.io', resources: ['roles'], verbs: ['escalate'] }], 'rules[0].verbs'],
    [[{ apiGroup: 'rbac.authorization.k8s.io', resources: ['clusterroles'], verbs: ['bind'] }], 'rules[0].verbs'],
    [[{ apiGroup: '', resources: ['users'], verbs: ['impersonate'] }], 'rules[0].verbs'],
    [[{ apiGroup: '', resources: ['secrets'], verbs: ['list'] }], 'rules[0].verbs'],
    [[{ apiGroup: '', resources: ['secrets'], verbs: ['get'] }], 'rules[0].resourceNames'],
    [[{ apiGroup: '', resources: ['serviceaccounts/token'], verbs: ['create'] }], 'rules[0].resources'],
    [[{ apiGroup: 'rbac.authorization.k8s.io', resources: ['rolebindings'], verbs: ['create'] }], 'rules[0].verbs'],
    [[], 'rules'],
  ])('refuses rules %j at %s', (rules, prop) => {
    const e = propError(() =>
      synth((chart) => new WorkloadIdentity(chart, 'api', { namespace: 'shop', rules: rules as any })),
    );
    expect(e.prop).toBe(prop);
    expect(e.constructPath).toBe('test/api');
  });

  test('refuses the default account', () => {
    expect(propError(() => synth((chart) => new WorkloadIdentity(chart, 'default', { namespace: 'shop' }))).prop).toBe(
      'name',
    );
  });
});

describe('AutomationIdentity', () => {
  test('token-request mode stores no tokens; deployer preset bound to the account', () => {
    const out = synth(
      (chart) => new AutomationIdentity(chart, 'ci', { namespace: 'shop', programs: ['main', 'release'] }),
    );
    expect(ofKind(out, 'Secret')).toHaveLength(0);
    expect(one(out, 'ServiceAccount').automountServiceAccountToken).toBe(false);
    expect(one(out, 'RoleBinding').subjects).toEqual([{ kind: 'ServiceAccount', name: 'ci', namespace: 'shop' }]);
    expect(one(out, 'Role').metadata.labels['hcb.dev/access-preset']).toBe('deployer');
  });

  test('secret mode: one token per program', () => {
    let id!: AutomationIdentity;
    const out = synth((chart) => {
      id = new AutomationIdentity(chart, 'ci', { namespace: 'shop', programs: ['main', 'release'], tokens: 'secret' });
    });
    const secrets = ofKind(out, 'Secret');
    expect(secrets.map((s) => s.metadata.name)).toEqual(['ci-main', 'ci-release']);
    expect(id.tokenSecretNames).toEqual(['ci-main', 'ci-release']);
    for (const s of secrets) {
      expect(s.type).toBe('kubernetes.io/service-account-token');
      expect(s.metadata.annotations['kubernetes.io/service-account.name']).toBe('ci');
    }
  });

  test('refuses duplicate or missing programs', () => {
    expect(
      propError(() => synth((chart) => new AutomationIdentity(chart, 'ci', { namespace: 'shop', programs: [] }))).prop,
    ).toBe('programs');
    expect(
      propError(() =>
        synth((chart) => new AutomationIdentity(chart, 'ci', { namespace: 'shop', programs: ['a', 'a'] })),
      ).prop,
    ).toBe('programs[1]');
  });
});

describe('SystemServiceAccountLockdown', () => {
  it('the Blueprint locks the default ServiceAccount of every system namespace unless told not to', () => {
    const locked = synthesizeBlueprint({}).clusterObjects.filter(
      (o) => o.kind === 'ServiceAccount' && o.metadata?.name === 'default',
    );
    expect(
      locked.map((o) => [
        o.metadata?.namespace,
        (o as { automountServiceAccountToken?: boolean }).automountServiceAccountToken,
      ]),
    ).toEqual([
      ['default', false],
      ['kube-node-lease', false],
      ['kube-public', false],
      ['kube-system', false],
    ]);
    expect(
      synthesizeBlueprint({ lockSystemServiceAccounts: false }).clusterObjects.filter(
        (o) => o.kind === 'ServiceAccount' && o.metadata?.name === 'default',
      ),
    ).toEqual([]);
  });

  it('refuses a namespace the cluster does not create, and duplicates, naming path, prop and fix', () => {
    const chart = new SysChart(SysTesting.app(), 'c');
    expect(() => new SystemServiceAccountLockdown(chart, 'x', { namespaces: ['payments'] })).toThrow(
      /c\/x.*namespaces\[0\].*payments.*not a namespace Kubernetes creates/s,
    );
    expect(() => new SystemServiceAccountLockdown(chart, 'y', { namespaces: ['default', 'default'] })).toThrow(
      /namespaces\[1\].*listed twice/s,
    );
  });
});

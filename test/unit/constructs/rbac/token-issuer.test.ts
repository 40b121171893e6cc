// How a pipeline gets its token without reading Secrets (issue 11): AutomationIdentity.tokenIssuers
// lets named identities request TokenRequest tokens for that one ServiceAccount, nothing more.
import { stringify } from 'yaml';
import { AutomationIdentity, Subject, Tenant } from '../../../../constructs';
import { evaluate, parseText } from '../../../../policies';
import { Obj, ofKind, propError, synth } from '../helpers';

const vault = Subject.serviceAccount('vault', 'vault');

function issuerObjects(out: Obj[]) {
  const role = ofKind(out, 'Role').filter((r) => r.metadata.labels?.['hcb.dev/token-issuer-for']);
  const binding = ofKind(out, 'RoleBinding').filter((r) => r.metadata.labels?.['hcb.dev/token-issuer-for']);
  return { role, binding };
}

describe('AutomationIdentity tokenIssuers', () => {
  test('renders one Role that may only create tokens for this account, bound to the issuers', () => {
    let id!: AutomationIdentity;
    const out = synth((chart) => {
      id = new AutomationIdentity(chart, 'ci', {
        namespace: 'shop',
        programs: ['main'],
        tokenIssuers: [vault, Subject.group('platform-team')],
      });
    });
    const { role, binding } = issuerObjects(out);
    expect(role).toHaveLength(1);
    expect(role[0].metadata).toMatchObject({ name: 'ci-token-issuer', namespace: 'shop' });
    expect(role[0].rules).toEqual([
      { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: ['ci'] },
    ]);
    expect(binding).toHaveLength(1);
    expect(binding[0].roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'ci-token-issuer',
    });
    expect(binding[0].subjects).toEqual([
      { kind: 'ServiceAccount', name: 'vault', namespace: 'vault' },
      { kind: 'Group', name: 'platform-team', apiGroup: 'rbac.authorization.k8s.io' },
    ]);
    expect(id.tokenIssuerRoleName).toBe('ci-token-issuer');
    // The deployer's own Role still mints nothing and reads no Secret.
    const deployer = ofKind(out, 'Role').find((r) => r.metadata.labels?.['hcb.dev/access-preset'] === 'deployer');
    expect(JSON.stringify(deployer?.rules)).not.toContain('serviceaccounts/token');
  });

  test('without tokenIssuers nothing extra is rendered', () => {
    const out = synth((chart) => new AutomationIdentity(chart, 'ci', { namespace: 'shop', programs: ['main'] }));
    expect(issuerObjects(out)).toEqual({ role: [], binding: [] });
  });

  test('the output passes every RBAC control of the catalogue', () => {
    const out = synth(
      (chart) => new AutomationIdentity(chart, 'ci', { namespace: 'shop', programs: ['main'], tokenIssuers: [vault] }),
    );
    const parsed = parseText(out.map((o) => stringify(o)).join('---\n'), 'ci.k8s.yaml');
    expect(parsed.errors).toEqual([]);
    const rbac = evaluate(parsed.documents).filter((f) => f.control.startsWith('HCB-RBAC-'));
    expect(rbac.filter((f) => f.object?.name === 'ci-token-issuer' && f.status === 'pass').length).toBeGreaterThan(0);
    expect(rbac.filter((f) => f.status === 'fail' || f.status === 'error')).toEqual([]);
  });

  test('refuses the account itself, secret mode, an empty list and groups meaning everybody', () => {
    const make = (props: object) =>
      propError(() =>
        synth((chart) => new AutomationIdentity(chart, 'ci', { namespace: 'shop', programs: ['main'], ...props })),
      );
    const self = make({ tokenIssuers: [Subject.serviceAccount('shop', 'ci')] });
    expect([self.prop, self.message]).toEqual(['tokenIssuers[0]', expect.stringMatching(/renews its own token/)]);
    expect(make({ tokens: 'secret', tokenIssuers: [vault] }).prop).toBe('tokenIssuers');
    expect(make({ tokenIssuers: [] }).prop).toBe('tokenIssuers');
    expect(make({ tokenIssuers: [Subject.group('system:authenticated')] }).prop).toBe('tokenIssuers[0].name');
  });

  test('Tenant passes automation.tokenIssuers to the deployer of every environment', () => {
    const out = synth(
      (chart) =>
        new Tenant(chart, 'payments', {
          environments: [{ name: 'dev' }, { name: 'prod' }],
          automation: { programs: ['gitlab-main'], tokenIssuers: [vault] },
        }),
    );
    const { role } = issuerObjects(out);
    expect(role.map((r) => [r.metadata.namespace, r.rules[0].resourceNames])).toEqual([
      ['payments-dev', ['payments-deployer']],
      ['payments-prod', ['payments-deployer']],
    ]);
  });
});

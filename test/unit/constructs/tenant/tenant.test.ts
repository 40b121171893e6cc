import { Subject, Tenant } from '../../../../constructs';
import { ofKind, propError, synth } from '../helpers';

describe('Tenant', () => {
  test('one hardened namespace per environment, presets bound per environment, deployer per namespace', () => {
    let t!: Tenant;
    const out = synth((chart) => {
      t = new Tenant(chart, 'payments', {
        protectionNeed: 'high',
        environments: [
          { name: 'dev', protectionNeed: 'normal' },
          { name: 'prod', access: { viewers: [Subject.group('payments-devs')] } },
        ],
        access: { developers: [Subject.group('payments-devs')], viewers: [Subject.group('auditors')] },
        automation: { programs: ['gitlab'] },
      });
    });
    const nss = ofKind(out, 'Namespace');
    expect(nss.map((n) => n.metadata.name)).toEqual(['payments-dev', 'payments-prod']);
    expect(nss.map((n) => n.metadata.labels['hcb.dev/protection-need'])).toEqual(['normal', 'high']);
    expect(nss.every((n) => n.metadata.labels['hcb.dev/team'] === 'payments')).toBe(true);
    expect(t.namespace('prod').namespaceName).toBe('payments-prod');
    const bindings = ofKind(out, 'RoleBinding').map((b) => `${b.metadata.namespace}/${b.metadata.name}`);
    expect(bindings).toEqual([
      'payments-dev/hcb-viewer',
      'payments-dev/hcb-developer',
      'payments-dev/payments-deployer-deployer',
      'payments-prod/hcb-viewer',
      'payments-prod/payments-deployer-deployer',
    ]);
    expect(ofKind(out, 'ServiceAccount').filter((s) => s.metadata.name === 'payments-deployer')).toHaveLength(2);
    expect(ofKind(out, 'NetworkPolicy').filter((p) => p.metadata.name === 'hcb-default-deny')).toHaveLength(2);
  });

  test('defaults to dev and prod, no access', () => {
    const out = synth((chart) => new Tenant(chart, 'shop'));
    expect(ofKind(out, 'Namespace').map((n) => n.metadata.name)).toEqual(['shop-dev', 'shop-prod']);
    expect(ofKind(out, 'RoleBinding')).toHaveLength(0);
  });

  test.each([
    [{ environments: [] }, 'environments'],
    [{ environments: [{ name: 'dev' }, { name: 'dev' }] }, 'environments[1].name'],
    [{ environments: [{ name: 'Dev' }] }, 'environments[0].name'],
    [{ environments: [{ name: 'x'.repeat(60) }] }, 'environments[0].name'],
    [{ team: 'Team' }, 'team'],
  ])('refuses %j at %s', (props, prop) => {
    expect(propError(() => synth((chart) => new Tenant(chart, 'shop', props as any))).prop).toBe(prop);
  });
});

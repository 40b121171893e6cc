import { App } from 'cdk8s';
import {
  AdmissionConfiguration,
  AdmissionConfigurationProps,
  PodSecurityExemption,
} from '../../../../constructs/admission';
import { BlueprintPropError } from '../../../../constructs/common/errors';
import type { ControlException } from '../../../../policies/model';

const record = { justification: 'CNI agent needs host networking', owner: 'platform-team', expires: '2026-06-30' };

function admission(props: AdmissionConfigurationProps = {}): Record<string, any> {
  return new AdmissionConfiguration(new App(), 'adm', props).toObjects()[0] as Record<string, any>;
}
function psa(props: AdmissionConfigurationProps = {}): Record<string, any> {
  return admission(props).plugins.find((p: { name: string }) => p.name === 'PodSecurity').configuration;
}
function error(props: AdmissionConfigurationProps): BlueprintPropError {
  try {
    admission(props);
  } catch (e) {
    expect(e).toBeInstanceOf(BlueprintPropError);
    return e as BlueprintPropError;
  }
  throw new Error('expected a BlueprintPropError');
}

describe('AdmissionConfiguration with PodSecurity', () => {
  test('AdmissionConfiguration v1 with a PodSecurityConfiguration v1: restricted everywhere, pinned version', () => {
    const a = admission({ podSecurity: { evaluationDate: '2026-01-15' } });
    expect(a.apiVersion).toBe('apiserver.config.k8s.io/v1');
    expect(a.kind).toBe('AdmissionConfiguration');
    const c = psa();
    expect(c.apiVersion).toBe('pod-security.admission.config.k8s.io/v1');
    expect(c.kind).toBe('PodSecurityConfiguration');
    expect(c.defaults).toEqual({
      enforce: 'restricted',
      'enforce-version': 'v1.36',
      audit: 'restricted',
      'audit-version': 'v1.36',
      warn: 'restricted',
      'warn-version': 'v1.36',
    });
    expect(c.exemptions).toEqual({ usernames: [], runtimeClasses: [], namespaces: [] });
  });

  test('every profile enforces restricted unless told otherwise; the version follows the cluster version', () => {
    expect(psa({ profile: 'basic' }).defaults.enforce).toBe('restricted');
    expect(psa({ profile: 'basic', podSecurity: { enforce: 'baseline' } }).defaults.enforce).toBe('baseline');
    expect(psa({ kubernetesVersion: 'v1.35.2' }).defaults['enforce-version']).toBe('v1.35');
    expect(psa({ podSecurity: { version: 'v1.30' } }).defaults['warn-version']).toBe('v1.30');
  });

  test('exemptions only from typed, reviewed exceptions (sorted)', () => {
    const c = psa({
      podSecurity: {
        evaluationDate: '2026-01-15',
        exemptions: [
          PodSecurityExemption.namespace('kube-system', record),
          PodSecurityExemption.namespace('cilium', record),
          PodSecurityExemption.username('system:serviceaccount:ci:builder', record),
          PodSecurityExemption.runtimeClass('gvisor', record),
        ],
      },
    });
    expect(c.exemptions).toEqual({
      usernames: ['system:serviceaccount:ci:builder'],
      runtimeClasses: ['gvisor'],
      namespaces: ['cilium', 'kube-system'],
    });
  });

  test('exemptions from ControlException objects', () => {
    const base: Omit<ControlException, 'scope'> = {
      control: 'psa-restricted',
      justification: 'j',
      owner: 'o',
      expires: '2026-06-30',
    };
    expect(PodSecurityExemption.fromControlException({ ...base, scope: { namespace: 'monitoring' } })).toMatchObject({
      kind: 'namespace',
      name: 'monitoring',
    });
    expect(PodSecurityExemption.fromControlException({ ...base, scope: { kind: 'User', name: 'bob' } })).toMatchObject({
      kind: 'username',
      name: 'bob',
    });
    expect(
      PodSecurityExemption.fromControlException({ ...base, scope: { kind: 'RuntimeClass', name: 'kata' } }),
    ).toMatchObject({ kind: 'runtimeClass', name: 'kata' });
    expect(() =>
      PodSecurityExemption.fromControlException({ ...base, scope: { kind: 'Deployment', name: 'x', namespace: 'y' } }),
    ).toThrow(BlueprintPropError);
  });

  test('expired, unjustified, ownerless or duplicate exemptions fail', () => {
    const exp = error({
      podSecurity: {
        evaluationDate: '2026-07-01',
        exemptions: [PodSecurityExemption.namespace('kube-system', record)],
      },
    });
    expect(exp.prop).toBe('exemptions[0].expires');
    expect(exp.message).toMatch(/expired/);
    expect(
      error({ podSecurity: { exemptions: [PodSecurityExemption.namespace('a', { ...record, justification: ' ' })] } })
        .prop,
    ).toBe('exemptions[0].justification');
    expect(
      error({ podSecurity: { exemptions: [PodSecurityExemption.namespace('a', { ...record, owner: '' })] } }).prop,
    ).toBe('exemptions[0].owner');
    expect(
      error({ podSecurity: { exemptions: [PodSecurityExemption.namespace('a', { ...record, expires: 'next year' })] } })
        .prop,
    ).toBe('exemptions[0].expires');
    expect(
      error({
        podSecurity: {
          evaluationDate: '2026-01-15',
          exemptions: [PodSecurityExemption.namespace('a', record), PodSecurityExemption.namespace('a', record)],
        },
      }).prop,
    ).toBe('exemptions[1]');
    expect(
      error({
        podSecurity: { exemptions: [{ kind: 'namespace', name: 'x', record } as unknown as PodSecurityExemption] },
      }).message,
    ).toMatch(/not a PodSecurityExemption/);
  });

  test('privileged defaults, latest and future versions are refused', () => {
    expect(error({ podSecurity: { enforce: 'privileged' as never } }).prop).toBe('enforce');
    expect(error({ podSecurity: { version: 'latest' } }).prop).toBe('version');
    expect(error({ podSecurity: { version: 'v1.37' } }).prop).toBe('version');
  });

  test('EventRateLimit configuration for standard and high, none for basic', () => {
    const erl = admission({ profile: 'standard' }).plugins.find((p: { name: string }) => p.name === 'EventRateLimit');
    expect(erl.configuration.apiVersion).toBe('eventratelimit.admission.k8s.io/v1alpha1');
    expect(erl.configuration.limits.map((l: { type: string }) => l.type)).toEqual(['Server', 'Namespace', 'User']);
    expect(admission({ profile: 'basic' }).plugins.map((p: { name: string }) => p.name)).toEqual(['PodSecurity']);
    expect(admission({ eventRateLimit: false }).plugins.map((p: { name: string }) => p.name)).toEqual(['PodSecurity']);
  });
});

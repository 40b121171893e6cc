// README.md's application example: it type-checks against the package's own types, synthesizes,
// and what it generates meets the workload controls and Pod Security "restricted".
import { checkPodSpec } from '../../../constructs/workload/pod-template-checks';
import { readmeExampleSource, runReadmeExample, typeCheckReadmeExample } from './readme-example';

jest.setTimeout(120_000);

describe('README example', () => {
  test('imports only from cdk8s and the package', () => {
    const imports = [...readmeExampleSource().matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(imports.sort()).toEqual(['cdk8s', 'hardened-cluster-blueprint']);
  });

  test('type-checks with the repository compiler options', () => {
    expect(typeCheckReadmeExample()).toEqual([]);
  });

  test('the type check can fail (a misspelt prop is reported)', () => {
    const broken = readmeExampleSource().replace(
      'protectionNeed: prod.protectionNeed',
      'protectionNeeds: prod.protectionNeed',
    );
    expect(broken).not.toEqual(readmeExampleSource());
    expect(typeCheckReadmeExample(broken).join('\n')).toMatch(/protectionNeeds/);
  });

  test('synthesizes hardened namespaces, presets and a workload whose pods meet Pod Security restricted', () => {
    const objs = runReadmeExample();
    const names = (kind: string) =>
      objs
        .filter((o) => o.kind === kind)
        .map((o) => `${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`)
        .sort();
    expect(names('Namespace')).toEqual(['payments-dev', 'payments-prod']);
    for (const ns of objs.filter((o) => o.kind === 'Namespace')) {
      expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    }
    expect(names('Deployment')).toEqual(['payments-prod/api']);
    expect(names('PodDisruptionBudget')).toEqual(['payments-prod/api']);
    expect(names('NetworkPolicy')).toContain('payments-prod/allow-api-from-ingress');
    expect(names('RoleBinding')).toEqual(
      expect.arrayContaining([
        'payments-prod/hcb-viewer',
        'payments-prod/hcb-developer',
        'payments-prod/hcb-namespace-admin',
      ]),
    );

    const pod = objs.find((o) => o.kind === 'Deployment')!.spec.template.spec;
    expect(checkPodSpec(pod)).toEqual([]);
    // The fields Pod Security "restricted" looks at.
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    for (const c of pod.containers) {
      expect(c.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        privileged: false,
        capabilities: { drop: ['ALL'] },
      });
      expect(c.securityContext.runAsUser).not.toBe(0);
      expect((c.ports ?? []).some((p: { hostPort?: number }) => p.hostPort)).toBe(false);
    }
    expect(pod.volumes.filter((v: { hostPath?: unknown }) => v.hostPath)).toEqual([]);
    expect(pod.serviceAccountName).toBe('api');
  });
});

import { CONSTRUCT_PATH_ANNOTATION, HardenedNamespace } from '../../../../constructs';
import { RESERVED_NAMESPACES } from '../../../../constructs/tenant/names';
import { Obj, one, propError, synth } from '../helpers';

const PSA = 'pod-security.kubernetes.io/';

describe('HardenedNamespace', () => {
  const objs = synth((chart) => new HardenedNamespace(chart, 'payments'));

  test('every object carries its construct path and lives in the namespace', () => {
    for (const o of objs) {
      expect(o.metadata.annotations[CONSTRUCT_PATH_ANNOTATION]).toMatch(/^test\/payments\//);
      if (o.kind !== 'Namespace') expect(o.metadata.namespace).toBe('payments');
    }
    expect(objs.map((o) => o.kind)).toEqual([
      'Namespace',
      'NetworkPolicy',
      'NetworkPolicy',
      'ResourceQuota',
      'LimitRange',
      'ServiceAccount',
    ]);
  });

  test('enforces, audits and warns restricted with a pinned version', () => {
    const labels = one(objs, 'Namespace').metadata.labels;
    for (const mode of ['enforce', 'audit', 'warn']) {
      expect(labels[`${PSA}${mode}`]).toBe('restricted');
      expect(labels[`${PSA}${mode}-version`]).toBe('v1.36');
    }
    expect(labels['hcb.dev/app']).toBe('payments');
    expect(labels['hcb.dev/protection-need']).toBe('normal');
  });

  test('denies all ingress and egress', () => {
    const deny = one(objs, 'NetworkPolicy', 'hcb-default-deny');
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  test('allows egress to the cluster DNS only', () => {
    const dns = one(objs, 'NetworkPolicy', 'hcb-allow-dns');
    expect(dns.spec.policyTypes).toEqual(['Egress']);
    expect(dns.spec.ingress).toBeUndefined();
    expect(dns.spec.egress).toEqual([
      {
        to: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
            podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          },
        ],
        ports: [
          { protocol: 'UDP', port: 53 },
          { protocol: 'TCP', port: 53 },
        ],
      },
    ]);
  });

  test('caps resources and keeps LoadBalancer and NodePort services at zero', () => {
    const hard = one(objs, 'ResourceQuota').spec.hard;
    for (const key of ['requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory', 'pods'])
      expect(hard[key]).toBeDefined();
    expect(hard['services.loadbalancers']).toBe('0');
    expect(hard['services.nodeports']).toBe('0');
    const [limit] = one(objs, 'LimitRange').spec.limits;
    expect(limit.type).toBe('Container');
    expect(Object.keys(limit).sort()).toEqual(['default', 'defaultRequest', 'max', 'type']);
  });

  test('ephemeral storage: quota, container defaults and maximum by size', () => {
    const hard = one(objs, 'ResourceQuota').spec.hard;
    expect([hard['requests.ephemeral-storage'], hard['limits.ephemeral-storage']]).toEqual(['4Gi', '20Gi']);
    const [limit] = one(objs, 'LimitRange').spec.limits;
    expect([
      limit.defaultRequest['ephemeral-storage'],
      limit.default['ephemeral-storage'],
      limit.max['ephemeral-storage'],
    ]).toEqual(['64Mi', '1Gi', '4Gi']);
    const large = synth(
      (chart) =>
        new HardenedNamespace(chart, 'big', {
          size: 'large',
          containerLimits: { defaultLimitEphemeralStorage: '3Gi' },
          quota: { limitsEphemeralStorage: '300Gi' },
        }),
    );
    expect(one(large, 'LimitRange').spec.limits[0].default['ephemeral-storage']).toBe('3Gi');
    expect(one(large, 'LimitRange').spec.limits[0].max['ephemeral-storage']).toBe('16Gi');
    expect(one(large, 'ResourceQuota').spec.hard['limits.ephemeral-storage']).toBe('300Gi');
  });

  test('locks the default ServiceAccount down and binds nothing to it', () => {
    const sa = one(objs, 'ServiceAccount', 'default');
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(objs.filter((o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding')).toHaveLength(0);
  });

  test('exposes the generated names', () => {
    let ns!: HardenedNamespace;
    const out = synth((chart) => {
      ns = new HardenedNamespace(chart, 'x', { name: 'shop' });
    });
    const names = (kind: string) => out.filter((o: Obj) => o.kind === kind).map((o: Obj) => o.metadata.name);
    expect(names('Namespace')).toEqual([ns.namespaceName]);
    expect(names('NetworkPolicy')).toEqual([ns.defaultDenyPolicyName, ns.dnsPolicyName]);
    expect(names('ResourceQuota')).toEqual([ns.resourceQuotaName]);
    expect(names('LimitRange')).toEqual([ns.limitRangeName]);
    expect(names('ServiceAccount')).toEqual([ns.defaultServiceAccountName]);
    expect(ns.podSecurityLevel).toBe('restricted');
  });

  test('baseline only with an exception; audit and warn stay restricted', () => {
    const out = synth(
      (chart) =>
        new HardenedNamespace(chart, 'legacy', {
          podSecurityException: {
            level: 'baseline',
            justification: 'vendor image',
            owner: 'team-b',
            expires: '2999-01-01',
          },
        }),
    );
    const ns = one(out, 'Namespace');
    expect(ns.metadata.labels[`${PSA}enforce`]).toBe('baseline');
    expect(ns.metadata.labels[`${PSA}audit`]).toBe('restricted');
    expect(ns.metadata.labels[`${PSA}warn`]).toBe('restricted');
    expect(ns.metadata.annotations['hcb.dev/pod-security-exception.owner']).toBe('team-b');
  });

  test('configurable version, DNS and sizes', () => {
    const out = synth(
      (chart) =>
        new HardenedNamespace(chart, 'big', {
          podSecurityVersion: 'latest',
          size: 'large',
          dnsNamespace: 'dns',
          dnsPodLabels: { app: 'coredns' },
        }),
    );
    expect(one(out, 'Namespace').metadata.labels[`${PSA}enforce-version`]).toBe('latest');
    expect(one(out, 'ResourceQuota').spec.hard['limits.cpu']).toBe('64');
    expect(one(out, 'NetworkPolicy', 'hcb-allow-dns').spec.egress[0].to[0].podSelector.matchLabels).toEqual({
      app: 'coredns',
    });
    const noDns = synth((chart) => new HardenedNamespace(chart, 'quiet', { allowDns: false }));
    expect(noDns.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name)).toEqual(['hcb-default-deny']);
  });

  describe('refuses bad props', () => {
    test.each(RESERVED_NAMESPACES)('reserved namespace %s', (name) => {
      const e = propError(() => synth((chart) => new HardenedNamespace(chart, 'ns', { name })));
      expect(e.constructPath).toBe('test/ns');
      expect(e.prop).toBe('name');
      expect(e.message).toContain('reserved');
      expect(e.message).toContain('V-242383');
    });

    test('id that is not a name and no name', () => {
      const e = propError(() => synth((chart) => new HardenedNamespace(chart, 'Payments')));
      expect(e.prop).toBe('name');
      expect(e.message).toMatch(/test\/Payments.*RFC 1123/);
    });

    test.each([
      [{ name: 'Bad_Name' }, 'name'],
      [{ protectionNeed: 'extreme' as any }, 'protectionNeed'],
      [{ podSecurityVersion: '1.36' }, 'podSecurityVersion'],
      [{ labels: { 'hcb.dev/app': 'x' } }, 'labels.hcb.dev/app'],
      [{ labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } }, 'labels.pod-security.kubernetes.io/enforce'],
      [{ quota: { limitsCpu: 'lots' } }, 'quota.limitsCpu'],
      [{ quota: { requestsCpu: '8', limitsCpu: '4' } }, 'quota.requestsCpu'],
      [{ quota: { pods: -1 } }, 'quota.pods'],
      [{ containerLimits: { maxMemory: '64Gi' } }, 'containerLimits.maxMemory'],
      [{ containerLimits: { defaultLimitCpu: '3' } }, 'containerLimits.defaultLimitCpu'],
      [
        { containerLimits: { defaultRequestEphemeralStorage: '2Gi' } },
        'containerLimits.defaultRequestEphemeralStorage',
      ],
      [{ containerLimits: { defaultLimitEphemeralStorage: '8Gi' } }, 'containerLimits.defaultLimitEphemeralStorage'],
      [{ containerLimits: { maxEphemeralStorage: 'big' } }, 'containerLimits.maxEphemeralStorage'],
      [{ containerLimits: { maxEphemeralStorage: '32Gi' } }, 'containerLimits.maxEphemeralStorage'],
      [{ quota: { requestsEphemeralStorage: '40Gi' } }, 'quota.requestsEphemeralStorage'],
      [{ quota: { limitsEphemeralStorage: '1e' } }, 'quota.limitsEphemeralStorage'],
      [{ quota: { requestsEphemeralStorage: '32Mi' } }, 'containerLimits.defaultRequestEphemeralStorage'],
      [{ allowDns: false, dnsNamespace: 'dns' }, 'allowDns'],
      [
        { podSecurityException: { level: 'privileged' as any, justification: 'j', owner: 'o', expires: '2999-01-01' } },
        'podSecurityException.level',
      ],
      [
        { podSecurityException: { level: 'baseline' as const, justification: ' ', owner: 'o', expires: '2999-01-01' } },
        'podSecurityException.justification',
      ],
      [
        { podSecurityException: { level: 'baseline' as const, justification: 'j', owner: 'o', expires: '2020-01-01' } },
        'podSecurityException.expires',
      ],
      [
        { podSecurityException: { level: 'baseline' as const, justification: 'j', owner: 'o', expires: '2999-02-30' } },
        'podSecurityException.expires',
      ],
      [
        {
          protectionNeed: 'very-high' as const,
          podSecurityException: { level: 'baseline' as const, justification: 'j', owner: 'o', expires: '2999-01-01' },
        },
        'podSecurityException',
      ],
    ])('%j -> %s', (props, prop) => {
      const e = propError(() => synth((chart) => new HardenedNamespace(chart, 'ns', props)));
      expect(e.prop).toBe(prop);
      expect(e.constructPath).toBe('test/ns');
      expect(e.message).toContain('Fix:');
    });
  });
});

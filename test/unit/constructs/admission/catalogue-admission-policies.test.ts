import { App, Chart } from 'cdk8s';
import {
  ADMISSION_POLICY_CONTROLS,
  CatalogueAdmissionPolicies,
  CatalogueAdmissionPoliciesProps,
} from '../../../../constructs';
import {
  ADMISSION_SYSTEM_NAMESPACES,
  admissionPolicyName,
  admissionRuleTarget,
} from '../../../../constructs/admission/catalogue-admission-policies';
import { synthesizeBlueprint } from '../../../../constructs/blueprint';
import { CATALOGUE } from '../../../../policies/catalogue';
import type { ControlException } from '../../../../policies/model';
import { Obj, ofKind, one, propError, synth } from '../helpers';

const DATE = '2026-06-01';

/** The per-control layout (one policy per control): the tests below that name policies by control. */
function render(props: CatalogueAdmissionPoliciesProps = {}): Obj[] {
  return synth(
    (chart) =>
      new CatalogueAdmissionPolicies(chart, 'admission', { evaluationDate: DATE, layout: 'per-control', ...props }),
  );
}

/** The default layout (one policy per target and mode). */
function renderGrouped(props: CatalogueAdmissionPoliciesProps = {}): Obj[] {
  return synth((chart) => new CatalogueAdmissionPolicies(chart, 'admission', { evaluationDate: DATE, ...props }));
}

function exception(control: string, scope: ControlException['scope'], expires = '2026-12-31'): ControlException {
  return { control, scope, justification: 'reviewed', owner: 'team-a', expires };
}

function excluded(objs: Obj[], control: string): string[] {
  const b = one(objs, 'ValidatingAdmissionPolicyBinding', admissionPolicyName(control));
  const expr = b.spec.matchResources.namespaceSelector.matchExpressions;
  expect(expr).toHaveLength(1);
  expect(expr[0]).toMatchObject({ key: 'kubernetes.io/metadata.name', operator: 'NotIn' });
  return expr[0].values;
}

describe('CatalogueAdmissionPolicies, per-control layout', () => {
  test('one policy and one binding per control, named, labelled and worded from the catalogue', () => {
    const objs = render();
    expect(ofKind(objs, 'ValidatingAdmissionPolicy')).toHaveLength(ADMISSION_POLICY_CONTROLS.length);
    expect(ofKind(objs, 'ValidatingAdmissionPolicyBinding')).toHaveLength(ADMISSION_POLICY_CONTROLS.length);
    for (const id of ADMISSION_POLICY_CONTROLS) {
      const control = CATALOGUE.find((c) => c.id === id)!;
      expect(control).toBeDefined();
      const p = one(objs, 'ValidatingAdmissionPolicy', admissionPolicyName(id));
      expect(p.apiVersion).toBe('admissionregistration.k8s.io/v1');
      expect(p.metadata.labels['hcb.dev/control']).toBe(id);
      expect(p.metadata.annotations['hcb.dev/control']).toBe(id);
      expect(p.spec.failurePolicy).toBe('Fail');
      const resources = p.spec.matchConstraints.resourceRules.flatMap((r: Obj) => r.resources);
      const want = {
        workloads: [
          'pods',
          'deployments',
          'statefulsets',
          'daemonsets',
          'replicasets',
          'replicationcontrollers',
          'jobs',
          'cronjobs',
        ],
        roles: ['roles', 'clusterroles'],
        bindings: ['rolebindings', 'clusterrolebindings'],
      }[admissionRuleTarget(id)!];
      expect(resources).toEqual(expect.arrayContaining(want));
      expect(p.spec.matchConstraints.resourceRules.every((r: Obj) => r.operations.join() === 'CREATE,UPDATE')).toBe(
        true,
      );
      const message: string = p.spec.validations[0].message;
      expect(message.startsWith(`${id} (`)).toBe(true);
      expect(message).toContain(control.title);
      for (const ids of [control.frameworks.stig, control.frameworks.bsi])
        for (const f of ids ?? []) expect(message).toContain(f);
      const b = one(objs, 'ValidatingAdmissionPolicyBinding', admissionPolicyName(id));
      expect(b.spec.policyName).toBe(p.metadata.name);
      // every control denies by default, except image digests (the constructs still render tags, with a warning)
      expect([id, b.spec.validationActions]).toEqual([
        id,
        id === 'HCB-WORKLOAD-IMAGE-DIGEST' ? ['Warn', 'Audit'] : ['Deny', 'Audit'],
      ]);
      expect(excluded(objs, id)).toEqual([...ADMISSION_SYSTEM_NAMESPACES]);
    }
  });

  test('the enforced controls are admission-checkable workload controls of the catalogue, including the STIG ones PSA does not cover', () => {
    for (const id of ADMISSION_POLICY_CONTROLS)
      expect(CATALOGUE.find((c) => c.id === id)?.checkpoints).toContain('admission');
    expect(ADMISSION_POLICY_CONTROLS).toEqual(
      expect.arrayContaining([
        'HCB-WORKLOAD-SECRETS-IN-ENV',
        'HCB-NAMESPACE-NO-DEFAULT-OBJECTS',
        'HCB-WORKLOAD-PRIVILEGED-HOST-PORTS',
      ]),
    );
  });

  test("dry-run binds with ['Warn', 'Audit']", () => {
    for (const b of ofKind(render({ mode: 'dry-run' }), 'ValidatingAdmissionPolicyBinding'))
      expect(b.spec.validationActions).toEqual(['Warn', 'Audit']);
  });

  test('modes sets Warn/Audit (or Deny) per control, the others keep mode', () => {
    const objs = render({ modes: { 'HCB-WORKLOAD-PROBES': 'dry-run', 'HCB-RBAC-BROAD-GROUP-BINDINGS': 'dry-run' } });
    for (const id of ADMISSION_POLICY_CONTROLS) {
      const b = one(objs, 'ValidatingAdmissionPolicyBinding', admissionPolicyName(id));
      expect([id, b.spec.validationActions]).toEqual([
        id,
        ['HCB-WORKLOAD-PROBES', 'HCB-RBAC-BROAD-GROUP-BINDINGS', 'HCB-WORKLOAD-IMAGE-DIGEST'].includes(id)
          ? ['Warn', 'Audit']
          : ['Deny', 'Audit'],
      ]);
    }
    // mode given: every control not named in modes, image digests included
    expect(
      one(
        render({ mode: 'enforce' }),
        'ValidatingAdmissionPolicyBinding',
        admissionPolicyName('HCB-WORKLOAD-IMAGE-DIGEST'),
      ).spec.validationActions,
    ).toEqual(['Deny', 'Audit']);
    expect(
      one(
        render({ modes: { 'HCB-WORKLOAD-IMAGE-DIGEST': 'enforce' } }),
        'ValidatingAdmissionPolicyBinding',
        admissionPolicyName('HCB-WORKLOAD-IMAGE-DIGEST'),
      ).spec.validationActions,
    ).toEqual(['Deny', 'Audit']);
    const inverse = render({ mode: 'dry-run', modes: { 'HCB-WORKLOAD-PRIVILEGED': 'enforce' } });
    expect(
      one(inverse, 'ValidatingAdmissionPolicyBinding', admissionPolicyName('HCB-WORKLOAD-PRIVILEGED')).spec
        .validationActions,
    ).toEqual(['Deny', 'Audit']);
    expect(
      one(inverse, 'ValidatingAdmissionPolicyBinding', admissionPolicyName('HCB-WORKLOAD-SECCOMP')).spec
        .validationActions,
    ).toEqual(['Warn', 'Audit']);
    const c = new CatalogueAdmissionPolicies(new Chart(new App(), 'c'), 'a', {
      evaluationDate: DATE,
      modes: { 'HCB-WORKLOAD-PROBES': 'dry-run' },
    });
    expect(c.modes['HCB-WORKLOAD-PROBES']).toBe('dry-run');
    expect(c.modes['HCB-WORKLOAD-PRIVILEGED']).toBe('enforce');
    expect(
      propError(() => render({ controls: ['HCB-WORKLOAD-PRIVILEGED'], modes: { 'HCB-WORKLOAD-PROBES': 'dry-run' } }))
        .prop,
    ).toBe('modes.HCB-WORKLOAD-PROBES');
    expect(propError(() => render({ modes: { 'HCB-WORKLOAD-PROBES': 'audit' as never } })).prop).toBe(
      'modes.HCB-WORKLOAD-PROBES',
    );
  });

  test('every workload and RBAC control checked at admission has a rule, and workload rules read the pod template of every controller', () => {
    const admission = CATALOGUE.filter(
      (c) => c.checkpoints.includes('admission') && /^HCB-(WORKLOAD|RBAC)-/.test(c.id),
    ).map((c) => c.id);
    expect(admission.filter((id) => !ADMISSION_POLICY_CONTROLS.includes(id))).toEqual([]);
    const objs = render();
    for (const id of ADMISSION_POLICY_CONTROLS.filter((c) => admissionRuleTarget(c) === 'workloads')) {
      const p = one(objs, 'ValidatingAdmissionPolicy', admissionPolicyName(id));
      const expr: string = p.spec.validations[0].expression;
      if (expr.includes('variables.'))
        expect((p.spec.variables as Obj[]).map((v) => v.name)).toEqual([
          'podTemplate',
          'podSpec',
          'podLabels',
          'regularContainers',
          'containers',
        ]);
    }
  });

  test('a subset of controls renders only those', () => {
    const objs = render({ controls: ['HCB-WORKLOAD-PRIVILEGED'] });
    expect(objs.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ValidatingAdmissionPolicy/hcb-workload-privileged',
      'ValidatingAdmissionPolicyBinding/hcb-workload-privileged',
    ]);
  });

  test('a namespace exception excludes the namespace from that control only; others are ignored', () => {
    const objs = render({
      exceptions: [
        exception('HCB-WORKLOAD-SECRETS-IN-ENV', { namespace: 'legacy' }),
        exception('HCB-WORKLOAD-SECRETS-IN-ENV', { namespace: 'billing' }),
        exception('HCB-WORKLOAD-SECRETS-IN-ENV', { namespace: 'legacy' }),
        // not an admission control: ignored, whatever its scope
        exception('HCB-KUBELET-STATIC-POD-PATH', { kind: 'KubeletConfiguration' }),
      ],
    });
    expect(excluded(objs, 'HCB-WORKLOAD-SECRETS-IN-ENV')).toEqual([
      'billing',
      'kube-node-lease',
      'kube-public',
      'kube-system',
      'legacy',
    ]);
    expect(excluded(objs, 'HCB-WORKLOAD-PRIVILEGED')).toEqual([...ADMISSION_SYSTEM_NAMESPACES]);
  });

  test('an exception with an empty scope leaves the control unbound', () => {
    const c = new CatalogueAdmissionPolicies(new Chart(new App(), 'c'), 'a', {
      evaluationDate: DATE,
      exceptions: [exception('HCB-WORKLOAD-NO-DASHBOARD', {})],
    });
    expect(c.policies.find((p) => p.control === 'HCB-WORKLOAD-NO-DASHBOARD')?.bound).toBe(false);
    const objs = render({ exceptions: [exception('HCB-WORKLOAD-NO-DASHBOARD', {})] });
    expect(objs.filter((o) => o.metadata.name === admissionPolicyName('HCB-WORKLOAD-NO-DASHBOARD'))).toEqual([]);
    expect(ofKind(objs, 'ValidatingAdmissionPolicy')).toHaveLength(ADMISSION_POLICY_CONTROLS.length - 1);
  });

  test('an expired exception for an enforced control fails with its expiry; the last valid day still counts', () => {
    const e = propError(() =>
      render({ exceptions: [exception('HCB-WORKLOAD-SECRETS-IN-ENV', { namespace: 'legacy' }, '2026-05-31')] }),
    );
    expect(e.prop).toBe('exceptions[0].expires');
    expect(e.message).toContain('HCB-WORKLOAD-SECRETS-IN-ENV');
    expect(e.message).toContain('expired on 2026-05-31');
    expect(e.message).toContain('namespace "legacy"');
    expect(() =>
      render({ exceptions: [exception('HCB-WORKLOAD-SECRETS-IN-ENV', { namespace: 'legacy' }, DATE)] }),
    ).not.toThrow();
    // an expired exception for a control that is not enforced at admission is not this construct's business
    expect(() =>
      render({
        exceptions: [exception('HCB-KUBELET-STATIC-POD-PATH', { kind: 'KubeletConfiguration' }, '2020-01-01')],
      }),
    ).not.toThrow();
  });

  test('scopes an admission binding cannot express exactly are refused', () => {
    for (const scope of [{ kind: 'Deployment', name: 'web' }, { namespace: 'a', name: 'web' }, { path: '/x' }]) {
      const e = propError(() => render({ exceptions: [exception('HCB-WORKLOAD-PRIVILEGED', scope)] }));
      expect(e.prop).toBe('exceptions[0].scope');
    }
    expect(
      propError(() => render({ exceptions: [exception('HCB-WORKLOAD-PRIVILEGED', { namespace: 'Not_A_Namespace' })] }))
        .prop,
    ).toBe('exceptions[0].scope.namespace');
  });

  test('bad props fail with BlueprintPropError', () => {
    expect(propError(() => render({ controls: ['HCB-WORKLOAD-SINGLE-IMAGE-VERSION'] })).prop).toBe('controls[0]');
    expect(propError(() => render({ controls: ['HCB-WORKLOAD-PRIVILEGED', 'HCB-WORKLOAD-PRIVILEGED'] })).prop).toBe(
      'controls[1]',
    );
    expect(propError(() => render({ controls: [] })).prop).toBe('controls');
    expect(propError(() => render({ mode: 'audit' as never })).prop).toBe('mode');
    expect(propError(() => render({ layout: 'one' as never })).prop).toBe('layout');
    expect(propError(() => render({ evaluationDate: '1/6/2026' })).prop).toBe('evaluationDate');
    expect(propError(() => render({ systemNamespaces: ['kube-system', 'default'] })).prop).toBe('systemNamespaces[1]');
    expect(propError(() => render({ systemNamespaces: ['Kube System'] })).prop).toBe('systemNamespaces[0]');
    const bad = propError(() =>
      render({
        exceptions: [{ control: 'HCB-NOPE', scope: {}, justification: '', owner: 'x', expires: '2026-12-31' }],
      }),
    );
    expect(bad.prop).toBe('exceptions[0]');
    expect(bad.message).toMatch(/not a control of the catalogue/);
  });
});

describe('CatalogueAdmissionPolicies, grouped layout (the default)', () => {
  const GROUPS = ['hcb-workloads-enforce', 'hcb-workloads-dry-run', 'hcb-roles-enforce', 'hcb-bindings-enforce'];

  test('one policy and binding per target and mode, listing its controls in catalogue order', () => {
    const objs = renderGrouped();
    expect(ofKind(objs, 'ValidatingAdmissionPolicy').map((p) => p.metadata.name)).toEqual(GROUPS);
    expect(ofKind(objs, 'ValidatingAdmissionPolicyBinding').map((p) => p.metadata.name)).toEqual(GROUPS);
    const listed = GROUPS.flatMap((name) => {
      const p = one(objs, 'ValidatingAdmissionPolicy', name);
      const b = one(objs, 'ValidatingAdmissionPolicyBinding', name);
      const ids: string[] = p.metadata.annotations['hcb.dev/controls'].split(' ');
      expect(b.metadata.annotations['hcb.dev/controls']).toBe(ids.join(' '));
      expect(p.metadata.labels['hcb.dev/control-group']).toBe(name.replace(/^hcb-/, ''));
      expect(p.metadata.labels['hcb.dev/control']).toBeUndefined();
      expect(b.spec.policyName).toBe(name);
      expect(b.spec.validationActions).toEqual(name.endsWith('-dry-run') ? ['Warn', 'Audit'] : ['Deny', 'Audit']);
      // one validation per control, each message naming its control
      expect(p.spec.validations.map((v: Obj) => v.message.split(' ')[0])).toEqual(ids);
      const frameworks: string[] = p.metadata.annotations['hcb.dev/frameworks'].split(' ');
      for (const id of ids)
        for (const f of CATALOGUE.find((c) => c.id === id)!.frameworks.stig ?? [])
          expect(frameworks).toContain(`stig:${f}`);
      return ids;
    });
    // every control exactly once, in catalogue order within each group
    expect([...listed].sort()).toEqual([...ADMISSION_POLICY_CONTROLS].sort());
    expect(
      one(objs, 'ValidatingAdmissionPolicy', 'hcb-workloads-dry-run').metadata.annotations['hcb.dev/controls'],
    ).toBe('HCB-WORKLOAD-IMAGE-DIGEST');
  });

  test("each control's validation, match, variables, failure policy, actions and namespaces are those of its own policy", () => {
    const check = (props: CatalogueAdmissionPoliciesProps): void => {
      const grouped = renderGrouped(props);
      const single = render(props);
      const c = new CatalogueAdmissionPolicies(new Chart(new App(), 'c'), 'a', { evaluationDate: DATE, ...props });
      for (const r of c.policies.filter((x) => x.bound)) {
        const own = one(single, 'ValidatingAdmissionPolicy', admissionPolicyName(r.control));
        const ownBinding = one(single, 'ValidatingAdmissionPolicyBinding', admissionPolicyName(r.control));
        const p = one(grouped, 'ValidatingAdmissionPolicy', r.policyName);
        const b = one(grouped, 'ValidatingAdmissionPolicyBinding', r.policyName);
        const v = (p.spec.validations as Obj[]).filter((x) => x.message.startsWith(`${r.control} (`));
        expect([r.control, v]).toEqual([r.control, own.spec.validations]);
        expect(p.spec.matchConstraints).toEqual(own.spec.matchConstraints);
        expect(p.spec.failurePolicy).toBe('Fail');
        if (own.spec.variables) expect(p.spec.variables).toEqual(own.spec.variables);
        expect([r.control, b.spec.validationActions]).toEqual([r.control, ownBinding.spec.validationActions]);
        expect(b.spec.matchResources).toEqual(ownBinding.spec.matchResources);
      }
    };
    check({});
    check({
      mode: 'dry-run',
      modes: { 'HCB-WORKLOAD-PRIVILEGED': 'enforce', 'HCB-RBAC-BROAD-GROUP-BINDINGS': 'enforce' },
    });
    check({
      exceptions: [
        exception('HCB-WORKLOAD-SECRETS-IN-ENV', { namespace: 'legacy' }),
        exception('HCB-WORKLOAD-PRIVILEGED', { namespace: 'legacy' }),
        exception('HCB-WORKLOAD-NO-DASHBOARD', {}),
      ],
    });
  });

  test('a control with a namespace exception keeps a policy of its own; an unbound one is in no group', () => {
    const props: CatalogueAdmissionPoliciesProps = {
      exceptions: [
        exception('HCB-WORKLOAD-SECRETS-IN-ENV', { namespace: 'legacy' }),
        exception('HCB-WORKLOAD-NO-DASHBOARD', {}),
      ],
    };
    const objs = renderGrouped(props);
    expect(ofKind(objs, 'ValidatingAdmissionPolicy').map((p) => p.metadata.name)).toEqual([
      'hcb-workloads-enforce',
      'hcb-workloads-dry-run',
      'hcb-workload-secrets-in-env',
      'hcb-roles-enforce',
      'hcb-bindings-enforce',
    ]);
    const own = one(objs, 'ValidatingAdmissionPolicy', 'hcb-workload-secrets-in-env');
    expect(own.metadata.labels['hcb.dev/control']).toBe('HCB-WORKLOAD-SECRETS-IN-ENV');
    expect(own.spec.validations).toHaveLength(1);
    const b = one(objs, 'ValidatingAdmissionPolicyBinding', 'hcb-workload-secrets-in-env');
    expect(b.spec.matchResources.namespaceSelector.matchExpressions[0].values).toContain('legacy');
    const group = one(objs, 'ValidatingAdmissionPolicy', 'hcb-workloads-enforce');
    const ids: string[] = group.metadata.annotations['hcb.dev/controls'].split(' ');
    expect(ids).not.toContain('HCB-WORKLOAD-SECRETS-IN-ENV');
    expect(ids).not.toContain('HCB-WORKLOAD-NO-DASHBOARD');
    expect(
      one(objs, 'ValidatingAdmissionPolicyBinding', 'hcb-workloads-enforce').spec.matchResources.namespaceSelector
        .matchExpressions[0].values,
    ).toEqual([...ADMISSION_SYSTEM_NAMESPACES]);
    const c = new CatalogueAdmissionPolicies(new Chart(new App(), 'c'), 'a', { evaluationDate: DATE, ...props });
    expect(c.layout).toBe('grouped');
    expect(c.policies.map((p) => p.control)).toEqual([...ADMISSION_POLICY_CONTROLS]);
    expect(c.policies.find((p) => p.control === 'HCB-WORKLOAD-SECRETS-IN-ENV')?.policyName).toBe(
      'hcb-workload-secrets-in-env',
    );
    expect(c.policies.find((p) => p.control === 'HCB-WORKLOAD-PRIVILEGED')?.policyName).toBe('hcb-workloads-enforce');
    expect(c.policies.find((p) => p.control === 'HCB-WORKLOAD-NO-DASHBOARD')?.bound).toBe(false);
  });

  test("a control switched to dry-run moves to its target's dry-run group; a subset renders only its groups", () => {
    const objs = renderGrouped({
      modes: { 'HCB-WORKLOAD-PROBES': 'dry-run', 'HCB-RBAC-BROAD-GROUP-BINDINGS': 'dry-run' },
    });
    expect(ofKind(objs, 'ValidatingAdmissionPolicy').map((p) => p.metadata.name)).toEqual([
      'hcb-workloads-enforce',
      'hcb-workloads-dry-run',
      'hcb-roles-enforce',
      'hcb-bindings-enforce',
      'hcb-bindings-dry-run',
    ]);
    const dry = one(objs, 'ValidatingAdmissionPolicy', 'hcb-workloads-dry-run').metadata.annotations[
      'hcb.dev/controls'
    ];
    expect(dry.split(' ').sort()).toEqual(['HCB-WORKLOAD-IMAGE-DIGEST', 'HCB-WORKLOAD-PROBES']);
    expect(renderGrouped({ controls: ['HCB-WORKLOAD-PRIVILEGED'] }).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(
      ['ValidatingAdmissionPolicy/hcb-workloads-enforce', 'ValidatingAdmissionPolicyBinding/hcb-workloads-enforce'],
    );
  });
});

describe('in the blueprint', () => {
  const local = {
    apiServerPort: 6443,
    etcdClientPort: 2379,
    etcdPeerPort: 2380,
    etcdMetricsPort: 2381,
    controllerManagerPort: 10257,
    schedulerPort: 10259,
  };

  test('the cluster objects include the policies by default, fed by the exceptions; admissionPolicies: false leaves them out', () => {
    const b = synthesizeBlueprint({
      local,
      namespaces: [{ name: 'team-a' }],
      exceptions: [exception('HCB-WORKLOAD-SECRETS-IN-ENV', { namespace: 'team-a' }, '2999-12-31')],
    });
    const policies = b.clusterObjects.filter((o) => o.kind === 'ValidatingAdmissionPolicy');
    expect(policies.map((o) => o.metadata?.name)).toEqual([
      'hcb-workloads-enforce',
      'hcb-workloads-dry-run',
      'hcb-workload-secrets-in-env',
      'hcb-roles-enforce',
      'hcb-bindings-enforce',
    ]);
    const perControl = synthesizeBlueprint({ local, admissionLayout: 'per-control' });
    expect(
      perControl.clusterObjects.filter((o) => o.kind === 'ValidatingAdmissionPolicy').map((o) => o.metadata?.name),
    ).toEqual(ADMISSION_POLICY_CONTROLS.map(admissionPolicyName));
    const binding = b.clusterObjects.find(
      (o) => o.kind === 'ValidatingAdmissionPolicyBinding' && o.metadata?.name === 'hcb-workload-secrets-in-env',
    ) as Obj;
    expect(binding.spec.matchResources.namespaceSelector.matchExpressions[0].values).toContain('team-a');
    const off = synthesizeBlueprint({ local, namespaces: [{ name: 'team-a' }], admissionPolicies: false });
    expect(off.clusterObjects.filter((o) => /^ValidatingAdmissionPolicy/.test(o.kind ?? ''))).toEqual([]);
  });

  test('an expired spec exception for an enforced control fails synthesis', () => {
    expect(() =>
      synthesizeBlueprint({
        local,
        exceptions: [exception('HCB-WORKLOAD-PRIVILEGED', { namespace: 'team-a' }, '2020-01-01')],
      }),
    ).toThrow(/expired on 2020-01-01/);
  });
});

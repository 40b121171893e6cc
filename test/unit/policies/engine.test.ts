import * as fc from 'fast-check';
import { CATALOGUE } from '../../../policies/catalogue';
import { Control } from '../../../policies/control';
import { compareFindings, evaluate, EXCEPTION_CONTROL, summarize, validateExceptions } from '../../../policies/engine';
import { ControlException, Document, KubeObject } from '../../../policies/model';

const NOW = new Date('2026-03-10T12:00:00Z');

function doc(object: KubeObject, file = 'input.yaml', line = 1): Document {
  return { object, source: { file, line } };
}

function deployment(name: string, namespace: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: 'app',
              image: 'example/app:1',
              env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
            },
          ],
        },
      },
    },
  };
}

const SECRETS_IN_ENV = 'HCB-WORKLOAD-SECRETS-IN-ENV';
const only = (id: string): Control[] => CATALOGUE.filter((c) => c.id === id);

function exception(over: Partial<ControlException> = {}): ControlException {
  return {
    control: SECRETS_IN_ENV,
    scope: { namespace: 'team-a', kind: 'Deployment', name: 'legacy' },
    justification: 'vendor image reads the password from the environment only; migration tracked',
    owner: 'team-a',
    expires: '2026-03-10',
    ...over,
  };
}

describe('exceptions', () => {
  const docs = [doc(deployment('legacy', 'team-a')), doc(deployment('other', 'team-a'), 'input.yaml', 20)];

  it('turns a matching failure into accepted, with justification, owner and expiry', () => {
    const f = evaluate(docs, { controls: only(SECRETS_IN_ENV), exceptions: [exception()], now: NOW });
    const legacy = f.find((x) => x.object?.name === 'legacy')!;
    expect(legacy.status).toBe('accepted');
    expect(legacy.exception).toEqual({
      justification: exception().justification,
      owner: 'team-a',
      expires: '2026-03-10',
    });
    // the exception's scope names one object: the other failure stays
    expect(f.find((x) => x.object?.name === 'other')!.status).toBe('fail');
  });

  it('is valid through the whole expiry day (UTC) and expired the day after', () => {
    const lastMoment = new Date('2026-03-10T23:59:59.999Z');
    expect(
      evaluate(docs, { controls: only(SECRETS_IN_ENV), exceptions: [exception()], now: lastMoment }).find(
        (x) => x.object?.name === 'legacy',
      )!.status,
    ).toBe('accepted');
    const f = evaluate(docs, {
      controls: only(SECRETS_IN_ENV),
      exceptions: [exception()],
      now: new Date('2026-03-11T00:00:00Z'),
    });
    const legacy = f.find((x) => x.object?.name === 'legacy')!;
    expect(legacy.status).toBe('fail');
    expect(legacy.message).toMatch(/expired on 2026-03-10/);
    expect(legacy.exception).toBeUndefined();
  });

  it('never touches passing findings or other controls', () => {
    const f = evaluate(docs, {
      controls: only('HCB-WORKLOAD-HOST-PATH'),
      exceptions: [exception({ control: 'HCB-WORKLOAD-HOST-PATH', scope: {} })],
      now: NOW,
    });
    expect(f.every((x) => x.status === 'pass')).toBe(true);
  });

  it('reports an invalid exception as an error and does not apply it', () => {
    const bad = { ...exception(), owner: '', expires: '2026-02-30' };
    const f = evaluate(docs, { controls: only(SECRETS_IN_ENV), exceptions: [bad], now: NOW });
    const errors = f.filter((x) => x.status === 'error');
    expect(errors.map((e) => e.control)).toEqual([SECRETS_IN_ENV, SECRETS_IN_ENV]);
    expect(errors.map((e) => e.message).join('\n')).toMatch(/"owner" is missing/);
    expect(errors.map((e) => e.message).join('\n')).toMatch(/"expires" must be a real date/);
    expect(f.find((x) => x.object?.name === 'legacy')!.status).toBe('fail');
  });

  it('reports an exception for an unknown control under HCB-EXCEPTION', () => {
    const f = evaluate([], {
      controls: only(SECRETS_IN_ENV),
      exceptions: [exception({ control: 'HCB-NO-SUCH-CONTROL' })],
      now: NOW,
    });
    const e = f.find((x) => x.control === EXCEPTION_CONTROL)!;
    expect(e.status).toBe('error');
    expect(e.message).toMatch(/not a control of the catalogue/);
  });

  it('validateExceptions names every problem', () => {
    const problems = validateExceptions([
      { control: 'X', scope: {}, justification: ' ', owner: 'me', expires: '2026-01-01' },
      { control: 'X', scope: { namspace: 'a' }, justification: 'j', owner: 'me', expires: '01/02/2026' },
      'not an object',
      exception(),
    ]);
    expect(problems.map((p) => [p.index, p.message.split(':')[0]])).toEqual([
      [0, '"justification" is missing'],
      [1, '"expires" must be a real date written YYYY-MM-DD, got "01/02/2026"'],
      [1, 'scope key "namspace" is not one of namespace, kind, name, path'],
      [2, 'an exception must be a mapping'],
    ]);
  });
});

describe('not-evaluated semantics', () => {
  it('gives no pass for any control when the input is empty', () => {
    const f = evaluate([], { now: NOW });
    expect(f.filter((x) => x.status === 'pass')).toEqual([]);
    const automated = CATALOGUE.filter((c) => c.automation === 'automated');
    for (const c of automated) {
      const mine = f.filter((x) => x.control === c.id);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((x) => x.status === 'not-evaluated')).toBe(true);
      expect(mine[0].message).toMatch(/^Not evaluated: no /);
    }
  });

  it('reports manual and organisational controls as not-evaluated with their evidence, unless asked not to', () => {
    const f = evaluate([], { now: NOW });
    const ssh = f.find((x) => x.control === 'HCB-NODE-SSHD-DISABLED')!;
    expect(ssh.status).toBe('not-evaluated');
    expect(ssh.message).toMatch(/^Manual control: not checked automatically\. Evidence: /);
    expect(evaluate([], { now: NOW, includeManual: false }).some((x) => x.control === 'HCB-NODE-SSHD-DISABLED')).toBe(
      false,
    );
  });

  it('says which input is missing', () => {
    const f = evaluate([doc({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'a' } })], {
      controls: only('HCB-KUBELET-READ-ONLY-PORT'),
      now: NOW,
    });
    expect(f).toHaveLength(1);
    expect(f[0].status).toBe('not-evaluated');
    expect(f[0].message).toMatch(/no KubeletConfiguration/);
  });

  it('turns a check that returns nothing into not-evaluated and a throwing check into error', () => {
    const base: Omit<Control, 'id'> = {
      title: 't',
      rationale: 'r',
      severity: 'low',
      frameworks: {},
      checkpoints: ['synth'],
      responsibility: 'cluster-admin',
      automation: 'automated',
      remediation: 'x',
    };
    const controls: Control[] = [
      { ...base, id: 'T-EMPTY', check: () => [] },
      {
        ...base,
        id: 'T-THROWS',
        check: () => {
          throw new Error('boom');
        },
      },
      { ...base, id: 'T-BAD-STATUS', check: () => [{ status: 'passed' as never, message: 'x' }] },
      { ...base, id: 'T-NO-CHECK' },
    ];
    const f = evaluate([], { controls, now: NOW });
    expect(f.map((x) => [x.control, x.status])).toEqual([
      ['T-BAD-STATUS', 'error'],
      ['T-EMPTY', 'not-evaluated'],
      ['T-NO-CHECK', 'error'],
      ['T-THROWS', 'error'],
    ]);
    expect(f.find((x) => x.control === 'T-THROWS')!.message).toBe('The check failed: boom');
  });

  it('does not apply to CronJobs for probes (not-applicable, not pass)', () => {
    const cron: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace: 'team-a' },
      spec: {
        schedule: '0 1 * * *',
        jobTemplate: { spec: { template: { spec: { containers: [{ name: 'job', image: 'x:1' }] } } } },
      },
    };
    const f = evaluate([doc(cron)], { controls: only('HCB-WORKLOAD-PROBES'), now: NOW });
    expect(f.map((x) => x.status)).toEqual(['not-applicable']);
  });
});

describe('robustness and ordering', () => {
  it('never throws on malformed documents', () => {
    const json = fc.jsonValue({ maxDepth: 4 });
    const kinds = fc.constantFrom(
      'Pod',
      'Deployment',
      'CronJob',
      'ClusterConfiguration',
      'KubeletConfiguration',
      'Policy',
      'EncryptionConfiguration',
      'AdmissionConfiguration',
      'NodeFileManifest',
      'Namespace',
      'Role',
      'RoleBinding',
      'NetworkPolicy',
      'AuthenticationConfiguration',
    );
    const apiVersions = fc.constantFrom(
      'v1',
      'apps/v1',
      'batch/v1',
      'kubeadm.k8s.io/v1beta4',
      'kubeadm.k8s.io/v1beta3',
      'kubelet.config.k8s.io/v1beta1',
      'audit.k8s.io/v1',
      'apiserver.config.k8s.io/v1',
      'hcb.dev/v1alpha1',
      'rbac.authorization.k8s.io/v1',
      'networking.k8s.io/v1',
    );
    const object = fc.record({
      apiVersion: apiVersions,
      kind: kinds,
      metadata: fc.oneof(
        fc.constant(undefined),
        json,
        fc.record({ name: fc.string(), namespace: fc.constantFrom('default', 'kube-system', 'team-a'), labels: json }),
      ),
      spec: json,
      rules: json,
      files: json,
      resources: json,
      plugins: json,
      authentication: json,
      apiServer: json,
      anonymous: json,
    });
    fc.assert(
      fc.property(fc.array(object, { maxLength: 6 }), (objects) => {
        const docs = objects.map((o, i) =>
          i % 3 === 2 ? ({ object: o } as unknown as Document) : doc(o as unknown as KubeObject),
        );
        const f = evaluate(docs, { now: NOW });
        for (const x of f)
          expect(['pass', 'fail', 'accepted', 'not-applicable', 'not-evaluated', 'error']).toContain(x.status);
      }),
      { numRuns: 60, seed: 20260310 },
    );
  });

  it('is deterministic and sorted by control, then subject', () => {
    const docs = [
      doc(deployment('b', 'team-b'), 'b.yaml'),
      doc(deployment('a', 'team-a'), 'a.yaml'),
      doc(deployment('c', 'default'), 'c.yaml'),
    ];
    const one = evaluate(docs, { now: NOW });
    const two = evaluate([...docs].reverse(), { now: NOW });
    expect(
      JSON.stringify(one.map(({ control, status, object }) => [control, status, object?.namespace, object?.name])),
    ).toBe(
      JSON.stringify(two.map(({ control, status, object }) => [control, status, object?.namespace, object?.name])),
    );
    for (let i = 1; i < one.length; i++) expect(compareFindings(one[i - 1], one[i])).toBeLessThanOrEqual(0);
    const secrets = one.filter((x) => x.control === SECRETS_IN_ENV).map((x) => x.object?.namespace);
    expect(secrets).toEqual(['default', 'team-a', 'team-b']);
    const ids = one.map((x) => x.control);
    expect(ids).toEqual([...ids].sort((p, q) => (p < q ? -1 : p > q ? 1 : 0)));
  });

  it('filters by framework', () => {
    const f = evaluate([], { now: NOW, frameworks: ['scs'] });
    expect(f.length).toBeGreaterThan(0);
    expect(f.every((x) => (x.frameworks.scs ?? []).length > 0)).toBe(true);
  });
});

describe('summarize', () => {
  it('counts per status, severity and framework, rolling requirements up to the worst status', () => {
    const docs = [doc(deployment('a', 'team-a'))];
    const f = evaluate(docs, { controls: only(SECRETS_IN_ENV).concat(only('HCB-WORKLOAD-HOST-PATH')), now: NOW });
    const s = summarize(f);
    expect(s.total).toBe(2);
    expect(s.byStatus.fail).toBe(1);
    expect(s.byStatus.pass).toBe(1);
    expect(s.bySeverity.medium.fail).toBe(1);
    expect(s.bySeverity.high.pass).toBe(1);
    expect(s.byFramework.stig.requirements).toEqual({ 'V-242415': 'fail' });
    expect(s.byFramework.cis.requirements).toEqual({ '5.2.12': 'pass', '5.4.1': 'fail' });
    expect(s.byFramework.cis.findings).toBe(2);
    expect(s.byFramework.scs.findings).toBe(0);
  });
});

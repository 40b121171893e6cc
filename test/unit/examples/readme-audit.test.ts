// README.md's application example, synthesized from the README's own text, passes our own audit:
// no control fails and none errs. The opt-in to Secret reads for namespace admins is the one way
// the example's RBAC fails, and then exactly on the namespace-admin Roles.
import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { ControlException, Finding, evaluate, parseText } from '../../../policies';
import { readmeExampleSource, runReadmeExample } from './readme-example';

jest.setTimeout(120_000);

function audit(source: string, exceptions: ControlException[] = []): Finding[] {
  const objs = runReadmeExample(source);
  // Through the loader `hcb audit` uses (construct paths from the annotation), not hand-built documents.
  const parsed = parseText(objs.map((o) => stringify(o)).join('---\n'), 'readme.k8s.yaml');
  expect(parsed.errors).toEqual([]);
  expect(parsed.documents).toHaveLength(objs.length);
  return evaluate(parsed.documents, { exceptions, now: new Date('2026-11-29T00:00:00Z') });
}

const bad = (findings: Finding[]) =>
  findings
    .filter((f) => f.status === 'fail' || f.status === 'error')
    .map(
      (f) =>
        `${f.status} ${f.control} ${f.object ? `${f.object.kind}/${f.object.namespace ?? ''}/${f.object.name}` : '-'}: ${f.message}`,
    );

describe('README example audit', () => {
  test('the example, as written in the README, audits clean: no fail, no error', () => {
    const findings = audit(readmeExampleSource());
    expect(bad(findings)).toEqual([]);
    // It was really evaluated: the RBAC and workload controls saw the example's objects.
    const passed = (id: string) =>
      findings
        .filter((f) => f.control === id && f.status === 'pass')
        .map((f) => `${f.object?.namespace}/${f.object?.name}`);
    expect(passed('HCB-RBAC-SECRETS-READ')).toEqual(
      expect.arrayContaining(['payments-prod/hcb-namespace-admin', 'payments-dev/hcb-namespace-admin']),
    );
    expect(passed('HCB-WORKLOAD-PRIVILEGED')).toContain('payments-prod/api');
  });

  test('examples/app/main.ts audits clean too', () => {
    const source = fs.readFileSync(path.resolve(__dirname, '../../../examples/app/main.ts'), 'utf8');
    const findings = audit(source);
    expect(bad(findings)).toEqual([]);
    expect(
      findings.filter((f) => f.control === 'HCB-WORKLOAD-PRIVILEGED' && f.status === 'pass').map((f) => f.object?.name),
    ).toContain('web');
  });

  test('opting namespace admins in to Secret reads fails HCB-RBAC-SECRETS-READ on exactly their Roles; a reviewed exception accepts it', () => {
    const source = readmeExampleSource();
    const optedIn = source.replace(
      "namespaceAdmins: [Subject.user('alice@example.com')],",
      "namespaceAdmins: [Subject.user('alice@example.com')],\n    namespaceAdminsReadSecrets: true,",
    );
    expect(optedIn).not.toEqual(source);
    const findings = audit(optedIn);
    expect(bad(findings).sort()).toEqual([
      'fail HCB-RBAC-SECRETS-READ Role/payments-dev/hcb-namespace-admin: rule 16: get, list, watch on secrets.',
      'fail HCB-RBAC-SECRETS-READ Role/payments-prod/hcb-namespace-admin: rule 16: get, list, watch on secrets.',
    ]);
    const exceptions: ControlException[] = ['payments-dev', 'payments-prod'].map((namespace) => ({
      control: 'HCB-RBAC-SECRETS-READ',
      scope: { kind: 'Role', namespace, name: 'hcb-namespace-admin' },
      justification: 'alice rotates database credentials by hand',
      owner: 'payments-team',
      expires: '2027-06-30',
    }));
    const accepted = audit(optedIn, exceptions);
    expect(bad(accepted)).toEqual([]);
    expect(
      accepted
        .filter((f) => f.status === 'accepted')
        .map((f) => f.object?.namespace)
        .sort(),
    ).toEqual(['payments-dev', 'payments-prod']);
  });
});

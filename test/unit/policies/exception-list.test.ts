/**
 * The ControlExceptionList document: `hcb audit --exceptions` reads it; found among audited
 * input it is one document that no control checks and that accepts nothing.
 */
import { runAudit } from '../../../cli/commands/audit';
import { evaluate } from '../../../policies/engine';
import { exceptionListDocument, isExceptionDocument } from '../../../policies/exceptions';
import { parseExceptions, parseText } from '../../../policies/input';
import { ControlException, Document } from '../../../policies/model';
import { fakeIo, tempTree } from '../cli/io';

const EXC: ControlException = {
  control: 'HCB-KUBELET-READ-ONLY-PORT',
  scope: { kind: 'KubeletConfiguration' },
  justification: 'legacy metrics scraper, removed next quarter',
  owner: 'platform-team',
  expires: '2027-06-30',
  ticket: 'OPS-7',
};
const LIST = `apiVersion: hcb.dev/v1alpha1
kind: ControlExceptionList
items:
  - control: HCB-KUBELET-READ-ONLY-PORT
    scope: {kind: KubeletConfiguration}
    justification: legacy metrics scraper, removed next quarter
    owner: platform-team
    expires: 2027-06-30
    ticket: OPS-7
`;
const KUBELET = 'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nreadOnlyPort: 10255\n';

describe('parseExceptions: the ControlExceptionList document', () => {
  it('reads the items, dates stay strings', () => {
    expect(parseExceptions(LIST, 'exceptions.yaml')).toEqual({ exceptions: [EXC], errors: [] });
  });

  it('reads what exceptionListDocument writes', () => {
    const doc = exceptionListDocument([EXC, { ...EXC, scope: {}, ticket: undefined } as ControlException]);
    expect(doc.items[1]).not.toHaveProperty('ticket');
    expect(parseExceptions(JSON.stringify(doc), 'e.json').exceptions).toEqual(doc.items);
  });

  it('an empty list accepts nothing and is no error', () => {
    expect(parseExceptions('apiVersion: hcb.dev/v1alpha1\nkind: ControlExceptionList\nitems: []\n', 'e.yaml')).toEqual({
      exceptions: [],
      errors: [],
    });
  });

  it.each([
    ['apiVersion: hcb.dev/v9\nkind: ControlExceptionList\nitems: []\n', /needs apiVersion hcb\.dev\/v1alpha1/],
    ['apiVersion: hcb.dev/v1alpha1\nkind: NodeFileManifest\nfiles: []\n', /expected kind ControlExceptionList/],
    ['apiVersion: hcb.dev/v1alpha1\nkind: ControlExceptionList\nitem: []\n', /unknown field "item"/],
    ['apiVersion: hcb.dev/v1alpha1\nkind: ControlExceptionList\nitems: {a: 1}\n', /expected a list of exceptions/],
    [
      'apiVersion: hcb.dev/v1alpha1\nkind: ControlExceptionList\nitems:\n  - control: X\n    scope: {nam: a}\n',
      /unknown scope field "nam"/,
    ],
  ])('rejects %j', (text, message) => {
    const r = parseExceptions(text, 'e.yaml');
    expect(r.exceptions).toEqual([]);
    expect(r.errors.map((e) => e.message).join('\n')).toMatch(message);
  });
});

describe('a ControlExceptionList among the audited input', () => {
  it('loads as one document, without warnings, not as a list of objects', () => {
    const r = parseText(LIST, 'out/exceptions.yaml');
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.documents).toHaveLength(1);
    expect(isExceptionDocument(r.documents[0].object)).toBe(true);
  });

  it('is neither applied nor a subject: the failure it names stays a failure', () => {
    const docs: Document[] = [
      ...parseText(KUBELET, 'kubelet.yaml').documents,
      ...parseText(LIST, 'exceptions.yaml').documents,
    ];
    const findings = evaluate(docs, { now: new Date('2026-11-22T00:00:00Z') });
    expect(findings.find((f) => f.control === 'HCB-KUBELET-READ-ONLY-PORT')?.status).toBe('fail');
    expect(findings.filter((f) => f.object?.file === 'exceptions.yaml')).toEqual([]);
    expect(findings.filter((f) => f.status === 'error')).toEqual([]);
    // The same findings as without the list in the input.
    expect(findings).toEqual(evaluate(docs.slice(0, 1), { now: new Date('2026-11-22T00:00:00Z') }));
  });

  it('hcb audit names it, does not apply it, and applies it when passed with --exceptions', async () => {
    const dir = await tempTree({ 'in/kubelet.yaml': KUBELET, 'in/exceptions.yaml': LIST });
    const plain = fakeIo(dir);
    expect(
      await runAudit(['in', '--format', 'json', '--framework', 'stig', '--now', '2026-11-22T00:00:00Z'], plain),
    ).toBe(1);
    expect(plain.errText()).toMatch(
      /note: in\/exceptions\.yaml:1: ControlExceptionList in the input is not applied; pass it with --exceptions/,
    );
    const failed = JSON.parse(plain.out())
      .results.filter((r: { status: string }) => r.status === 'fail')
      .map((r: { control: string }) => r.control);
    expect(failed).toContain('HCB-KUBELET-READ-ONLY-PORT');

    const withFile = fakeIo(dir);
    await runAudit(
      ['in', '--format', 'json', '--exceptions', 'in/exceptions.yaml', '--now', '2026-11-22T00:00:00Z'],
      withFile,
    );
    expect(withFile.errText()).not.toMatch(/note:/);
    const ro = JSON.parse(withFile.out()).results.filter(
      (r: { control: string }) => r.control === 'HCB-KUBELET-READ-ONLY-PORT',
    );
    expect(ro.map((r: { status: string }) => r.status)).toEqual(['accepted']);
  });
});

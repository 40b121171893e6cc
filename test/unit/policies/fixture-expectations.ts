/**
 * Expected results written in a fixture's own comments, so a fail fixture that fails for another
 * reason than the one it was written for fails the test.
 *
 *   # expect: <status> <subject> ~ <message fragment>
 *
 * - status: pass | fail | accepted | not-applicable | not-evaluated | error
 * - subject: `Kind/namespace/name`, `Kind/name` (no namespace), a node path starting with `/`
 *   (node file findings), or `-` (a finding without an object). `*` matches any subject.
 * - message fragment: a case-sensitive substring of the finding's message (may be empty).
 *
 * Rules (fixtures.test.ts): every finding of the control whose status is not `pass` must be
 * matched by an expect line, and every expect line must match at least one finding.
 */
import { Finding } from '../../../policies/model';

export interface Expectation {
  status: string;
  subject: string;
  fragment: string;
  line: number;
  text: string;
}

const STATUSES = new Set(['pass', 'fail', 'accepted', 'not-applicable', 'not-evaluated', 'error']);

export function parseExpectations(text: string, file: string): Expectation[] {
  const out: Expectation[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const m = /^\s*#\s*expect:\s*(.*)$/.exec(raw);
    if (!m) return;
    const body = m[1].trim();
    const em = /^(\S+)\s+(\S+)\s*(?:~\s?(.*))?$/.exec(body);
    if (!em || !STATUSES.has(em[1])) {
      throw new Error(
        `${file}:${i + 1}: malformed expect line (want "# expect: <status> <subject> ~ <fragment>"): ${raw}`,
      );
    }
    out.push({ status: em[1], subject: em[2], fragment: (em[3] ?? '').trimEnd(), line: i + 1, text: body });
  });
  return out;
}

/** The subject string of a finding, in the form expect lines use. */
export function subjectOf(f: Finding): string {
  const o = f.object;
  if (!o) return '-';
  if (o.path) return o.path;
  const kind = o.kind ?? '?';
  const name = o.name ?? '?';
  return o.namespace ? `${kind}/${o.namespace}/${name}` : `${kind}/${name}`;
}

export function matches(e: Expectation, f: Finding): boolean {
  return e.status === f.status && (e.subject === '*' || e.subject === subjectOf(f)) && f.message.includes(e.fragment);
}

/** Problems with a fixture's findings against its expect lines; empty when they agree. */
export function compareExpectations(expectations: Expectation[], findings: Finding[]): string[] {
  const problems: string[] = [];
  for (const f of findings) {
    if (f.status === 'pass') continue;
    if (!expectations.some((e) => matches(e, f))) {
      problems.push(`unexpected ${f.status} on ${subjectOf(f)}: ${f.message}`);
    }
  }
  for (const e of expectations) {
    if (!findings.some((f) => matches(e, f))) {
      const seen = findings.map((f) => `  ${f.status} ${subjectOf(f)} ~ ${f.message}`).join('\n');
      problems.push(`line ${e.line}: no finding matches "# expect: ${e.text}"; findings were:\n${seen}`);
    }
  }
  return problems;
}

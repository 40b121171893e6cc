import { Finding } from '../model';
import { INPUT_PARSE_CONTROL, LoadProblem } from './types';

/** Input that could not be read or parsed, as 'error' findings: never silently skipped. */
export function loadProblemsToFindings(problems: readonly LoadProblem[]): Finding[] {
  return problems.map((p) => {
    const object: Finding['object'] = { ...p.subject, file: p.file };
    if (p.line !== undefined) object.line = p.line;
    const where = p.line !== undefined ? `${p.file}:${p.line}${p.column !== undefined ? `:${p.column}` : ''}` : p.file;
    return {
      control: INPUT_PARSE_CONTROL,
      status: 'error',
      severity: 'high',
      frameworks: {},
      object,
      message: `${where}: ${p.message}`,
      remediation:
        p.remediation ?? 'Fix the input so that it parses as YAML or JSON; no control could check what it holds.',
    };
  });
}

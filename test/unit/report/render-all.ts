// Development helper (not a test): writes every format for the fixture set to a directory.
import { writeFileSync } from 'fs';
import { RENDERERS, REPORT_FORMATS, summarizeFindings } from '../../../policies/report';
import { FINDINGS, META } from './fixtures';

const dir = process.argv[2] ?? '.';
for (const f of REPORT_FORMATS) {
  writeFileSync(`${dir}/report.${f}`, RENDERERS[f](FINDINGS, summarizeFindings(FINDINGS), META));
}
writeFileSync(
  `${dir}/report.color`,
  RENDERERS.terminal(FINDINGS, summarizeFindings(FINDINGS), { ...META, color: true }),
);

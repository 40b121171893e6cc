/**
 * Report formats: each a pure function (findings, summary, meta) → string. Same input, same
 * bytes: stable order, no clock unless meta.generatedAt is given.
 */
import { Finding } from '../model';
import { ReportMeta, ReportSummary } from './common';
import { renderHtml } from './html';
import { renderJson } from './json';
import { renderJunit } from './junit';
import { renderMarkdown } from './markdown';
import { renderOscal } from './oscal';
import { renderSarif } from './sarif';
import { renderTerminal } from './terminal';

export * from './common';
export { renderTerminal } from './terminal';
export { renderMarkdown } from './markdown';
export { renderJson, toJsonResult } from './json';
export type { JsonReport, JsonResult } from './json';
export { renderSarif, SARIF_SCHEMA } from './sarif';
export { renderJunit } from './junit';
export { renderHtml } from './html';
export { renderOscal, OSCAL_VERSION, HCB_PROP_NS, UNSET_TIME } from './oscal';
export { uuidV5, HCB_NAMESPACE, URL_NAMESPACE } from './uuid';
export {
  parseResultsFile,
  diffResults,
  subjectKey,
  renderDiffTerminal,
  renderDiffMarkdown,
  renderDiffJson,
} from './diff';
export type { ReportDiff, ResultsFile, DiffMeta } from './diff';

export type ReportFormat = 'terminal' | 'markdown' | 'json' | 'sarif' | 'junit' | 'html' | 'oscal';
export const REPORT_FORMATS: readonly ReportFormat[] = [
  'terminal',
  'markdown',
  'json',
  'sarif',
  'junit',
  'html',
  'oscal',
];

export type Renderer = (findings: readonly Finding[], summary: ReportSummary, meta?: ReportMeta) => string;

/**
 * A report longer than the longest string V8 holds (2^29 - 24 characters, about 512 MiB) cannot
 * be built: the renderer's RangeError ("Invalid string length") becomes an error that says what
 * happened and what to do, instead of an unexplained crash.
 */
function bounded(format: ReportFormat, render: Renderer): Renderer {
  return (findings, summary, meta) => {
    try {
      return render(findings, summary, meta);
    } catch (err) {
      if (err instanceof RangeError && /string length/i.test(err.message)) {
        throw new Error(
          `the ${format} report of ${findings.length} findings is longer than the longest string Node.js can hold (about 512 MiB); ` +
            'audit the input in parts, or choose a more compact format (terminal, markdown or json)',
          { cause: err },
        );
      }
      throw err;
    }
  };
}

export const RENDERERS: Record<ReportFormat, Renderer> = {
  terminal: bounded('terminal', renderTerminal),
  markdown: bounded('markdown', renderMarkdown),
  json: bounded('json', renderJson),
  sarif: bounded('sarif', renderSarif),
  junit: bounded('junit', renderJunit),
  html: bounded('html', renderHtml),
  oscal: bounded('oscal', renderOscal),
};

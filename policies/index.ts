/** Public entry point of `hardened-cluster-blueprint/policies`. */
export * from './model';
export * from './control';
export { CATALOGUE, controlById } from './catalogue';
export { evaluate, summarize, compareFindings, mapsTo, STATUSES, ROLL_UP_ORDER, EXCEPTION_CONTROL } from './engine';
export type { EvaluateOptions, Summary, FrameworkSummary } from './engine';
export { validateException, validateExceptions, scopeMatches, isExpired, expiryEnd } from './exceptions';
export type { ExceptionProblem } from './exceptions';
export { buildContext } from './context';
export { coverage, frameworkCoverage, compareIds } from './coverage';
export type { FrameworkCoverage } from './coverage';
export * from './frameworks';
export {
  exceptionListDocument,
  isExceptionDocument,
  EXCEPTION_LIST_API_VERSION,
  EXCEPTION_LIST_KIND,
} from './exceptions';
export type { ControlExceptionList } from './exceptions';

// Input: files, directories and stdin → Documents (with file, line and construct path), the
// exceptions file, and load problems as 'error' findings. Everything `hcb audit` reads with.
export {
  loadInputs,
  parseText,
  parseExceptions,
  loadProblemsToFindings,
  MANIFEST_FILE,
  STDIN_NAME,
  CONSTRUCT_PATH_ANNOTATION,
  INPUT_PARSE_CONTROL,
} from './input';
export type { LoadOptions, LoadProblem, LoadResult, ParseResult, ExceptionsResult } from './input';

// Reports: the summary every format shares and one pure renderer per format (what
// `hcb audit --format` writes), plus the comparison of two JSON results (`hcb report`).
// The report module's own finding order is exported as compareReportFindings (the engine's is compareFindings).
export {
  summarizeFindings,
  rollUpControls,
  rollUpStatus,
  normalizeFrameworks,
  isFailing,
  STATUS_ORDER,
  STATUS_LABELS,
  FRAMEWORK_LABELS,
  RENDERERS,
  REPORT_FORMATS,
  renderTerminal,
  renderMarkdown,
  renderJson,
  toJsonResult,
  renderSarif,
  renderJunit,
  renderHtml,
  renderOscal,
  parseResultsFile,
  diffResults,
  renderDiffTerminal,
  renderDiffMarkdown,
  renderDiffJson,
  compareFindings as compareReportFindings,
} from './report';
export type {
  ReportFormat,
  Renderer,
  ReportMeta,
  ReportSummary,
  ControlInfo,
  ControlRollup,
  NormalFrameworks,
  JsonReport,
  JsonResult,
  FixStep,
  ReportDiff,
  ResultsFile,
  DiffMeta,
} from './report';

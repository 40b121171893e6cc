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

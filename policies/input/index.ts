export * from './types';
export { parseText } from './parse';
export type { ParseResult } from './parse';
export { loadInputs, MANIFEST_FILE, displayName, compareCodeUnits } from './files';
export type { LoadOptions } from './files';
export { parseExceptions } from './exceptions';
export type { ExceptionsResult } from './exceptions';
export { loadProblemsToFindings } from './findings';

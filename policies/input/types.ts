import { Document } from '../model';

/** A problem found while reading input: where it is and what is wrong. Never thrown. */
export interface LoadProblem {
  /** File as shown to users (relative, forward slashes), `<stdin>` for standard input. */
  file: string;
  /** 1-based line, when the problem has a position. */
  line?: number;
  /** 1-based column, when the problem has a position. */
  column?: number;
  message: string;
  /** The object the problem is in, when it was read far enough to name it (kind, namespace, name). */
  subject?: { apiVersion?: string; kind?: string; namespace?: string; name?: string };
  /** What to change, when it is not "fix the YAML or JSON". */
  remediation?: string;
}

/** The outcome of loading inputs: documents, plus problems that did not stop the rest. */
export interface LoadResult {
  documents: Document[];
  /** Input that could not be read or parsed: each becomes an 'error' finding. */
  errors: LoadProblem[];
  /** Things worth telling the user that do not make the audit fail (stderr). */
  warnings: LoadProblem[];
  /** Every file that was read, in reading order. */
  files: string[];
  /** Paths given by the user that do not exist (a usage error for the CLI). */
  missing: string[];
}

/** Name used in SourceRef.file for standard input. */
export const STDIN_NAME = '<stdin>';

/** Annotation that our own cdk8s constructs put on each object they render. */
export const CONSTRUCT_PATH_ANNOTATION = 'hcb.dev/construct-path';

/** Control id of the findings made from load errors. */
export const INPUT_PARSE_CONTROL = 'HCB-INPUT-PARSE';

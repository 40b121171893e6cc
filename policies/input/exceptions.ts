/**
 * The exceptions file of `hcb audit --exceptions`: a YAML list of ControlException, a
 * `ControlExceptionList` document (`apiVersion: hcb.dev/v1alpha1`, `items:`; what `hcb synth`
 * writes to exceptions.yaml), or a mapping with an `exceptions:` list. Strict on purpose: an unknown scope key (a typo such as
 * `namspace`) would silently widen what an exception covers, so it is an error.
 */
import { isMap, isScalar, isSeq, LineCounter, Node, parseDocument } from 'yaml';
import { EXCEPTION_LIST_API_VERSION, EXCEPTION_LIST_KIND } from '../exceptions';
import { ControlException } from '../model';
import { LoadProblem } from './types';

export interface ExceptionsResult {
  exceptions: ControlException[];
  errors: LoadProblem[];
}

const SCOPE_KEYS = ['namespace', 'kind', 'name', 'path'] as const;
const KEYS = ['control', 'scope', 'justification', 'owner', 'expires', 'ticket'];
const DOCUMENT_KEYS = ['apiVersion', 'kind', 'metadata', 'items'];

export function parseExceptions(text: string, file: string): ExceptionsResult {
  try {
    return parseExceptionsUnsafe(text, file);
  } catch (err) {
    // The yaml package can still throw on pathological input (nesting deep enough to exhaust the stack).
    return {
      exceptions: [],
      errors: [{ file, message: `cannot parse: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` }],
    };
  }
}

function parseExceptionsUnsafe(text: string, file: string): ExceptionsResult {
  const out: ExceptionsResult = { exceptions: [], errors: [] };
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    version: '1.1',
    uniqueKeys: true,
    lineCounter,
    // Dates stay strings: `expires: 2025-12-31` must not become a Date.
    customTags: (tags) => tags.filter((t) => (t as { tag?: string }).tag !== 'tag:yaml.org,2002:timestamp'),
  });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      out.errors.push({
        file,
        line: e.linePos?.[0].line,
        message: e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''),
      });
    }
    return out;
  }
  const lineOf = (n: unknown): number | undefined => {
    const r = (n as Node | undefined)?.range;
    return r ? lineCounter.linePos(r[0]).line : undefined;
  };
  let list = doc.contents as Node | null;
  if (list === null) return out; // an empty file accepts nothing
  if (isMap(list) && list.has('kind')) {
    // The document form `hcb synth` writes: apiVersion hcb.dev/v1alpha1, kind ControlExceptionList, items.
    const kind = list.get('kind');
    const apiVersion = list.get('apiVersion');
    if (kind !== EXCEPTION_LIST_KIND) {
      out.errors.push({
        file,
        line: lineOf(list),
        message: `expected kind ${EXCEPTION_LIST_KIND}, got ${JSON.stringify(kind ?? null)}`,
      });
      return out;
    }
    if (apiVersion !== EXCEPTION_LIST_API_VERSION) {
      out.errors.push({
        file,
        line: lineOf(list),
        message: `${EXCEPTION_LIST_KIND} needs apiVersion ${EXCEPTION_LIST_API_VERSION}, got ${JSON.stringify(apiVersion ?? null)}`,
      });
      return out;
    }
    for (const pair of list.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      if (!DOCUMENT_KEYS.includes(key))
        out.errors.push({
          file,
          line: lineOf(pair.key),
          message: `unknown field "${key}" of ${EXCEPTION_LIST_KIND} (allowed: ${DOCUMENT_KEYS.join(', ')})`,
        });
    }
    if (out.errors.length > 0) return out;
    const items = list.get('items', true) as Node | undefined;
    if (items === undefined || (isScalar(items) && items.value === null)) return out; // no items: accepts nothing
    list = items;
  } else if (isMap(list)) {
    const inner = list.get('exceptions', true) as Node | undefined;
    if (inner === undefined) {
      out.errors.push({
        file,
        line: lineOf(list),
        message: `expected a list of exceptions, a ${EXCEPTION_LIST_KIND} document or a mapping with an "exceptions" list`,
      });
      return out;
    }
    list = inner;
  }
  if (!isSeq(list)) {
    out.errors.push({ file, line: lineOf(list), message: 'expected a list of exceptions' });
    return out;
  }
  const values = list.toJS(doc) as unknown[];
  values.forEach((value, i) => {
    const line = lineOf(list && isSeq(list) ? list.items[i] : undefined);
    const problems = validate(value);
    if (problems.length > 0) {
      for (const message of problems) out.errors.push({ file, line, message: `exception ${i + 1}: ${message}` });
    } else {
      out.exceptions.push(normalise(value as Record<string, unknown>));
    }
  });
  return out;
}

function validate(v: unknown): string[] {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return ['expected a mapping'];
  const o = v as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(o))
    if (!KEYS.includes(k)) problems.push(`unknown field "${k}" (allowed: ${KEYS.join(', ')})`);
  for (const k of ['control', 'justification', 'owner'] as const) {
    if (typeof o[k] !== 'string' || (o[k] as string).trim() === '') problems.push(`"${k}" must be a non-empty string`);
  }
  if (o.ticket !== undefined && typeof o.ticket !== 'string') problems.push('"ticket" must be a string');
  if (typeof o.expires !== 'string' || !isIsoDate(o.expires)) {
    problems.push(`"expires" must be a date written YYYY-MM-DD, got ${JSON.stringify(o.expires ?? null)}`);
  }
  const scope = o.scope;
  if (scope === null || typeof scope !== 'object' || Array.isArray(scope)) {
    problems.push('"scope" must be a mapping (use {} to cover every object, and say so in the justification)');
  } else {
    for (const [k, val] of Object.entries(scope as Record<string, unknown>)) {
      if (!(SCOPE_KEYS as readonly string[]).includes(k))
        problems.push(`unknown scope field "${k}" (allowed: ${SCOPE_KEYS.join(', ')})`);
      else if (typeof val !== 'string' || val === '') problems.push(`scope.${k} must be a non-empty string`);
    }
  }
  return problems;
}

function isIsoDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

function normalise(o: Record<string, unknown>): ControlException {
  const scope: ControlException['scope'] = {};
  for (const k of SCOPE_KEYS) {
    const v = (o.scope as Record<string, unknown>)[k];
    if (typeof v === 'string') scope[k] = v;
  }
  const e: ControlException = {
    control: o.control as string,
    scope,
    justification: o.justification as string,
    owner: o.owner as string,
    expires: o.expires as string,
  };
  if (typeof o.ticket === 'string') e.ticket = o.ticket;
  return e;
}

/**
 * Text → Documents. Multi-document YAML and JSON (one object, an array of objects, or a
 * `kind: List`) with the file and 1-based line of every object. Problems are returned, never
 * thrown: a malformed document is reported with its position and the others still load.
 */
import { Document as YamlDocument, isAlias, isMap, isScalar, isSeq, LineCounter, Node, parseAllDocuments, visit } from 'yaml';
import { isExceptionDocument } from '../exceptions';
import { Document, KubeObject } from '../model';
import { CONSTRUCT_PATH_ANNOTATION, LoadProblem } from './types';

export interface ParseResult {
  documents: Document[];
  errors: LoadProblem[];
  warnings: LoadProblem[];
}

/**
 * YAML 1.1 is what Kubernetes itself reads (sigs.k8s.io/yaml on go-yaml): `0600` is octal and
 * `yes`/`on` are booleans there too, so checks see the values the API server would see.
 * Timestamps stay strings, as they do in the API's JSON: no Date objects in our plain data.
 */
const YAML_OPTIONS = {
  version: '1.1' as const,
  merge: true,
  uniqueKeys: true,
  prettyErrors: true,
  customTags: (tags: unknown[]) =>
    tags.filter((t) => (t as { tag?: string }).tag !== 'tag:yaml.org,2002:timestamp') as never,
};

/** Parse the text of one file (or stdin). `file` is the name written into each SourceRef. */
export function parseText(text: string, file: string): ParseResult {
  const out: ParseResult = { documents: [], errors: [], warnings: [] };
  // Input kubectl would refuse is an error, never silently skipped (position only: no content).
  const nul = text.indexOf('\u0000');
  if (nul >= 0) {
    out.errors.push({ file, line: text.slice(0, nul).split('\n').length, message: 'contains a NUL byte: not a YAML or JSON text' });
    return out;
  }
  const directive = /^%(YAML|TAG)\b/m.exec(text.replace(/^\ufeff/, ''));
  if (directive) {
    out.errors.push({ file, line: text.slice(0, directive.index).split('\n').length, message: `a %${directive[1]} directive: kubectl's YAML decoder does not accept directives` });
    return out;
  }
  // A byte order mark starts the text or a later document (after a --- line): kubectl strips it
  // per document, so it must not turn "kind" into "\ufeffkind" here.
  const source = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).replace(/(^|\n)(---[^\n]*\n)\ufeff/g, '$1$2');
  const lineCounter = new LineCounter();
  let docs: YamlDocument.Parsed[];
  try {
    docs = parseAllDocuments(source, { ...YAML_OPTIONS, lineCounter }) as YamlDocument.Parsed[];
  } catch (err) {
    // parseAllDocuments reports problems on the documents; this is only a safety net.
    out.errors.push({ file, message: `cannot parse: ${errorText(err)}` });
    return out;
  }
  if (!Array.isArray(docs)) docs = [docs];
  const lineOf = (offset: number | undefined): number | undefined =>
    offset === undefined ? undefined : lineCounter.linePos(offset).line;

  // JSON that YAML rejects (rare: e.g. implicit keys over 1024 characters) still loads when
  // JSON.parse accepts it; lines are then unknown below the first.
  if (docs.some((d) => d.errors.length > 0) && looksLikeJson(source)) {
    const json = tryJson(source);
    if (json.ok) {
      addValue(json.value, undefined, file, 1, out);
      return out;
    }
  }

  for (const doc of docs) {
    for (const w of doc.warnings) out.warnings.push(problem(file, w));
    if (doc.errors.length > 0) {
      for (const e of doc.errors) out.errors.push(problem(file, e));
      continue;
    }
    const contents = doc.contents as Node | null;
    if (contents === null || (isScalar(contents) && contents.value === null)) continue; // empty
    const ambiguous = ambiguousMerge(doc);
    if (ambiguous) {
      out.errors.push({ file, line: lineOf(ambiguous.offset), message: `merge key << sets "${ambiguous.key}" that the mapping already set before it: Go's YAML decoder (kubectl, Helm, Argo CD) lets the merged value win, other readers the explicit one; write the key once` });
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      out.errors.push({ file, line: lineOf(contents.range?.[0]), message: errorText(err) });
      continue;
    }
    addValue(value, contents, file, lineOf(contents.range?.[0]) ?? 1, out, lineOf);
  }
  return out;
}

/**
 * A `<<` merge that sets a key the same mapping set explicitly BEFORE it. go-yaml (sigs.k8s.io/yaml)
 * applies mapping entries in order, so the merged value overwrites the earlier explicit one, while
 * the YAML merge spec (and the yaml package) keeps the explicit one: the two would see different
 * objects. Such input is rejected; a merge before explicit keys means the same to both.
 */
function ambiguousMerge(doc: YamlDocument.Parsed): { key: string; offset: number | undefined } | undefined {
  let found: { key: string; offset: number | undefined } | undefined;
  const keyText = (k: unknown): string | undefined => (isScalar(k) ? (typeof k.value === 'symbol' ? ((k as { source?: string }).source ?? '<<') : String(k.value)) : undefined);
  const mergedKeys = (v: unknown, depth = 0): string[] => {
    if (depth > 10) return [];
    let n = v as Node | null;
    if (isAlias(n)) n = n.resolve(doc) as Node | null;
    if (isMap(n)) return n.items.map((p) => keyText(p.key)).filter((k): k is string => k !== undefined);
    if (isSeq(n)) return n.items.flatMap((i) => mergedKeys(i, depth + 1));
    return [];
  };
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const k = keyText(pair.key);
        if (k === '<<') {
          const clash = mergedKeys(pair.value).find((m) => seen.has(m));
          if (clash !== undefined) {
            found = { key: clash, offset: (pair.key as Node | null)?.range?.[0] };
            return visit.BREAK;
          }
        } else if (k !== undefined) {
          seen.add(k);
        }
      }
      return undefined;
    },
  });
  return found;
}

/** Add one parsed value: an object, a `kind: List`, or a top-level array of objects. */
function addValue(
  value: unknown,
  node: Node | undefined,
  file: string,
  line: number,
  out: ParseResult,
  lineOf?: (offset: number | undefined) => number | undefined,
  depth = 0,
): void {
  if (value === null || value === undefined) return;
  const itemLine = (seq: Node | undefined, i: number): number => {
    if (!seq || !isSeq(seq) || !lineOf) return line;
    const item = seq.items[i] as Node | undefined;
    return lineOf(item?.range?.[0]) ?? line;
  };
  if (Array.isArray(value)) {
    if (depth > 0) {
      out.errors.push({ file, line, message: 'expected a mapping (a Kubernetes object or a configuration file), found a list inside a list' });
      return;
    }
    value.forEach((item, i) => addValue(item, isSeq(node) ? (node.items[i] as Node) : undefined, file, itemLine(node, i), out, lineOf, depth + 1));
    return;
  }
  if (typeof value !== 'object') {
    out.errors.push({
      file,
      line,
      message: `expected a mapping (a Kubernetes object or a configuration file), found ${describeScalar(value)}`,
    });
    return;
  }
  const object = value as KubeObject;
  if (isList(object)) {
    if (depth > MAX_LIST_DEPTH) {
      out.errors.push({ file, line, message: `${object.kind} nested more than ${MAX_LIST_DEPTH} deep` });
      return;
    }
    const itemsNode = isMap(node) ? (node.get('items', true) as Node | undefined) : undefined;
    (object.items as unknown[]).forEach((item, i) => {
      const itemNode = isSeq(itemsNode) ? (itemsNode.items[i] as Node) : undefined;
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        out.errors.push({ file, line: itemLine(itemsNode, i), message: `item ${i} of ${object.kind} is not an object` });
        return;
      }
      addValue(item, itemNode, file, itemLine(itemsNode, i), out, lineOf, depth + 1);
    });
    return;
  }
  if (typeof object.kind !== 'string' || object.kind === '') {
    out.warnings.push({ file, line, message: 'document has no kind: no control will recognise it' });
  }
  const source: Document['source'] = { file, line };
  const constructPath = object.metadata?.annotations?.[CONSTRUCT_PATH_ANNOTATION];
  if (typeof constructPath === 'string' && constructPath !== '') source.constructPath = constructPath;
  out.documents.push({ object, source });
}

/** Lists of lists are not a Kubernetes thing; a few levels are tolerated, then it is an error. */
const MAX_LIST_DEPTH = 4;

/**
 * `kind: List` (kubectl) and typed lists such as `PodList` (the API) carry objects in items.
 * A ControlExceptionList carries exceptions, not objects: it stays one document (which the
 * engine leaves alone).
 */
function isList(o: KubeObject): boolean {
  return typeof o.kind === 'string' && /List$/.test(o.kind) && Array.isArray(o.items) && !isExceptionDocument(o);
}

function problem(file: string, e: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] }): LoadProblem {
  const pos = e.linePos?.[0];
  const p: LoadProblem = { file, message: firstLine(e.message) };
  if (pos) {
    p.line = pos.line;
    p.column = pos.col;
  }
  return p;
}

/** The yaml package appends " at line N, column M:" and a code excerpt; we report those apart. */
function firstLine(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, '').trim();
}

function describeScalar(v: unknown): string {
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `the ${typeof v} ${String(v)}`;
}

function looksLikeJson(text: string): boolean {
  const t = text.trimStart();
  return t.startsWith('{') || t.startsWith('[');
}

function tryJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

function errorText(err: unknown): string {
  return firstLine(err instanceof Error ? err.message : String(err));
}

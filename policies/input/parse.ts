/**
 * Text → Documents. Multi-document YAML and JSON (one object, an array of objects, or a
 * `kind: List`) with the file and 1-based line of every object. Problems are returned, never
 * thrown: a malformed document is reported with its position and the others still load.
 */
import {
  Document as YamlDocument,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  Node,
  parseAllDocuments,
  visit,
} from 'yaml';
import { isExceptionDocument } from '../exceptions';
import { fastParse } from './fast-parse';
import { Document, KubeObject } from '../model';
import { typeProblems, typeProblemsText } from './schema';
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

/**
 * Parse the text of one file (or stdin). `file` is the name written into each SourceRef. Never
 * throws: what cannot be read becomes an error with the file (and line when known).
 */
export function parseText(text: string, file: string): ParseResult {
  return parseTextWith(text, file, {});
}

/** parseText with the loader's internal switches (tests compare the fast path with the yaml path). */
export function parseTextWith(text: string, file: string, options: ParseOptions): ParseResult {
  try {
    return parseTextOrThrow(text, file, options);
  } catch (err) {
    return { documents: [], errors: [{ file, message: `cannot parse: ${errorText(err)}` }], warnings: [] };
  }
}

export interface ParseOptions {
  /** Try the fast path (fast-parse.ts) first. False reads with the yaml package only (tests compare the two). @default true */
  fast?: boolean;
}

function parseTextOrThrow(text: string, file: string, options: ParseOptions): ParseResult {
  const out: ParseResult = { documents: [], errors: [], warnings: [] };
  // Input kubectl would refuse is an error, never silently skipped (position only: no content).
  const nul = text.indexOf('\u0000');
  if (nul >= 0) {
    out.errors.push({
      file,
      line: text.slice(0, nul).split('\n').length,
      message: 'contains a NUL byte: not a YAML or JSON text',
    });
    return out;
  }
  const directive = /^%(YAML|TAG)\b/m.exec(text.replace(/^\ufeff/, ''));
  if (directive) {
    out.errors.push({
      file,
      line: text.slice(0, directive.index).split('\n').length,
      message: `a %${directive[1]} directive: kubectl's YAML decoder does not accept directives`,
    });
    return out;
  }
  // A byte order mark at the start of a line: go-yaml's scanner (yaml_parser_scan_to_next_token,
  // which kubectl reaches through sigs.k8s.io/yaml) skips it there, so it starts any document and
  // any key alike; it must not turn "kind" or "spec" into "\ufeffkind" or "\ufeffspec" here.
  const source = text.replace(/(^|\n)\ufeff+/g, '$1');
  const deep = blankOverDeepDocuments(source);
  for (const line of deep.lines) {
    out.errors.push({
      file,
      line,
      message: `nested more than ${MAX_NESTING} levels deep: not read (no Kubernetes object or configuration needs that; flatten the document)`,
    });
  }
  if (deep.lines.length === 0 && options.fast !== false) {
    const fast = readFast(deep.text, file);
    if (fast) return fast;
  }
  const lineCounter = new LineCounter();
  let docs: YamlDocument.Parsed[];
  try {
    docs = parseAllDocuments(deep.text, { ...YAML_OPTIONS, lineCounter }) as YamlDocument.Parsed[];
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
  if (deep.lines.length === 0 && docs.some((d) => d.errors.length > 0) && looksLikeJson(source)) {
    const json = tryJson(source);
    if (json.ok) {
      addValue(json.value, undefined, file, 1, out, NO_TREE);
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
    const docLine = lineOf(contents.range?.[0]) ?? 1;
    // One document at a time, all or nothing: whatever goes wrong in it (nesting too deep for the
    // call stack, an alias bomb) fails this document with its line, and the others still load.
    const one: ParseResult = { documents: [], errors: [], warnings: [] };
    try {
      const ambiguous = ambiguousMerge(doc);
      if (ambiguous) {
        out.errors.push({
          file,
          line: lineOf(ambiguous.offset),
          message: `merge key << sets "${ambiguous.key}" that the mapping already set before it (explicitly or by an earlier merge): Go's YAML decoder (kubectl, Helm, Argo CD) lets the later value win, the YAML merge rules the earlier one; write the key once`,
        });
        continue;
      }
      const tagged = readDifferentlyTag(doc);
      if (tagged !== undefined) {
        out.errors.push({
          file,
          line: lineOf(tagged.offset) ?? docLine,
          message: `the ${tagged.tag} tag: Go's YAML decoder (kubectl) reads it differently; write a plain value`,
        });
        continue;
      }
      const complexKey = collectionKey(doc);
      if (complexKey !== undefined) {
        out.errors.push({
          file,
          line: lineOf(complexKey) ?? docLine,
          message: 'a mapping key that is itself a mapping or a list: kubectl refuses it ("invalid map key")',
        });
        continue;
      }
      const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
      const tree: Tree<Node> = {
        seqItem: (n, i) => (isSeq(n) ? (n.items[i] as Node | undefined) : undefined),
        mapItems: (n) => (isMap(n) ? (n.get('items', true) as Node | undefined) : undefined),
        line: (n) => lineOf(n?.range?.[0]),
        locate: (n, path) => lineOf(nodeAt(doc, n, path)?.range?.[0]),
      };
      addValue(value, contents, file, docLine, one, tree);
    } catch (err) {
      out.errors.push({ file, line: docLine, message: errorText(err) });
      continue;
    }
    for (const d of one.documents) out.documents.push(d);
    for (const e of one.errors) out.errors.push(e);
    for (const w of one.warnings) out.warnings.push(w);
  }
  return out;
}

/** YAML 1.1 types the yaml package builds as Uint8Array, Set or Map, where go-yaml gives strings and maps. */
const READ_DIFFERENTLY_TAGS = new Set([
  'tag:yaml.org,2002:binary',
  'tag:yaml.org,2002:set',
  'tag:yaml.org,2002:omap',
  'tag:yaml.org,2002:pairs',
]);

function readDifferentlyTag(doc: YamlDocument.Parsed): { tag: string; offset: number | undefined } | undefined {
  let found: { tag: string; offset: number | undefined } | undefined;
  visit(doc, (_key, node) => {
    const tag = (node as { tag?: string } | null)?.tag;
    if (typeof tag === 'string' && READ_DIFFERENTLY_TAGS.has(tag)) {
      found = { tag: `!!${tag.slice('tag:yaml.org,2002:'.length)}`, offset: (node as Node).range?.[0] };
      return visit.BREAK;
    }
    return undefined;
  });
  return found;
}

/** Offset of the first mapping key that is a collection (go-yaml v2: "invalid map key"). */
function collectionKey(doc: YamlDocument.Parsed): number | undefined {
  let found: number | undefined;
  visit(doc, {
    Pair(_key, pair) {
      let k = pair.key as Node | null;
      if (isAlias(k)) k = k.resolve(doc) as Node | null;
      if (isMap(k) || isSeq(k)) {
        found = (pair.key as Node).range?.[0] ?? 0;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** Deepest nesting read (flow brackets, or block indentation and `- ` in columns / 4). */
export const MAX_NESTING = 200;

/**
 * Documents nested deeper than MAX_NESTING would exhaust the parser's call stack (and time): such
 * a document is replaced by empty lines (so the others keep their line numbers) and reported with
 * the line where the limit was passed. Documents are split at `---` and `...` lines as kubectl
 * splits a stream. Depth is estimated without parsing: flow brackets outside quoted strings and
 * comments, and for block nesting the leading spaces and `- ` indicators of a line.
 */
function blankOverDeepDocuments(text: string): { text: string; lines: number[] } {
  if (text.length < MAX_NESTING) return { text, lines: [] };
  const lines = text.split('\n');
  const bad: number[] = [];
  let docStart = 0;
  let flow = 0;
  let overAt: number | undefined;
  const finish = (end: number): void => {
    if (overAt !== undefined) {
      bad.push(overAt + 1);
      for (let j = docStart; j < end; j++) lines[j] = '';
    }
    overAt = undefined;
    flow = 0;
  };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const c0 = l.charCodeAt(0);
    if ((c0 === 45 || c0 === 46) && /^(---|\.\.\.)(\s|$)/.test(l)) {
      finish(i);
      docStart = i + 1;
      if (l.startsWith('...')) continue;
    }
    if (overAt !== undefined) continue;
    let lead = 0; // leading spaces, '-' and '?'
    for (let c = l.charCodeAt(0); c === 32 || c === 45 || c === 63; c = l.charCodeAt(++lead));
    if (flow === 0 && lead > MAX_NESTING * 4) overAt = i;
    // Outside a flow collection only an opening bracket changes the depth: most lines have none.
    if (flow === 0 && l.indexOf('[') < 0 && l.indexOf('{') < 0) continue;
    let quote: string | undefined;
    for (let k = 0; k < l.length && overAt === undefined; k++) {
      const c = l[k];
      if (quote) {
        if (c === '\\' && quote === '"') k++;
        else if (c === quote) quote = undefined;
        continue;
      }
      if (c === '#' && (k === 0 || l[k - 1] === ' ' || l[k - 1] === '\t')) break;
      if (c === '"' || c === "'") {
        if (flow > 0 || k === 0 || /[\s:,[{-]/.test(l[k - 1])) quote = c;
        continue;
      }
      if (c === '[' || c === '{') {
        // Outside a flow collection a bracket opens one only where a value can start.
        if (flow > 0 || k === 0 || /[\s:-]/.test(l[k - 1])) flow++;
        if (flow > MAX_NESTING) overAt = i;
      } else if ((c === ']' || c === '}') && flow > 0) flow--;
    }
  }
  finish(lines.length);
  return bad.length === 0 ? { text, lines: [] } : { text: lines.join('\n'), lines: bad };
}

/**
 * A `<<` merge that sets a key the same mapping already set before it, explicitly or through an
 * earlier merge. go-yaml v2 (decode.go: mapping, merge), which kubectl, Helm and Argo CD read YAML
 * with through sigs.k8s.io/yaml, applies mapping entries in order and lets each overwrite, so the
 * merged value wins; the YAML merge spec (and the yaml package) never lets a merge overwrite, so
 * the earlier value wins. The two would see different objects: such input is rejected. Cases the
 * two read alike stay allowed: explicit keys after a merge (both overwrite) and a sequence of
 * merged maps (both let the earlier map win). A quoted "<<" is an ordinary key in both.
 */
function ambiguousMerge(doc: YamlDocument.Parsed): { key: string; offset: number | undefined } | undefined {
  let found: { key: string; offset: number | undefined } | undefined;
  const isMergeKey = (k: unknown): boolean => isScalar(k) && typeof k.value === 'symbol';
  const keyText = (k: unknown): string | undefined => (isScalar(k) ? String(k.value) : undefined);
  // Keys a merge value contributes, with the merges inside merged maps followed (bounded).
  const mergedKeys = (v: unknown, depth: number): string[] => {
    if (depth > 20) return [];
    let n = v as Node | null;
    if (isAlias(n)) n = n.resolve(doc) as Node | null;
    const out: string[] = [];
    if (isMap(n)) {
      for (const p of n.items) {
        if (isMergeKey(p.key)) for (const k of mergedKeys(p.value, depth + 1)) out.push(k);
        else {
          const k = keyText(p.key);
          if (k !== undefined) out.push(k);
        }
      }
    } else if (isSeq(n)) {
      for (const i of n.items) for (const k of mergedKeys(i, depth + 1)) out.push(k);
    }
    return out;
  };
  visit(doc, {
    Map(_key, map) {
      const set = new Set<string>();
      for (const pair of map.items) {
        if (isMergeKey(pair.key)) {
          const keys = mergedKeys(pair.value, 0);
          const clash = keys.find((m) => set.has(m));
          if (clash !== undefined) {
            found = { key: clash, offset: (pair.key as Node | null)?.range?.[0] };
            return visit.BREAK;
          }
          for (const k of keys) set.add(k);
        } else {
          const k = keyText(pair.key);
          if (k !== undefined) set.add(k);
        }
      }
      return undefined;
    },
  });
  return found;
}

/**
 * Where the parts of a parsed value are in the source: the yaml package's nodes, the fast path's
 * values (fast-parse.ts), or nothing (JSON read by JSON.parse).
 */
interface Tree<N> {
  /** Item i of a sequence node (undefined when `seq` is not one). */
  seqItem(seq: N | undefined, i: number): N | undefined;
  /** The value node of a mapping's `items` field (undefined when `map` is not a mapping). */
  mapItems(map: N | undefined): N | undefined;
  /** 1-based line where a node starts, when known. */
  line(node: N | undefined): number | undefined;
  /** 1-based line of the field at `path` below a node, when known. */
  locate(node: N | undefined, path: readonly (string | number)[]): number | undefined;
}

const NO_TREE: Tree<undefined> = {
  seqItem: () => undefined,
  mapItems: () => undefined,
  line: () => undefined,
  locate: () => undefined,
};

/**
 * The fast path (fast-parse.ts): js-yaml's events made into the values the yaml path would give,
 * for text both parsers read alike. Undefined where the yaml path must read the text: whatever
 * the fast path gives up on, and any document that would report an error (the yaml path reports
 * it with its positions and messages).
 */
function readFast(text: string, file: string): ParseResult | undefined {
  // The yaml package breaks lines at \n (and \r\n) only, and refuses tabs in places js-yaml
  // takes them (indentation, a line of only a tab): text with either goes to the yaml path.
  // Likewise a document marker that is indented (the yaml package reads it as a scalar) and a
  // line starting with % (a directive to the yaml package, which warns about unknown ones).
  if (text.includes('\t') || /\r(?!\n)/.test(text) || markerOrDirectiveLine(text)) return undefined;
  const fast = fastParse(text, YAML_OPTIONS);
  if (!fast) return undefined;
  let newlines: number[] | undefined;
  const lineOf = (offset: number | undefined): number | undefined => {
    if (offset === undefined) return undefined;
    if (!newlines) {
      newlines = [];
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) newlines.push(i);
    }
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (newlines[mid] < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  const tree: Tree<unknown> = {
    seqItem: (n, i) => (Array.isArray(n) ? (n[i] as unknown) : undefined),
    mapItems: (n) =>
      n !== null && typeof n === 'object' && !Array.isArray(n) ? (n as { items?: unknown }).items : undefined,
    line: (n) => (n !== null && typeof n === 'object' ? lineOf(fast.startOf.get(n)) : undefined),
    locate: () => undefined,
  };
  const out: ParseResult = { documents: [], errors: [], warnings: [] };
  try {
    for (const d of fast.documents) {
      if (d.value === null || d.value === undefined) continue; // empty
      addValue(d.value, d.value, file, lineOf(d.start) ?? 1, out, tree);
      if (out.errors.length > 0) return undefined;
    }
  } catch {
    return undefined;
  }
  return out;
}

/** Where a multiline regular expression's `^` matches: the start, and after a line terminator. */
function atLineStart(text: string, i: number): boolean {
  if (i === 0) return true;
  const c = text.charCodeAt(i - 1);
  return c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
}

/**
 * The same test as /^([ ]+(---|\.\.\.)|%)/m (a line that is an indented document marker or starts
 * with %), by searching for the rare characters instead of trying the pattern at every offset.
 */
export function markerOrDirectiveLine(text: string): boolean {
  for (let i = text.indexOf('%'); i >= 0; i = text.indexOf('%', i + 1)) if (atLineStart(text, i)) return true;
  for (const marker of [' ---', ' ...']) {
    for (let i = text.indexOf(marker); i >= 0; i = text.indexOf(marker, i + 1)) {
      let j = i;
      while (j > 0 && text.charCodeAt(j - 1) === 32) j--;
      if (atLineStart(text, j)) return true;
    }
  }
  return false;
}

/** Add one parsed value: an object, a `kind: List`, or a top-level array of objects. */
function addValue<N>(
  value: unknown,
  node: N | undefined,
  file: string,
  line: number,
  out: ParseResult,
  tree: Tree<N>,
  depth = 0,
): void {
  if (value === null || value === undefined) return;
  const itemLine = (seq: N | undefined, i: number): number => tree.line(tree.seqItem(seq, i)) ?? line;
  if (Array.isArray(value)) {
    if (depth > 0) {
      out.errors.push({
        file,
        line,
        message: 'expected a mapping (a Kubernetes object or a configuration file), found a list inside a list',
      });
      return;
    }
    value.forEach((item, i) => addValue(item, tree.seqItem(node, i), file, itemLine(node, i), out, tree, depth + 1));
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
  const items = (object as { items?: unknown }).items;
  if (items !== undefined && items !== null && !Array.isArray(items) && !isExceptionDocument(object)) {
    // kubectl decodes any object with "items" as a list (unstructuredJSONScheme) and refuses one
    // whose items is not a list: nothing here could be checked the way it would be applied.
    out.errors.push({
      file,
      line,
      message: `${typeof object.kind === 'string' ? object.kind : 'object'} has "items" that is not a list: kubectl refuses it, no control can check what it holds`,
    });
    return;
  }
  if (isList(object)) {
    if (depth > MAX_LIST_DEPTH) {
      out.errors.push({
        file,
        line,
        message: `${typeof object.kind === 'string' ? object.kind : 'a list'} nested more than ${MAX_LIST_DEPTH} deep`,
      });
      return;
    }
    const itemsNode = tree.mapItems(node);
    (object.items as unknown[]).forEach((item, i) => {
      const itemNode = tree.seqItem(itemsNode, i);
      if (item === null || typeof item !== 'object' || Array.isArray(item)) {
        out.errors.push({
          file,
          line: itemLine(itemsNode, i),
          message: `item ${i} of ${typeof object.kind === 'string' ? object.kind : 'the list'} is not an object`,
        });
        return;
      }
      addValue(item, itemNode, file, itemLine(itemsNode, i), out, tree, depth + 1);
    });
    return;
  }
  if (typeof object.kind !== 'string' || object.kind === '') {
    out.warnings.push({ file, line, message: 'document has no kind: no control will recognise it' });
  }
  // A field the catalogue reads, in a type the API server refuses to decode: the object is never
  // applied as written, and a check would read the field as absent. An error, and no check sees it.
  const wrong = typeProblems(object);
  if (wrong.length > 0) {
    const subject = subjectOf(object);
    out.errors.push({
      file,
      line: tree.locate(node, wrong[0].path) ?? line,
      ...(subject ? { subject } : {}),
      message: `${describeObject(subject)}${typeProblemsText(wrong)}`,
      remediation: TYPE_REMEDIATION,
    });
    return;
  }
  const source: Document['source'] = { file, line };
  const constructPath = object.metadata?.annotations?.[CONSTRUCT_PATH_ANNOTATION];
  if (typeof constructPath === 'string' && constructPath !== '') source.constructPath = constructPath;
  out.documents.push({ object, source });
}

const TYPE_REMEDIATION =
  'Write the field with the type Kubernetes gives it (a boolean unquoted as true or false, a number unquoted, a list as a list); then the controls can check it.';

/** kind, namespace and name, where they are strings. */
function subjectOf(o: KubeObject): LoadProblem['subject'] | undefined {
  const s: NonNullable<LoadProblem['subject']> = {};
  if (typeof o.apiVersion === 'string') s.apiVersion = o.apiVersion;
  if (typeof o.kind === 'string' && o.kind !== '') s.kind = o.kind;
  const meta = o.metadata !== null && typeof o.metadata === 'object' ? o.metadata : {};
  if (typeof meta.namespace === 'string' && meta.namespace !== '') s.namespace = meta.namespace;
  if (typeof meta.name === 'string' && meta.name !== '') s.name = meta.name;
  return Object.keys(s).length > 0 ? s : undefined;
}

function describeObject(s: LoadProblem['subject'] | undefined): string {
  if (!s?.kind) return '';
  return `${s.kind}${s.name !== undefined ? ` ${s.namespace !== undefined ? `${s.namespace}/` : ''}${s.name}` : ''}: `;
}

/**
 * The node of the field at a path below `node` (aliases followed): the key of the last mapping
 * entry (the line a person looks for; a block value starts below it), or the deepest node found
 * on the way: a value that came in through a merge key has no node of its own under its mapping.
 */
function nodeAt(
  doc: YamlDocument.Parsed,
  node: Node | undefined,
  path: readonly (string | number)[],
): Node | undefined {
  let cur: Node | undefined = node;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    let n: unknown = cur;
    if (isAlias(n)) n = n.resolve(doc);
    let next: unknown;
    if (isMap(n) && typeof seg === 'string') {
      const pair = n.items.find((p) => isScalar(p.key) && String(p.key.value) === seg);
      if (pair === undefined) break;
      next = i === path.length - 1 ? pair.key : pair.value;
    } else if (isSeq(n) && typeof seg === 'number') next = n.items[seg];
    if (next === undefined || next === null || typeof next !== 'object') break;
    cur = next as Node;
  }
  return cur;
}

/** Lists of lists are not a Kubernetes thing; a few levels are tolerated, then it is an error. */
const MAX_LIST_DEPTH = 4;

/**
 * `kind: List` (kubectl) and typed lists such as `PodList` (the API) carry objects in items.
 * So does any other object with an items list, as kubectl reads it.
 * A ControlExceptionList carries exceptions, not objects: it stays one document (which the
 * engine leaves alone).
 */
function isList(o: KubeObject): boolean {
  // Any kind: kubectl's unstructured decoder treats every object with an "items" list as a list
  // and applies its items (a `kind: Pod` with items is not a Pod to kubectl).
  return Array.isArray(o.items) && !isExceptionDocument(o);
}

function problem(
  file: string,
  e: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] },
): LoadProblem {
  const pos = e.linePos?.[0];
  const p: LoadProblem = { file, message: firstLine(e.message) };
  if (pos) {
    p.line = pos.line;
    p.column = pos.col;
  }
  return p;
}

/**
 * The yaml package appends " at line N, column M:" and a code excerpt; we report the position
 * apart and never the excerpt. Messages that quote the source (a scalar, an escape sequence, a
 * tag, the rest of a block scalar header) lose the quote: a malformed Secret must not reach a
 * report, a code-scanning alert or a CI log through its parse error.
 */
function firstLine(message: string): string {
  const first = (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '').trim();
  for (const [pattern, replacement] of QUOTING_MESSAGES) if (pattern.test(first)) return replacement;
  return first;
}

const QUOTING_MESSAGES: readonly [RegExp, string][] = [
  [/^Unresolved plain scalar/, 'a plain scalar that cannot be resolved'],
  [/^Not a valid tag/, 'not a valid tag'],
  [/^Verbatim tags aren't resolved/, 'a verbatim tag, which is not resolved'],
  [/^The .* tag has no suffix/, 'a tag without a suffix'],
  [/^(Could not resolve tag|Unresolved tag)/, 'an unknown tag (kubectl reads no custom tags)'],
  [/^Block scalar header includes extra characters/, 'a block scalar header (| or >) followed by other characters'],
  [/^Invalid escape sequence/, 'an invalid escape sequence in a double-quoted string'],
  [/^Ordered maps must not include duplicate keys/, 'an ordered map with a duplicate key'],
  [/^Unknown directive/, 'an unknown directive'],
  [/^Unsupported YAML version/, 'an unsupported YAML version'],
  [/^Unexpected .* in /, 'an unexpected character in a flow collection'],
];

/** What a scalar is, never what it says (it may be a secret). */
function describeScalar(v: unknown): string {
  if (typeof v === 'string') return `a string of ${[...v].length} characters`;
  return `a ${typeof v}`;
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
  if (err instanceof RangeError && /call stack/i.test(err.message))
    return 'nested too deeply to read (the call stack ran out); flatten the document';
  return firstLine(err instanceof Error ? err.message : String(err));
}

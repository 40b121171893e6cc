/**
 * The loader's fast path (issue 13: the audit was bounded by the yaml package's document model,
 * about 0.6 MB/s). js-yaml's event parser reads the text into a flat list of events with source
 * offsets; plain JavaScript values are built from those events here, and plain scalars are
 * resolved by the yaml package's own YAML 1.1 tags (the ones parse.ts configures), so a value is
 * the one the yaml path gives by construction, not by a second implementation of YAML 1.1.
 *
 * It takes only input whose meaning the two parsers cannot read differently, and gives up
 * (returns undefined, and parse.ts reads the text with the yaml package as before) on anything
 * else: a parse error of js-yaml (the yaml path then reports it with its own message and
 * position), anchors, aliases, tags, directives, merge keys, mapping keys that are collections or
 * plain scalars that are not plainly strings, duplicate keys, `__proto__`, and flow collections
 * inside block ones that span lines (the yaml package warns about their indentation). Offsets are
 * only kept for the collections whose line the loader reports (a document, a list item).
 */
import {
  COLLECTION_STYLE,
  EVENT_ID,
  Event,
  getScalarValue,
  MappingEvent,
  parseEvents,
  SCALAR_STYLE,
  ScalarEvent,
  SequenceEvent,
} from 'js-yaml';
import { Document as YamlDocument, isScalar } from 'yaml';

/** One document of the fast path: its value and the source offset of its root node. */
export interface FastDocument {
  value: unknown;
  /** Offset of the root collection or scalar. */
  start: number;
}

export interface FastResult {
  documents: FastDocument[];
  /**
   * Source offset of the collections whose line the loader reports: the items of a document's
   * root sequence, of any sequence under an `items` key (kind: List and its kin) and of anchored
   * sequences (an alias may bring one under `items`).
   */
  startOf: Map<object, number>;
}

/** Thrown inside the fast path to give the text to the yaml path. */
const GIVE_UP = Symbol('give up');

interface ResolveTag {
  test: RegExp;
  resolve: (value: string, onError: (message: string) => void, options: unknown) => unknown;
}

interface ScalarTags {
  /** The options they were made for. */
  for: object;
  tags: ResolveTag[];
  /** The yaml document options the tags' resolve functions are called with. */
  options: unknown;
}

let cachedTags: ScalarTags | undefined;

/** Plain scalars already resolved by the tags of `cachedTags` (primitive values only). */
let resolved = new Map<string, unknown>();
const MAX_RESOLVED = 50_000;

/** The yaml package's plain-scalar tags for the options parse.ts reads with (in its order). */
function scalarTags(yamlOptions: object): ScalarTags {
  if (cachedTags?.for === yamlOptions) return cachedTags;
  resolved = new Map();
  const doc = new YamlDocument(null, yamlOptions);
  const tags = (doc.schema.tags as Array<{ default?: unknown; test?: RegExp; collection?: string } & ResolveTag>)
    .filter((t) => t.default === true && t.test !== undefined && t.collection === undefined)
    .map((t) => ({ test: t.test as RegExp, resolve: t.resolve.bind(t) }));
  cachedTags = { for: yamlOptions, tags, options: doc.options };
  return cachedTags;
}

/**
 * Plain scalars that YAML 1.1 reads as something other than a string: null, booleans, numbers.
 * Every one of the yaml package's YAML 1.1 plain-scalar patterns (null, bool, int, float, merge)
 * either starts with one of `~ + - . 0-9 <`, or with `e`/`E` (its float pattern makes the digits
 * before the exponent optional: `e3` is a float there), or is one of these words, or is empty.
 */
const SPECIAL_WORDS = new Set(
  'y Y yes Yes YES n N no No NO true True TRUE false False FALSE on On ON off Off OFF null Null NULL'.split(' '),
);

function plainIsString(s: string): boolean {
  const c = s.charCodeAt(0);
  const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  return letter && c !== 69 && c !== 101 && !SPECIAL_WORDS.has(s);
}

/** Keys longer than this go to the yaml path (its limit for implicit keys is 1024 characters). */
const MAX_KEY_LENGTH = 1000;

interface Frame {
  kind: 'doc' | 'map' | 'seq';
  value: unknown;
  block: boolean;
  /** In a mapping: the key read, waiting for its value. */
  key?: string;
  /** The anchor this collection defines. */
  anchor?: string;
  /** A sequence whose items' lines are reported (a document's root, or the value of `items`). */
  itemLines?: boolean;
}

/** An anchored node: its value (an alias gives the same object, as the yaml package's toJS does). */
interface Anchored {
  value: unknown;
  /** Uses so far, counting the anchor itself (the yaml package's `count`). */
  count: number;
  /** The yaml package's alias count of the node: 0 for an empty collection, else 1 (no aliases inside). */
  aliasCount: number;
}

/** The yaml path's limit (doc.toJS({ maxAliasCount: 100 }) in parse.ts). */
const MAX_ALIAS_COUNT = 100;

/**
 * Reads `text` through js-yaml's events, or returns undefined where the yaml path must read it.
 * `yamlOptions` are the yaml package options parse.ts uses (their YAML 1.1 tags resolve plain
 * scalars).
 */
export function fastParse(text: string, yamlOptions: object): FastResult | undefined {
  let events: Event[];
  try {
    events = parseEvents(text, { maxDepth: 100 });
  } catch {
    return undefined;
  }
  try {
    return build(text, events, yamlOptions);
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    throw err;
  }
}

function build(text: string, events: Event[], yamlOptions: object): FastResult {
  const { tags, options } = scalarTags(yamlOptions);
  const giveUp = (): never => {
    throw GIVE_UP;
  };
  const resolvePlain = (s: string): unknown => {
    if (plainIsString(s)) return s;
    // The same few numbers and words recur (ports, replicas, true): each resolved once by the tags.
    if (resolved.has(s)) return resolved.get(s);
    for (const t of tags) {
      if (!t.test.test(s)) continue;
      const res = t.resolve(s, giveUp, options);
      const value = isScalar(res) ? res.value : res;
      remember(s, value);
      return value;
    }
    remember(s, s);
    return s;
  };
  const remember = (s: string, value: unknown): void => {
    // Only primitives: a shared object could be changed through one document and seen in another.
    if (value !== null && (typeof value === 'object' || typeof value === 'function')) return;
    if (resolved.size >= MAX_RESOLVED) resolved.clear();
    resolved.set(s, value);
  };
  const out: FastResult = { documents: [], startOf: new Map() };
  const stack: Frame[] = [];
  let docStart = -1;
  let docValue: unknown;
  // Anchors of the current document; how many anchored collections are open.
  let anchors = new Map<string, Anchored>();
  let openAnchored = 0;
  const anchorName = (e: { anchorStart: number; anchorEnd: number }): string | undefined => {
    if (e.anchorStart < 0) return undefined;
    const name = text.slice(e.anchorStart, e.anchorEnd);
    if (name.endsWith(':')) giveUp(); // the yaml package warns that it is ambiguous
    return name;
  };

  const attach = (value: unknown): void => {
    const top = stack[stack.length - 1];
    if (top === undefined) giveUp();
    if (top.kind === 'seq') (top.value as unknown[]).push(value);
    else if (top.kind === 'map') {
      if (top.key === undefined) giveUp(); // a collection as a key
      (top.value as Record<string, unknown>)[top.key as string] = value;
      top.key = undefined;
    } else {
      if (docValue !== undefined) giveUp();
      docValue = value;
    }
  };

  for (const ev of events) {
    switch (ev.type) {
      case EVENT_ID.DOCUMENT:
        if (ev.directives.length > 0) giveUp();
        stack.push({ kind: 'doc', value: undefined, block: true });
        docValue = undefined;
        docStart = -1;
        anchors = new Map();
        openAnchored = 0;
        break;
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE: {
        const e = ev as MappingEvent | SequenceEvent;
        if (e.tagStart >= 0) giveUp();
        const anchor = anchorName(e);
        const parent = stack[stack.length - 1];
        const block = e.style !== COLLECTION_STYLE.FLOW;
        if (!block && parent.kind !== 'doc' && parent.block && !flowEndsOnLine(text, e.start)) giveUp();
        const value = ev.type === EVENT_ID.MAPPING ? {} : [];
        if (parent.kind === 'doc') docStart = e.start;
        else if (parent.itemLines === true) out.startOf.set(value, e.start);
        // An anchored sequence may be aliased as some `items` later: its items keep their offsets too.
        const itemLines =
          ev.type === EVENT_ID.SEQUENCE &&
          (parent.kind === 'doc' || (parent.kind === 'map' && parent.key === 'items') || anchor !== undefined);
        attach(value);
        stack.push({ kind: ev.type === EVENT_ID.MAPPING ? 'map' : 'seq', value, block, anchor, itemLines });
        if (anchor !== undefined) openAnchored++;
        break;
      }
      case EVENT_ID.SCALAR: {
        const e = ev as ScalarEvent;
        if (e.tagStart >= 0) giveUp();
        const anchor = anchorName(e);
        // Block scalars and scalars over several lines: the two parsers fold and chomp their
        // edge cases differently (whitespace-only lines, indentation indicators).
        if (e.style === SCALAR_STYLE.LITERAL_BLOCK || e.style === SCALAR_STYLE.FOLDED_BLOCK) giveUp();
        const nl = text.indexOf('\n', e.valueStart);
        if (nl >= 0 && nl < e.valueEnd) giveUp();
        // \U escapes past U+10FFFF: the yaml package fails the document, js-yaml substitutes.
        if (e.style === SCALAR_STYLE.DOUBLE_QUOTED && text.slice(e.valueStart, e.valueEnd).includes('\\U')) giveUp();
        const s = getScalarValue(text, e);
        const plain = e.style === SCALAR_STYLE.PLAIN;
        const top = stack[stack.length - 1];
        if (top.kind === 'map' && top.key === undefined) {
          if (anchor !== undefined) giveUp();
          // A key: only strings both parsers read alike, each once.
          if (plain && (s === '<<' || resolvePlain(s) !== s)) giveUp();
          // The yaml package refuses an implicit key longer than 1024 characters; js-yaml does not.
          if (e.valueEnd - e.valueStart > MAX_KEY_LENGTH) giveUp();
          if (s === '__proto__' || Object.prototype.hasOwnProperty.call(top.value, s)) giveUp();
          top.key = s;
          break;
        }
        if (top.kind === 'doc') docStart = e.valueStart;
        const value = plain ? resolvePlain(s) : s;
        if (anchor !== undefined) anchors.set(anchor, { value, count: 1, aliasCount: 1 });
        attach(value);
        break;
      }
      case EVENT_ID.POP: {
        const f = stack.pop();
        if (f === undefined) giveUp();
        else if (f.kind === 'doc') {
          if (docValue !== undefined) out.documents.push({ value: docValue, start: docStart });
        } else if (f.kind === 'map' && f.key !== undefined) giveUp();
        else if (f.anchor !== undefined) {
          openAnchored--;
          const empty = Array.isArray(f.value) ? f.value.length === 0 : Object.keys(f.value as object).length === 0;
          anchors.set(f.anchor, { value: f.value, count: 1, aliasCount: empty ? 0 : 1 });
        }
        break;
      }
      case EVENT_ID.ALIAS: {
        // Only an alias as a mapping value, of an anchor that holds no alias itself (its lines
        // and its alias count are then the yaml path's without following chains).
        const name = text.slice(ev.anchorStart, ev.anchorEnd);
        const top = stack[stack.length - 1];
        if (openAnchored > 0 || name.endsWith(':') || top.kind !== 'map' || top.key === undefined) giveUp();
        const data = anchors.get(name);
        if (data === undefined) giveUp();
        else {
          data.count += 1;
          if (data.count * data.aliasCount > MAX_ALIAS_COUNT) giveUp();
          attach(data.value);
        }
        break;
      }
      default:
        giveUp();
    }
  }
  if (stack.length > 0) giveUp();
  return out;
}

/**
 * Whether the flow collection opening at `start` closes on the same line (brackets outside
 * quoted strings counted). The yaml package warns about the indentation of a flow collection in
 * a block one whose end is on another line; such text goes to the yaml path.
 */
function flowEndsOnLine(text: string, start: number): boolean {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '\n' || c === '\r') return false;
    if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') {
      depth--;
      if (depth === 0) return true;
    } else if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === '\n') return false;
        if (text[i] === '\\') i++;
      }
    } else if (c === "'") {
      for (i++; i < text.length; i++) {
        if (text[i] === '\n') return false;
        if (text[i] === "'") {
          if (text[i + 1] === "'") i++;
          else break;
        }
      }
    }
  }
  return false;
}

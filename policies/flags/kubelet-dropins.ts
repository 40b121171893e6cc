/**
 * Kubelet drop-in configuration (`--config-dir`), read the way the kubelet reads it
 * (k8s.io/kubernetes v1.36.3 cmd/kubelet/app/server.go mergeKubeletConfigurations):
 *
 * - The directory is walked with filepath.WalkDir: depth-first, the entries of each directory in
 *   lexical (byte) order, subdirectories descended at their place in that order. Only files whose
 *   extension (filepath.Ext: from the last dot of the name) is exactly `.conf` are read; every other
 *   file is skipped (logged at V(4)). A `.conf` file that is empty, unreadable, without
 *   apiVersion/kind, or not a kubelet.config.k8s.io/v1beta1 KubeletConfiguration stops the kubelet.
 * - The base is the configuration loaded so far (the --config file with the kubelet's defaults, or
 *   the command-line defaults when there is no --config) converted to v1beta1 and marshalled with
 *   encoding/json: fields tagged omitempty are left out when zero.
 * - Each drop-in (decoded to unstructured JSON, no defaulting) is applied to it as an RFC 7386 JSON
 *   merge patch (gopkg.in/evanphx/json-patch.v4 MergePatch): objects merge key by key, a null
 *   deletes the key, anything else (lists included: tlsCipherSuites) replaces the value. Keys are
 *   compared exactly, so `ReadOnlyPort` and `readOnlyPort` are two keys.
 * - The result is decoded with encoding/json into the v1beta1 struct: keys in the marshalled
 *   (sorted) order, each matched to a field exactly or, failing that, case-insensitively, a later
 *   key overwriting an earlier one; objects decode into the existing struct or map (fields not named
 *   keep their value). Then the v1beta1 defaults apply again, and the command-line flags are
 *   re-parsed over the result (flags win; feature gates merge).
 *
 * The main --config file is decoded case-sensitively (k8s.io sigs.k8s.io/json): a key that differs
 * from a field only in case is unknown there and ignored (lenient fallback). Only drop-ins reach the
 * case-insensitive decoder.
 */
import { Dict, isDict } from '../util/values';

/** The v1beta1 fields the catalogue reads, as json names, nested (`{}` marks a leaf, 'map' a map). */
type FieldTree = { [name: string]: FieldTree | 'leaf' | 'map' };

export const KUBELET_FIELD_TREE: FieldTree = {
  staticPodPath: 'leaf',
  port: 'leaf',
  readOnlyPort: 'leaf',
  tlsCertFile: 'leaf',
  tlsPrivateKeyFile: 'leaf',
  tlsCipherSuites: 'leaf',
  tlsMinVersion: 'leaf',
  rotateCertificates: 'leaf',
  serverTLSBootstrap: 'leaf',
  authentication: {
    x509: { clientCAFile: 'leaf' },
    webhook: { enabled: 'leaf', cacheTTL: 'leaf' },
    anonymous: { enabled: 'leaf' },
  },
  authorization: { mode: 'leaf', webhook: { cacheAuthorizedTTL: 'leaf', cacheUnauthorizedTTL: 'leaf' } },
  eventRecordQPS: 'leaf',
  streamingConnectionIdleTimeout: 'leaf',
  protectKernelDefaults: 'leaf',
  makeIPTablesUtilChains: 'leaf',
  featureGates: 'map',
  seccompDefault: 'leaf',
  failCgroupV1: 'leaf',
};

/**
 * Fields tagged `omitempty` that are not pointers (types.go): encoding/json leaves them out of the
 * marshalled base when zero, so a drop-in key differing only in case is not overwritten by them.
 */
const OMITEMPTY_ZERO: ReadonlyArray<[string, unknown]> = [
  ['staticPodPath', ''],
  ['port', 0],
  ['readOnlyPort', 0],
  ['tlsCertFile', ''],
  ['tlsPrivateKeyFile', ''],
  ['tlsMinVersion', ''],
  ['rotateCertificates', false],
  ['serverTLSBootstrap', false],
  ['protectKernelDefaults', false],
  ['authorization.mode', ''],
  ['authentication.x509.clientCAFile', ''],
];

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** RFC 7386 JSON merge patch (the behaviour of evanphx/json-patch v4 MergePatch). */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  if (!isDict(patch)) return clone(patch);
  const out: Dict = isDict(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = jsonMergePatch(out[k], v);
  }
  return out;
}

/** encoding/json's case folding of names (ASCII letters, and the Kelvin sign and long s, fold alike). */
function goFold(s: string): string {
  let out = '';
  for (const ch of s) {
    const f = ch.toLowerCase().toUpperCase();
    out += [...f].length === 1 ? f : ch;
  }
  return out;
}

/** Byte order of UTF-8 strings (Go's sort of map keys when marshalling). */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Decodes `value` into `acc` the way encoding/json decodes an object into a struct: keys in byte
 * order (json.Marshal of a map sorts them), each matched to a known field exactly or else
 * case-insensitively; a nested object decodes into the existing value. Keys that match no known
 * field are kept as they are (the catalogue does not read them). `exactOnly` (the main file's
 * case-sensitive decoder): a key that matches a known field only case-insensitively is dropped.
 */
function decodeInto(acc: Dict, value: Dict, tree: FieldTree, exactOnly: boolean): Dict {
  const names = Object.keys(tree);
  for (const key of Object.keys(value).sort(byteOrder)) {
    const x = value[key];
    const exact = names.includes(key) ? key : undefined;
    const field = exact ?? names.find((n) => goFold(n) === goFold(key));
    if (field === undefined) {
      acc[key] = clone(x);
      continue;
    }
    if (exact === undefined && exactOnly) continue;
    const sub = tree[field];
    if (isDict(x) && sub !== 'leaf') {
      const into = isDict(acc[field]) ? (acc[field] as Dict) : {};
      if (sub === 'map') for (const [k, v] of Object.entries(x)) into[k] = clone(v);
      else decodeInto(into, x, sub, exactOnly);
      acc[field] = into;
    } else acc[field] = clone(x);
  }
  return acc;
}

/** A KubeletConfiguration file as the kubelet's (case-sensitive) decoder keeps it. */
export function decodeMainFile(file: Dict): Dict {
  return decodeInto({}, file, KUBELET_FIELD_TREE, true);
}

function getPath(obj: Dict, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (!isDict(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

function deletePath(obj: Dict, path: string): void {
  const keys = path.split('.');
  let cur: unknown = obj;
  for (const k of keys.slice(0, -1)) {
    if (!isDict(cur)) return;
    cur = cur[k];
  }
  if (isDict(cur)) delete cur[keys[keys.length - 1]];
}

/**
 * True when a drop-in's patch names `path` (or a parent of it), matching names the way the decoder
 * will (case-insensitively): the drop-in then decides the field's value (or deletes it).
 */
export function patchTouches(patch: Dict, path: string): boolean {
  let cur: unknown = patch;
  for (const k of path.split('.')) {
    if (!isDict(cur)) return true; // a parent set to a non-object (or null) replaces the field
    const keys = Object.keys(cur).filter((n) => goFold(n) === goFold(k));
    if (keys.length === 0) return false;
    const next = keys.map((n) => (cur as Dict)[n]);
    if (next.some((v) => !isDict(v))) return true;
    cur = Object.assign({}, ...next);
  }
  return true;
}

/** One drop-in file the kubelet applies: its path and the configuration it holds. */
export interface KubeletDropin {
  /** The file's path (the directory's path joined with its name), for messages. */
  path: string;
  config: Dict;
}

/**
 * The configuration after the drop-ins: `base` is the defaulted configuration loaded before them
 * (kubelet defaults, kubeadm's, the file), returned as the kubelet decodes the merged JSON (before
 * the v1beta1 defaults apply again).
 */
export function applyDropins(base: Dict, dropins: readonly KubeletDropin[]): Dict {
  let doc: unknown = clone(base);
  for (const [path, zero] of OMITEMPTY_ZERO) {
    if (getPath(doc as Dict, path) === zero) deletePath(doc as Dict, path);
  }
  const tls = getPath(doc as Dict, 'tlsCipherSuites');
  if (Array.isArray(tls) && tls.length === 0) delete (doc as Dict).tlsCipherSuites;
  const gates = getPath(doc as Dict, 'featureGates');
  if (isDict(gates) && Object.keys(gates).length === 0) delete (doc as Dict).featureGates;
  for (const d of dropins) doc = jsonMergePatch(doc, d.config);
  return decodeInto({}, isDict(doc) ? doc : {}, KUBELET_FIELD_TREE, false);
}

/** The extension filepath.Ext gives: from the last dot of the base name. */
export function isDropinName(relativeName: string): boolean {
  const base = relativeName.split('/').pop() ?? '';
  return base.endsWith('.conf');
}

/** filepath.WalkDir order of relative file names: segment by segment, each in byte order. */
export function walkOrder(a: string, b: string): number {
  const as = a.split('/');
  const bs = b.split('/');
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const c = byteOrder(as[i], bs[i]);
    if (c !== 0) return c;
  }
  return as.length - bs.length;
}

/** filepath.Clean for the absolute and relative paths a --config-dir names. */
export function cleanPath(p: string): string {
  const abs = p.startsWith('/');
  const parts: string[] = [];
  for (const s of p.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') {
      if (parts.length > 0 && parts[parts.length - 1] !== '..') parts.pop();
      else if (!abs) parts.push('..');
      continue;
    }
    parts.push(s);
  }
  const joined = parts.join('/');
  return abs ? `/${joined}` : joined === '' ? '.' : joined;
}

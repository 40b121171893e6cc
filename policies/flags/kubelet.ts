/**
 * The kubelet configuration a node really runs with:
 *
 *   kubelet defaults  (pkg/kubelet/apis/config/v1beta1/defaults.go SetDefaults_KubeletConfiguration)
 *   + kubeadm defaults (cmd/kubeadm/app/componentconfigs/kubelet.go Default), when the
 *     KubeletConfiguration is given to kubeadm (same file as an InitConfiguration/ClusterConfiguration)
 *   + the KubeletConfiguration file
 *   + kubelet flags: kubeadm writes nodeRegistration.kubeletExtraArgs of an InitConfiguration or
 *     JoinConfiguration to the kubelet's command line (kubeadm-flags.env, merged with kubeadm's own
 *     flags by ArgumentsToCommand), and the kubelet re-parses its command line over the loaded
 *     file (cmd/kubelet/app/server.go kubeletConfigFlagPrecedence): a flag wins over the file,
 *     except feature gates, which are merged (flag gates win, gates only in the file stay), and
 *     --seccomp-default, which is a KubeletFlags field OR-ed with the file's seccompDefault.
 *
 * A kubelet observed running (`hcb verify`: a KubeletProcess document with its command line, and
 * the KubeletConfiguration read from the file its --config names) is the same: its own flags
 * override the file it reads, by the same rules.
 *
 * Flag names and types are those of cmd/kubelet/app/options/options.go (v1.36.3); values are parsed
 * as pflag parses them (effective.ts). A value the kubelet cannot parse is kept as an
 * InvalidFlagValue so that the check reading that field fails with the reason (the kubelet would
 * not start).
 */
import { Document } from '../model';
import { parseGoDuration } from '../util/go-values';
import { asDicts, asString, Dict, get, isDict } from '../util/values';
import { effectiveOf, EffectiveFlag } from './effective';
import { readExtraArgs } from './kubeadm';
import {
  applyDropins,
  cleanPath,
  decodeMainFile,
  isDropinName,
  jsonMergePatch,
  KubeletDropin,
  patchTouches,
  walkOrder,
} from './kubelet-dropins';
import { FlagType } from './table';

interface KubeletFlagSpec {
  type: FlagType;
  /** The KubeletConfiguration field the flag sets; absent for KubeletFlags-only flags. */
  field?: string;
  /** 'or': a KubeletFlags boolean OR-ed with the file field (seccomp-default). */
  combine?: 'or';
}

/** kubelet flag → its type and the configuration field it sets (only flags checks read). */
export const KUBELET_FLAGS: Readonly<Record<string, KubeletFlagSpec>> = {
  'anonymous-auth': { type: 'bool', field: 'authentication.anonymous.enabled' },
  'authentication-token-webhook': { type: 'bool', field: 'authentication.webhook.enabled' },
  'authorization-mode': { type: 'string', field: 'authorization.mode' },
  'client-ca-file': { type: 'string', field: 'authentication.x509.clientCAFile' },
  'read-only-port': { type: 'int32', field: 'readOnlyPort' },
  'streaming-connection-idle-timeout': { type: 'duration', field: 'streamingConnectionIdleTimeout' },
  'protect-kernel-defaults': { type: 'bool', field: 'protectKernelDefaults' },
  'seccomp-default': { type: 'bool', field: 'seccompDefault', combine: 'or' },
  'tls-min-version': { type: 'string', field: 'tlsMinVersion' },
  'tls-cipher-suites': { type: 'stringSlice', field: 'tlsCipherSuites' },
  'tls-cert-file': { type: 'string', field: 'tlsCertFile' },
  'tls-private-key-file': { type: 'string', field: 'tlsPrivateKeyFile' },
  'rotate-certificates': { type: 'bool', field: 'rotateCertificates' },
  'rotate-server-certificates': { type: 'bool', field: 'serverTLSBootstrap' },
  'pod-manifest-path': { type: 'string', field: 'staticPodPath' },
  'make-iptables-util-chains': { type: 'bool', field: 'makeIPTablesUtilChains' },
  'event-qps': { type: 'int32', field: 'eventRecordQPS' },
  'feature-gates': { type: 'mapStringBool', field: 'featureGates' },
  // Registered on the configuration (options.go AddKubeletConfigFlags), not deprecated.
  'fail-cgroupv1': { type: 'bool', field: 'failCgroupV1' },
  'hostname-override': { type: 'string' },
  config: { type: 'string' },
  'config-dir': { type: 'string' },
};

/**
 * What the kubelet uses for a field the file leaves out (v1beta1 defaults.go; `zero` marks fields
 * without a default, where Go's zero value applies). A duration of 0 counts as unset there.
 */
export const KUBELET_DEFAULTS: Readonly<Record<string, { value: unknown; zero?: true }>> = {
  'authentication.anonymous.enabled': { value: false },
  'authentication.webhook.enabled': { value: true },
  'authorization.mode': { value: 'Webhook' },
  'authentication.x509.clientCAFile': { value: '', zero: true },
  readOnlyPort: { value: 0, zero: true },
  streamingConnectionIdleTimeout: { value: '4h0m0s' },
  protectKernelDefaults: { value: false, zero: true },
  seccompDefault: { value: false },
  tlsMinVersion: { value: '', zero: true },
  tlsCertFile: { value: '', zero: true },
  tlsPrivateKeyFile: { value: '', zero: true },
  rotateCertificates: { value: false, zero: true },
  serverTLSBootstrap: { value: false, zero: true },
  staticPodPath: { value: '', zero: true },
  makeIPTablesUtilChains: { value: true },
  eventRecordQPS: { value: 50 },
  failCgroupV1: { value: true },
};

/**
 * The configuration a kubelet starts from without --config (cmd/kubelet/app/options/options.go
 * NewKubeletConfiguration: the v1beta1 defaults, then applyLegacyDefaults for the command line):
 * anonymous requests allowed, no webhook authentication, AlwaysAllow, read-only port 10255.
 */
export const KUBELET_COMMAND_LINE_DEFAULTS: Readonly<Record<string, unknown>> = {
  'authentication.anonymous.enabled': true,
  'authentication.webhook.enabled': false,
  'authorization.mode': 'AlwaysAllow',
  readOnlyPort: 10255,
};

/** Where an effective kubelet field value came from. */
export type KubeletValueSource = 'default' | 'command-line-default' | 'kubeadm-default' | 'file' | 'dropin' | 'flag';

/** A value a flag would set but the kubelet cannot parse: it refuses to start. */
export interface InvalidFlagValue {
  invalidFlag: string;
  raw: string;
  reason?: string;
}
export function isInvalidFlagValue(v: unknown): v is InvalidFlagValue {
  return isDict(v) && typeof v.invalidFlag === 'string';
}

/** One kubelet: a configuration file and the flags one kubeadm node registration (or its observed command line) gives it. */
export interface KubeletSubject {
  /** The KubeletConfiguration document. */
  document: Document;
  /** The InitConfiguration/JoinConfiguration whose kubeletExtraArgs apply, or the observed KubeletProcess, if any. */
  flagsFrom?: Document;
  /** The effective configuration: defaults, kubeadm defaults, file, then flags. */
  config: Dict;
  /** Where each field checks read got its value. */
  sources: Map<string, KubeletValueSource>;
  /** Config field path → the flag (and its effective raw value) that set it. */
  overrides: Map<string, { flag: string; raw: string }>;
  /** Every kubelet flag given, name → values in order (for flags without a config field). */
  flags: Map<string, string[]>;
  /** The --config-dir the kubelet reads (its last value), if any. */
  dropinDir?: string;
  /** The drop-in files applied over the file, in the kubelet's order (paths). */
  dropins?: string[];
  /** Files in the drop-in directory the kubelet skips (no `.conf` extension). */
  skippedDropins?: string[];
  /** Config field path → the drop-in file that set it (or deleted it, for the default to apply). */
  dropinSources?: Map<string, string>;
  /** The configuration as written: the file with the drop-ins merged, before defaults and flags. */
  written?: Dict;
  /**
   * Why the configuration cannot be evaluated ('not-evaluated': drop-ins or the file not in the
   * input) or why the kubelet would not start with it ('fail': an unreadable drop-in).
   */
  problem?: { status: 'fail' | 'not-evaluated'; message: string };
}

function setPath(obj: Dict, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur: Dict = obj;
  for (const k of keys.slice(0, -1)) {
    if (!isDict(cur[k])) cur[k] = {};
    cur = cur[k] as Dict;
  }
  cur[keys[keys.length - 1]] = value;
}

/** Effective flag value → the value for the config field, or an InvalidFlagValue. */
function fieldValue(name: string, e: EffectiveFlag): unknown {
  if (e.invalid !== undefined) return { invalidFlag: name, raw: e.value, reason: e.invalid };
  switch (e.type) {
    case 'bool':
      return e.bool;
    case 'int':
    case 'int32':
      return e.int;
    case 'duration':
      return e.value; // kept as text; readers use time.ParseDuration semantics
    case 'stringSlice':
      return e.list ?? [];
    default:
      return e.value;
  }
}

/** The kubeadm defaults of a KubeletConfiguration given to kubeadm (componentconfigs/kubelet.go Default). */
function kubeadmKubeletDefaults(certificatesDir: string): Array<[string, unknown, 'if-unset' | 'always']> {
  return [
    ['staticPodPath', '/etc/kubernetes/manifests', 'if-unset'],
    ['authentication.x509.clientCAFile', `${certificatesDir}/ca.crt`, 'if-unset'],
    ['authentication.anonymous.enabled', false, 'if-unset'],
    ['authorization.mode', 'Webhook', 'if-unset'],
    ['authentication.webhook.enabled', true, 'if-unset'],
    // kubeadm cannot tell an unset rotateCertificates from false, so it always sets it to true.
    ['rotateCertificates', true, 'always'],
  ];
}

function isUnset(path: string, v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (path === 'streamingConnectionIdleTimeout') {
    // The kubelet defaults a zero duration (it cannot tell 0 from unset in the file).
    const s = typeof v === 'number' ? v : typeof v === 'string' ? parseGoDuration(v.trim()) : undefined;
    return s === 0;
  }
  if (['authorization.mode', 'staticPodPath', 'authentication.x509.clientCAFile'].includes(path)) return v === '';
  return false;
}

export interface KubeletInputs {
  file: Dict;
  flags: ReadonlyArray<[string, string]>;
  /** certificatesDir of the kubeadm ClusterConfiguration, when kubeadm consumes the file. */
  kubeadmCertificatesDir?: string;
  /** No --config: the kubelet starts from its command-line defaults (`file` is then empty). */
  commandLineDefaults?: boolean;
  /** Drop-in files of --config-dir, in the kubelet's order. */
  dropins?: readonly KubeletDropin[];
}

type EffectiveKubelet = Pick<
  KubeletSubject,
  'config' | 'sources' | 'overrides' | 'flags' | 'dropinDir' | 'dropins' | 'dropinSources' | 'written'
>;

/** The kubelet's defaults for every field still unset. */
function applyKubeletDefaults(config: Dict, sources: Map<string, KubeletValueSource>): void {
  for (const [path, d] of Object.entries(KUBELET_DEFAULTS)) {
    if (isUnset(path, get(config, path))) {
      setPath(config, path, d.value);
      sources.set(path, 'default');
    }
  }
}

/** The effective configuration of one kubelet. */
export function effectiveKubeletConfig(inputs: KubeletInputs): EffectiveKubelet {
  const config = decodeMainFile(inputs.file);
  const sources = new Map<string, KubeletValueSource>();
  if (inputs.commandLineDefaults) {
    for (const [path, value] of Object.entries(KUBELET_COMMAND_LINE_DEFAULTS)) {
      setPath(config, path, value);
      sources.set(path, 'command-line-default');
    }
  }
  for (const path of Object.keys(KUBELET_DEFAULTS))
    if (!sources.has(path) && !isUnset(path, get(config, path))) sources.set(path, 'file');
  if (inputs.kubeadmCertificatesDir !== undefined) {
    for (const [path, value, when] of kubeadmKubeletDefaults(inputs.kubeadmCertificatesDir)) {
      if (when === 'always' || isUnset(path, get(config, path))) {
        setPath(config, path, value);
        sources.set(path, 'kubeadm-default');
      }
    }
  }
  applyKubeletDefaults(config, sources);
  let effective = config;
  let written: Dict | undefined;
  const dropinSources = new Map<string, string>();
  if (inputs.dropins && inputs.dropins.length > 0) {
    // The kubelet merges the drop-ins over the defaulted configuration, decodes the result and
    // defaults it again (kubelet-dropins.ts).
    effective = applyDropins(config, inputs.dropins);
    let w: unknown = JSON.parse(JSON.stringify(inputs.file));
    for (const d of inputs.dropins) {
      w = jsonMergePatch(w, d.config);
      for (const path of [...Object.keys(KUBELET_DEFAULTS), 'tlsCipherSuites']) {
        if (patchTouches(d.config, path)) {
          sources.set(path, 'dropin');
          dropinSources.set(path, d.path);
        }
      }
    }
    written = isDict(w) ? w : {};
    applyKubeletDefaults(effective, sources);
  }
  // Every occurrence, by normalized name, in order; then each flag's effective value.
  const all = new Map<string, string[]>();
  for (const [rawName, raw] of inputs.flags) {
    const name = rawName.replace(/_/g, '-');
    const seen = all.get(name);
    if (seen) seen.push(raw);
    else all.set(name, [raw]);
  }
  const overrides: KubeletSubject['overrides'] = new Map();
  for (const [name, values] of all) {
    const spec = KUBELET_FLAGS[name];
    if (!spec?.field) continue;
    const e = effectiveOf(spec.type, name, values);
    if (name === 'feature-gates') {
      const fileGates = isDict(effective.featureGates) ? effective.featureGates : {};
      const merged: Dict = { ...fileGates };
      for (const [k, v] of e.map ?? new Map<string, string>()) {
        merged[k] = fieldValue(name, effectiveOf('bool', `feature-gates ${k}`, [v]));
        overrides.set(`featureGates.${k}`, { flag: name, raw: `${k}=${v}` });
        sources.set(`featureGates.${k}`, 'flag');
      }
      effective.featureGates = merged;
      continue;
    }
    const v = fieldValue(name, e);
    if (spec.combine === 'or' && !isInvalidFlagValue(v)) {
      // --seccomp-default only adds: the kubelet uses flag OR file.
      if (v === true) {
        setPath(effective, spec.field, true);
        sources.set(spec.field, 'flag');
        overrides.set(spec.field, { flag: name, raw: e.value });
      }
      continue;
    }
    setPath(effective, spec.field, v);
    sources.set(spec.field, 'flag');
    overrides.set(spec.field, { flag: name, raw: e.value });
  }
  const dropin = all.get('config-dir');
  const out: EffectiveKubelet = { config: effective, sources, overrides, flags: all };
  if (dropin && dropin[dropin.length - 1] !== '') out.dropinDir = dropin[dropin.length - 1];
  if (inputs.dropins && inputs.dropins.length > 0) {
    out.dropins = inputs.dropins.map((d) => d.path);
    out.dropinSources = dropinSources;
  }
  if (written !== undefined) out.written = written;
  return out;
}

/** Applies kubelet flags (in command-line order) to a KubeletConfiguration file (kubelet defaults included). */
export function applyKubeletFlags(file: Dict, flags: ReadonlyArray<[string, string]>) {
  return effectiveKubeletConfig({ file, flags });
}

/** A running kubelet as `hcb verify` observes it: its command line (/proc/<pid>/cmdline). */
export const KUBELET_PROCESS_KIND = 'KubeletProcess';
export const KUBELET_PROCESS_API_VERSION = 'hcb.dev/v1alpha1';

/**
 * A kubelet command line (the words after the binary) as the kubelet's pflag set parses it:
 * `--name=value`, `--name value` unless the flag is a boolean (a bare boolean is true), `_` in
 * names read as `-`. Words that are not flags are left out (the kubelet refuses them).
 */
export function parseKubeletCommandLine(words: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === '--') break;
    if (!w.startsWith('--') || w.length === 2) continue;
    const body = w.slice(2);
    const eq = body.indexOf('=');
    if (eq >= 0) {
      out.push([body.slice(0, eq), body.slice(eq + 1)]);
      continue;
    }
    const spec = KUBELET_FLAGS[body.replace(/_/g, '-')];
    if (spec?.type === 'bool') out.push([body, 'true']);
    else if (i + 1 < words.length && (spec !== undefined || !words[i + 1].startsWith('-')))
      out.push([body, words[++i]]);
    else out.push([body, 'true']);
  }
  return out;
}

/** The last value of a string flag (pflag: the last occurrence wins), by normalized name. */
function lastFlag(flags: ReadonlyArray<[string, string]>, name: string): string | undefined {
  return [...flags].reverse().find(([n]) => n.replace(/_/g, '-') === name)?.[1];
}

/** The file path a document was read from, without a `scheme:` prefix (`live:/var/lib/kubelet/config.yaml`). */
function sourcePath(d: Document): string | undefined {
  const f = d.source?.file;
  if (f === undefined) return undefined;
  const m = /^[a-z][a-z0-9+-]*:(\/.*)$/.exec(f);
  return m ? m[1] : f;
}

/**
 * The KubeletConfiguration an observed kubelet process reads: the document read from the file its
 * --config names (its source path), or else the one written in the same input file as the process
 * document (an input that describes one kubelet as a process and its file together).
 */
function processConfigFile(p: Document, config: string, files: FileIndex): Document | undefined {
  return files.byPath.get(config) ?? (p.source?.file !== undefined ? files.byFile.get(p.source.file) : undefined);
}

/** KubeletConfiguration documents by source path and by input file (the first in input order of each). */
interface FileIndex {
  byPath: Map<string, Document>;
  byFile: Map<string, Document>;
}

function indexFiles(files: readonly Document[]): FileIndex {
  const index: FileIndex = { byPath: new Map(), byFile: new Map() };
  for (const d of files) {
    const p = sourcePath(d);
    if (p !== undefined && !index.byPath.has(p)) index.byPath.set(p, d);
    const f = d.source?.file;
    if (f !== undefined && !index.byFile.has(f)) index.byFile.set(f, d);
  }
  return index;
}

/** Documents grouped by the input file they were read from, in input order. */
function byInputFile(docs: readonly Document[]): Map<string, Document[]> {
  const out = new Map<string, Document[]>();
  for (const d of docs) {
    const f = d.source?.file;
    if (f === undefined) continue;
    const list = out.get(f);
    if (list) list.push(d);
    else out.set(f, [d]);
  }
  return out;
}

/** A listing of a kubelet's drop-in directory (`hcb verify` writes it; an audit input may carry it). */
export const KUBELET_CONFIG_DIRECTORY_KIND = 'KubeletConfigDirectory';

/** Where kubeadm's kubelet reads its configuration (the systemd drop-in's --config). */
export const KUBEADM_KUBELET_CONFIG = '/var/lib/kubelet/config.yaml';

const DROPIN_KIND = 'KubeletConfiguration';
const DROPIN_API_VERSION = 'kubelet.config.k8s.io/v1beta1';

type IsKind = (d: Document, kind: string, group: string) => boolean;

interface DropinResolution {
  dropins: KubeletDropin[];
  skipped: string[];
  /** Top-level documents used as drop-ins (they are no kubelet of their own). */
  used: Document[];
  problem?: KubeletSubject['problem'];
}

/**
 * The name of a file inside the absolute directory `dir` (as the kubelet walks it), from the path
 * an input document was read from: an absolute path under `dir`, or a path relative to wherever
 * `hcb audit` ran (leading ./ and ../ dropped) that begins with the directory's last segments
 * (`kubelet.conf.d/10.conf`, `etc/kubernetes/kubelet.conf.d/10.conf`). Undefined otherwise.
 */
export function nameUnder(dir: string, source: string): string | undefined {
  if (source.startsWith('/')) return source.startsWith(`${dir}/`) ? cleanPath(source.slice(dir.length + 1)) : undefined;
  const d = dir.split('/').filter(Boolean);
  const p = cleanPath(source)
    .split('/')
    .filter((s) => s !== '..' && s !== '.');
  for (let k = Math.min(d.length, p.length - 1); k >= 1; k--) {
    if (d.slice(d.length - k).every((seg, i) => seg === p[i])) return p.slice(k).join('/');
  }
  return undefined;
}

function joinDir(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

/** Why the kubelet refuses a drop-in's content (it stops at start), if it does. */
function dropinRefusal(config: unknown): string | undefined {
  if (!isDict(config)) return 'it is not a KubeletConfiguration object';
  if (config.apiVersion === undefined || config.kind === undefined || config.apiVersion === '' || config.kind === '')
    return 'it has no apiVersion/kind';
  if (config.apiVersion !== DROPIN_API_VERSION || config.kind !== DROPIN_KIND)
    return `its apiVersion/kind ${String(config.apiVersion)}/${String(config.kind)} is not ${DROPIN_API_VERSION}/${DROPIN_KIND}`;
  return undefined;
}

/**
 * The drop-ins a kubelet with --config-dir=`dir` applies, from the input: a KubeletConfigDirectory
 * listing of that directory (the whole directory: the kubelet's order and `.conf` rule are applied
 * here), or else KubeletConfiguration documents read from files under that (absolute) directory.
 * With neither, the result is not-evaluated.
 */
function resolveDropins(dir: string, owner: Document | undefined, src: DropinSource): DropinResolution {
  const want = cleanPath(dir);
  const listings = src.listings.get(want) ?? [];
  const listing =
    listings.find((d) => owner?.source?.file !== undefined && d.source?.file === owner.source.file) ?? listings[0];
  if (listing) {
    const files = asDicts((listing.object as Dict).files).filter((f) => typeof f.name === 'string' && f.name !== '');
    const out: DropinResolution = { dropins: [], skipped: [], used: [listing] };
    for (const f of [...files].sort((a, b) => walkOrder(a.name as string, b.name as string))) {
      const name = f.name as string;
      const path = joinDir(dir, name);
      if (!isDropinName(name)) {
        out.skipped.push(path);
        continue;
      }
      if (typeof f.invalid === 'string') {
        out.problem = { status: 'fail', message: `the drop-in ${path} stops the kubelet at start (${f.invalid})` };
        return out;
      }
      if (f.config === undefined) {
        out.problem ??= {
          status: 'not-evaluated',
          message: `Not evaluated: the drop-in ${path} ${typeof f.unreadable === 'string' ? `could not be read (${f.unreadable})` : 'is listed without its content'}`,
        };
        continue;
      }
      const refusal = dropinRefusal(f.config);
      if (refusal) {
        out.problem = { status: 'fail', message: `the drop-in ${path} stops the kubelet at start: ${refusal}` };
        return out;
      }
      out.dropins.push({ path, config: f.config as Dict });
    }
    return out;
  }
  if (want.startsWith('/')) {
    // The same directory gives the same drop-ins whoever reads it: computed once per directory.
    const cached = src.byDirectory.get(dir);
    if (cached) return cached;
    const found = dropinsFromFiles(dir, want, src.candidates);
    src.byDirectory.set(dir, found);
    return found;
  }
  return noDropins(dir);
}

/**
 * The documents drop-ins are looked up in, indexed once per kubeletSubjects call: listings by
 * their directory, and the KubeletConfiguration documents that are no kubelet's main file.
 */
interface DropinSource {
  listings: Map<string, Document[]>;
  candidates: Document[];
  byDirectory: Map<string, DropinResolution>;
}

function dropinSource(docs: readonly Document[], isKind: IsKind, mainFiles: ReadonlySet<Document>): DropinSource {
  const src: DropinSource = { listings: new Map(), candidates: [], byDirectory: new Map() };
  for (const d of docs) {
    if (isKind(d, KUBELET_CONFIG_DIRECTORY_KIND, 'hcb.dev') && typeof (d.object as Dict).path === 'string') {
      const key = cleanPath((d.object as Dict).path as string);
      const list = src.listings.get(key);
      if (list) list.push(d);
      else src.listings.set(key, [d]);
    } else if (isKind(d, DROPIN_KIND, 'kubelet.config.k8s.io') && !mainFiles.has(d)) src.candidates.push(d);
  }
  return src;
}

/** Drop-ins from KubeletConfiguration documents read from files under the absolute directory `want`. */
function dropinsFromFiles(dir: string, want: string, candidates: readonly Document[]): DropinResolution {
  const byPath = new Map<string, { name: string; docs: Document[] }>();
  for (const d of candidates) {
    const p = sourcePath(d);
    const name = p === undefined ? undefined : nameUnder(want, p);
    if (name === undefined) continue;
    const e = byPath.get(p as string) ?? { name, docs: [] };
    e.docs.push(d);
    byPath.set(p as string, e);
  }
  if (byPath.size > 0) {
    const out: DropinResolution = { dropins: [], skipped: [], used: [...byPath.values()].flatMap((e) => e.docs) };
    for (const [p, e] of [...byPath].sort(([, a], [, b]) => walkOrder(a.name, b.name))) {
      if (!isDropinName(e.name)) {
        out.skipped.push(p);
        continue;
      }
      // The kubelet decodes one object per file.
      if (e.docs.length > 1) {
        out.problem ??= {
          status: 'not-evaluated',
          message: `Not evaluated: the drop-in ${p} holds ${e.docs.length} documents`,
        };
        continue;
      }
      out.dropins.push({ path: p, config: e.docs[0].object as Dict });
    }
    return out;
  }
  return noDropins(dir);
}

function noDropins(dir: string): DropinResolution {
  return {
    dropins: [],
    skipped: [],
    used: [],
    problem: {
      status: 'not-evaluated',
      message: `Not evaluated: the kubelet reads drop-in files from --config-dir=${dir}, and the input holds neither a ${KUBELET_CONFIG_DIRECTORY_KIND} listing of that directory nor its .conf files (hcb audit reads .conf files only when they are named, by a path that includes the directory); they override the configuration file`,
    },
  };
}

/**
 * Observed kubelet processes whose configuration file is named but not in the input. Checks report
 * them not-evaluated. (A kubelet without --config is evaluated on its command-line defaults.)
 */
export function unevaluableKubeletProcesses(
  docs: readonly Document[],
  isKind: IsKind,
): Array<{ document: Document; reason: string }> {
  const files = indexFiles(docs.filter((d) => isKind(d, 'KubeletConfiguration', 'kubelet.config.k8s.io')));
  const out: Array<{ document: Document; reason: string }> = [];
  for (const p of docs.filter((d) => isKind(d, KUBELET_PROCESS_KIND, 'hcb.dev'))) {
    const flags = parseKubeletCommandLine(processArgs(p));
    const config = lastFlag(flags, 'config');
    if (config !== undefined && config !== '' && !processConfigFile(p, config, files)) {
      out.push({ document: p, reason: `the kubelet reads --config=${config}, which is not in the input` });
    }
  }
  return out;
}

function processArgs(p: Document): string[] {
  const cmd = (p.object as Dict).command;
  return Array.isArray(cmd) ? cmd.slice(1).filter((w): w is string => typeof w === 'string') : [];
}

/** Adds the drop-ins of the subject's --config-dir (if any) and recomputes its configuration. */
function withDropins(
  inputs: KubeletInputs,
  owner: Document | undefined,
  src: () => DropinSource,
  used: Set<Document>,
): Omit<KubeletSubject, 'document' | 'flagsFrom'> {
  const first = effectiveKubeletConfig(inputs);
  if (first.dropinDir === undefined) return first;
  const r = resolveDropins(first.dropinDir, owner, src());
  for (const d of r.used) used.add(d);
  const eff = r.dropins.length > 0 ? effectiveKubeletConfig({ ...inputs, dropins: r.dropins }) : first;
  const out: Omit<KubeletSubject, 'document' | 'flagsFrom'> = { ...eff, skippedDropins: [...r.skipped] };
  if (r.dropins.length === 0) out.dropins = [];
  if (r.problem) out.problem = r.problem;
  return out;
}

/**
 * Every kubelet the input describes: each KubeletConfiguration with the kubeletExtraArgs of each
 * InitConfiguration/JoinConfiguration of its own input file (kubeadm's --config file) and of each
 * one in an input file that holds no KubeletConfiguration (kubeadm gives the cluster's file to
 * every node that joins, and the registration's flags to that node), or alone when there is none. A KubeletConfiguration
 * that an observed KubeletProcess reads (its --config names the file the document was read
 * from) is that process's kubelet: the process's flags apply, and no registration's. A process
 * without --config is a kubelet of its own (command-line defaults). Drop-ins of --config-dir are
 * merged in (kubelet-dropins.ts); drop-in documents are no kubelets of their own.
 */
export function kubeletSubjects(docs: readonly Document[], isKind: IsKind): KubeletSubject[] {
  const allFiles = docs.filter((d) => isKind(d, 'KubeletConfiguration', 'kubelet.config.k8s.io'));
  const fileIndex = indexFiles(allFiles);
  const out: KubeletSubject[] = [];
  const observed = new Set<Document>();
  const processes: Array<{ p: Document; flags: Array<[string, string]>; file?: Document }> = [];
  for (const p of docs.filter((d) => isKind(d, KUBELET_PROCESS_KIND, 'hcb.dev'))) {
    const flags = parseKubeletCommandLine(processArgs(p));
    const config = lastFlag(flags, 'config');
    if (config === undefined || config === '') {
      processes.push({ p, flags });
      continue;
    }
    const f = processConfigFile(p, config, fileIndex);
    if (!f) continue; // unevaluableKubeletProcesses reports it
    observed.add(f);
    processes.push({ p, flags, file: f });
  }
  const used = new Set<Document>();
  let dropins: DropinSource | undefined;
  const src = (): DropinSource => (dropins ??= dropinSource(docs, isKind, observed));
  for (const { p, flags, file } of processes) {
    const inputs: KubeletInputs = file
      ? { file: file.object as Dict, flags }
      : { file: {}, flags, commandLineDefaults: true };
    out.push({ document: file ?? p, flagsFrom: p, ...withDropins(inputs, p, src, used) });
  }
  const registrations = docs.filter(
    (d) => isKind(d, 'InitConfiguration', 'kubeadm.k8s.io') || isKind(d, 'JoinConfiguration', 'kubeadm.k8s.io'),
  );
  const clusterConfigs = docs.filter((d) => isKind(d, 'ClusterConfiguration', 'kubeadm.k8s.io'));
  const candidates = allFiles.filter((d) => !observed.has(d));
  // Everything below is indexed by input file once, so the subjects cost what the input holds
  // (each configuration paired with the whole input's registrations grew with its square).
  const regsByFile = byInputFile(registrations);
  const clusterByFile = byInputFile(clusterConfigs);
  const configFiles = new Set(candidates.map((d) => d.source?.file));
  const regIndex = new Map(registrations.map((r, i) => [r, i]));
  const unplaced = registrations.filter((r) => r.source?.file === undefined || !configFiles.has(r.source.file));
  const regSubjects: Array<{ f: Document; r?: Document; inputs: KubeletInputs }> = [];
  for (const f of candidates) {
    // kubeadm reads a KubeletConfiguration from the same --config file as its own documents.
    const file = f.source?.file;
    const sameRegs = file !== undefined ? (regsByFile.get(file) ?? []) : [];
    const sameCluster = file !== undefined ? clusterByFile.get(file) : undefined;
    const viaKubeadm = sameRegs.length > 0 || sameCluster !== undefined;
    const cluster = sameCluster?.[0] ?? clusterConfigs[0];
    const kubeadmCertificatesDir = viaKubeadm
      ? (asString(cluster?.object.certificatesDir) ?? '/etc/kubernetes/pki')
      : undefined;
    // The registrations of its own kubeadm --config file, and those in files that hold no
    // KubeletConfiguration (a join's node gets the configuration its cluster's init uploaded),
    // in input order; with none, the file is a kubelet of its own.
    const mine =
      sameRegs.length === 0
        ? unplaced
        : [...new Set([...sameRegs, ...unplaced])].sort((a, b) => (regIndex.get(a) ?? 0) - (regIndex.get(b) ?? 0));
    const regs = mine.length === 0 ? [undefined] : mine;
    for (const r of regs) {
      const args = r ? readExtraArgs(get(r.object, 'nodeRegistration.kubeletExtraArgs')) : [];
      const inputs: KubeletInputs = { file: f.object as Dict, flags: args };
      if (kubeadmCertificatesDir !== undefined) inputs.kubeadmCertificatesDir = kubeadmCertificatesDir;
      regSubjects.push(r ? { f, r, inputs } : { f, inputs });
    }
  }
  // Drop-ins first, so that documents used as drop-ins are not taken for kubelets of their own.
  const resolved = regSubjects.map((s) => ({ s, eff: withDropins(s.inputs, s.r, src, used) }));
  for (const { s, eff } of resolved) {
    if (used.has(s.f)) continue;
    const sub: KubeletSubject = s.r ? { document: s.f, flagsFrom: s.r, ...eff } : { document: s.f, ...eff };
    // kubeletExtraArgs naming another --config: the kubelet reads that file, not kubeadm's.
    const config = s.r ? lastFlag(s.inputs.flags, 'config') : undefined;
    if (config !== undefined && config !== KUBEADM_KUBELET_CONFIG && sourcePath(s.f) !== config && !sub.problem) {
      sub.problem = {
        status: 'not-evaluated',
        message: `Not evaluated: kubeletExtraArgs set --config=${config}, so the kubelet reads that file (not in the input) instead of the KubeletConfiguration kubeadm writes to ${KUBEADM_KUBELET_CONFIG}`,
      };
    }
    out.push(sub);
  }
  return out;
}

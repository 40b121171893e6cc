/**
 * The kubelet configuration a node really runs with: the KubeletConfiguration file, overridden by
 * kubelet flags. kubeadm writes `nodeRegistration.kubeletExtraArgs` of an InitConfiguration or
 * JoinConfiguration to the kubelet's command line (kubeadm-flags.env), and the kubelet gives
 * explicitly set flags precedence over the file (cmd/kubelet/app/server.go
 * kubeletConfigFlagPrecedence), except feature gates, which are merged: flag gates win, gates only
 * in the file stay.
 *
 * Flag names and types below are those of cmd/kubelet/app/options/options.go (v1.36.3). Flag
 * values are parsed as pflag parses them: booleans with strconv.ParseBool, int32 with
 * strconv.ParseInt(s, 0, 32), durations with time.ParseDuration, string slices appended.
 */
import { readExtraArgs } from './components';
import { Document } from './model';
import { parseGoBool, parseGoDuration } from './util/go-values';
import { Dict, get, isDict } from './util/values';

type FieldType = 'bool' | 'int32' | 'duration' | 'string' | 'stringSlice';

/** kubelet flag → config field it sets (only the fields checks read). */
export const KUBELET_FLAG_FIELDS: Record<string, { path: string; type: FieldType }> = {
  'anonymous-auth': { path: 'authentication.anonymous.enabled', type: 'bool' },
  'authentication-token-webhook': { path: 'authentication.webhook.enabled', type: 'bool' },
  'authorization-mode': { path: 'authorization.mode', type: 'string' },
  'client-ca-file': { path: 'authentication.x509.clientCAFile', type: 'string' },
  'read-only-port': { path: 'readOnlyPort', type: 'int32' },
  'streaming-connection-idle-timeout': { path: 'streamingConnectionIdleTimeout', type: 'duration' },
  'protect-kernel-defaults': { path: 'protectKernelDefaults', type: 'bool' },
  'seccomp-default': { path: 'seccompDefault', type: 'bool' },
  'tls-min-version': { path: 'tlsMinVersion', type: 'string' },
  'tls-cipher-suites': { path: 'tlsCipherSuites', type: 'stringSlice' },
  'tls-cert-file': { path: 'tlsCertFile', type: 'string' },
  'tls-private-key-file': { path: 'tlsPrivateKeyFile', type: 'string' },
  'rotate-certificates': { path: 'rotateCertificates', type: 'bool' },
  'rotate-server-certificates': { path: 'serverTLSBootstrap', type: 'bool' },
  'pod-manifest-path': { path: 'staticPodPath', type: 'string' },
  'make-iptables-util-chains': { path: 'makeIPTablesUtilChains', type: 'bool' },
  'event-qps': { path: 'eventRecordQPS', type: 'int32' },
};

/** A value a flag would set but the kubelet cannot parse: it refuses to start. */
export interface InvalidFlagValue {
  invalidFlag: string;
  raw: string;
}
export function isInvalidFlagValue(v: unknown): v is InvalidFlagValue {
  return isDict(v) && typeof v.invalidFlag === 'string';
}

/** strconv.ParseInt(s, 0, 32): sign, 0x/0o/0b prefixes, a leading 0 for octal, underscores only with a prefix. */
export function parseGoInt32(s: string): number | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2];
  let n: number;
  if (/^0[xX]/.test(body)) n = parseInt(body.slice(2).replace(/_/g, ''), 16);
  else if (/^0[oO]/.test(body)) n = parseInt(body.slice(2).replace(/_/g, ''), 8);
  else if (/^0[bB]/.test(body)) n = parseInt(body.slice(2).replace(/_/g, ''), 2);
  else if (body.startsWith('0') && body.length > 1) n = parseInt(body.slice(1).replace(/_/g, ''), 8);
  else {
    if (body.includes('_')) return undefined;
    n = parseInt(body, 10);
  }
  if (Number.isNaN(n)) return undefined;
  n = m[1] === '-' ? -n : n;
  return n >= -(2 ** 31) && n < 2 ** 31 ? n : undefined;
}

function parseFlag(name: string, type: FieldType, raw: string): unknown {
  switch (type) {
    case 'bool': {
      const b = parseGoBool(raw);
      return b === undefined ? { invalidFlag: name, raw } : b;
    }
    case 'int32': {
      const n = parseGoInt32(raw);
      return n === undefined ? { invalidFlag: name, raw } : n;
    }
    case 'duration':
      return parseGoDuration(raw) === undefined ? { invalidFlag: name, raw } : raw;
    default:
      return raw;
  }
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

/** One kubelet: a configuration file and the flags one kubeadm node registration gives it. */
export interface KubeletSubject {
  /** The KubeletConfiguration document. */
  document: Document;
  /** The InitConfiguration/JoinConfiguration whose kubeletExtraArgs apply, if any. */
  flagsFrom?: Document;
  /** The effective configuration: file, then flags. */
  config: Dict;
  /** Config field path → the flag (and its raw value) that set it. */
  overrides: Map<string, { flag: string; raw: string }>;
  /** Every kubelet flag given, name → values in order (for flags without a config field). */
  flags: Map<string, string[]>;
}

/** Applies kubelet flags (in command-line order) to a copy of a KubeletConfiguration. */
export function applyKubeletFlags(file: Dict, flags: ReadonlyArray<[string, string]>): { config: Dict; overrides: KubeletSubject['overrides']; flags: KubeletSubject['flags'] } {
  const config = JSON.parse(JSON.stringify(file)) as Dict;
  const overrides: KubeletSubject['overrides'] = new Map();
  const all: KubeletSubject['flags'] = new Map();
  let flagGates: Dict | undefined;
  const slices = new Map<string, string[]>();
  for (const [rawName, raw] of flags) {
    const name = rawName.replace(/_/g, '-'); // the kubelet normalizes word separators too
    all.set(name, [...(all.get(name) ?? []), raw]);
    if (name === 'feature-gates') {
      flagGates ??= {};
      for (const item of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
        const eq = item.indexOf('=');
        const key = (eq < 0 ? item : item.slice(0, eq)).trim();
        const b = eq < 0 ? undefined : parseGoBool(item.slice(eq + 1).trim());
        flagGates[key] = b === undefined ? { invalidFlag: 'feature-gates', raw: item } : b;
      }
      continue;
    }
    const field = KUBELET_FLAG_FIELDS[name];
    if (!field) continue;
    if (field.type === 'stringSlice') {
      const items = [...(slices.get(name) ?? []), ...raw.split(',').map((s) => s.trim()).filter(Boolean)];
      slices.set(name, items);
      setPath(config, field.path, items);
    } else {
      setPath(config, field.path, parseFlag(name, field.type, raw));
    }
    overrides.set(field.path, { flag: name, raw: field.type === 'stringSlice' ? (slices.get(name) ?? []).join(',') : raw });
  }
  if (flagGates) {
    // Flag gates win; gates only in the file are added back.
    const merged: Dict = { ...(isDict(config.featureGates) ? config.featureGates : {}), ...flagGates };
    config.featureGates = merged;
    for (const k of Object.keys(flagGates)) overrides.set(`featureGates.${k}`, { flag: 'feature-gates', raw: `${k}=${String(flagGates[k])}` });
  }
  return { config, overrides, flags: all };
}

/**
 * Every kubelet the input describes: each KubeletConfiguration with the kubeletExtraArgs of each
 * InitConfiguration/JoinConfiguration in the input (kubeadm gives the same file to every node and
 * the registration's flags to that node), or alone when there is none.
 */
export function kubeletSubjects(docs: readonly Document[], isKind: (d: Document, kind: string, group: string) => boolean): KubeletSubject[] {
  const files = docs.filter((d) => isKind(d, 'KubeletConfiguration', 'kubelet.config.k8s.io'));
  const registrations = docs.filter((d) => isKind(d, 'InitConfiguration', 'kubeadm.k8s.io') || isKind(d, 'JoinConfiguration', 'kubeadm.k8s.io'));
  const out: KubeletSubject[] = [];
  for (const f of files) {
    if (registrations.length === 0) {
      const { config, overrides, flags } = applyKubeletFlags(f.object as Dict, []);
      out.push({ document: f, config, overrides, flags });
      continue;
    }
    for (const r of registrations) {
      const args = readExtraArgs(get(r.object, 'nodeRegistration.kubeletExtraArgs'));
      const { config, overrides, flags } = applyKubeletFlags(f.object as Dict, args);
      out.push({ document: f, flagsFrom: r, config, overrides, flags });
    }
  }
  return out;
}

/**
 * What a kube-proxy really runs with, from its command line and the KubeProxyConfiguration file
 * its --config names (k8s.io/kubernetes v1.36.3, cmd/kube-proxy/app/options.go):
 *
 * - Flags are parsed by pflag over a defaulted v1alpha1 configuration (NewOptions).
 * - With --config, Options.Complete loads the file and REPLACES the whole configuration with it:
 *   every configuration flag given beside it (--metrics-bind-address, --metrics-port,
 *   --bind-address, --profiling, --kubeconfig, ...) is ignored. Only the logging flags, --master
 *   (o.master, used by newProxyServer) and --hostname-override (processHostnameOverrideFlag) still
 *   apply. The file is decoded strictly, then leniently as v1alpha1; defaults apply
 *   (pkg/proxy/apis/config/v1alpha1 SetDefaults_KubeProxyConfiguration): an empty
 *   metricsBindAddress becomes 127.0.0.1:10249 ([::1]:10249 when bindAddress is IPv6), a bare IP
 *   gets port 10249.
 * - Without --config, the deprecated --metrics-port (default 10249) is folded in
 *   (addressFromDeprecatedFlags): port 0 empties the address, a bare IP gets the port.
 * - --metrics-bind-address is an IPPortVar (pkg/util/flag): an IP or IP:port; an empty value
 *   leaves the address as it was (and a later occurrence then panics); anything else stops
 *   kube-proxy at flag parsing.
 * - Validation (pkg/proxy/apis/config/validation validateHostPort) needs metricsBindAddress to
 *   be IP:port with a port in 1-65535, so the metrics server cannot be switched off: an empty or
 *   malformed address stops kube-proxy.
 *
 * `hcb verify` writes a running kube-proxy's command line as a KubeProxyProcess document
 * (apiVersion hcb.dev/v1alpha1, `command: [kube-proxy, ...flags]`) and the file its --config
 * names as a KubeProxyConfiguration read from `live:<path>`.
 */
import { Document } from '../model';
import { parseGoInt } from '../util/go-values';
import { Dict, isDict } from '../util/values';
import { FlagType } from './table';

export const KUBE_PROXY_PROCESS_KIND = 'KubeProxyProcess';
export const KUBE_PROXY_CONFIG_GROUP = 'kubeproxy.config.k8s.io';

/** kube-proxy flags by pflag type (cmd/kube-proxy/app/options.go AddFlags): those checks read, and the booleans (a bare boolean takes no value). */
export const KUBE_PROXY_FLAGS: Readonly<Record<string, FlagType>> = {
  config: 'string',
  kubeconfig: 'string',
  master: 'string',
  'hostname-override': 'string',
  'bind-address': 'string',
  'metrics-bind-address': 'string',
  'healthz-bind-address': 'string',
  'metrics-port': 'int32',
  'healthz-port': 'int32',
  'write-config-to': 'string',
  profiling: 'bool',
  cleanup: 'bool',
  'init-only': 'bool',
  'bind-address-hard-fail': 'bool',
  'masquerade-all': 'bool',
  'iptables-localhost-nodeports': 'bool',
  'ipvs-strict-arp': 'bool',
  'conntrack-tcp-be-liberal': 'bool',
};

/** Configuration flags kube-proxy ignores when --config is given (they set fields of the replaced configuration). */
const IGNORED_WITH_CONFIG = [
  'metrics-bind-address',
  'metrics-port',
  'bind-address',
  'profiling',
  'kubeconfig',
  'healthz-bind-address',
  'healthz-port',
];

const DEFAULT_METRICS_PORT = 10249;

/** Flags of a kube-proxy command line (the words after the binary), names normalized ('_' → '-'), in order. */
export function parseKubeProxyCommandLine(words: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === '--') break;
    if (!w.startsWith('--') || w.length === 2) continue;
    const body = w.slice(2);
    const eq = body.indexOf('=');
    if (eq >= 0) {
      out.push([body.slice(0, eq).replace(/_/g, '-'), body.slice(eq + 1)]);
      continue;
    }
    const name = body.replace(/_/g, '-');
    const type = KUBE_PROXY_FLAGS[name];
    if (type === 'bool') out.push([name, 'true']);
    else if (i + 1 < words.length && (type !== undefined || !words[i + 1].startsWith('-')))
      out.push([name, words[++i]]);
    else out.push([name, 'true']);
  }
  return out;
}

const lastOf = (flags: ReadonlyArray<[string, string]>, name: string) =>
  [...flags].reverse().find(([n]) => n === name)?.[1];

/** A textual IP as netutils.ParseIPSloppy accepts it (IPv4 with leading zeros too). */
function parseIp(s: string): { v4: boolean; loopback: boolean } | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return { v4: true, loopback: parts[0] === 127 };
  }
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(':')) return undefined;
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(s);
  if (m) {
    const inner = parseIp(m[1]);
    return inner ? { v4: true, loopback: inner.loopback } : undefined;
  }
  if ((s.match(/::/g) ?? []).length > 1) return undefined;
  const groups = s.split(':');
  if (groups.length > 8 || groups.some((g) => g.length > 4)) return undefined;
  const expanded = s.includes('::')
    ? (() => {
        const [a, b] = s.split('::');
        const left = a ? a.split(':') : [];
        const right = b ? b.split(':') : [];
        return [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
      })()
    : groups;
  if (expanded.length !== 8) return undefined;
  const loopback =
    expanded.slice(0, 7).every((g) => parseInt(g || '0', 16) === 0) && parseInt(expanded[7] || '0', 16) === 1;
  return { v4: false, loopback };
}

/** Go's net.SplitHostPort for the forms kube-proxy accepts ("ip:port", "[ipv6]:port"). */
function splitHostPort(s: string): { host: string; port: string } | undefined {
  if (s.startsWith('[')) {
    const m = /^\[([^\]]*)\]:([^:]*)$/.exec(s);
    return m ? { host: m[1], port: m[2] } : undefined;
  }
  const i = s.lastIndexOf(':');
  if (i < 0 || s.slice(0, i).includes(':')) return undefined;
  return { host: s.slice(0, i), port: s.slice(i + 1) };
}

/** proxyutil.AppendPortIfNeeded: a bare IP gets the port; "ip:port" and anything unparsable stay. */
function appendPortIfNeeded(addr: string, port: number): string {
  if (splitHostPort(addr)) return addr;
  const ip = parseIp(addr);
  if (!ip) return addr;
  return ip.v4 ? `${addr}:${port}` : `[${addr}]:${port}`;
}

/** The metrics server address kube-proxy ends up with, and where it came from. */
export interface KubeProxyMetricsAddress {
  /** The validated address, when kube-proxy starts with it. */
  address?: string;
  /** Why kube-proxy would refuse to start with this configuration. */
  invalid?: string;
  /** Why the input cannot be read as kube-proxy reads it (a wrongly typed field). */
  unreadable?: string;
  /** What decided the value, for messages. */
  from: string;
  /** Flags given beside --config that kube-proxy ignores. */
  ignored: string[];
  /** Loopback host (only with `address`). */
  loopback?: boolean;
}

function validated(addr: string, from: string, ignored: string[] = []): KubeProxyMetricsAddress {
  const hp = splitHostPort(addr);
  if (!hp)
    return {
      invalid: `metricsBindAddress ${JSON.stringify(addr)} must be IP:port (kube-proxy's validation refuses it; it would not start)`,
      from,
      ignored,
    };
  const ip = parseIp(hp.host);
  const port = /^[0-9]+$/.test(hp.port) ? Number(hp.port) : NaN;
  if (!ip)
    return {
      invalid: `metricsBindAddress ${JSON.stringify(addr)}: ${JSON.stringify(hp.host)} is not an IP address (kube-proxy would not start)`,
      from,
      ignored,
    };
  if (!(port >= 1 && port <= 65535))
    return {
      invalid: `metricsBindAddress ${JSON.stringify(addr)}: the port must be 1-65535 (kube-proxy would not start)`,
      from,
      ignored,
    };
  return { address: addr, loopback: ip.loopback, from, ignored };
}

/** The address from a KubeProxyConfiguration document, defaulted as kube-proxy defaults it. */
export function metricsFromConfig(config: Dict, from: string, ignored: string[] = []): KubeProxyMetricsAddress {
  const raw = config.metricsBindAddress;
  const bind = config.bindAddress;
  if (raw !== undefined && raw !== null && typeof raw !== 'string') {
    return {
      unreadable: `metricsBindAddress is ${Array.isArray(raw) ? 'a list' : typeof raw}, not a string: kube-proxy cannot decode the file`,
      from,
      ignored,
    };
  }
  if (bind !== undefined && bind !== null && typeof bind !== 'string') {
    return {
      unreadable: `bindAddress is ${Array.isArray(bind) ? 'a list' : typeof bind}, not a string: kube-proxy cannot decode the file`,
      from,
      ignored,
    };
  }
  const bindAddress = typeof bind === 'string' && bind !== '' ? bind : '0.0.0.0';
  const addr =
    typeof raw === 'string' && raw !== ''
      ? appendPortIfNeeded(raw, DEFAULT_METRICS_PORT)
      : `${parseIp(bindAddress)?.v4 === false ? '[::1]' : '127.0.0.1'}:${DEFAULT_METRICS_PORT}`;
  return validated(
    addr,
    typeof raw === 'string' && raw !== '' ? from : `${from} (metricsBindAddress not set: kube-proxy's default)`,
    ignored,
  );
}

/** The address from command-line flags alone (no --config): defaults, then the flags in order, then --metrics-port. */
export function metricsFromFlags(flags: ReadonlyArray<[string, string]>, from: string): KubeProxyMetricsAddress {
  let addr = `127.0.0.1:${DEFAULT_METRICS_PORT}`;
  let cleared = false;
  let set = false;
  for (const [name, value] of flags) {
    if (name !== 'metrics-bind-address') continue;
    if (cleared)
      return {
        invalid:
          '--metrics-bind-address is given again after an empty value: kube-proxy panics while parsing its flags (it would not start)',
        from,
        ignored: [],
      };
    if (value === '') {
      cleared = true;
      continue;
    }
    if (!parseIp(value)) {
      const hp = splitHostPort(value);
      if (!hp || !parseIp(hp.host) || !/^[0-9]+$/.test(hp.port) || Number(hp.port) > 65535) {
        return {
          invalid: `--metrics-bind-address=${value} is not an IP or IP:port: kube-proxy refuses the flag (it would not start)`,
          from,
          ignored: [],
        };
      }
    }
    addr = value;
    set = true;
  }
  const portFlag = lastOf(flags, 'metrics-port');
  let port = DEFAULT_METRICS_PORT;
  if (portFlag !== undefined) {
    const n = parseGoInt(portFlag, 32);
    if (n === undefined)
      return {
        invalid: `--metrics-port=${portFlag} is not an int32: kube-proxy refuses the flag (it would not start)`,
        from,
        ignored: [],
      };
    port = n;
  }
  if (port === 0)
    return {
      invalid:
        "--metrics-port=0 empties metricsBindAddress, which kube-proxy's validation refuses (it would not start)",
      from,
      ignored: [],
    };
  const what = set ? from : `${from} (--metrics-bind-address not given: kube-proxy's default)`;
  return validated(appendPortIfNeeded(addr, port), what);
}

/** The file path a document was read from, without a `live:` style prefix. */
function sourcePath(d: Document): string | undefined {
  const f = d.source?.file;
  if (f === undefined) return undefined;
  const m = /^[a-z][a-z0-9+-]*:(\/.*)$/.exec(f);
  return m ? m[1] : f;
}

/** One kube-proxy to judge: a running process (with the file it reads) or a configuration file alone. */
export interface KubeProxySubject {
  /** The document findings name: the process, or the configuration. */
  document: Document;
  metrics?: KubeProxyMetricsAddress;
  /** Why it cannot be evaluated. */
  notEvaluated?: string;
}

/**
 * Every kube-proxy of the input: each KubeProxyProcess (with the KubeProxyConfiguration its
 * --config names: same path, or the one configuration of the same input file), and each
 * KubeProxyConfiguration no process reads.
 */
export function kubeProxySubjects(documents: readonly Document[]): KubeProxySubject[] {
  const isKind = (d: Document, kind: string, group: string) =>
    d.object.kind === kind && String(d.object.apiVersion ?? '').startsWith(`${group}/`);
  const configs = documents.filter((d) => isKind(d, 'KubeProxyConfiguration', KUBE_PROXY_CONFIG_GROUP));
  const processes = documents.filter((d) => isKind(d, KUBE_PROXY_PROCESS_KIND, 'hcb.dev'));
  const read = new Set<Document>();
  const out: KubeProxySubject[] = [];
  for (const p of processes) {
    const command = (p.object as Dict).command;
    if (!Array.isArray(command) || command.some((w) => typeof w !== 'string')) {
      out.push({ document: p, notEvaluated: 'the KubeProxyProcess has no command line (command: a list of strings)' });
      continue;
    }
    const flags = parseKubeProxyCommandLine((command as string[]).slice(1));
    const config = lastOf(flags, 'config');
    const proc = `the running kube-proxy's command line (${p.source?.file ?? 'observed'})`;
    if (config === undefined || config === '') {
      out.push({ document: p, metrics: metricsFromFlags(flags, proc) });
      continue;
    }
    const byPath = configs.filter((c) => sourcePath(c) === config);
    const sameFile = configs.filter((c) => c.source?.file !== undefined && c.source.file === p.source?.file);
    const file =
      byPath.length === 1 ? byPath[0] : byPath.length === 0 && sameFile.length === 1 ? sameFile[0] : undefined;
    if (!file) {
      out.push({
        document: p,
        notEvaluated:
          byPath.length > 1
            ? `the running kube-proxy reads --config=${config}, and the input holds ${byPath.length} KubeProxyConfiguration documents from that path`
            : `the running kube-proxy reads --config=${config}, which is not in the input`,
      });
      continue;
    }
    read.add(file);
    const ignored = [...new Set(flags.filter(([n]) => IGNORED_WITH_CONFIG.includes(n)).map(([n, v]) => `--${n}=${v}`))];
    out.push({
      document: p,
      metrics: metricsFromConfig(
        file.object as Dict,
        `${config}, the file the running kube-proxy's --config names`,
        ignored,
      ),
    });
  }
  for (const c of configs) {
    if (read.has(c)) continue;
    out.push({
      document: c,
      metrics: isDict(c.object) ? metricsFromConfig(c.object as Dict, 'the KubeProxyConfiguration') : undefined,
      notEvaluated: isDict(c.object) ? undefined : 'the KubeProxyConfiguration is not a mapping',
    });
  }
  return out;
}

/**
 * `hcb verify` for the hosts target: the live catalogue over SSH on every host, then the API
 * probes through the API endpoint; one report for the cluster, each finding named by its host.
 *
 * What is observed on each host (the same observations as the local verify, stacks/local/verify.ts
 * and verify-node.ts, read over SSH instead of from this machine's /proc):
 * - the running processes of kube-apiserver, kube-controller-manager, kube-scheduler and etcd
 *   (control planes), kubelet and kube-proxy: their command lines from /proc/<pid>/cmdline;
 * - the files those command lines name, read through the process's own root (/proc/<pid>/root):
 *   the API server's audit, admission, authentication and encryption files (secret values
 *   redacted before anything is evaluated or printed), the kubelet's --config file and every file
 *   of its --config-dir, kube-proxy's --config file; owner and mode of kube-proxy's kubeconfig;
 * - owner, group and mode of every node file in the manifest of the host's role (the blueprint's
 *   node files on control planes, joinNodeFiles on workers), the kubelet's PKI directory, and the
 *   files under the etcd data directory;
 * - the backup configuration node file (control planes), as the local verify reads it;
 * - the node probes (probeHostNode): the kubelet and kube-proxy asked at the node address from the
 *   host itself, with curl over SSH.
 * Each host's documents are evaluated on their own (a host's kubelet pairs with its own
 * configuration file), and every finding's object.file names the host: `host:<name>:<source>`.
 *
 * Reads go through a HostReader: SshHostReader runs small bounded sh scripts over SSH (ssh.ts);
 * RecordedHostReader answers from a recording (unit tests). A host that cannot be reached, or a
 * read that fails, is reported (unreachable / missing), never taken as a pass.
 *
 * Not modelled: symbolic links inside /proc/<pid>/root with absolute targets are resolved by the
 * host's kernel against the host's root, not the process's (the kubeadm static pods mount the same
 * host paths, so the difference does not arise for the files the blueprint writes).
 */
import * as tls from 'tls';
import { parseAllDocuments } from 'yaml';
import { readLiveNamespaces } from '../local/live-namespaces';
import { evaluate } from '../../policies/engine';
import {
  isDropinName,
  KUBELET_CONFIG_DIRECTORY_KIND,
  KUBELET_PROCESS_API_VERSION,
  KUBELET_PROCESS_KIND,
  kubeletSubjects,
  parseComponentCommandLine,
  parseKubeletCommandLine,
} from '../../policies/flags';
import {
  KUBE_PROXY_CONFIG_GROUP,
  KUBE_PROXY_PROCESS_KIND,
  kubeProxySubjects,
  parseKubeProxyCommandLine,
} from '../../policies/flags/kube-proxy';
import type { ControlException, Document, Finding, KubeObject, NodeFile, Status } from '../../policies/model';
import { NODE_FILE_MANIFEST_API_VERSION, NODE_FILE_MANIFEST_KIND } from '../../policies/model';
import { request } from '../local/control-plane';
import {
  ConnectOutcome,
  kubeletProbePorts,
  NodeProbeResult,
  nodeProbeFindings,
  nodeProbesAll,
} from '../local/node-probes';
import { probeFinding } from '../local/probe-finding';
import { redactSecrets } from '../local/verify';
import type { HostRole } from './config';
import { shellQuote, SshConnection, SshHost, SshOptions } from './ssh';

// ---------------------------------------------------------------------------------------------
// reading a host

export interface HostProcess {
  pid: number;
  argv: string[];
  cwd: string;
}

export interface HostStat {
  owner: string;
  group: string;
  /** Octal with a leading 0, e.g. "0600". */
  mode: string;
  /** f file, d directory, l link, o other. */
  type: 'f' | 'd' | 'l' | 'o';
}

export type HostRead = { text: string } | { error: string };

/** What verify asks of one host. Paths are absolute on the host (a process's files: /proc/<pid>/root/...). */
export interface HostReader {
  /** The newest process of each name (matched on the executable's base name); absent names are not running. */
  processes(names: readonly string[]): Promise<Map<string, HostProcess>>;
  read(paths: readonly string[]): Promise<Map<string, HostRead>>;
  /** stat (following links) of each path; absent from the map when it does not exist. */
  stat(paths: readonly string[]): Promise<Map<string, HostStat>>;
  /** Every entry under a directory (not following links), relative to it, with its stat; undefined when the directory cannot be read. */
  tree(dir: string, limit: number): Promise<Array<{ rel: string } & HostStat> | undefined>;
  /** The node probes, run on the host itself (its network namespace); undefined: this reader cannot probe. */
  probe?(req: NodeProbeRequest): Promise<NodeProbeAnswer>;
}

/** What the node probes ask on a host: its kubelet (TLS, anonymous), read-only ports, kube-proxy's metrics port. */
export interface NodeProbeRequest {
  /** The node's address (where pods and other hosts reach it). */
  address: string;
  kubeletPort: number;
  /** The cluster CA on the host, the kubelet's serving certificate is verified against it. */
  caFile: string;
  readOnlyPorts: number[];
  proxyMetricsPort?: number;
}

export type { ConnectOutcome } from '../local/node-probes';
export { NODE_PROBES } from '../local/node-probes';

export type NodeProbeAnswer = { unavailable: string } | NodeProbeResult;

/** The largest file read (a configuration file is a few KiB). */
export const MAX_READ_BYTES = 1024 * 1024;

// Only processes in this shell's network namespace: the components are host-network processes, and a
// PID namespace shared with other machines' namespaces (a lab on one kernel) must not lend their processes.
const PROCESSES_SCRIPT = `myns=$(readlink /proc/$$/ns/net)
for p in /proc/[0-9]*; do
  [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$myns" ] || continue
  exe=$(readlink "$p/exe" 2>/dev/null) || continue
  base=\${exe##*/}; base=\${base% (deleted)}
  for want; do
    if [ "$base" = "$want" ]; then
      cwd=$(readlink "$p/cwd" 2>/dev/null || echo /)
      printf '%s %s %s\\n' "\${p#/proc/}" "$base" "$(base64 -w0 < "$p/cmdline")" && printf 'cwd %s\\n' "$(printf %s "$cwd" | base64 -w0)"
    fi
  done
done; true
`;

const READ_SCRIPT = `max=$1; shift
for f; do
  if [ ! -e "$f" ]; then printf 'missing %s\\n' "$(printf %s "$f" | base64 -w0)"; continue; fi
  size=$(stat -L -c %s -- "$f" 2>/dev/null || echo -1)
  if [ "$size" -gt "$max" ]; then printf 'large %s %s\\n' "$(printf %s "$f" | base64 -w0)" "$size"; continue; fi
  if data=$(base64 -w0 < "$f" 2>/dev/null); then printf 'ok %s %s\\n' "$(printf %s "$f" | base64 -w0)" "$data"; else printf 'unreadable %s\\n' "$(printf %s "$f" | base64 -w0)"; fi
done; true
`;

const STAT_SCRIPT = `for f; do [ -e "$f" ] && printf '%s %s\\n' "$(stat -L -c '%a %U %G %F' -- "$f" | tr ' ' '\\t')" "$(printf %s "$f" | base64 -w0)"; done; true
`;

const TREE_SCRIPT = `[ -d "$1" ] || { echo nodir; exit 0; }
find "$1" -mindepth 1 -printf '%m\\t%u\\t%g\\t%y\\t%P\\n' 2>/dev/null | head -n "$2"; true
`;

// The node probes with curl on the host: $1 address (URL form), $2 kubelet port, $3 CA file, $4 kube-proxy
// metrics port (or -), then the read-only ports. One line per answer: name, curl's exit code, HTTP code, and
// curl's connect and error lines (base64; -v names "Connection refused", its exit 7 alone does not).
const PROBE_SCRIPT = `a=$1 port=$2 ca=$3 mp=$4; shift 4
command -v curl >/dev/null 2>&1 || { echo nocurl; exit 0; }
ask() { # name, curl arguments
  n=$1; shift
  code=$(curl -v -sS -o /dev/null -w '%{http_code}' --max-time 10 "$@" 2>"$t") && rc=0 || rc=$?
  printf '%s %s %s %s\\n' "$n" "$rc" "\${code:-000}" "$(grep -E '^[*] (connect to|Connected to)|^curl: [(]' "$t" | head -c 300 | base64 -w0)"
}
t=$(mktemp)
ask verified --cacert "$ca" "https://$a:$port/pods"
ask unverified -k "https://$a:$port/pods"
for p; do ask "ro:$p" "http://$a:$p/"; done
[ "$mp" = - ] || ask metrics "http://$a:$mp/metrics"
rm -f "$t"; true
`;

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/**
 * A curl answer as a connection outcome: curl -v's "Connected to" (the TCP connection was accepted,
 * whatever came after: an HTTP answer, an empty reply, a reset) or an HTTP code is open; exit 7
 * with "refused" is refused; anything else is named.
 */
function connectOutcome(rc: number, code: string, err: string): ConnectOutcome {
  if (/^\* Connected to /m.test(err) || (code !== '000' && code !== '')) return 'open';
  if (rc === 7 && /refused/i.test(err)) return 'refused';
  return { other: `curl exit ${rc}${err.trim() ? `: ${err.trim()}` : ''}` };
}

/** PROBE_SCRIPT's lines → the answer. */
export function parseProbeOutput(out: string, req: NodeProbeRequest): NodeProbeAnswer {
  if (/^nocurl$/m.test(out)) return { unavailable: 'curl is not installed on the host' };
  const lines = new Map<string, { rc: number; code: string; err: string }>();
  for (const l of out.split('\n')) {
    const m = /^(\S+) (\d+) (\d+) (\S*)$/.exec(l);
    if (m) lines.set(m[1], { rc: Number(m[2]), code: m[3], err: b64(m[4]) });
  }
  const http = (x: { rc: number; code: string; err: string } | undefined) =>
    !x
      ? { error: 'no answer from the probe' }
      : x.rc === 0 && x.code !== '000'
        ? { status: Number(x.code) }
        : { error: `curl exit ${x.rc}${x.err.trim() ? `: ${x.err.trim()}` : ''}` };
  const verified = http(lines.get('verified'));
  const readOnly: Record<string, ConnectOutcome> = {};
  for (const p of req.readOnlyPorts) {
    const x = lines.get(`ro:${p}`);
    readOnly[String(p)] = x ? connectOutcome(x.rc, x.code, x.err) : { other: 'no answer from the probe' };
  }
  const metrics = lines.get('metrics');
  return {
    verified,
    ...('error' in verified ? { unverified: http(lines.get('unverified')) } : {}),
    readOnly,
    ...(req.proxyMetricsPort !== undefined
      ? {
          proxyMetrics: metrics
            ? connectOutcome(metrics.rc, metrics.code, metrics.err)
            : { other: 'no answer from the probe' },
        }
      : {}),
  };
}
const fileType = (t: string): HostStat['type'] =>
  /^regular/.test(t) || t === 'f'
    ? 'f'
    : /^directory/.test(t) || t === 'd'
      ? 'd'
      : t === 'l' || /link/.test(t)
        ? 'l'
        : 'o';
const mode = (m: string) => `0${parseInt(m, 8).toString(8)}`;

/** HostReader over one SSH connection: every call a bounded sh script. */
export class SshHostReader implements HostReader {
  constructor(
    private readonly conn: SshConnection,
    private readonly timeoutMs = 60_000,
  ) {}

  private async sh(script: string, args: string[], label: string): Promise<string> {
    const r = await this.conn.run(['sh', '-c', script, 'hcb', ...args], {
      timeoutMs: this.timeoutMs,
      label,
      maxOutputBytes: 64 * 1024 * 1024,
    });
    if (r.stdoutTruncated) throw new Error(`${label}: the output was cut at its bound`);
    return r.stdout;
  }

  async processes(names: readonly string[]): Promise<Map<string, HostProcess>> {
    const out = await this.sh(PROCESSES_SCRIPT, [...names], 'find the components');
    const found = new Map<string, HostProcess>();
    const lines = out.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const m = /^(\d+) (\S+) (\S*)$/.exec(lines[i]);
      if (!m) continue;
      const cwd = /^cwd (\S*)$/.exec(lines[i + 1] ?? '');
      const argv = b64(m[3]).split('\0').filter(Boolean);
      const pid = Number(m[1]);
      // The newest process of a name (a restarted component's old process may still be exiting).
      if (argv.length > 0 && (!found.has(m[2]) || found.get(m[2])!.pid < pid))
        found.set(m[2], { pid, argv, cwd: cwd ? b64(cwd[1]) || '/' : '/' });
    }
    return found;
  }

  async read(paths: readonly string[]): Promise<Map<string, HostRead>> {
    const out = new Map<string, HostRead>();
    if (paths.length === 0) return out;
    for (const line of (await this.sh(READ_SCRIPT, [String(MAX_READ_BYTES), ...paths], 'read files')).split('\n')) {
      const [k, p, v] = line.split(' ');
      if (!p) continue;
      const file = b64(p);
      if (k === 'ok') out.set(file, { text: b64(v ?? '') });
      else if (k === 'missing') out.set(file, { error: 'does not exist' });
      else if (k === 'large') out.set(file, { error: `is larger than ${MAX_READ_BYTES} bytes (${v}), not read` });
      else out.set(file, { error: 'cannot be read' });
    }
    for (const p of paths) if (!out.has(p)) out.set(p, { error: 'was not answered by the host' });
    return out;
  }

  async stat(paths: readonly string[]): Promise<Map<string, HostStat>> {
    const out = new Map<string, HostStat>();
    if (paths.length === 0) return out;
    for (const line of (await this.sh(STAT_SCRIPT, [...paths], 'stat node files')).split('\n')) {
      const m = /^([0-7]+)\t(\S+)\t(\S+)\t(.+) (\S+)$/.exec(line);
      if (m) out.set(b64(m[5]), { mode: mode(m[1]), owner: m[2], group: m[3], type: fileType(m[4]) });
    }
    return out;
  }

  async probe(req: NodeProbeRequest): Promise<NodeProbeAnswer> {
    const a = req.address.includes(':') ? `[${req.address}]` : req.address;
    const out = await this.sh(
      PROBE_SCRIPT,
      [
        a,
        String(req.kubeletPort),
        req.caFile,
        req.proxyMetricsPort === undefined ? '-' : String(req.proxyMetricsPort),
        ...req.readOnlyPorts.map(String),
      ],
      'node probes',
    );
    return parseProbeOutput(out, req);
  }

  async tree(dir: string, limit: number): Promise<Array<{ rel: string } & HostStat> | undefined> {
    const out = await this.sh(TREE_SCRIPT, [dir, String(limit)], `list ${dir}`);
    if (out.startsWith('nodir')) return undefined;
    return out
      .split('\n')
      .map((l) => /^([0-7]+)\t([^\t]+)\t([^\t]+)\t(\S)\t(.+)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ rel: m[5], mode: mode(m[1]), owner: m[2], group: m[3], type: fileType(m[4]) }));
  }
}

/** A recorded host (unit tests): processes, file contents, stats and directory trees as they were. */
export interface HostRecording {
  processes: Record<string, HostProcess>;
  files: Record<string, string>;
  stats: Record<string, HostStat>;
  trees?: Record<string, Array<{ rel: string } & HostStat>>;
  /** The node probes' answer; absent: the recording cannot probe (the probes are not evaluated). */
  probe?: NodeProbeAnswer;
}

export class RecordedHostReader implements HostReader {
  constructor(private readonly rec: HostRecording) {}
  async processes(names: readonly string[]): Promise<Map<string, HostProcess>> {
    return new Map(names.filter((n) => this.rec.processes[n]).map((n) => [n, this.rec.processes[n]]));
  }
  async read(paths: readonly string[]): Promise<Map<string, HostRead>> {
    return new Map(
      paths.map((p) => [p, p in this.rec.files ? { text: this.rec.files[p] } : { error: 'does not exist' }]),
    );
  }
  async stat(paths: readonly string[]): Promise<Map<string, HostStat>> {
    return new Map(paths.filter((p) => this.rec.stats[p]).map((p) => [p, this.rec.stats[p]]));
  }
  async tree(dir: string, limit: number): Promise<Array<{ rel: string } & HostStat> | undefined> {
    return this.rec.trees?.[dir]?.slice(0, limit);
  }
  async probe(): Promise<NodeProbeAnswer> {
    return this.rec.probe ?? { unavailable: 'the recording has no probe answers' };
  }
}

// ---------------------------------------------------------------------------------------------
// observations → documents

export const CONTROL_PLANE_COMPONENTS = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'etcd',
] as const;
const APISERVER_FILE_FLAGS = [
  'audit-policy-file',
  'admission-control-config-file',
  'authentication-config',
  'encryption-provider-config',
];

export interface HostObservation {
  host: string;
  documents: Document[];
  missing: string[];
}

type ObservedFile = {
  path: string;
  owner: string;
  group: string;
  mode: string;
  role: string;
  sensitive: boolean;
  createdBy: NodeFile['createdBy'];
};

const abs = (cwd: string, p: string) => (p.startsWith('/') ? p : `${cwd.replace(/\/+$/, '')}/${p}`);
const inRoot = (pid: number, p: string) => `/proc/${pid}/root${p}`;

function yamlDocs(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o === 'object');
}

/** Everything verify observes on one host, as documents the engine can check. */
export async function observeHost(o: {
  name: string;
  role: HostRole;
  reader: HostReader;
  nodeFiles: NodeFile[];
}): Promise<HostObservation> {
  const { reader, name, role } = o;
  const src = (s: string) => `live:${s}`;
  const documents: Document[] = [];
  const missing: string[] = [];
  const wanted =
    role === 'control-plane' ? [...CONTROL_PLANE_COMPONENTS, 'kubelet', 'kube-proxy'] : ['kubelet', 'kube-proxy'];
  const procs = await reader.processes(wanted);
  const files: ObservedFile[] = [];

  for (const comp of role === 'control-plane' ? CONTROL_PLANE_COMPONENTS : []) {
    const p = procs.get(comp);
    if (!p) {
      missing.push(`${comp} is not running`);
      continue;
    }
    const args = p.argv.slice(1);
    documents.push({
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `${comp}-${name}`,
          namespace: 'kube-system',
          labels: { component: comp, tier: 'control-plane' },
          annotations: { 'hcb.dev/observed-pid': String(p.pid) },
        },
        spec: { hostNetwork: true, containers: [{ name: comp, command: [comp, ...args] }] },
      },
      source: { file: src(`/proc/${p.pid}/cmdline`) },
    });
    if (comp !== 'kube-apiserver') continue;
    const flags = parseComponentCommandLine('kube-apiserver', args).flags;
    const named = APISERVER_FILE_FLAGS.map(
      (f) => [f, flags.filter(([n]) => n.replace(/_/g, '-') === f).pop()?.[1]] as const,
    ).filter((x): x is readonly [string, string] => !!x[1]);
    const reads = await reader.read(named.map(([, v]) => inRoot(p.pid, abs(p.cwd, v))));
    for (const [f, v] of named) {
      const r = reads.get(inRoot(p.pid, abs(p.cwd, v)));
      if (!r || 'error' in r) {
        missing.push(`${v} (named by --${f}) ${r && 'error' in r ? r.error : 'was not read'}`);
        continue;
      }
      for (const obj of yamlDocs(redactSecrets(r.text))) documents.push({ object: obj, source: { file: src(v) } });
    }
  }

  // The kubelet: command line, --config file, --config-dir listing, PKI files.
  const kubelet = procs.get('kubelet');
  if (!kubelet) missing.push('the kubelet is not running');
  else {
    const args = kubelet.argv.slice(1);
    documents.push({
      object: {
        apiVersion: KUBELET_PROCESS_API_VERSION,
        kind: KUBELET_PROCESS_KIND,
        metadata: { name, annotations: { 'hcb.dev/observed-pid': String(kubelet.pid), 'hcb.dev/node-role': role } },
        command: ['kubelet', ...args],
      },
      source: { file: src(`/proc/${kubelet.pid}/cmdline`) },
    });
    const flags = parseKubeletCommandLine(args);
    const last = (n: string) => [...flags].reverse().find(([f]) => f.replace(/_/g, '-') === n)?.[1];
    const config = last('config');
    if (config) {
      const file = inRoot(kubelet.pid, abs(kubelet.cwd, config));
      const r = (await reader.read([file])).get(file);
      if (!r || 'error' in r)
        missing.push(`${config} (the kubelet's --config) ${r && 'error' in r ? r.error : 'was not read'}`);
      // source: the path as the kubelet names it, so the KubeletProcess pairs with this file.
      else for (const obj of yamlDocs(r.text)) documents.push({ object: obj, source: { file: src(config) } });
    }
    const configDir = last('config-dir');
    if (configDir) {
      const dir = inRoot(kubelet.pid, abs(kubelet.cwd, configDir));
      const tree = await reader.tree(dir, 1000);
      if (!tree) missing.push(`${configDir} (the kubelet's --config-dir) does not exist or cannot be read`);
      else {
        const entries = tree.filter((e) => e.type !== 'd');
        const reads = await reader.read(
          entries.filter((e) => isDropinName(e.rel) && e.type !== 'l').map((e) => `${dir}/${e.rel}`),
        );
        const listing = entries.map((e) => {
          if (!isDropinName(e.rel)) return { name: e.rel };
          // A link is followed by the kubelet; over SSH its target is not resolved inside the kubelet's root.
          if (e.type === 'l')
            return { name: e.rel, unreadable: 'a symbolic link; its target is not read over SSH (not modelled)' };
          const r = reads.get(`${dir}/${e.rel}`);
          if (!r || 'error' in r) return { name: e.rel, unreadable: r && 'error' in r ? r.error : 'not read' };
          if (r.text.length === 0) return { name: e.rel, invalid: 'the file is empty' };
          const docs = parseAllDocuments(r.text);
          const parsed = Array.isArray(docs) ? docs : [docs];
          if (parsed.length !== 1 || parsed[0].errors.length > 0)
            return {
              name: e.rel,
              unreadable:
                parsed.length !== 1
                  ? `${parsed.length} YAML documents`
                  : `YAML: ${parsed[0].errors[0].message.split('\n')[0]}`,
            };
          return { name: e.rel, config: parsed[0].toJS() as unknown };
        });
        documents.push({
          object: {
            apiVersion: KUBELET_PROCESS_API_VERSION,
            kind: KUBELET_CONFIG_DIRECTORY_KIND,
            metadata: { name },
            path: configDir,
            files: listing,
          },
          source: { file: src(configDir) },
        });
      }
    }
    const pki = await reader.tree('/var/lib/kubelet/pki', 200);
    if (!pki) missing.push('/var/lib/kubelet/pki cannot be read');
    for (const e of pki ?? []) {
      if (e.type !== 'f' || e.rel.includes('/')) continue;
      const key = /\.(pem|key)$/.test(e.rel);
      files.push({
        path: `/var/lib/kubelet/pki/${e.rel}`,
        owner: e.owner,
        group: e.group,
        mode: e.mode,
        role: key ? 'pki-key' : 'pki-cert',
        sensitive: key,
        createdBy: 'kubelet',
      });
    }
  }

  // kube-proxy: command line, --config file, the kubeconfig it uses.
  const proxy = procs.get('kube-proxy');
  if (!proxy) missing.push('kube-proxy is not running');
  else {
    const args = proxy.argv.slice(1);
    documents.push({
      object: {
        apiVersion: KUBELET_PROCESS_API_VERSION,
        kind: KUBE_PROXY_PROCESS_KIND,
        metadata: { name, annotations: { 'hcb.dev/observed-pid': String(proxy.pid) } },
        command: ['kube-proxy', ...args],
      },
      source: { file: src(`/proc/${proxy.pid}/cmdline`) },
    });
    const flags = parseKubeProxyCommandLine(args);
    const last = (n: string) => [...flags].reverse().find(([f]) => f === n)?.[1];
    const config = last('config');
    // With --config the file replaces the whole configuration, --kubeconfig included.
    let kubeconfig = config ? undefined : last('kubeconfig');
    if (config) {
      const file = inRoot(proxy.pid, abs(proxy.cwd, config));
      const [r, st] = [(await reader.read([file])).get(file), (await reader.stat([file])).get(file)];
      if (!r || 'error' in r)
        missing.push(`${config} (kube-proxy's --config) ${r && 'error' in r ? r.error : 'was not read'}`);
      else {
        if (st)
          files.push({
            path: abs(proxy.cwd, config),
            owner: st.owner,
            group: st.group,
            mode: st.mode,
            role: 'kube-proxy-config',
            sensitive: false,
            createdBy: 'kubeadm',
          });
        for (const obj of yamlDocs(r.text)) {
          documents.push({ object: obj, source: { file: src(config) } });
          if (
            obj.kind === 'KubeProxyConfiguration' &&
            String(obj.apiVersion ?? '').startsWith(`${KUBE_PROXY_CONFIG_GROUP}/`)
          ) {
            const k = (obj as { clientConnection?: { kubeconfig?: unknown } }).clientConnection?.kubeconfig;
            if (typeof k === 'string') kubeconfig = k;
          }
        }
      }
    }
    if (kubeconfig) {
      const file = inRoot(proxy.pid, abs(proxy.cwd, kubeconfig));
      const st = (await reader.stat([file])).get(file);
      if (st)
        files.push({
          path: abs(proxy.cwd, kubeconfig),
          owner: st.owner,
          group: st.group,
          mode: st.mode,
          role: 'kube-proxy-kubeconfig',
          sensitive: true,
          createdBy: 'kubeadm',
        });
      else missing.push(`${kubeconfig} (kube-proxy's kubeconfig) does not exist`);
    }
  }

  // The backup configuration as it is on the host (BSI APP.4.4.A5; as the local verify reads it). The
  // backups themselves are not on the host (hcb backup --host writes them where it runs): no BackupStatus,
  // so HCB-BACKUP-RECENT stays not-evaluated.
  const backupConfigs = o.nodeFiles.filter((f) => f.role === 'backup-config');
  const backupReads = await reader.read(backupConfigs.map((f) => f.path));
  for (const f of backupConfigs) {
    const r = backupReads.get(f.path);
    if (!r || 'error' in r) {
      missing.push(`${f.path} (the backup configuration) ${r && 'error' in r ? r.error : 'was not read'}`);
      continue;
    }
    for (const obj of yamlDocs(r.text)) documents.push({ object: obj, source: { file: src(f.path) } });
  }

  // Owner and mode of the node files of this host's role, as they are on disk.
  const stats = await reader.stat(o.nodeFiles.map((f) => f.path));
  for (const f of o.nodeFiles) {
    const st = stats.get(f.path);
    if (!st || files.some((x) => x.path === f.path)) continue;
    files.push({
      path: f.path,
      owner: st.owner,
      group: st.group,
      mode: st.mode,
      role: f.role,
      sensitive: f.sensitive,
      createdBy: f.createdBy,
    });
  }
  for (const f of o.nodeFiles.filter((x) => x.role === 'etcd-data')) {
    for (const e of (await reader.tree(f.path, 5000)) ?? []) {
      if (e.type === 'l') continue;
      files.push({
        path: `${f.path.replace(/\/+$/, '')}/${e.rel}`,
        owner: e.owner,
        group: e.group,
        mode: e.mode,
        role: e.type === 'd' ? 'etcd-data-dir' : 'etcd-data-file',
        sensitive: f.sensitive,
        createdBy: f.createdBy,
      });
    }
  }
  documents.push({
    object: { apiVersion: NODE_FILE_MANIFEST_API_VERSION, kind: NODE_FILE_MANIFEST_KIND, metadata: { name }, files },
    source: { file: src('stat') },
  });
  return { host: name, documents, missing };
}

/** A finding of one host: its object.file names the host (`host:<name>:<source>`). */
function onHost(host: string, f: Finding): Finding {
  const file = f.object?.file ?? 'live';
  return { ...f, object: { ...(f.object ?? {}), file: `host:${host}:${file.replace(/^live:/, '')}` } };
}

// ---------------------------------------------------------------------------------------------
// the cluster

export interface VerifyHost {
  name: string;
  role: HostRole;
  /** The node's address, where the node probes ask its kubelet and kube-proxy; absent: the probes are not evaluated. */
  address?: string;
  /** Opens a reader for the host (SSH); its close is called when the host is done. */
  open(): Promise<{ reader: HostReader; close(): Promise<void> }>;
  nodeFiles: NodeFile[];
}

export interface ApiAccess {
  /** https://host:port the API server is reached at from here. */
  server: string;
  /** The name the API server's certificate is checked against (the host's address). */
  servername?: string;
  ca: string;
  cert: string;
  key: string;
}

export interface VerifyHostsOptions {
  hosts: VerifyHost[];
  /** The admin credentials and endpoint (from admin.conf); undefined: the API probes are not evaluated. */
  api?: () => Promise<ApiAccess>;
  namespaces: string[];
  exceptions?: readonly ControlException[];
  now?: Date;
  /** Bound of one host's whole observation (default 5 min). */
  hostTimeoutMs?: number;
}

export interface VerifyHostsResult {
  findings: Finding[];
  /** Expected and not observed, per host ("-" for the cluster). */
  missing: Array<{ host: string; message: string }>;
  /** Hosts that could not be observed at all, with the reason. */
  unreachable: Array<{ host: string; message: string }>;
}

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>(
      (_, reject) =>
        (timer = setTimeout(() => reject(new Error(`${what} took longer than ${Math.round(ms / 1000)} s`)), ms)),
    ),
  ]).finally(() => clearTimeout(timer));
}

/** The catalogue over every host, plus the API probes; hosts are observed one after another. */
export async function verifyHosts(o: VerifyHostsOptions): Promise<VerifyHostsResult> {
  const out: VerifyHostsResult = { findings: [], missing: [], unreachable: [] };
  for (const h of o.hosts) {
    let session: { reader: HostReader; close(): Promise<void> } | undefined;
    try {
      const obs = await bounded(
        (async () => {
          session = await h.open();
          const observed = await observeHost({
            name: h.name,
            role: h.role,
            reader: session.reader,
            nodeFiles: h.nodeFiles,
          });
          return { ...observed, probes: await probeHostNode(session.reader, h.address, observed.documents) };
        })(),
        o.hostTimeoutMs ?? 300_000,
        `observing ${h.name}`,
      );
      for (const f of evaluate(obs.documents, { exceptions: o.exceptions, now: o.now, includeManual: false }))
        out.findings.push(onHost(h.name, f));
      for (const f of obs.probes) out.findings.push(onHost(h.name, f));
      for (const m of obs.missing) out.missing.push({ host: h.name, message: m });
    } catch (e) {
      out.unreachable.push({ host: h.name, message: (e as Error).message });
    } finally {
      await (session as { close(): Promise<void> } | undefined)?.close().catch(() => undefined);
    }
  }
  let api: ApiAccess | undefined;
  try {
    api = o.api ? await bounded(o.api(), 120_000, 'reading admin.conf') : undefined;
  } catch (e) {
    out.missing.push({ host: '-', message: `the admin kubeconfig: ${(e as Error).message}` });
  }
  for (const f of await probeApi(api)) out.findings.push(f);
  if (api) {
    const { documents, missing } = await readNamespaces(api, o.namespaces);
    // Nothing read back (no namespace to verify, or none readable: those are in missing): no second
    // set of findings that would only repeat "not evaluated" for every control.
    if (documents.length > 0)
      for (const f of evaluate(documents, { exceptions: o.exceptions, now: o.now, includeManual: false }))
        out.findings.push(f);
    for (const m of missing) out.missing.push({ host: '-', message: m });
  }
  return out;
}

/**
 * The kubelet and kube-proxy of one host asked from the host's own network namespace, at the node
 * address, the way a pod or another host would: anonymously (401 expected), with the cluster CA
 * (the serving certificate must verify for the address), on the read-only ports and on kube-proxy's
 * metrics port (both refused). The ports are the ones the host's documents say the components use.
 */
export async function probeHostNode(
  reader: HostReader,
  address: string | undefined,
  documents: readonly Document[],
): Promise<Finding[]> {
  const isKind = (d: Document, kind: string, group: string) =>
    d.object.kind === kind && String(d.object.apiVersion ?? '').startsWith(`${group}/`);
  const kubelet = kubeletSubjects(documents, isKind).find((x) => x.flagsFrom?.object.kind === KUBELET_PROCESS_KIND);
  const proxy = kubeProxySubjects(documents).find((x) => x.document.object.kind === KUBE_PROXY_PROCESS_KIND);
  const notEvaluated = (why: string) => nodeProbesAll('not-evaluated', `Not evaluated: ${why}.`);
  if (!reader.probe) return notEvaluated('this host reader cannot run probes');
  if (!address) return notEvaluated('the host has no address to probe');
  if (!kubelet || kubelet.problem)
    return notEvaluated(
      `the kubelet's effective configuration was not observed${kubelet?.problem ? ` (${kubelet.problem.message})` : ''}`,
    );
  const { port, readOnlyPorts } = kubeletProbePorts(kubelet.config);
  const proxyMetricsPort = proxy?.metrics?.address ? Number(/:(\d+)$/.exec(proxy.metrics.address)?.[1]) : undefined;
  let r: NodeProbeAnswer;
  try {
    r = await reader.probe({
      address,
      kubeletPort: port,
      caFile: '/etc/kubernetes/pki/ca.crt',
      readOnlyPorts,
      proxyMetricsPort,
    });
  } catch (e) {
    return nodeProbesAll('error', `The probe on the host failed: ${(e as Error).message}`);
  }
  if ('unavailable' in r) return notEvaluated(r.unavailable);
  return nodeProbeFindings(r, {
    host: address.includes(':') ? `[${address}]` : address,
    port,
    proxyMetricsPort,
    proxyMetricsUnknown: proxy
      ? `kube-proxy's metrics address cannot be read (${proxy.notEvaluated ?? proxy.metrics?.invalid ?? proxy.metrics?.unreadable ?? 'unknown'})`
      : 'kube-proxy is not running on the host',
    reachedBy: 'pods and other hosts',
  });
}

const API_PROBES: ReadonlyArray<readonly [string, string]> = [
  ['HCB-APISERVER-ANONYMOUS-AUTH', 'anonymous-request'],
  ['HCB-APISERVER-TLS-MIN-VERSION', 'tls-1.1-handshake'],
  ['HCB-APISERVER-TLS-CIPHER-SUITES', 'weak-cipher-handshake'],
  ['HCB-APISERVER-PROFILING', 'pprof-endpoint'],
];

/** The API server asked the way an attacker would: anonymously, with TLS 1.1, with a weak cipher; pprof as admin. */
export async function probeApi(api: ApiAccess | undefined): Promise<Finding[]> {
  const out: Finding[] = [];
  const add = (control: string, name: string, status: Status, message: string) =>
    out.push(probeFinding(control, name, status, message));
  if (!api) {
    for (const [c, n] of API_PROBES)
      add(c, n, 'not-evaluated', 'Not evaluated: the admin kubeconfig (endpoint and CA) could not be read.');
    return out;
  }
  const u = new URL(api.server);
  const servername = api.servername ?? u.hostname;
  const base = { ca: api.ca, servername };
  const anon = await request(`${api.server}/api/v1/namespaces`, base).catch((e: Error) => ({
    status: -1,
    body: e.message,
  }));
  add(
    'HCB-APISERVER-ANONYMOUS-AUTH',
    'anonymous-request',
    anon.status === 401 ? 'pass' : anon.status === -1 ? 'error' : 'fail',
    `An anonymous GET ${api.server}/api/v1/namespaces got ${anon.status === -1 ? anon.body : `HTTP ${anon.status}`} (401 expected).`,
  );
  const handshake = (opts: tls.ConnectionOptions) =>
    new Promise<string>((resolve, reject) => {
      const s = tls.connect(
        {
          host: u.hostname,
          port: Number(u.port || 443),
          ca: api.ca,
          servername: net(servername) ? undefined : servername,
          checkServerIdentity: () => undefined,
          timeout: 10_000,
          ...opts,
        },
        () => {
          resolve(s.getProtocol() ?? '');
          s.end();
        },
      );
      s.on('timeout', () => s.destroy(new Error('timeout')));
      s.on('error', reject);
    });
  const tls11 = await handshake({ minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }).then(
    (v) => `accepted (${v})`,
    (e: Error) => `refused (${e.message})`,
  );
  add(
    'HCB-APISERVER-TLS-MIN-VERSION',
    'tls-1.1-handshake',
    tls11.startsWith('accepted') ? 'fail' : / timeout|ECONNREFUSED|EHOSTUNREACH/.test(tls11) ? 'error' : 'pass',
    `A TLS 1.1 handshake with ${u.host} was ${tls11}.`,
  );
  const weak = await handshake({ maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' }).then(
    () => 'accepted',
    (e: Error) => `refused (${e.message})`,
  );
  add(
    'HCB-APISERVER-TLS-CIPHER-SUITES',
    'weak-cipher-handshake',
    weak === 'accepted' ? 'fail' : / timeout|ECONNREFUSED|EHOSTUNREACH/.test(weak) ? 'error' : 'pass',
    `A TLS 1.2 handshake with ${u.host} offering only TLS_RSA_WITH_AES_128_CBC_SHA was ${weak}.`,
  );
  const pprof = await request(`${api.server}/debug/pprof/`, { ...base, cert: api.cert, key: api.key }).catch(
    (e: Error) => ({ status: -1, body: e.message }),
  );
  add(
    'HCB-APISERVER-PROFILING',
    'pprof-endpoint',
    pprof.status === 404 ? 'pass' : pprof.status === -1 ? 'error' : 'fail',
    `GET /debug/pprof/ as cluster admin got ${pprof.status === -1 ? pprof.body : `HTTP ${pprof.status}`} (404 expected).`,
  );
  return out;
}

const net = (h: string) => /^[0-9.]+$/.test(h) || h.includes(':');

/** The blueprint's namespaces and what is in them, read back through the API as admin. */
async function readNamespaces(
  api: ApiAccess,
  namespaces: string[],
): Promise<{ documents: Document[]; missing: string[] }> {
  const opts = { ca: api.ca, cert: api.cert, key: api.key, servername: api.servername };
  const get = async (p: string) => {
    const r = await request(`${api.server}${p}`, opts);
    return r.status === 200 ? (JSON.parse(r.body) as { items?: KubeObject[] } & KubeObject) : undefined;
  };
  return readLiveNamespaces(get, namespaces, 'live:api');
}

/** The admin endpoint and credentials from admin.conf's text (embedded data only, as kubeadm writes it). */
export function apiAccessFromKubeconfig(text: string, dial?: { host: string; port: number }): ApiAccess {
  const field = (k: string) => {
    const m = new RegExp(`^\\s*${k}:\\s*(\\S+)\\s*$`, 'm').exec(text);
    if (!m) throw new Error(`admin.conf has no ${k}`);
    return m[1];
  };
  const server = field('server');
  const u = new URL(server);
  const host = dial ? (dial.host.includes(':') ? `[${dial.host}]` : dial.host) : undefined;
  return {
    server: dial ? `https://${host}:${dial.port}` : server,
    servername: dial ? u.hostname.replace(/^\[|\]$/g, '') : undefined,
    ca: Buffer.from(field('certificate-authority-data'), 'base64').toString('utf8'),
    cert: Buffer.from(field('client-certificate-data'), 'base64').toString('utf8'),
    key: Buffer.from(field('client-key-data'), 'base64').toString('utf8'),
  };
}

/** A VerifyHost over SSH (each command bounded by `commandTimeoutMs`). */
export function sshVerifyHost(
  host: SshHost & { role: HostRole },
  ssh: SshOptions,
  nodeFiles: NodeFile[],
  commandTimeoutMs = 60_000,
): VerifyHost {
  return {
    name: host.name,
    role: host.role,
    address: host.address,
    nodeFiles,
    async open() {
      const conn = await SshConnection.connect(host, ssh);
      return { reader: new SshHostReader(conn, commandTimeoutMs), close: () => conn.close() };
    },
  };
}

/** admin.conf of a control-plane host, read over SSH (a secret: never printed). */
export async function readAdminConf(host: SshHost, ssh: SshOptions): Promise<string> {
  const conn = await SshConnection.connect(host, ssh);
  try {
    const r = await conn.run(['sh', '-c', `cat ${shellQuote('/etc/kubernetes/admin.conf')}`], {
      timeoutMs: 30_000,
      label: 'read admin.conf',
    });
    return r.stdout;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

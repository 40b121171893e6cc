/**
 * `hcb verify` on the local node (stacks/local/node): what the running kubelet really uses, and
 * how its API answers.
 *
 * Observed, not rendered:
 * - the kubelet's command line, from /proc/<pid>/cmdline of the running process, as a
 *   KubeletProcess document (policies/flags/kubelet.ts: its flags override the file it reads,
 *   as in the kubelet);
 * - the KubeletConfiguration from the file its --config names, read through the kubelet's own
 *   view of the file system (/proc/<pid>/root: its mount namespace, its bind mounts), i.e. what
 *   the kubelet reads when it starts;
 * - the directory its --config-dir names, read the same way, as a KubeletConfigDirectory listing
 *   (every file, as the kubelet walks it; the content of its .conf files), which the catalogue
 *   merges over the file as the kubelet does (policies/flags/kubelet-dropins.ts);
 * - owner, group and mode of the node's kubelet files (kubelet.conf, config.yaml, kubeadm's
 *   flags file, every file in /var/lib/kubelet/pki), symlinks resolved inside the node the way
 *   the kubelet resolves them;
 * - kube-proxy the same way: its command line as a KubeProxyProcess document, the
 *   KubeProxyConfiguration its --config names (read through /proc/<pid>/root), and owner, group
 *   and mode of that file and of the kubeconfig kube-proxy really uses (clientConnection.kubeconfig
 *   of the file; --kubeconfig only without --config, which replaces every configuration flag).
 *   policies/flags/kube-proxy.ts reads them as kube-proxy does.
 * Probed from inside the node's network namespace:
 * - an anonymous request to the kubelet port (401 expected), verifying the serving certificate
 *   against the cluster CA for the node address; a connection to the read-only port (refused
 *   expected); a connection to kube-proxy's metrics port on the node address (refused expected:
 *   served on loopback only).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import {
  isDropinName,
  KUBELET_CONFIG_DIRECTORY_KIND,
  KUBELET_PROCESS_API_VERSION,
  KUBELET_PROCESS_KIND,
  kubeletSubjects,
  parseKubeletCommandLine,
  walkOrder,
} from '../../policies/flags';
import {
  KUBE_PROXY_CONFIG_GROUP,
  KUBE_PROXY_PROCESS_KIND,
  kubeProxySubjects,
  parseKubeProxyCommandLine,
} from '../../policies/flags/kube-proxy';
import type { Document, Finding, KubeObject, NodeFile } from '../../policies/model';
import { LOCAL_NODE_NETWORK } from './node/network';
import { ConnectOutcome, kubeletProbePorts, nodeProbeFindings, nodeProbesAll } from './node-probes';

const SOURCE = 'live';

export interface ObservedNodeFile {
  path: string;
  owner: string;
  group: string;
  mode: string;
  role: string;
  sensitive: boolean;
  createdBy: NodeFile['createdBy'];
}

export interface NodeObservation {
  /** The KubeletProcess and the KubeletConfiguration it reads. */
  documents: Document[];
  /** Node files as the kubelet sees them (they replace host-side stats of the same paths). */
  files: ObservedNodeFile[];
  missing: string[];
  /** True when a node runs (or should): the probes apply. */
  present: boolean;
}

interface KubeletRecord {
  pid: number;
  exe: string;
}

/** The running kubelet of a local cluster, if any (pid and exe checked against the record). */
export function runningKubelet(stateDir: string): KubeletRecord | undefined {
  return runningNodeProcess(stateDir, 'kubelet');
}

/** A running process of the node recorded as `<stateDir>/node/run/<name>.json` (pid and exe checked against the record). */
export function runningNodeProcess(stateDir: string, name: 'kubelet' | 'kube-proxy'): KubeletRecord | undefined {
  try {
    const rec = JSON.parse(
      fs.readFileSync(path.join(stateDir, 'node', 'run', `${name}.json`), 'utf8'),
    ) as KubeletRecord;
    const stat = fs.readFileSync(`/proc/${rec.pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return undefined;
    if (fs.readlinkSync(`/proc/${rec.pid}/exe`).replace(/ \(deleted\)$/, '') !== rec.exe) return undefined;
    return rec;
  } catch {
    return undefined;
  }
}

/** Whether this cluster has (or had) a node: its state directory holds the node's records. */
export function nodeExpected(stateDir: string): boolean {
  return fs.existsSync(path.join(stateDir, 'node', 'run'));
}

/**
 * A path inside a root directory with symlinks resolved inside that root (an absolute link
 * target means the root's /, as for a process whose root it is). Undefined when it does not exist.
 */
export function resolveInRoot(root: string, p: string, hops = 0): string | undefined {
  if (hops > 16) return undefined;
  const parts = p.split('/').filter(Boolean);
  let cur = '/';
  for (let i = 0; i < parts.length; i++) {
    const next = path.posix.join(cur, parts[i]);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(path.join(root, next));
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      const target = fs.readlinkSync(path.join(root, next));
      const joined = target.startsWith('/') ? target : path.posix.join(cur, target);
      return resolveInRoot(root, path.posix.join(joined, ...parts.slice(i + 1)), hops + 1);
    }
    cur = next;
  }
  return path.join(root, cur);
}

/** What the node's kubelet and kube-proxy run with and the files they use. */
export function observeNode(opts: {
  stateDir: string;
  rootfs: string;
  nodeFiles: NodeFile[];
  expectNode?: boolean;
}): NodeObservation {
  const out = observeKubelet(opts);
  const proxy = observeKubeProxy(opts.stateDir, out.present);
  for (const d of proxy.documents) out.documents.push(d);
  for (const f of proxy.files) out.files.push(f);
  for (const m of proxy.missing) out.missing.push(m);
  return out;
}

/** The hostname a process of the node sees (its UTS name is the node name; /etc/hostname in its root). */
function nodeHostname(root: string, fallback: string): string {
  try {
    return fs.readFileSync(path.join(root, 'etc/hostname'), 'utf8').trim() || fallback;
  } catch {
    return fallback;
  }
}

/**
 * The running kube-proxy: its command line (KubeProxyProcess), the KubeProxyConfiguration file its
 * --config names and the files it uses, read in its own mount namespace (/proc/<pid>/root).
 */
export function observeKubeProxy(
  stateDir: string,
  expected: boolean,
): Pick<NodeObservation, 'documents' | 'files' | 'missing'> {
  const out: Pick<NodeObservation, 'documents' | 'files' | 'missing'> = { documents: [], files: [], missing: [] };
  const rec = runningNodeProcess(stateDir, 'kube-proxy');
  if (!rec) {
    if (expected) out.missing.push('kube-proxy of the local node is not running');
    return out;
  }
  let argv: string[];
  try {
    argv = fs.readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    out.missing.push(`kube-proxy (pid ${rec.pid}) exited while it was read`);
    return out;
  }
  const root = `/proc/${rec.pid}/root`;
  const hostname = nodeHostname(root, 'kube-proxy');
  out.documents.push({
    object: {
      apiVersion: KUBELET_PROCESS_API_VERSION,
      kind: KUBE_PROXY_PROCESS_KIND,
      metadata: { name: hostname, annotations: { 'hcb.dev/observed-pid': String(rec.pid) } },
      command: ['kube-proxy', ...argv.slice(1)],
    },
    source: { file: `${SOURCE}:/proc/${rec.pid}/cmdline` },
  });
  const flags = parseKubeProxyCommandLine(argv.slice(1));
  const last = (name: string) => [...flags].reverse().find(([n]) => n === name)?.[1];
  let cwd = '/';
  try {
    cwd = fs.readlinkSync(`/proc/${rec.pid}/cwd`);
  } catch {
    /* kube-proxy runs in / */
  }
  const inNode = (p: string) => (p.startsWith('/') ? p : path.posix.join(cwd, p));
  const config = last('config');
  // With --config the file replaces the whole configuration, --kubeconfig included (cmd/kube-proxy/app/options.go Complete).
  let kubeconfig = config ? undefined : last('kubeconfig');
  if (config) {
    const file = resolveInRoot(root, inNode(config));
    if (!file) out.missing.push(`${config} (kube-proxy's --config) cannot be read`);
    else {
      const st = fs.statSync(file);
      out.files.push({
        path: inNode(config),
        ...ownerMode(st),
        role: 'kube-proxy-config',
        sensitive: false,
        createdBy: 'kubeadm',
      });
      for (const d of parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
        const o = d.toJS() as KubeObject | null;
        if (!o || typeof o !== 'object') continue;
        // source: the path as kube-proxy names it, so the KubeProxyProcess pairs with this file.
        out.documents.push({ object: o, source: { file: `${SOURCE}:${config}` } });
        if (
          o.kind === 'KubeProxyConfiguration' &&
          String(o.apiVersion ?? '').startsWith(`${KUBE_PROXY_CONFIG_GROUP}/`)
        ) {
          const k = (o as { clientConnection?: { kubeconfig?: unknown } }).clientConnection?.kubeconfig;
          if (typeof k === 'string') kubeconfig = k;
        }
      }
    }
  }
  if (kubeconfig) {
    const st = statInRoot(root, inNode(kubeconfig));
    // It carries kube-proxy's credentials (a client key or token), so it counts as sensitive.
    if (st)
      out.files.push({
        path: inNode(kubeconfig),
        ...ownerMode(st),
        role: 'kube-proxy-kubeconfig',
        sensitive: true,
        createdBy: 'kubeadm',
      });
    else out.missing.push(`${kubeconfig} (kube-proxy's kubeconfig) does not exist in the node`);
  }
  return out;
}

/** What the node's kubelet runs with and the files it uses. */
function observeKubelet(opts: {
  stateDir: string;
  rootfs: string;
  nodeFiles: NodeFile[];
  expectNode?: boolean;
}): NodeObservation {
  const expect = opts.expectNode ?? nodeExpected(opts.stateDir);
  const out: NodeObservation = { documents: [], files: [], missing: [], present: expect };
  const rec = runningKubelet(opts.stateDir);
  if (!rec) {
    if (expect) out.missing.push('the kubelet of the local node is not running');
    return out;
  }
  out.present = true;
  let argv: string[];
  try {
    argv = fs.readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    out.missing.push(`the kubelet (pid ${rec.pid}) exited while it was read`);
    return out;
  }
  // The kubelet's view of the file system: its root in its own mount namespace.
  const root = `/proc/${rec.pid}/root`;
  let hostname = 'kubelet';
  try {
    hostname = fs.readFileSync(path.join(root, 'etc/hostname'), 'utf8').trim() || hostname;
  } catch {
    /* keep the generic name */
  }
  const processDoc: KubeObject = {
    apiVersion: KUBELET_PROCESS_API_VERSION,
    kind: KUBELET_PROCESS_KIND,
    // The local node's kubelet is set up by `kubeadm init phase kubelet-start`: the kubeadm init
    // node, a control-plane node (HCB-KUBELET-STATIC-POD-PATH reads the role; policies/checks/node-role.ts).
    metadata: {
      name: hostname,
      annotations: { 'hcb.dev/observed-pid': String(rec.pid), 'hcb.dev/node-role': 'control-plane' },
    },
    command: ['kubelet', ...argv.slice(1)],
  };
  out.documents.push({ object: processDoc, source: { file: `${SOURCE}:/proc/${rec.pid}/cmdline` } });

  const flags = parseKubeletCommandLine(argv.slice(1));
  const last = (name: string) => [...flags].reverse().find(([n]) => n.replace(/_/g, '-') === name)?.[1];
  let cwd = '/';
  try {
    cwd = fs.readlinkSync(`/proc/${rec.pid}/cwd`);
  } catch {
    /* the kubelet runs in / */
  }
  const config = last('config');
  if (config) {
    const inNode = config.startsWith('/') ? config : path.posix.join(cwd, config);
    const file = resolveInRoot(root, inNode);
    if (!file) out.missing.push(`${config} (the kubelet's --config) cannot be read`);
    else {
      for (const d of parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
        const o = d.toJS() as KubeObject | null;
        // source: the path as the kubelet names it, so the KubeletProcess pairs with this file.
        if (o && typeof o === 'object') out.documents.push({ object: o, source: { file: `${SOURCE}:${config}` } });
      }
    }
  }
  const configDir = last('config-dir');
  if (configDir) {
    const listing = readDropinDirectory(root, configDir.startsWith('/') ? configDir : path.posix.join(cwd, configDir));
    if ('missing' in listing) out.missing.push(`${configDir} (the kubelet's --config-dir) ${listing.missing}`);
    else {
      out.documents.push({
        object: {
          apiVersion: KUBELET_PROCESS_API_VERSION,
          kind: KUBELET_CONFIG_DIRECTORY_KIND,
          metadata: { name: hostname },
          path: configDir,
          files: listing.files,
        },
        source: { file: `${SOURCE}:${configDir}` },
      });
    }
  }

  // Files the kubelet uses, as the kubelet sees them: the manifest's kubelet entries and the PKI directory.
  // (Only the kubelet's own: other files the manifest marks as created at run time, such as the
  // audit log directory, belong to the control plane on the host.)
  const wanted = opts.nodeFiles.filter((f) => f.role.startsWith('kubelet-') || f.path.startsWith('/var/lib/kubelet/'));
  for (const f of wanted) {
    const st = statInRoot(root, f.path);
    if (!st) {
      if (f.createdBy !== 'blueprint' && f.path.startsWith('/var/lib/kubelet/pki/'))
        out.missing.push(`${f.path} (the kubelet's certificate) does not exist in the node`);
      continue;
    }
    out.files.push({ path: f.path, ...ownerMode(st), role: f.role, sensitive: f.sensitive, createdBy: f.createdBy });
  }
  const pki = '/var/lib/kubelet/pki';
  let names: string[] = [];
  try {
    names = fs.readdirSync(path.join(root, pki)).sort();
  } catch {
    out.missing.push(`${pki} cannot be read`);
  }
  for (const name of names) {
    const p = `${pki}/${name}`;
    if (out.files.some((f) => f.path === p)) continue;
    const st = statInRoot(root, p);
    if (!st || !st.isFile()) continue;
    // The kubelet's *.pem files hold the private key with the certificate; *.crt are certificates only.
    const key = /\.(pem|key)$/.test(name);
    out.files.push({
      path: p,
      ...ownerMode(st),
      role: key ? 'pki-key' : 'pki-cert',
      sensitive: key,
      createdBy: 'kubelet',
    });
  }
  return out;
}

/** The largest drop-in file read (a KubeletConfiguration is a few KiB). */
const MAX_DROPIN_BYTES = 1024 * 1024;

interface DropinEntry {
  name: string;
  config?: unknown;
  unreadable?: string;
  invalid?: string;
}

/**
 * A drop-in directory as the kubelet walks it (filepath.WalkDir from the path it names): every
 * file by its name relative to the directory, subdirectories descended in byte order, symbolic
 * links not followed into directories; the content of each .conf file. A --config-dir that is
 * itself a symbolic link is not descended by WalkDir: the kubelet reads nothing from it.
 */
export function readDropinDirectory(root: string, dirInNode: string): { files: DropinEntry[] } | { missing: string } {
  // os.Lstat of the path as given: a trailing slash makes the system follow a final link.
  const trailingSlash = dirInNode.length > 1 && dirInNode.endsWith('/');
  const trimmed = trailingSlash ? dirInNode.replace(/\/+$/, '') : dirInNode;
  const parent = resolveInRoot(root, path.posix.dirname(trimmed));
  if (!parent) return { missing: 'does not exist in the node' };
  const linked = trailingSlash ? resolveInRoot(root, trimmed) : undefined;
  const top = linked ?? path.join(parent, path.posix.basename(trimmed));
  let st: fs.Stats;
  try {
    st = fs.lstatSync(top);
  } catch {
    return { missing: 'does not exist in the node' };
  }
  if (st.isSymbolicLink() || !st.isDirectory()) {
    // WalkDir does not descend a root that is a link or a file: it hands it to the callback as a
    // file, which the kubelet reads only when its own name ends in .conf (not modelled here).
    const base = path.posix.basename(trimmed);
    return isDropinName(base)
      ? {
          files: [
            {
              name: base,
              unreadable:
                'the --config-dir is itself a file or link named .conf, which the kubelet would read as a drop-in; not modelled',
            },
          ],
        }
      : { files: [] };
  }
  const files: DropinEntry[] = [];
  const walk = (real: string, rel: string, depth: number): void => {
    if (depth > 32) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(real, { withFileTypes: true });
    } catch (e) {
      files.push({ name: rel === '' ? '.' : rel, invalid: `the directory cannot be read (${(e as Error).message})` });
      return;
    }
    for (const e of entries.sort((a, b) => walkOrder(a.name, b.name))) {
      const name = rel === '' ? e.name : `${rel}/${e.name}`;
      const full = path.join(real, e.name);
      if (e.isDirectory()) {
        walk(full, name, depth + 1);
        continue;
      }
      if (!isDropinName(name)) {
        files.push({ name });
        continue;
      }
      // The kubelet opens the file (a link is followed, inside its own root).
      const target = resolveInRoot(root, path.posix.join(trimmed, name));
      let tst: fs.Stats | undefined;
      try {
        tst = target ? fs.statSync(target) : undefined;
      } catch {
        tst = undefined;
      }
      if (!target || !tst) {
        files.push({ name, invalid: 'it cannot be opened (a dangling link?)' });
        continue;
      }
      if (tst.isDirectory()) {
        files.push({ name, invalid: 'it is a link to a directory, which cannot be read as a file' });
        continue;
      }
      if (tst.size > MAX_DROPIN_BYTES) {
        files.push({ name, unreadable: `larger than ${MAX_DROPIN_BYTES} bytes, not read` });
        continue;
      }
      let text: string;
      try {
        text = fs.readFileSync(target, 'utf8');
      } catch (err) {
        files.push({ name, unreadable: (err as Error).message });
        continue;
      }
      if (text.length === 0) {
        files.push({ name, invalid: 'the file is empty' });
        continue;
      }
      const docs = parseAllDocuments(text);
      const parsed = Array.isArray(docs) ? docs : [docs];
      if (parsed.length !== 1 || parsed[0].errors.length > 0) {
        files.push({
          name,
          unreadable:
            parsed.length !== 1
              ? `${parsed.length} YAML documents`
              : `YAML: ${parsed[0].errors[0].message.split('\n')[0]}`,
        });
        continue;
      }
      files.push({ name, config: parsed[0].toJS() as unknown });
    }
  };
  walk(top, '', 0);
  return { files };
}

function statInRoot(root: string, p: string): fs.Stats | undefined {
  const real = resolveInRoot(root, p);
  if (!real) return undefined;
  try {
    return fs.statSync(real);
  } catch {
    return undefined;
  }
}

function ownerMode(st: fs.Stats): { owner: string; group: string; mode: string } {
  return {
    owner: lookup('/etc/passwd', st.uid),
    group: lookup('/etc/group', st.gid),
    mode: `0${(st.mode & 0o7777).toString(8)}`,
  };
}

function lookup(file: string, id: number): string {
  try {
    const line = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(id));
    return line ? line.split(':')[0] : String(id);
  } catch {
    return String(id);
  }
}

/** Runs in the node's network namespace: one anonymous kubelet request (CA-verified, then not) and connects to read-only ports. */
const PROBE_SCRIPT = `
const https = require('https'), net = require('net'), fs = require('fs');
const a = JSON.parse(process.argv[1]);
const get = (o) => new Promise((r) => {
  const q = https.request({ host: a.host, port: a.port, path: '/pods', method: 'GET', timeout: 5000, ...o }, (res) => { res.resume(); r({ status: res.statusCode }); });
  q.on('timeout', () => q.destroy(new Error('timeout')));
  q.on('error', (e) => r({ error: e.code || e.message }));
  q.end();
});
const connect = (port) => new Promise((r) => {
  const s = net.connect({ host: a.host, port, timeout: 3000 }, () => { s.destroy(); r('open'); });
  s.on('timeout', () => { s.destroy(); r('timeout'); });
  s.on('error', (e) => r(e.code || e.message));
});
(async () => {
  const out = { verified: await get({ ca: fs.readFileSync(a.ca) }), readOnly: {} };
  if (out.verified.error) out.unverified = await get({ rejectUnauthorized: false });
  for (const p of a.readOnlyPorts) out.readOnly[p] = await connect(p);
  if (a.proxyMetricsPort) out.proxyMetrics = await connect(a.proxyMetricsPort);
  process.stdout.write(JSON.stringify(out));
})();
`;

/** The running kubelet's effective configuration (file, drop-ins, flags), if it can be read whole. */
function effectiveObservedConfig(opts: { stateDir: string; rootfs: string }): Record<string, unknown> | undefined {
  try {
    const obs = observeNode({ stateDir: opts.stateDir, rootfs: opts.rootfs, nodeFiles: [], expectNode: true });
    const isKind = (d: Document, kind: string, group: string) =>
      d.object.kind === kind && String(d.object.apiVersion ?? '').startsWith(`${group}/`);
    const sub = kubeletSubjects(obs.documents, isKind).find((s) => s.flagsFrom?.object.kind === KUBELET_PROCESS_KIND);
    return sub && !sub.problem ? sub.config : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The kubelet's API asked from the node network the way an attacker would: anonymously, and on
 * the read-only port. `config` is the observed KubeletConfiguration (port, readOnlyPort).
 */
export function probeNode(opts: { stateDir: string; rootfs: string; config?: Record<string, unknown> }): Finding[] {
  let netns: string | undefined;
  try {
    netns = (
      JSON.parse(fs.readFileSync(path.join(opts.stateDir, 'node', 'run', 'holder.json'), 'utf8')) as { netns?: string }
    ).netns;
  } catch {
    netns = undefined;
  }
  if (!runningKubelet(opts.stateDir) || !netns || !fs.existsSync(`/run/netns/${netns}`))
    return nodeProbesAll(
      'not-evaluated',
      'Not evaluated: the local node (its kubelet and network namespace) is not running.',
    );
  const host = LOCAL_NODE_NETWORK.nodeAddress;
  // The ports the kubelet really uses: its file, drop-ins and flags together (observed again here).
  const config = effectiveObservedConfig(opts) ?? opts.config;
  if (!config)
    return nodeProbesAll('not-evaluated', "Not evaluated: the kubelet's effective configuration was not observed.");
  const { port, readOnlyPorts } = kubeletProbePorts(config);
  // kube-proxy's metrics port as it runs (command line and --config file); asked on the node address, where pods reach the node.
  const proxy = kubeProxySubjects(observeKubeProxy(opts.stateDir, false).documents).find(
    (x) => x.document.object.kind === KUBE_PROXY_PROCESS_KIND,
  );
  const proxyMetricsPort = proxy?.metrics?.address ? Number(/:(\d+)$/.exec(proxy.metrics.address)?.[1]) : undefined;
  const args = { host, port, ca: path.join(opts.rootfs, 'etc/kubernetes/pki/ca.crt'), readOnlyPorts, proxyMetricsPort };
  const res = spawnSync(
    'nsenter',
    [`--net=/run/netns/${netns}`, '--', process.execPath, '-e', PROBE_SCRIPT, JSON.stringify(args)],
    { encoding: 'utf8', timeout: 30_000 },
  );
  let raw: {
    verified: { status?: number; error?: string };
    unverified?: { status?: number; error?: string };
    readOnly: Record<string, string>;
    proxyMetrics?: string;
  };
  try {
    raw = JSON.parse(res.stdout);
  } catch {
    return nodeProbesAll(
      'error',
      `The probe in the node's network namespace failed: ${(res.stderr || res.error?.message || `exit ${res.status}`).trim().slice(-300)}`,
    );
  }
  // The probe script's connect results: 'open', an error code ('ECONNREFUSED' is a refusal) or a message.
  const outcome = (v: string | undefined): ConnectOutcome | undefined =>
    v === undefined ? undefined : v === 'open' ? 'open' : v === 'ECONNREFUSED' ? 'refused' : { other: v };
  return nodeProbeFindings(
    {
      verified: raw.verified,
      unverified: raw.unverified,
      readOnly: Object.fromEntries(Object.entries(raw.readOnly).map(([p, v]) => [p, outcome(v)!])),
      proxyMetrics: outcome(raw.proxyMetrics),
    },
    {
      host,
      port,
      proxyMetricsPort,
      proxyMetricsUnknown: proxy
        ? `kube-proxy's metrics address cannot be read (${proxy.notEvaluated ?? proxy.metrics?.invalid ?? proxy.metrics?.unreadable ?? 'unknown'})`
        : 'kube-proxy of the local node is not running',
      reachedBy: 'pods',
    },
  );
}

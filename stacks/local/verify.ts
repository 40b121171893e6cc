/**
 * Live verification of the running local control plane: the catalogue applied to what the
 * cluster really runs and serves, not to what the blueprint meant.
 *
 * Observed, not rendered:
 * - each component's command line, read from /proc/<pid>/cmdline of the running process
 *   (host paths mapped back to node paths), as a static-pod document;
 * - the configuration files those command lines name (audit policy, admission, authentication,
 *   encryption — secret values replaced by a marker before anything is evaluated or printed);
 * - owner, group and mode of every node file, from stat() of the file on disk;
 * - the blueprint's namespaces and what is in them, read back through the API;
 * - with a node: the kubelet's command line, the configuration file it reads and its files
 *   (verify-node.ts).
 * Probed:
 * - an anonymous request, a TLS 1.1 and a weak-cipher handshake, the pprof endpoint;
 * - with a node: an anonymous kubelet request, its serving certificate, the read-only port;
 *   the API server's own way to the kubelet (its client certificate accepted, a kubelet impostor
 *   refused: kubelet-path-probes.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tls from 'tls';
import { parseAllDocuments } from 'yaml';
import { readLiveNamespaces } from './live-namespaces';
import { evaluate } from '../../policies/engine';
import { parseComponentCommandLine } from '../../policies/flags';
import type { ControlException, Document, Finding, KubeObject, NodeFile, Status } from '../../policies/model';
import { NODE_FILE_MANIFEST_API_VERSION, NODE_FILE_MANIFEST_KIND } from '../../policies/model';
import { BACKUP_MAGIC, BACKUP_SUFFIX, defaultBackupDir, defaultKeyFile, listBackups } from './backup';
import { probeFinding } from './probe-finding';
import { COMPONENTS, LocalControlPlane, request } from './control-plane';
import { KUBELET_PATH_PROBES, probeKubeletPath } from './kubelet-path-probes';
import { nodeExpected, observeNode, probeNode } from './verify-node';

export interface VerifyOptions {
  stateDir: string;
  /** The blueprint's node files: which paths to stat, and what each one is. */
  nodeFiles: NodeFile[];
  /** Namespaces the blueprint manages; their objects are read back. */
  namespaces: string[];
  exceptions?: readonly ControlException[];
  now?: Date;
  /**
   * Whether the cluster should have its node (the stack's hcb:node). @default true when the
   * state directory holds a node's records
   */
  node?: boolean;
}

const SOURCE = 'live';

/** Everything observed, as documents the engine can check. */
export async function observe(opts: VerifyOptions): Promise<{ documents: Document[]; missing: string[] }> {
  const cp = new LocalControlPlane({ stateDir: opts.stateDir, binDir: '', nodeFiles: opts.nodeFiles });
  const rootfs = cp.rootfs;
  const documents: Document[] = [];
  const missing: string[] = [];
  const unmap = (v: string) => (v.startsWith(`${rootfs}/`) ? v.slice(rootfs.length) : v);

  for (const name of COMPONENTS) {
    const rec = readRecord(opts.stateDir, name);
    const argv = rec ? cmdline(rec.pid) : undefined;
    if (!argv) {
      missing.push(`${name} is not running`);
      continue;
    }
    const args = argv.slice(1).map((a) => {
      const m = /^(--[^=]+=)(.*)$/.exec(a);
      return m ? m[1] + m[2].split(',').map(unmap).join(',') : a;
    });
    documents.push({
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        // Observed as what it is: a control-plane process on the host network (the shape kubeadm's static pods have).
        metadata: {
          name: `${name}-observed`,
          namespace: 'kube-system',
          labels: { component: name, tier: 'control-plane' },
          annotations: { 'hcb.dev/observed-pid': String(rec!.pid) },
        },
        spec: { hostNetwork: true, containers: [{ name, command: [name, ...args] }] },
      },
      source: { file: `${SOURCE}:/proc/${rec!.pid}/cmdline` },
    });
    if (name === 'kube-apiserver') {
      for (const f of [
        'audit-policy-file',
        'admission-control-config-file',
        'authentication-config',
        'encryption-provider-config',
      ]) {
        // The value the API server uses: the last occurrence, in any spelling pflag accepts.
        const value = parseComponentCommandLine('kube-apiserver', args)
          .flags.filter(([n]) => n.replace(/_/g, '-') === f)
          .pop()?.[1];
        if (!value) continue;
        const file = path.join(rootfs, value);
        if (!fs.existsSync(file)) {
          missing.push(`${value} (named by --${f}) does not exist`);
          continue;
        }
        for (const d of parseAllDocuments(redactSecrets(fs.readFileSync(file, 'utf8')))) {
          const o = d.toJS() as KubeObject | null;
          if (o && typeof o === 'object') documents.push({ object: o, source: { file: `${SOURCE}:${value}` } });
        }
      }
    }
  }

  // Owner and mode as the files really are.
  const files = opts.nodeFiles
    .map((f) => ({ f, st: statOrUndefined(path.join(rootfs, f.path)) }))
    .filter((x) => x.st !== undefined)
    .map(({ f, st }) => ({
      path: f.path,
      owner: userName(st!.uid),
      group: groupName(st!.gid),
      mode: `0${(st!.mode & 0o7777).toString(8)}`,
      role: f.role,
      sensitive: f.sensitive,
      createdBy: f.createdBy,
    }));
  // What is inside the etcd data directory (STIG V-242445/V-242459 check its files, not only the directory).
  for (const f of opts.nodeFiles.filter((x) => x.role === 'etcd-data'))
    for (const x of listTree(rootfs, f.path, f.sensitive, f.createdBy)) files.push(x);
  // The node: the kubelet's command line, the file it reads, its files as it sees them (verify-node.ts).
  const node = observeNode({ stateDir: opts.stateDir, rootfs, nodeFiles: opts.nodeFiles, expectNode: opts.node });
  // One at a time: push(...array) overflows the call stack for very large arrays.
  for (const d of node.documents) documents.push(d);
  for (const m of node.missing) missing.push(m);
  const seenInNode = new Set(node.files.map((f) => f.path));
  const nodeFiles = [...files.filter((f) => !seenInNode.has(f.path)), ...node.files];
  documents.push({
    object: {
      apiVersion: NODE_FILE_MANIFEST_API_VERSION,
      kind: NODE_FILE_MANIFEST_KIND,
      metadata: { name: 'observed' },
      files: nodeFiles,
    },
    source: { file: `${SOURCE}:stat` },
  });

  // The backup configuration as it is on the node, and the backups on disk (BSI APP.4.4.A5):
  // each file's magic, time and age, and the key's mode.
  for (const f of opts.nodeFiles.filter((x) => x.role === 'backup-config')) {
    const file = path.join(rootfs, f.path);
    if (!fs.existsSync(file)) {
      missing.push(`${f.path} (the backup configuration) does not exist`);
      continue;
    }
    for (const d of parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
      const o = d.toJS() as KubeObject | null;
      if (o && typeof o === 'object') documents.push({ object: o, source: { file: `${SOURCE}:${f.path}` } });
    }
  }
  documents.push({
    object: observeBackups(opts.stateDir, opts.now ?? new Date()),
    source: { file: `${SOURCE}:backups` },
  });

  // The blueprint's namespaces, read back.
  if (fs.existsSync(cp.adminKubeconfigPath())) {
    const adminTls = cp.adminTls();
    const server = (await cp.status()).apiServerUrl;
    if (server) {
      const get = async (p: string) => {
        const r = await request(`${server}${p}`, adminTls);
        return r.status === 200 ? (JSON.parse(r.body) as { items?: KubeObject[] } & KubeObject) : undefined;
      };
      const live = await readLiveNamespaces(get, opts.namespaces, `${SOURCE}:api`);
      for (const d of live.documents) documents.push(d);
      for (const m of live.missing) missing.push(m);
    } else if (opts.namespaces.length) missing.push('the API server is not running: the namespaces were not read');
  } else if (opts.namespaces.length)
    missing.push(`${cp.adminKubeconfigPath()} does not exist: the namespaces were not read`);
  return { documents, missing };
}

/** Findings of the catalogue over what is observed, plus the behavioural probes. */
export async function verifyLocalCluster(opts: VerifyOptions): Promise<{ findings: Finding[]; missing: string[] }> {
  const { documents, missing } = await observe(opts);
  const findings = evaluate(documents, { exceptions: opts.exceptions, now: opts.now, includeManual: false });
  const probes = await probe(opts.stateDir, opts.nodeFiles, opts.node ?? nodeExpected(opts.stateDir));
  const kubelet = documents.find(
    (d) => d.object.kind === 'KubeletConfiguration' && d.source?.file?.startsWith(`${SOURCE}:`),
  );
  const nodeProbes =
    (opts.node ?? nodeExpected(opts.stateDir))
      ? probeNode({
          stateDir: opts.stateDir,
          rootfs: new LocalControlPlane({ stateDir: opts.stateDir, binDir: '', nodeFiles: opts.nodeFiles }).rootfs,
          config: kubelet?.object as Record<string, unknown> | undefined,
        })
      : [];
  return { findings: [...findings, ...probes, ...nodeProbes], missing };
}

/** Behavioural probes: the API server asked the way an attacker would ask (with `node`, also its way to the kubelet). */
export async function probe(stateDir: string, nodeFiles: NodeFile[], node = false): Promise<Finding[]> {
  const cp = new LocalControlPlane({ stateDir, binDir: '', nodeFiles });
  const status = await cp.status();
  const server = status.apiServerUrl;
  const api = status.components.find((c) => c.name === 'kube-apiserver');
  const out: Finding[] = [];
  const add = (control: string, name: string, status: Status, message: string) => {
    // Every probe is in PROBES (what is reported when the API server is down), and the control's record names it (control-records.test.ts).
    const listed = PROBES.some(([c, n]) => c === control && n === name);
    out.push(
      probeFinding(
        control,
        name,
        listed ? status : 'error',
        listed ? message : `Probe ${name} is not listed in PROBES (stacks/local/verify.ts): ${message}`,
      ),
    );
  };
  if (!server || !api?.healthy) {
    for (const [control, name] of PROBES)
      add(control, name, 'not-evaluated', 'Not evaluated: the API server is not running.');
    return out;
  }
  const ca = fs.readFileSync(path.join(cp.rootfs, 'etc/kubernetes/pki/ca.crt'));
  const u = new URL(server);

  const anon = await request(`${server}/api/v1/namespaces`, { ca }).catch((e: Error) => ({
    status: -1,
    body: e.message,
  }));
  add(
    'HCB-APISERVER-ANONYMOUS-AUTH',
    'anonymous-request',
    anon.status === 401 ? 'pass' : anon.status === -1 ? 'error' : 'fail',
    `An anonymous GET /api/v1/namespaces got ${anon.status === -1 ? anon.body : `HTTP ${anon.status}`} (401 expected).`,
  );

  const handshake = (o: tls.ConnectionOptions) =>
    new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: u.hostname, port: Number(u.port), ca, servername: 'kubernetes', ...o }, () => {
        resolve(s.getProtocol() ?? '');
        s.end();
      });
      s.on('error', reject);
    });
  const tls11 = await handshake({ minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }).then(
    (v) => `accepted (${v})`,
    (e: Error) => `refused (${e.message})`,
  );
  add(
    'HCB-APISERVER-TLS-MIN-VERSION',
    'tls-1.1-handshake',
    tls11.startsWith('refused') ? 'pass' : 'fail',
    `A TLS 1.1 handshake was ${tls11}.`,
  );
  const weak = await handshake({ maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' }).then(
    () => 'accepted',
    (e: Error) => `refused (${e.message})`,
  );
  add(
    'HCB-APISERVER-TLS-CIPHER-SUITES',
    'weak-cipher-handshake',
    weak.startsWith('refused') ? 'pass' : 'fail',
    `A TLS 1.2 handshake offering only TLS_RSA_WITH_AES_128_CBC_SHA was ${weak}.`,
  );
  const pprof = await request(`${server}/debug/pprof/`, cp.adminTls()).catch((e: Error) => ({
    status: -1,
    body: e.message,
  }));
  add(
    'HCB-APISERVER-PROFILING',
    'pprof-endpoint',
    pprof.status === 404 ? 'pass' : pprof.status === -1 ? 'error' : 'fail',
    `GET /debug/pprof/ as cluster admin got HTTP ${pprof.status} (404 expected).`,
  );
  for (const f of await probeKubeletPath({
    stateDir,
    server,
    adminTls: cp.adminTls(),
    nodeName: cp.nodeNameOrUndefined(),
    node,
  }))
    add(f.control, f.object!.name!, f.status, f.message);
  return out;
}

/** The API server probes: control id and probe name, as the control's record names it (`probes`). */
const PROBES: ReadonlyArray<readonly [string, string]> = [
  ['HCB-APISERVER-ANONYMOUS-AUTH', 'anonymous-request'],
  ['HCB-APISERVER-TLS-MIN-VERSION', 'tls-1.1-handshake'],
  ['HCB-APISERVER-TLS-CIPHER-SUITES', 'weak-cipher-handshake'],
  ['HCB-APISERVER-PROFILING', 'pprof-endpoint'],
  ...KUBELET_PATH_PROBES,
];

/** Secret values in an EncryptionConfiguration replaced by a marker (never evaluated or printed). */
export function redactSecrets(text: string): string {
  return text.replace(
    /^([ \t]*secret:[ \t]*)(\S+)[ \t]*$/gm,
    (_m, prefix: string, value: string) =>
      `${prefix}"${value.startsWith('"{{hcb-secret:') ? value.replace(/"/g, '') : '{{hcb-secret:observed-key-redacted}}'}"`,
  );
}

function readRecord(stateDir: string, name: string): { pid: number } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(stateDir, 'run', `${name}.json`), 'utf8')) as { pid: number };
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string[] | undefined {
  try {
    const parts = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return parts.length ? parts : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every directory and file under a node directory (not following symlinks), as node file
 * entries with role etcd-data-dir / etcd-data-file; at most `limit` entries.
 */
type ObservedFile = {
  path: string;
  owner: string;
  group: string;
  mode: string;
  role: string;
  sensitive: boolean;
  createdBy: NodeFile['createdBy'];
};
function listTree(
  rootfs: string,
  dir: string,
  sensitive: boolean,
  createdBy: NodeFile['createdBy'],
  limit = 5000,
): ObservedFile[] {
  const out: ObservedFile[] = [];
  const walk = (nodeDir: string): void => {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(rootfs, nodeDir)).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (out.length >= limit) return;
      const nodePath = `${nodeDir.replace(/\/+$/, '')}/${name}`;
      let st: fs.Stats;
      try {
        st = fs.lstatSync(path.join(rootfs, nodePath));
      } catch {
        continue;
      }
      if (st.isSymbolicLink()) continue;
      const directory = st.isDirectory();
      out.push({
        path: nodePath,
        owner: userName(st.uid),
        group: groupName(st.gid),
        mode: `0${(st.mode & 0o7777).toString(8)}`,
        role: directory ? 'etcd-data-dir' : 'etcd-data-file',
        sensitive,
        createdBy,
      });
      if (directory) walk(nodePath);
    }
  };
  walk(dir);
  return out;
}

function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
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
const userName = (uid: number) => lookup('/etc/passwd', uid);
const groupName = (gid: number) => lookup('/etc/group', gid);

/** The backups of a local cluster as they are on disk, as a BackupStatus document. */
export function observeBackups(stateDir: string, now: Date): KubeObject {
  const dir = defaultBackupDir(stateDir);
  const keyPath = defaultKeyFile(stateDir);
  const keySt = statOrUndefined(keyPath);
  const files = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(BACKUP_SUFFIX))
        .sort()
    : [];
  const manifests = new Map(listBackups(dir).map((m) => [m.file, m]));
  const backups = files.map((f) => {
    let encrypted = false;
    try {
      const fd = fs.openSync(path.join(dir, f), 'r');
      const head = Buffer.alloc(BACKUP_MAGIC.length);
      fs.readSync(fd, head, 0, head.length, 0);
      fs.closeSync(fd);
      encrypted = head.equals(BACKUP_MAGIC);
    } catch {
      encrypted = false;
    }
    const m = manifests.get(f);
    const time = m?.time ?? statOrUndefined(path.join(dir, f))?.mtime.toISOString();
    return {
      file: f,
      encrypted,
      time,
      revision: m?.revision,
      ageSeconds: time ? Math.max(0, Math.round((now.getTime() - Date.parse(time)) / 1000)) : undefined,
    };
  });
  return {
    apiVersion: 'hcb.dev/v1alpha1',
    kind: 'BackupStatus',
    metadata: { name: 'observed' },
    backupDir: dir,
    keyFile: {
      path: keyPath,
      exists: keySt !== undefined,
      mode: keySt ? `0${(keySt.mode & 0o777).toString(8)}` : undefined,
    },
    backups,
  };
}

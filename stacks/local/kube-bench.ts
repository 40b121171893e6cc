/**
 * kube-bench (github.com/aquasecurity/kube-bench v0.12.0, a test-only checker from the toolchain)
 * against the running local cluster: an external second opinion on the CIS Kubernetes Benchmark
 * next to our own catalogue (`hcb verify`).
 *
 * kube-bench finds what to check on the machine it runs on: components by process name
 * (`ps -C <bin>`; audits grep `ps -ef`), files by candidate paths from its config.yaml
 * (`$apiserverconf`, `$kubeletkubeconfig`, ...; a benchmark directory's own config.yaml is merged
 * over the main one), and some files at fixed paths in the checks themselves
 * (/etc/kubernetes/pki, /etc/kubernetes/admin.conf). Run bare on the local layout it reports
 * files it cannot find as failures. So it runs where the cluster's layout is the standard one:
 *
 * - in a private mount namespace made from the node's (stacks/local/node/sandbox.ts), where the
 *   cluster's private root is bound at /etc/kubernetes, /var/lib/kubelet, ... and the state
 *   directory at /run/hcb-state; there the read-only tmpfs that hides kubeadm's static pod
 *   manifests from the kubelet is unmounted (the control plane runs as processes from exactly
 *   those manifests), and in the node's network namespace (127.0.0.1:<api port> reaches the API
 *   server through the node's forwarder). The local cluster is a single node, so the control
 *   plane's checks run on the same "machine" as the node's. Nothing changes outside that
 *   private namespace; it ends with kube-bench.
 * - with a generated config directory (`<stateDir>/kube-bench/cfg`): the benchmark's checks as
 *   kube-bench ships them, and a config.yaml for the benchmark that names exactly our binaries
 *   and files (one candidate each, so no other file on the machine is picked up).
 * - seeing only this cluster's processes: `ps` (which kube-bench runs as /bin/ps and ps) is,
 *   inside the private namespace only, a small script over the real ps that selects the pids of
 *   this cluster's etcd, API server, controller manager, scheduler, containerd and kubelet. Other
 *   clusters on the same machine (tests run several) are not mixed into the results.
 * - kubectl (the policies target, 5.1.x): the kubectl given (option, or `kubectl` in the toolchain's
 *   bin directory, which builds it from k8s.io/kubernetes at the cluster's version), alone on the
 *   audits' PATH, with the kubeconfig of a read-only identity made for the run (`withKubeBenchReader`:
 *   a ServiceAccount, a ClusterRole with exactly what the cis-1.10 policies audits read, a binding and
 *   a 10-minute token; all removed afterwards, and the token is refused from then on, at the latest after
 *   the API server's 10-second cache of successful token authentications). It reads no Secret.
 *   5.1.2 and 5.1.4 ask `kubectl auth can-i ... --as=system:authenticated`, so the role may impersonate
 *   the user system:authenticated, through constrained impersonation (Kubernetes 1.36, beta, on by
 *   default) and only to create SelfSubjectAccessReviews. Without a kubectl, a stand-in that fails with
 *   a message, so that no other kubectl on the machine answers; those checks are then reported as
 *   needing kubectl (`needsKubectl`), whatever status kube-bench gives them.
 * - /bin/sh is bash inside the private namespace: kube-bench runs every audit with /bin/sh, and 5.1.1's
 *   uses `[[ ]]`, which Debian's dash lacks (the audit then marks every binding compliant, a check that
 *   cannot fail). kube-bench's own images run the audits with busybox ash or bash, which have it.
 *
 * The benchmark is cis-1.10 (CIS Kubernetes Benchmark v1.10, the newest kube-bench v0.12.0
 * ships; it maps Kubernetes 1.30/1.31 to it and has nothing newer for 1.36).
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { evaluate } from '../../policies/engine';
import { parseText } from '../../policies/input/parse';
import type { ControlException, Finding, Status } from '../../policies/model';
import { SANDBOX_STATE_MOUNT } from './node/sandbox';

export const KUBE_BENCH_BENCHMARK = 'cis-1.10';
export const KUBE_BENCH_TARGETS = ['master', 'etcd', 'controlplane', 'node', 'policies'] as const;
export type KubeBenchTarget = (typeof KUBE_BENCH_TARGETS)[number];
export type KubeBenchStatus = 'PASS' | 'FAIL' | 'WARN' | 'INFO';

export interface KubeBenchCheck {
  id: string;
  target: KubeBenchTarget;
  text: string;
  status: KubeBenchStatus;
  /** kube-bench's "scored": the benchmark marks the recommendation Automated. */
  scored: boolean;
  /** Automated: scored and not a manual or skipped check type. */
  automated: boolean;
  type: string;
  /** Why kube-bench could not run the audit (its "reason"), if so. */
  reason?: string;
  actual?: string;
  expected?: string;
  /** The audit calls kubectl and no kubectl was given: kube-bench's status says nothing. */
  needsKubectl: boolean;
}

export interface KubeBenchSection {
  target: KubeBenchTarget;
  id: string;
  text: string;
  pass: number;
  fail: number;
  warn: number;
  info: number;
}

export interface KubeBenchResult {
  benchmark: string;
  version: string;
  checks: KubeBenchCheck[];
  sections: KubeBenchSection[];
  /** The kubectl the policies checks used, or undefined (stand-in). */
  kubectl?: string;
  /** The identity kubectl used (namespace/name of its ServiceAccount, removed after the run). */
  reader?: string;
  /** Pids kube-bench was allowed to see, by component. */
  processes: Record<string, number>;
  dir: string;
  durationMs: number;
}

export interface KubeBenchOptions {
  stateDir: string;
  /** The toolchain's bin directory (kube-bench; cfg/ is in ../share/kube-bench/cfg). */
  binDir: string;
  /** A kubectl to use for the policies checks. @default `<binDir>/kubectl` when it exists */
  kubectl?: string;
  targets?: readonly KubeBenchTarget[];
  /** Only these check ids (kube-bench --check). */
  checks?: readonly string[];
  timeoutMs?: number;
}

/** Where kube-bench's files are in the node's mount namespace, for a state directory. */
interface Layout {
  /** The state directory as seen inside the node (/run/hcb-state). */
  stateInNode: string;
  /** kube-bench's working directory, on the host and inside. */
  dir: string;
  dirInNode: string;
}

function layout(stateDir: string): Layout {
  const s = path.resolve(stateDir);
  return {
    stateInNode: SANDBOX_STATE_MOUNT,
    dir: path.join(s, 'kube-bench'),
    dirInNode: path.posix.join(SANDBOX_STATE_MOUNT, 'kube-bench'),
  };
}

/**
 * The config.yaml merged over kube-bench's own for the benchmark: one binary and one file per
 * component, as they are inside the node's mount namespace (the standard kubeadm paths, since
 * the cluster's private root is bound there). `etcdDataDir` is the etcd data directory as the
 * node sees it (the audits read it from etcd's --data-dir first; this is their fallback).
 */
export function kubeBenchConfig(opts: { etcdDataDir: string }): Record<string, unknown> {
  const manifest = (n: string) => [`/etc/kubernetes/manifests/${n}.yaml`];
  const etcd = {
    bins: ['etcd'],
    confs: manifest('etcd'),
    defaultconf: manifest('etcd')[0],
    datadirs: [opts.etcdDataDir],
    defaultdatadir: opts.etcdDataDir,
  };
  return {
    master: {
      apiserver: {
        bins: ['kube-apiserver'],
        confs: manifest('kube-apiserver'),
        defaultconf: manifest('kube-apiserver')[0],
      },
      scheduler: {
        bins: ['kube-scheduler'],
        confs: manifest('kube-scheduler'),
        defaultconf: manifest('kube-scheduler')[0],
        kubeconfig: ['/etc/kubernetes/scheduler.conf'],
        defaultkubeconfig: '/etc/kubernetes/scheduler.conf',
      },
      controllermanager: {
        bins: ['kube-controller-manager'],
        confs: manifest('kube-controller-manager'),
        defaultconf: manifest('kube-controller-manager')[0],
        kubeconfig: ['/etc/kubernetes/controller-manager.conf'],
        defaultkubeconfig: '/etc/kubernetes/controller-manager.conf',
      },
      etcd: { ...etcd, optional: false },
      kubelet: { optional: true, bins: ['kubelet'] },
    },
    etcd: { etcd },
    controlplane: { apiserver: { bins: ['kube-apiserver'] } },
    node: {
      kubelet: {
        bins: ['kubelet'],
        confs: ['/var/lib/kubelet/config.yaml'],
        defaultconf: '/var/lib/kubelet/config.yaml',
        kubeconfig: ['/etc/kubernetes/kubelet.conf'],
        defaultkubeconfig: '/etc/kubernetes/kubelet.conf',
        cafile: ['/etc/kubernetes/pki/ca.crt'],
        defaultcafile: '/etc/kubernetes/pki/ca.crt',
        // No systemd here: the kubelet has no unit or drop-in file. The candidates stay the
        // standard ones (none exists), so 4.1.1/4.1.2 report what they find: nothing.
      },
      proxy: { optional: true, bins: ['kube-proxy'] },
    },
  };
}

/** This cluster's running processes (pid checked against its recorded binary), by component. */
export function clusterProcesses(stateDir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const add = (name: string, file: string, exeKey: 'binary' | 'exe') => {
    try {
      const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number; binary?: string; exe?: string };
      const exe = fs.readlinkSync(`/proc/${rec.pid}/exe`).replace(/ \(deleted\)$/, '');
      const want = rec[exeKey];
      if (!want) return;
      if (exe !== want && exe !== fs.realpathSync(want)) return;
      if (/\) Z /.test(fs.readFileSync(`/proc/${rec.pid}/stat`, 'utf8'))) return;
      out[name] = rec.pid;
    } catch {
      /* not running */
    }
  };
  const runDir = path.join(stateDir, 'run');
  for (const c of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'])
    add(c, path.join(runDir, `${c}.json`), 'binary');
  // Every process the node runner records (containerd, kubelet, and whatever else it starts, e.g. a
  // kube-proxy), except the namespace holder, the API forwarders and the API server's egress proxy, which are
  // not Kubernetes components.
  const nodeRun = path.join(stateDir, 'node', 'run');
  let records: string[] = [];
  try {
    records = fs.readdirSync(nodeRun).filter((f) => f.endsWith('.json'));
  } catch {
    /* no node */
  }
  for (const f of records) {
    const name = f.slice(0, -'.json'.length);
    if (name === 'holder' || name.startsWith('api-forwarder') || name === 'egress-proxy') continue;
    add(name, path.join(nodeRun, f), 'exe');
  }
  return out;
}

/**
 * `ps` as kube-bench sees it: the real ps (a copy at `real`) restricted to the pids in `pidFile`.
 * The argument forms kube-bench's detection and the benchmark's audits use (-C name, -ef, -fC
 * name, -o format, --no-headers) are accepted; anything else is refused, so a new audit form
 * shows up as an error instead of a silently wrong answer.
 */
export function psWrapper(real: string, pidFile: string): string {
  return `#!/bin/sh
# ps for kube-bench: only this cluster's processes (pids in ${pidFile}).
real='${real}'
pids=$(cat '${pidFile}')
name='' full='' fmt='' noh=''
while [ $# -gt 0 ]; do
  case "$1" in
    -e) ;;
    -ef|-fe|-f) full=-f ;;
    -fC|-Cf) full=-f; shift; name=$1 ;;
    -C) shift; name=$1 ;;
    -o) shift; fmt=$1 ;;
    --no-headers|--no-heading) noh=--no-headers ;;
    *) echo "ps (kube-bench's view of one cluster): unsupported argument: $1" >&2; exit 2 ;;
  esac
  shift
done
sel=$pids
if [ -n "$name" ]; then
  sel=$("$real" -C "$name" -o pid= | awk -v want=",$pids," 'index(want, "," $1 ",") { printf "%s%s", s, $1; s = "," }')
  [ -n "$sel" ] || exit 1
fi
if [ -n "$fmt" ]; then exec "$real" $full -p "$sel" -o "$fmt" $noh; fi
exec "$real" $full -p "$sel" $noh
`;
}

/** Stand-in for kubectl when none is given: fails loudly, so no other kubectl on the machine answers. */
const KUBECTL_STANDIN = `#!/bin/sh
echo "kubectl: none given to kube-bench (build the toolchain's: bash tools/build-toolchain.sh --only checkers)" >&2
exit 127
`;

/** Writes the config directory, the ps view and the kubectl choice; returns the run directory. */
export function prepareKubeBench(opts: KubeBenchOptions): {
  dir: string;
  kubectl?: string;
  processes: Record<string, number>;
} {
  const stateDir = path.resolve(opts.stateDir);
  const l = layout(stateDir);
  const shipped = path.join(opts.binDir, '..', 'share', 'kube-bench', 'cfg');
  if (!fs.existsSync(path.join(shipped, 'config.yaml')) || !fs.existsSync(path.join(shipped, KUBE_BENCH_BENCHMARK))) {
    throw new Error(
      `kube-bench's cfg/ (with ${KUBE_BENCH_BENCHMARK}) is not in ${shipped}. Run: bash tools/build-toolchain.sh --only checkers`,
    );
  }
  const processes = clusterProcesses(stateDir);
  const missing = [
    'etcd',
    'kube-apiserver',
    'kube-controller-manager',
    'kube-scheduler',
    'containerd',
    'kubelet',
  ].filter((c) => !processes[c]);
  if (missing.length)
    throw new Error(
      `kube-bench: the local cluster in ${stateDir} does not run ${missing.join(', ')} (kube-bench needs the control plane and the node)`,
    );

  fs.rmSync(l.dir, { recursive: true, force: true });
  const cfg = path.join(l.dir, 'cfg');
  fs.mkdirSync(path.join(cfg, KUBE_BENCH_BENCHMARK), { recursive: true, mode: 0o700 });
  fs.copyFileSync(path.join(shipped, 'config.yaml'), path.join(cfg, 'config.yaml'));
  for (const f of fs.readdirSync(path.join(shipped, KUBE_BENCH_BENCHMARK))) {
    if (f !== 'config.yaml')
      fs.copyFileSync(path.join(shipped, KUBE_BENCH_BENCHMARK, f), path.join(cfg, KUBE_BENCH_BENCHMARK, f));
  }
  const etcdDataDir = etcdDataDirInNode(stateDir, l);
  const header =
    "# Generated by stacks/local/kube-bench.ts: the local cluster's binaries and files, as the node's mount namespace shows them.\n";
  fs.writeFileSync(
    path.join(cfg, KUBE_BENCH_BENCHMARK, 'config.yaml'),
    header + stringifyYaml(kubeBenchConfig({ etcdDataDir })),
  );

  const bin = path.join(l.dir, 'bin');
  fs.mkdirSync(bin, { recursive: true, mode: 0o700 });
  fs.copyFileSync(fs.realpathSync('/usr/bin/ps'), path.join(bin, 'ps.real'));
  fs.chmodSync(path.join(bin, 'ps.real'), 0o755);
  fs.writeFileSync(path.join(l.dir, 'pids'), Object.values(processes).join(','));
  fs.writeFileSync(
    path.join(bin, 'ps'),
    psWrapper(path.posix.join(l.dirInNode, 'bin/ps.real'), path.posix.join(l.dirInNode, 'pids')),
    { mode: 0o755 },
  );

  const kubectl =
    opts.kubectl ?? (fs.existsSync(path.join(opts.binDir, 'kubectl')) ? path.join(opts.binDir, 'kubectl') : undefined);
  // The kubectl directory holds only kubectl: first on PATH, so it is the one the audits run.
  const kdir = path.join(l.dir, 'kubectl-bin');
  fs.mkdirSync(kdir, { recursive: true, mode: 0o700 });
  if (kubectl) fs.symlinkSync(fs.realpathSync(kubectl), path.join(kdir, 'kubectl'));
  else fs.writeFileSync(path.join(kdir, 'kubectl'), KUBECTL_STANDIN, { mode: 0o755 });
  // kubectl's HOME and discovery cache stay in the run directory (not the machine's ~/.kube).
  for (const d of ['home', 'kube-cache']) fs.mkdirSync(path.join(l.dir, d), { recursive: true, mode: 0o700 });
  return { dir: l.dir, kubectl, processes };
}

/** etcd's --data-dir from its running command line (a host path: the same path inside the node unless under /etc, /var, /opt or /run). */
function etcdDataDirInNode(stateDir: string, l: Layout): string {
  const pid = clusterProcesses(stateDir).etcd;
  const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const flag =
    argv.find((a) => a.startsWith('--data-dir='))?.slice('--data-dir='.length) ??
    path.join(stateDir, 'rootfs/var/lib/etcd');
  const rel = path.relative(stateDir, flag);
  return rel.startsWith('..') ? flag : path.posix.join(l.stateInNode, rel);
}

// -------------------------------------------------------------------------------------------------
// The read-only identity for kubectl (the policies checks)

/** Label on the reader's objects (value: the run's name), so leftovers of a killed run can be found. */
export const KUBE_BENCH_READER_LABEL = 'hcb.dev/kube-bench-reader';
export const KUBE_BENCH_READER_NAMESPACE = 'kube-system';
/** The impersonated user of 5.1.2 and 5.1.4 (`kubectl auth can-i ... --as=system:authenticated`). */
const CAN_I_AS = 'system:authenticated';

/**
 * What the cis-1.10 policies audits (5.1.1-5.1.6) run, and nothing more:
 *   5.1.1 kubectl get clusterrolebindings                       list clusterrolebindings
 *   5.1.3 kubectl get roles -A; get role; get clusterroles; get clusterrole   get, list roles/clusterroles
 *   5.1.5 kubectl get serviceaccount -A --field-selector ...    list serviceaccounts
 *   5.1.6 kubectl get pods -A; get serviceaccount -n NS NAME    list pods, get serviceaccounts
 *   5.1.2, 5.1.4 kubectl auth can-i VERB RESOURCE -A --as=system:authenticated: a SelfSubjectAccessReview
 *         created as the impersonated user. Constrained impersonation (KEP-5284; apiserver
 *         pkg/endpoints/filters/impersonation/mode.go) checks `impersonate:user-info` on
 *         authentication.k8s.io users/<name> and `impersonate-on:user-info:<verb>` on the request.
 * kubectl's discovery (/api, /apis, /version) is open to every authenticated user.
 */
export const KUBE_BENCH_READER_RULES: ReadonlyArray<Record<string, string[]>> = [
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterrolebindings'], verbs: ['list'] },
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'clusterroles'], verbs: ['get', 'list'] },
  { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['get', 'list'] },
  { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
  {
    apiGroups: ['authentication.k8s.io'],
    resources: ['users'],
    resourceNames: [CAN_I_AS],
    verbs: ['impersonate:user-info'],
  },
  {
    apiGroups: ['authorization.k8s.io'],
    resources: ['selfsubjectaccessreviews'],
    verbs: ['impersonate-on:user-info:create'],
  },
];

/** The reader's ServiceAccount, ClusterRole and ClusterRoleBinding (all named `name`). */
export function kubeBenchReaderObjects(name: string): Array<Record<string, unknown>> {
  const metadata = (namespaced: boolean) => ({
    name,
    ...(namespaced ? { namespace: KUBE_BENCH_READER_NAMESPACE } : {}),
    labels: { [KUBE_BENCH_READER_LABEL]: name },
  });
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(true), automountServiceAccountToken: false },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: metadata(false),
      rules: KUBE_BENCH_READER_RULES,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: metadata(false),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: KUBE_BENCH_READER_NAMESPACE }],
    },
  ];
}

/** A kubeconfig for a bearer token against the cluster (server and CA taken from the admin kubeconfig). */
export function readerKubeconfig(adminKubeconfig: string, token: string, name: string): string {
  const admin = parseYaml(adminKubeconfig) as {
    clusters?: Array<{ cluster?: { server?: string; 'certificate-authority-data'?: string } }>;
  };
  const cluster = admin?.clusters?.[0]?.cluster;
  if (!cluster?.server || !cluster['certificate-authority-data'])
    throw new Error('kube-bench: the admin kubeconfig names no server or CA');
  return stringifyYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'local',
        cluster: { server: cluster.server, 'certificate-authority-data': cluster['certificate-authority-data'] },
      },
    ],
    users: [{ name, user: { token } }],
    contexts: [{ name, context: { cluster: 'local', user: name } }],
    'current-context': name,
  });
}

export interface KubeBenchReader {
  /** namespace/name of the ServiceAccount. */
  serviceAccount: string;
  /** The kubeconfig file (mode 0600, removed afterwards). */
  kubeconfig: string;
}

/**
 * Creates the read-only identity, writes its kubeconfig to `kubeconfigFile` (0600), runs `fn`, then
 * removes the objects (the bound token dies with its ServiceAccount, once the API server's 10 s cache of
 * successful token authentications has let it go) and the file, also when `fn` throws.
 * Objects of an earlier run killed before its cleanup (older than 30 minutes) are removed first.
 */
export function withKubeBenchReader<T>(
  opts: { stateDir: string; kubectl: string; kubeconfigFile: string; cacheDir?: string },
  fn: (reader: KubeBenchReader) => T,
): T {
  const admin = path.join(path.resolve(opts.stateDir), 'rootfs/etc/kubernetes/admin.conf');
  if (!fs.existsSync(admin)) throw new Error(`kube-bench: no admin kubeconfig at ${admin} (is the cluster up?)`);
  const cacheDir = opts.cacheDir ?? path.join(path.dirname(opts.kubeconfigFile), 'kube-cache');
  const k = (args: string[], input?: string) => {
    const r = spawnSync(opts.kubectl, ['--kubeconfig', admin, ...args], {
      encoding: 'utf8',
      input,
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', KUBECACHEDIR: cacheDir, HOME: cacheDir },
    });
    if (r.status !== 0)
      throw new Error(
        `kube-bench reader: kubectl ${args.slice(0, 3).join(' ')} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error ?? '')).trim().slice(0, 500)}`,
      );
    return r.stdout;
  };
  sweepStaleReaders(k);
  const name = `hcb-kube-bench-${crypto.randomBytes(4).toString('hex')}`;
  const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: kubeBenchReaderObjects(name) });
  try {
    k(['create', '-f', '-'], list);
    const token = k(['create', 'token', name, '-n', KUBE_BENCH_READER_NAMESPACE, '--duration=10m']).trim();
    if (!token) throw new Error('kube-bench reader: the TokenRequest returned no token');
    fs.writeFileSync(opts.kubeconfigFile, readerKubeconfig(fs.readFileSync(admin, 'utf8'), token, name), {
      mode: 0o600,
    });
    return fn({ serviceAccount: `${KUBE_BENCH_READER_NAMESPACE}/${name}`, kubeconfig: opts.kubeconfigFile });
  } finally {
    fs.rmSync(opts.kubeconfigFile, { force: true });
    k(['delete', '--ignore-not-found', '--wait=true', '-f', '-'], list);
  }
}

/** The kinds the policies checks read, as our engine gets them for `oursFrom: live-objects`. */
export const LIVE_OBJECT_KINDS = [
  'clusterroles',
  'clusterrolebindings',
  'roles',
  'rolebindings',
  'serviceaccounts',
  'pods',
  'namespaces',
] as const;

/**
 * Our catalogue on the cluster's RBAC objects, ServiceAccounts, Pods and Namespaces, read through the
 * API with the admin kubeconfig (what `hcb audit` says of `kubectl get -A -o yaml`): our verdict for
 * the policies checks, whose objects `hcb verify` does not read outside the blueprint's namespaces.
 */
export function liveObjectFindings(opts: {
  stateDir: string;
  kubectl: string;
  exceptions?: readonly ControlException[];
}): Finding[] {
  const admin = path.join(path.resolve(opts.stateDir), 'rootfs/etc/kubernetes/admin.conf');
  const cache = path.join(path.resolve(opts.stateDir), 'kube-bench-live-cache');
  const r = spawnSync(opts.kubectl, ['--kubeconfig', admin, 'get', LIVE_OBJECT_KINDS.join(','), '-A', '-o', 'json'], {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 256 * 1024 * 1024,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', KUBECACHEDIR: cache, HOME: cache },
  });
  if (r.status !== 0)
    throw new Error(
      `kubectl get ${LIVE_OBJECT_KINDS.join(',')} failed (exit ${r.status ?? r.signal}): ${(r.stderr || String(r.error ?? '')).trim().slice(0, 500)}`,
    );
  const parsed = parseText(r.stdout, 'live:api');
  if (parsed.errors.length)
    throw new Error(
      `the cluster's objects did not parse: ${parsed.errors
        .map((e) => e.message)
        .join('; ')
        .slice(0, 500)}`,
    );
  return evaluate(parsed.documents, { exceptions: opts.exceptions, includeManual: false });
}

/** Removes reader objects older than 30 minutes (a run killed before its cleanup). */
function sweepStaleReaders(k: (args: string[], input?: string) => string): void {
  const raw = JSON.parse(
    k(['get', 'clusterrolebindings,clusterroles', '-l', KUBE_BENCH_READER_LABEL, '-o', 'json']),
  ) as { items?: Array<{ metadata: { name: string; creationTimestamp?: string } }> };
  const sas = JSON.parse(
    k(['get', 'serviceaccounts', '-n', KUBE_BENCH_READER_NAMESPACE, '-l', KUBE_BENCH_READER_LABEL, '-o', 'json']),
  ) as typeof raw;
  const old = (m: { creationTimestamp?: string }) => Date.now() - Date.parse(m.creationTimestamp ?? '') > 30 * 60_000;
  const names = new Set(
    [...(raw.items ?? []), ...(sas.items ?? [])].filter((i) => old(i.metadata)).map((i) => i.metadata.name),
  );
  for (const n of names) {
    k(
      ['delete', '--ignore-not-found', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: kubeBenchReaderObjects(n) }),
    );
  }
}

/**
 * The shell that runs inside `nsenter` (node's mount + net + UTS namespaces) and `unshare --mount`
 * (a private copy): it shows the static pod manifests, puts the ps view over /usr/bin/ps, and
 * runs kube-bench. $1 the run directory inside the node, $2 the kube-bench binary, $3... its args.
 */
const RUN_SCRIPT = `
set -eu
dir=$1; shift
umount /etc/kubernetes/manifests 2>/dev/null || true
mount --bind "$dir/bin/ps" /usr/bin/ps
mount --bind /bin/bash /bin/sh
export PATH="$dir/kubectl-bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export KUBECONFIG="$dir/kubeconfig" KUBECACHEDIR="$dir/kube-cache" HOME="$dir/home"
cd "$dir"
exec "$@"
`;

/** Runs kube-bench for the targets on the running local cluster and parses its JSON output. */
export function runKubeBench(opts: KubeBenchOptions): KubeBenchResult {
  const started = Date.now();
  const stateDir = path.resolve(opts.stateDir);
  const l = layout(stateDir);
  const prepared = prepareKubeBench(opts);
  if (!prepared.kubectl) return finishKubeBench(opts, stateDir, l, prepared, started);
  return withKubeBenchReader(
    { stateDir, kubectl: prepared.kubectl, kubeconfigFile: path.join(l.dir, 'kubeconfig') },
    (reader) => finishKubeBench(opts, stateDir, l, prepared, started, reader.serviceAccount),
  );
}

function finishKubeBench(
  opts: KubeBenchOptions,
  stateDir: string,
  l: Layout,
  prepared: ReturnType<typeof prepareKubeBench>,
  started: number,
  reader?: string,
): KubeBenchResult {
  const holder = JSON.parse(fs.readFileSync(path.join(stateDir, 'node', 'run', 'holder.json'), 'utf8')) as {
    pid: number;
  };
  const targets = opts.targets ?? KUBE_BENCH_TARGETS;
  const kubeBench = fs.realpathSync(path.join(opts.binDir, 'kube-bench'));
  const out = path.posix.join(l.dirInNode, 'results.json');
  const args = [
    'nsenter',
    `--target=${holder.pid}`,
    '--mount',
    '--net',
    '--uts',
    '--',
    'unshare',
    '--mount',
    '--propagation',
    'private',
    '--',
    '/bin/sh',
    '-c',
    RUN_SCRIPT,
    'hcb-kube-bench',
    l.dirInNode,
    kubeBench,
    'run',
    '--targets',
    targets.join(','),
    '--benchmark',
    KUBE_BENCH_BENCHMARK,
    '--config-dir',
    path.posix.join(l.dirInNode, 'cfg'),
    '--config',
    path.posix.join(l.dirInNode, 'cfg', 'config.yaml'),
    '--json',
    '--outputfile',
    out,
    ...(opts.checks?.length ? ['--check', opts.checks.join(',')] : []),
  ];
  const res = spawnSync(args[0], args.slice(1), {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 300_000,
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: '/root' },
  });
  fs.writeFileSync(path.join(l.dir, 'kube-bench.log'), `${res.stdout ?? ''}${res.stderr ?? ''}`);
  const resultsFile = path.join(l.dir, 'results.json');
  if (res.status !== 0 || !fs.existsSync(resultsFile)) {
    throw new Error(
      `kube-bench failed (exit ${res.status ?? res.signal}): ${(res.stderr || res.stdout || '').trim().split('\n').slice(-10).join('\n')}`,
    );
  }
  const parsed = parseKubeBenchJson(fs.readFileSync(resultsFile, 'utf8'), {
    kubectlGiven: prepared.kubectl !== undefined,
  });
  const version =
    spawnSync(kubeBench, ['version'], { encoding: 'utf8', timeout: 10_000 }).stdout?.trim().split('\n')[0] || 'unknown';
  return {
    ...parsed,
    version,
    kubectl: prepared.kubectl,
    reader,
    processes: prepared.processes,
    dir: l.dir,
    durationMs: Date.now() - started,
  };
}

interface RawResult {
  test_number: string;
  test_desc: string;
  audit?: string;
  type?: string;
  status: string;
  actual_value?: string;
  scored: boolean;
  expected_result?: string;
  reason?: string;
}
interface RawControls {
  id: string;
  version?: string;
  detected_version?: string;
  text: string;
  node_type: string;
  tests: Array<{ section: string; desc: string; results: RawResult[] }>;
  total_pass: number;
  total_fail: number;
  total_warn: number;
  total_info: number;
}

/** kube-bench's `--json` output (with totals: {Controls, Totals}, or a bare list) → checks and per-section counts. */
export function parseKubeBenchJson(
  text: string,
  opts: { kubectlGiven: boolean },
): Omit<KubeBenchResult, 'kubectl' | 'reader' | 'processes' | 'dir' | 'durationMs'> {
  const json = JSON.parse(text) as { Controls?: RawControls[] } | RawControls[];
  const controls = Array.isArray(json) ? json : (json.Controls ?? []);
  if (!controls.length) throw new Error('kube-bench reported no controls');
  const checks: KubeBenchCheck[] = [];
  const sections: KubeBenchSection[] = [];
  let benchmark = '';
  for (const c of controls) {
    const target = c.node_type as KubeBenchTarget;
    if (!(KUBE_BENCH_TARGETS as readonly string[]).includes(target))
      throw new Error(`kube-bench reported an unknown target ${c.node_type}`);
    benchmark = c.version ?? benchmark;
    sections.push({
      target,
      id: c.id,
      text: c.text,
      pass: c.total_pass,
      fail: c.total_fail,
      warn: c.total_warn,
      info: c.total_info,
    });
    for (const g of c.tests ?? []) {
      for (const r of g.results ?? []) {
        const status = r.status as KubeBenchStatus;
        if (!['PASS', 'FAIL', 'WARN', 'INFO'].includes(status))
          throw new Error(`kube-bench check ${r.test_number}: unknown status ${r.status}`);
        const type = r.type ?? '';
        checks.push({
          id: r.test_number,
          target,
          text: r.test_desc,
          status,
          scored: r.scored,
          automated: r.scored && type !== 'manual' && type !== 'skip',
          type,
          reason: r.reason || undefined,
          actual: r.actual_value || undefined,
          expected: r.expected_result || undefined,
          needsKubectl: !opts.kubectlGiven && /\bkubectl\b/.test(r.audit ?? ''),
        });
      }
    }
  }
  return { benchmark: benchmark || KUBE_BENCH_BENCHMARK, version: 'unknown', checks, sections };
}

// -------------------------------------------------------------------------------------------------
// The reviewed file (test/external/kube-bench-review.yaml)

export type ReviewKind = 'finding-disagrees' | 'local-target' | 'detection-limitation' | 'open-finding';
/** Where our result comes from: hcb verify, or our engine on the cluster's objects read through the API. */
export type OursFrom = 'verify' | 'live-objects';
export interface KubeBenchReviewEntry {
  /** kube-bench's status on this cluster. */
  status: Exclude<KubeBenchStatus, 'PASS'>;
  kind: ReviewKind;
  reason: string;
  /** Our control for the same CIS recommendation, when there is one. */
  control?: string;
  /** Our result(s) for that control on the same cluster; the e2e compares them (as a set). */
  ours?: Status | Status[];
  /** @default 'verify' */
  oursFrom?: OursFrom;
}
export type KubeBenchReview = Record<string, KubeBenchReviewEntry>;

const STATUSES: readonly Status[] = ['pass', 'fail', 'accepted', 'not-applicable', 'not-evaluated', 'error'];
export const REVIEW_KINDS: readonly ReviewKind[] = [
  'finding-disagrees',
  'local-target',
  'detection-limitation',
  'open-finding',
];

/** The statuses an entry states for its control, sorted (empty when it states none). */
export function reviewedStatuses(e: KubeBenchReviewEntry): Status[] {
  return e.ours === undefined ? [] : [...new Set(Array.isArray(e.ours) ? e.ours : [e.ours])].sort();
}

export function loadKubeBenchReview(file: string): KubeBenchReview {
  const raw = parseYaml(fs.readFileSync(file, 'utf8')) as { checks?: KubeBenchReview };
  const checks = raw?.checks ?? {};
  for (const [id, e] of Object.entries(checks)) {
    if (
      !e ||
      !['FAIL', 'WARN', 'INFO'].includes(e.status) ||
      !REVIEW_KINDS.includes(e.kind) ||
      typeof e.reason !== 'string' ||
      !e.reason.trim()
    ) {
      throw new Error(
        `${file}: check ${id} needs status (FAIL, WARN or INFO), kind (${REVIEW_KINDS.join(', ')}) and a reason`,
      );
    }
    const ours = e.ours === undefined ? [] : Array.isArray(e.ours) ? e.ours : [e.ours];
    if (e.ours !== undefined && (!e.control || !ours.length || !ours.every((o) => STATUSES.includes(o)))) {
      throw new Error(
        `${file}: check ${id}: ours must be a status or a list of statuses (${STATUSES.join(', ')}) of the control it names`,
      );
    }
    if (e.oursFrom !== undefined && (!['verify', 'live-objects'].includes(e.oursFrom) || e.ours === undefined)) {
      throw new Error(`${file}: check ${id}: oursFrom must be verify or live-objects, and needs ours`);
    }
  }
  return checks;
}

/** The automated checks that are not PASS (what the review file must list). */
export function notPassing(result: Pick<KubeBenchResult, 'checks'>): KubeBenchCheck[] {
  return result.checks.filter((c) => c.automated && c.status !== 'PASS');
}

/** Automated non-PASS checks without a matching review entry, and review entries no check needs. */
export function compareWithReview(
  result: Pick<KubeBenchResult, 'checks'>,
  review: KubeBenchReview,
): { unreviewed: string[]; wrongStatus: string[]; stale: string[] } {
  const open = notPassing(result);
  const unreviewed: string[] = [];
  const wrongStatus: string[] = [];
  for (const c of open) {
    const e = review[c.id];
    if (!e) unreviewed.push(`${c.id} ${c.status}: ${c.text}`);
    else if (e.status !== c.status)
      wrongStatus.push(`${c.id}: kube-bench says ${c.status}, the review file ${e.status}`);
  }
  const openIds = new Set(open.map((c) => c.id));
  const stale = Object.keys(review).filter((id) => !openIds.has(id));
  return { unreviewed, wrongStatus, stale };
}

/** Summary lines for `npm run up`: counts per section, then each non-PASS automated check with its review reason. */
export function kubeBenchSummary(result: KubeBenchResult, review: KubeBenchReview): string[] {
  const kubectl = result.kubectl
    ? `${result.kubectl}${result.reader ? ` as ${result.reader} (read-only, removed after the run)` : ''}`
    : 'none, 5.1.x need it';
  const lines = [
    `kube-bench ${result.version}, benchmark ${result.benchmark} (${(result.durationMs / 1000).toFixed(1)} s; kubectl: ${kubectl})`,
  ];
  for (const s of result.sections)
    lines.push(
      `  ${s.id} ${s.target.padEnd(12)} ${s.pass} PASS, ${s.fail} FAIL, ${s.warn} WARN, ${s.info} INFO  (${s.text})`,
    );
  const open = notPassing(result);
  const { unreviewed, wrongStatus } = compareWithReview(result, review);
  lines.push(`  automated checks not PASS: ${open.length} (${open.length - unreviewed.length} reviewed)`);
  for (const c of open) {
    const e = review[c.id];
    const why = e && e.status === c.status ? `[${e.kind}] ${firstSentence(e.reason)}` : 'NOT REVIEWED';
    lines.push(`  ${c.id.padEnd(7)} ${c.status} ${why}`);
  }
  for (const w of wrongStatus) lines.push(`  review mismatch: ${w}`);
  return lines;
}

function firstSentence(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  const m = /^(.*?[.;])(\s|$)/.exec(t);
  const out = m ? m[1] : t;
  return out.length > 160 ? `${out.slice(0, 157)}...` : out;
}

/** CLI for `npm run up`: node -r ts-node/register/transpile-only stacks/local/kube-bench.ts <stateDir> <binDir> <review.yaml> */
if (require.main === module) {
  const [stateDir, binDir, reviewFile] = process.argv.slice(2);
  try {
    const result = runKubeBench({ stateDir, binDir });
    const review = loadKubeBenchReview(reviewFile);
    for (const l of kubeBenchSummary(result, review)) process.stdout.write(`${l}\n`);
    const { unreviewed, wrongStatus } = compareWithReview(result, review);
    process.exit(unreviewed.length || wrongStatus.length ? 1 : 0);
  } catch (e) {
    process.stderr.write(`kube-bench: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

/**
 * Peer scanners for the benchmark: where their binaries are, how to run them on a corpus, how to
 * read their findings, and which of our controls answers each of their checks (or why none does).
 * The binaries are built outside the repository (never committed): kube-score v1.20.0 with
 * `go install`, kubesec v2.14.2's rule engine through a throwaway wrapper that disables its
 * kubeconform schema download (this machine is offline), see BENCHMARKS.md. Trivy v0.74.0 comes
 * from the toolchain's bench lane (`tools/build-toolchain.sh --only bench`): `trivy config` with
 * only its Kubernetes scanner and the checks compiled into it (trivy-checks), offline.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';

export interface PeerFinding {
  object: string; // Kind/namespace/name
  check: string;
}

export interface Peer {
  name: string;
  version: string;
  bin: string;
  /** argv for one run over these files (one process for all of them). */
  args(files: string[]): string[];
  /** Findings (problems, not passes) from its standard output for a run over `files`. */
  findings(stdout: string, files: string[]): PeerFinding[];
  /** Largest generated corpus it runs on (objects); unset: every corpus. */
  maxObjects?: number;
}

/** The deepest directory holding every one of `files` (trivy config scans one directory). */
export function commonDir(files: string[]): string {
  if (files.length === 0) throw new Error('no files');
  let dir = path.dirname(path.resolve(files[0]));
  for (const f of files.map((x) => path.resolve(x)))
    while (!f.startsWith(dir + path.sep)) {
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  return dir;
}

interface TrivyReport {
  Results?: Array<{
    Target: string;
    Class?: string;
    Type?: string;
    Misconfigurations?: Array<{ ID: string; Status: string; CauseMetadata?: { StartLine?: number; EndLine?: number } }>;
  }>;
}

/**
 * The object a finding's lines fall in: trivy reports the file (relative to the scanned
 * directory) and the lines of the cause, not the object, so the file's documents are read and the
 * one whose range holds the start line is taken.
 */
function objectAtLine(file: string, line: number | undefined): string {
  const text = fs.readFileSync(file, 'utf8');
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  const lineOf = (offset: number): number => text.slice(0, offset).split('\n').length;
  const withObject = list
    .map((d) => ({ d, o: d.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string } } | null }))
    .filter((x) => x.o && typeof x.o === 'object' && x.o.kind);
  const hit =
    withObject.length === 1
      ? withObject[0]
      : withObject.find((x) => {
          const [start, , end] = x.d.range;
          return line !== undefined && line >= lineOf(start) && line <= lineOf(end);
        });
  if (!hit) return `?/${path.basename(file)}:${line ?? '?'}`;
  return objectKey(hit.o!.kind!, hit.o!.metadata?.namespace, hit.o!.metadata?.name);
}

const NAMESPACED_DEFAULT = new Set([
  'Pod',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'ReplicaSet',
  'Service',
  'ServiceAccount',
  'ConfigMap',
  'Secret',
  'Role',
  'RoleBinding',
  'NetworkPolicy',
]);
export const objectKey = (
  kind: string,
  namespace: string | null | undefined,
  name: string | null | undefined,
): string => `${kind}/${namespace || (NAMESPACED_DEFAULT.has(kind) ? 'default' : '')}/${name ?? ''}`;

function find(name: string, dirs: string[]): string | undefined {
  for (const d of dirs) {
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export function binDirs(repo: string): string[] {
  const dirs: string[] = [];
  if (process.env.HCB_BENCH_PEER_BIN) dirs.push(process.env.HCB_BENCH_PEER_BIN);
  try {
    const d = execFileSync('bash', [path.join(repo, 'tools/build-toolchain.sh'), '--bin-dir'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 30000,
    })
      .trim()
      .split('\n')
      .pop();
    if (d) dirs.push(d);
  } catch {
    /* no toolchain */
  }
  dirs.push('/tmp/hcb-peers/bin', ...(process.env.PATH ?? '').split(':').filter(Boolean));
  return dirs;
}

interface KubeScoreObject {
  type_meta: { kind: string };
  object_meta: { name?: string; namespace?: string };
  checks: Array<{ check: { id: string }; grade: number; skipped: boolean }>;
}

interface KubesecReport {
  object: string;
  valid: boolean;
  message?: string;
  scoring?: { critical?: Array<{ id: string }>; advise?: Array<{ id: string }> };
}

/** The permissive schemas kubesec scan validates against (one directory per bench process). */
let kubesecSchemas: string | undefined;

export function findPeers(repo: string): Peer[] {
  const dirs = binDirs(repo);
  const peers: Peer[] = [];
  const ks = find('kube-score', dirs);
  if (ks) {
    peers.push({
      name: 'kube-score',
      version: 'v1.20.0 (built from its Go module; the binary reports "development")',
      bin: ks,
      args: (files) => ['score', '--output-format', 'json', ...files],
      findings: (stdout) =>
        (JSON.parse(stdout) as KubeScoreObject[]).flatMap((o) =>
          o.checks
            .filter((c) => !c.skipped && c.grade < 10)
            .map((c) => ({
              object: objectKey(o.type_meta.kind, o.object_meta.namespace, o.object_meta.name),
              check: c.check.id,
            })),
        ),
    });
  }
  const ksec = find('kubesec', dirs);
  if (ksec) {
    peers.push({
      name: 'kubesec',
      version:
        'v2.14.2 (`kubesec scan`, built from its Go module by the toolchain; offline: a permissive local schema per kind, so its scoring is compared, not its schema validation)',
      bin: '/bin/sh',
      // kubesec scan reads one file: the files go in as one stream (each followed by ---), and
      // --schema-location points at a permissive schema for every kind they hold (as
      // test/e2e/external-kubesec.test.ts runs it; its default schemas are on the internet).
      args: (files) => {
        // One directory for the whole run, removed when the process exits.
        if (!kubesecSchemas) {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-bench-kubesec-schemas-'));
          process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
          kubesecSchemas = dir;
        }
        const schemas = kubesecSchemas;
        const kinds = new Set<string>();
        for (const f of files)
          for (const m of fs.readFileSync(f, 'utf8').matchAll(/^kind:\s*["']?([A-Za-z0-9]+)/gm))
            kinds.add(m[1].toLowerCase());
        for (const k of kinds) fs.writeFileSync(path.join(schemas, `${k}.json`), '{"type": "object"}\n');
        return [
          '-c',
          'bin=$1; schemas=$2; shift 2; for f in "$@"; do cat "$f"; printf "\\n---\\n"; done | "$bin" scan --schema-location "$schemas/{{ .ResourceKind }}.json" /dev/stdin',
          'sh',
          ksec,
          schemas,
          ...files,
        ];
      },
      findings: (stdout) =>
        ((JSON.parse(stdout) as KubesecReport[] | null) ?? []).flatMap((r) => {
          // A comment-only document before the first --- comes back as "Unknown" with advice for an empty pod.
          if (!r.object || r.object.startsWith('Unknown')) return [];
          const slash = r.object.indexOf('/');
          const kind = r.object.slice(0, slash);
          const rest = r.object.slice(slash + 1);
          const dot = rest.lastIndexOf('.');
          const key = objectKey(kind, dot >= 0 ? rest.slice(dot + 1) : '', dot >= 0 ? rest.slice(0, dot) : rest);
          return [...(r.scoring?.critical ?? []), ...(r.scoring?.advise ?? [])].map((c) => ({
            object: key,
            check: c.id,
          }));
        }),
    });
  }
  const trivy = find('trivy', dirs);
  if (trivy) {
    // An empty cache of its own: with --skip-check-update and no downloaded bundle, trivy falls back
    // to the checks compiled into it (pkg/commands/artifact/run.go initMisconfScannerOption).
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-bench-trivy-cache-'));
    peers.push({
      name: 'trivy',
      // About a minute per 1,000 objects here (trivy config, 2 cores): 10,000 would take about ten
      // minutes per repetition and 50,000 pass the 15-minute bound. HCB_BENCH_TRIVY_MAX_OBJECTS raises it.
      maxObjects: Number(process.env.HCB_BENCH_TRIVY_MAX_OBJECTS ?? 1000),
      version:
        'v0.74.0 (`trivy config`, Kubernetes scanner, checks compiled in: trivy-checks v1.12.2-0.20251219190323-79d27547baf5)',
      bin: trivy,
      args: (files) => [
        'config',
        '--quiet',
        '--format',
        'json',
        '--cache-dir',
        cache,
        '--skip-check-update',
        '--skip-version-check',
        '--disable-telemetry',
        '--misconfig-scanners',
        'kubernetes',
        commonDir(files),
      ],
      findings: (stdout, files) => {
        const base = commonDir(files);
        return ((JSON.parse(stdout) as TrivyReport).Results ?? []).flatMap((r) =>
          (r.Misconfigurations ?? [])
            .filter((m) => m.Status === 'FAIL')
            .map((m) => ({
              object: objectAtLine(path.join(base, r.Target), m.CauseMetadata?.StartLine),
              check: m.ID,
            })),
        );
      },
    });
  }
  return peers;
}

/**
 * Peer check → our controls that answer it on the same object (`namespace: true`: on the object's
 * Namespace), or the reason we have none. Written by reading each peer's check descriptions.
 */
export const PEER_MAP: Record<string, Record<string, { controls: string[]; namespace?: boolean; reason?: string }>> = {
  'kube-score': {
    'container-security-context-privileged': { controls: ['HCB-WORKLOAD-PRIVILEGED'] },
    'container-security-context-readonlyrootfilesystem': { controls: ['HCB-WORKLOAD-READ-ONLY-ROOT-FS'] },
    'container-security-context-user-group-id': {
      controls: ['HCB-WORKLOAD-RUN-AS-NON-ROOT'],
      reason:
        'kube-score wants UID and GID of 10000 or more (to avoid host users); we require non-root, as the STIG and Pod Security "restricted" do, and set no GID floor',
    },
    'container-resources': { controls: ['HCB-WORKLOAD-RESOURCE-LIMITS'] },
    'container-ephemeral-storage-request-and-limit': { controls: ['HCB-WORKLOAD-EPHEMERAL-STORAGE'] },
    'container-image-tag': { controls: ['HCB-WORKLOAD-IMAGE-DIGEST'] },
    'container-image-pull-policy': {
      controls: [],
      reason:
        'imagePullPolicy Always re-validates pull credentials; we require images pinned by digest (HCB-WORKLOAD-IMAGE-DIGEST) instead of a per-workload pull policy',
    },
    'container-seccomp-profile': { controls: ['HCB-WORKLOAD-SECCOMP'] },
    'pod-networkpolicy': {
      controls: ['HCB-NAMESPACE-DEFAULT-DENY-INGRESS', 'HCB-NAMESPACE-DEFAULT-DENY-EGRESS'],
      namespace: true,
      reason:
        'we check default-deny per Namespace object; a workload whose Namespace is not in the input gets no namespace finding',
    },
    'pod-probes': { controls: ['HCB-WORKLOAD-PROBES'] },
    'pod-probes-identical': {
      controls: [],
      reason: 'availability advice (identical liveness and readiness probes), not a security requirement',
    },
    'deployment-has-poddisruptionbudget': {
      controls: [],
      reason: 'availability (PodDisruptionBudget), not a security requirement we map',
    },
    'statefulset-has-poddisruptionbudget': {
      controls: [],
      reason: 'availability (PodDisruptionBudget), not a security requirement we map',
    },
    'deployment-has-host-podantiaffinity': {
      controls: [],
      reason: 'availability (anti-affinity), not a security requirement we map',
    },
    'statefulset-has-host-podantiaffinity': {
      controls: [],
      reason: 'availability (anti-affinity), not a security requirement we map',
    },
    'deployment-replicas': { controls: [], reason: 'availability (replica count)' },
    'pod-topology-spread-constraints': { controls: [], reason: 'availability (spread constraints)' },
    'deployment-strategy': { controls: [], reason: 'rollout strategy, not security' },
    'cronjob-has-deadline': { controls: [], reason: 'scheduling hygiene, not security' },
    'cronjob-restartpolicy': { controls: [], reason: 'correctness of the manifest, not security' },
    'statefulset-has-servicename': {
      controls: [],
      reason: 'correctness of the manifest (headless Service), not security',
    },
    'service-targets-pod': { controls: [], reason: 'correctness across objects, not security' },
    'networkpolicy-targets-pod': { controls: [], reason: 'correctness across objects, not security' },
    'service-type': { controls: [], reason: 'no control in our catalogue for NodePort Services' },
    'stable-version': {
      controls: [],
      reason: 'deprecated API versions: the API server refuses removed ones; not a security control',
    },
    'label-values': { controls: [], reason: 'label syntax: the API server validates it' },
    'environment-variable-key-duplication': { controls: [], reason: 'manifest correctness' },
  },
  kubesec: {
    HostNetwork: { controls: ['HCB-WORKLOAD-HOST-NAMESPACES'] },
    HostPID: { controls: ['HCB-WORKLOAD-HOST-NAMESPACES'] },
    HostIPC: { controls: ['HCB-WORKLOAD-HOST-NAMESPACES'] },
    ReadOnlyRootFilesystem: { controls: ['HCB-WORKLOAD-READ-ONLY-ROOT-FS'] },
    RunAsNonRoot: { controls: ['HCB-WORKLOAD-RUN-AS-NON-ROOT'] },
    RunAsUser: {
      controls: ['HCB-WORKLOAD-RUN-AS-NON-ROOT'],
      reason: 'kubesec advises a UID above 10000; we require non-root only',
    },
    RunAsGroup: { controls: [], reason: 'we set no GID requirement (no framework we map asks for one)' },
    Privileged: { controls: ['HCB-WORKLOAD-PRIVILEGED'] },
    CapSysAdmin: { controls: ['HCB-WORKLOAD-CAPABILITIES'] },
    CapDropAny: { controls: ['HCB-WORKLOAD-CAPABILITIES'] },
    CapDropAll: { controls: ['HCB-WORKLOAD-CAPABILITIES'] },
    DockerSock: { controls: ['HCB-WORKLOAD-HOST-PATH'] },
    ProcMount: {
      controls: [],
      reason: 'no control for procMount: Unmasked (it needs hostUsers: false to be allowed at all)',
    },
    RequestsCPU: { controls: ['HCB-WORKLOAD-RESOURCE-LIMITS'] },
    LimitsCPU: { controls: ['HCB-WORKLOAD-RESOURCE-LIMITS'] },
    RequestsMemory: { controls: ['HCB-WORKLOAD-RESOURCE-LIMITS'] },
    LimitsMemory: { controls: ['HCB-WORKLOAD-RESOURCE-LIMITS'] },
    ServiceAccountName: { controls: ['HCB-WORKLOAD-DEDICATED-SERVICE-ACCOUNT'] },
    HostAliases: { controls: [], reason: 'no control for hostAliases' },
    SeccompAny: {
      controls: ['HCB-WORKLOAD-SECCOMP'],
      reason:
        'kubesec looks only for the seccomp.security.alpha.kubernetes.io annotations, which the API server calls non-functional since v1.27 (pkg/api/pod/warnings.go); we check securityContext.seccompProfile, which these pods set',
    },
    SeccompUnconfined: { controls: ['HCB-WORKLOAD-SECCOMP'] },
    ApparmorAny: {
      controls: [],
      reason: 'AppArmor is a node choice we do not require; seccomp RuntimeDefault is required instead',
    },
    VolumeClaimAccessModeReadWriteOnce: { controls: [], reason: 'storage advice, not security' },
    VolumeClaimRequestsStorage: { controls: [], reason: 'storage advice, not security' },
    AllowPrivilegeEscalation: { controls: ['HCB-WORKLOAD-PRIVILEGE-ESCALATION'] },
    AutomountServiceAccountToken: { controls: ['HCB-WORKLOAD-SA-TOKEN-AUTOMOUNT'] },
  },
  // Trivy's Kubernetes checks (trivy-checks checks/kubernetes/*.rego, read for what each flags).
  trivy: {
    // Control-plane flags of the static pod manifests (trivy-checks checks/kubernetes/cisbenchmarks).
    'KCV-0001': { controls: ['HCB-APISERVER-ANONYMOUS-AUTH'] },
    'KCV-0002': { controls: ['HCB-APISERVER-STATIC-TOKEN-FILE'] },
    'KCV-0003': {
      controls: [],
      reason:
        'CIS 1.2.3 is Manual (kube-bench cis-1.10 master.yaml) and none of the four requirement documents this product answers to asks for DenyServiceExternalIPs',
    },
    'KCV-0004': {
      controls: [],
      reason:
        'kube-apiserver 1.36 has no --kubelet-https flag (k8s.io/kubernetes pkg/kubeapiserver/options): it reaches kubelets over HTTPS only',
    },
    'KCV-0005': { controls: ['HCB-APISERVER-KUBELET-CLIENT-CERT'] },
    'KCV-0006': { controls: ['HCB-APISERVER-KUBELET-CA'] },
    'KCV-0007': { controls: ['HCB-APISERVER-AUTHORIZATION-MODE'] },
    'KCV-0008': { controls: ['HCB-APISERVER-AUTHORIZATION-MODE'] },
    'KCV-0009': { controls: ['HCB-APISERVER-AUTHORIZATION-MODE'] },
    'KCV-0010': {
      controls: [],
      reason:
        'CIS 1.2.9 is Manual (kube-bench cis-1.10 master.yaml) and none of the four requirement documents this product answers to asks for EventRateLimit; the blueprint enables it in its standard and high profiles',
    },
    'KCV-0011': { controls: ['HCB-APISERVER-NO-ALWAYS-ADMIT'] },
    'KCV-0012': {
      controls: [],
      reason:
        'CIS 1.2.11 is Manual (kube-bench cis-1.10 master.yaml) and none of the four requirement documents this product answers to asks for AlwaysPullImages; the blueprint enables it in its high profile',
    },
    'KCV-0013': {
      controls: ['HCB-POD-SECURITY-ADMISSION-ENABLED'],
      reason: 'SecurityContextDeny no longer exists in kube-apiserver 1.36; Pod Security admission replaces it',
    },
    'KCV-0014': {
      controls: [],
      reason:
        'on by default in kube-apiserver; the plugins the requirements name (NodeRestriction, PodSecurity, ValidatingAdmissionWebhook) are checked not to be disabled, ServiceAccount is not',
    },
    'KCV-0015': {
      controls: [],
      reason:
        'on by default in kube-apiserver; the plugins the requirements name (NodeRestriction, PodSecurity, ValidatingAdmissionWebhook) are checked not to be disabled, NamespaceLifecycle is not',
    },
    'KCV-0016': { controls: ['HCB-APISERVER-NODE-RESTRICTION'] },
    'KCV-0017': { controls: ['HCB-APISERVER-SECURE-PORT'] },
    'KCV-0018': { controls: ['HCB-APISERVER-PROFILING'] },
    'KCV-0019': { controls: ['HCB-APISERVER-AUDIT-LOG-DESTINATION'] },
    'KCV-0020': { controls: ['HCB-APISERVER-AUDIT-LOG-MAXAGE'] },
    'KCV-0021': { controls: ['HCB-APISERVER-AUDIT-LOG-MAXBACKUP'] },
    'KCV-0022': { controls: ['HCB-APISERVER-AUDIT-LOG-MAXSIZE'] },
    'KCV-0024': {
      controls: [],
      reason:
        'true by default (pkg/kubeapiserver/options/authentication.go); no control of ours refuses an explicit --service-account-lookup=false, which no requirement document names',
    },
    'KCV-0025': {
      controls: [],
      reason:
        "no control of ours (no requirement document names the API server's --service-account-key-file; kubeadm sets it)",
    },
    'KCV-0026': { controls: ['HCB-APISERVER-ETCD-TLS'] },
    'KCV-0027': { controls: ['HCB-APISERVER-SERVING-CERT'] },
    'KCV-0028': { controls: ['HCB-APISERVER-CLIENT-CA'] },
    'KCV-0029': { controls: ['HCB-APISERVER-ETCD-TLS'] },
    'KCV-0030': { controls: ['HCB-APISERVER-ENCRYPTION-CONFIG'] },
    'KCV-0033': {
      controls: [],
      reason:
        'CIS 1.3.1 is Manual (kube-bench cis-1.10 master.yaml) and none of the four requirement documents this product answers to asks for a terminated-pod GC threshold',
    },
    'KCV-0034': { controls: ['HCB-CONTROLLER-MANAGER-PROFILING'] },
    'KCV-0035': { controls: ['HCB-CONTROLLER-MANAGER-SA-CREDENTIALS'] },
    'KCV-0036': { controls: ['HCB-CONTROLLER-MANAGER-SA-KEY'] },
    'KCV-0037': { controls: ['HCB-CONTROLLER-MANAGER-ROOT-CA'] },
    'KCV-0038': {
      controls: ['HCB-KUBELET-CERT-ROTATION'],
      reason: 'we check serving-certificate rotation at the kubelet, where it takes effect',
    },
    'KCV-0039': { controls: ['HCB-CONTROLLER-MANAGER-BIND-ADDRESS'] },
    'KCV-0040': { controls: ['HCB-SCHEDULER-PROFILING'] },
    'KCV-0041': { controls: ['HCB-SCHEDULER-BIND-ADDRESS'] },
    'KCV-0042': { controls: ['HCB-ETCD-SERVER-TLS'] },
    'KCV-0043': { controls: ['HCB-ETCD-CLIENT-CERT-AUTH'] },
    'KCV-0044': { controls: ['HCB-ETCD-AUTO-TLS'] },
    'KCV-0045': { controls: ['HCB-ETCD-PEER-TLS'] },
    'KCV-0046': { controls: ['HCB-ETCD-PEER-CLIENT-CERT-AUTH'] },
    'KCV-0047': { controls: ['HCB-ETCD-PEER-AUTO-TLS'] },
    'KSV-0001': { controls: ['HCB-WORKLOAD-PRIVILEGE-ESCALATION'] },
    'KSV-0002': {
      controls: [],
      reason: 'AppArmor is a node choice we do not require; seccomp RuntimeDefault is required instead',
    },
    'KSV-0003': { controls: ['HCB-WORKLOAD-CAPABILITIES'] },
    'KSV-0004': { controls: ['HCB-WORKLOAD-CAPABILITIES'] },
    'KSV-0005': { controls: ['HCB-WORKLOAD-CAPABILITIES'] },
    'KSV-0006': { controls: ['HCB-WORKLOAD-HOST-PATH'] },
    'KSV-0007': { controls: [], reason: 'no control for hostAliases' },
    'KSV-0008': { controls: ['HCB-WORKLOAD-HOST-NAMESPACES'] },
    'KSV-0009': { controls: ['HCB-WORKLOAD-HOST-NAMESPACES'] },
    'KSV-0010': { controls: ['HCB-WORKLOAD-HOST-NAMESPACES'] },
    'KSV-0011': { controls: ['HCB-WORKLOAD-RESOURCE-LIMITS'] },
    'KSV-0012': { controls: ['HCB-WORKLOAD-RUN-AS-NON-ROOT'] },
    'KSV-0013': { controls: ['HCB-WORKLOAD-IMAGE-DIGEST'] },
    'KSV-0014': { controls: ['HCB-WORKLOAD-READ-ONLY-ROOT-FS'] },
    'KSV-0015': { controls: ['HCB-WORKLOAD-RESOURCE-LIMITS'] },
    'KSV-0016': { controls: ['HCB-WORKLOAD-RESOURCE-LIMITS'] },
    'KSV-0017': { controls: ['HCB-WORKLOAD-PRIVILEGED'] },
    'KSV-0018': { controls: ['HCB-WORKLOAD-RESOURCE-LIMITS'] },
    'KSV-0020': {
      controls: ['HCB-WORKLOAD-RUN-AS-NON-ROOT'],
      reason:
        'Trivy wants a UID above 10000 (to avoid host users); we require non-root, as the STIG and Pod Security "restricted" do',
    },
    'KSV-0021': { controls: [], reason: 'we set no GID requirement (no framework we map asks for one)' },
    'KSV-0022': { controls: ['HCB-WORKLOAD-CAPABILITIES'] },
    'KSV-0023': { controls: ['HCB-WORKLOAD-HOST-PATH'] },
    'KSV-0024': { controls: ['HCB-WORKLOAD-HOST-PORTS'] },
    'KSV-0030': { controls: ['HCB-WORKLOAD-SECCOMP'] },
    'KSV-0036': { controls: ['HCB-WORKLOAD-SA-TOKEN-AUTOMOUNT'] },
    'KSV-0037': {
      controls: [],
      reason:
        'placement advice (user objects in kube-system); our workload controls check those objects like any other',
    },
    'KSV-0038': {
      controls: [],
      reason:
        'a NetworkPolicy without any pod or namespace selector: the API server requires podSelector (an empty one selects every pod, as a default-deny policy must); we check that each Namespace is denied by default instead',
    },
    'KSV-0039': { controls: ['HCB-NAMESPACE-LIMIT-RANGE'], namespace: true },
    'KSV-0040': { controls: ['HCB-NAMESPACE-RESOURCE-QUOTA'], namespace: true },
    'KSV-0041': { controls: ['HCB-RBAC-SECRETS-READ'] },
    'KSV-0044': { controls: ['HCB-RBAC-NO-WILDCARDS'] },
    'KSV-0045': { controls: ['HCB-RBAC-NO-WILDCARDS'] },
    'KSV-0046': { controls: ['HCB-RBAC-NO-WILDCARDS'] },
    'KSV-0048': {
      controls: [],
      reason: 'write access to workloads is what most roles are for; we flag only escalation verbs and wildcards',
    },
    'KSV-0049': {
      controls: [],
      reason: 'ConfigMaps hold no credentials in our model (Secrets do: HCB-RBAC-SECRETS-READ)',
    },
    'KSV-0050': { controls: ['HCB-RBAC-NO-ESCALATION-VERBS'] },
    'KSV-0053': { controls: ['HCB-RBAC-NO-ESCALATION-VERBS'] },
    'KSV-0056': { controls: ['HCB-RBAC-NETWORK-POLICY-WRITE'] },
    'KSV-0104': { controls: ['HCB-WORKLOAD-SECCOMP'] },
    'KSV-0105': { controls: ['HCB-WORKLOAD-RUN-AS-NON-ROOT'] },
    'KSV-0106': { controls: ['HCB-WORKLOAD-CAPABILITIES'] },
    'KSV-0110': {
      controls: ['HCB-NAMESPACE-NO-DEFAULT-OBJECTS'],
      reason:
        'we flag objects in the default Namespace when the input holds it; Trivy flags every object without a namespace',
    },
    'KSV-0111': { controls: ['HCB-RBAC-CLUSTER-ADMIN-BINDINGS'] },
    'KSV-0116': { controls: [], reason: 'we set no GID requirement (no framework we map asks for one)' },
    'KSV-0117': { controls: ['HCB-WORKLOAD-PRIVILEGED-HOST-PORTS'] },
    'KSV-0118': {
      controls: ['HCB-WORKLOAD-RUN-AS-NON-ROOT', 'HCB-WORKLOAD-SECCOMP'],
      reason:
        'Trivy wants a securityContext on every pod and container; we check the fields that matter (non-root, seccomp, escalation, capabilities, read-only root) wherever they are set',
    },
    'KSV-0119': { controls: ['HCB-WORKLOAD-CAPABILITIES'] },
    'KSV-0121': { controls: ['HCB-WORKLOAD-HOST-PATH'] },
    'KSV-0123': { controls: ['HCB-RBAC-CLUSTER-ADMIN-BINDINGS'] },
    'KSV-0125': {
      controls: ['HCB-WORKLOAD-IMAGE-DIGEST'],
      reason: 'Trivy keeps a list of trusted registries; we require images pinned by digest, whatever the registry',
    },
  },
};

/**
 * `hcb verify` on the hosts target (issue 10; stacks/hosts/verify.ts, cli/commands/verify-hosts.ts):
 * two lab hosts (test/e2e/support/hosts-lab.ts, subnet 198.18.6.0/24): hv1 brought up with the real
 * `kubeadm init` over SSH (stacks/hosts/bringup.ts), hw1 joined with `kubeadm join`
 * (stacks/hosts/join.ts), the cluster network (kube-proxy, kube-router) on both (network.ts). Then
 * verified over SSH: the running components' command lines, the files they name, owner and mode of
 * the node files, the node probes from each host (anonymous kubelet request, serving certificate,
 * read-only port, kube-proxy's metrics port) and the API probes through a forwarded API endpoint.
 * No fail and no error on either host; every not-evaluated control is asserted by name with its
 * reason. A second `up` of the control plane changes nothing (etcd's data stays etcd's). kube-bench
 * runs on each host (master, etcd, controlplane and node on hv1; node on hw1) and every automated
 * check is PASS or listed in test/external/kube-bench-hosts.reviewed.yaml. Then a node file made
 * world-writable and a kubelet configuration that opens the read-only port make their controls
 * (and the read-only port probe) fail; with the host's sshd blocked the CLI reports an error
 * finding for that host within a bounded time.
 *
 * Port range: 47400-47419 (47400 hv1's sshd, 47401 the forwarded API endpoint, 47402 hw1's sshd).
 * Pod ranges 198.18.112.0/20 (hv1 198.18.112.0/24, hw1 198.18.113.0/24), services 198.19.224.0/20.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { command as verifyCommand } from '../../cli/commands/verify';
import { nodeFilesFor } from '../../cli/commands/verify-hosts';
import { PodSecurityExemption } from '../../constructs/admission/pod-security-exemption';
import { synthesizeBlueprint } from '../../constructs/blueprint';
import type { ControlException, Finding } from '../../policies/model';
import {
  ControlPlaneHost,
  ControlPlaneHostOptions,
  HOST_BIN_DIR,
  HOST_CNI_BIN_DIR,
  HOST_STATE_DIR,
  RESET_SCRIPT,
} from '../../stacks/hosts/bringup';
import { HostShell } from '../../stacks/hosts/host-shell';
import {
  approveKubeletServingCsrs,
  ClusterAdmin,
  HostAccess,
  joinNodeFiles,
  joinWorker,
  nodeReady,
} from '../../stacks/hosts/join';
import { ensureClusterNetwork, resetHostNetworkOver, sweepKubeChains } from '../../stacks/hosts/network';
import {
  apiAccessFromKubeconfig,
  NODE_PROBES,
  sshVerifyHost,
  verifyHosts,
  VerifyHostsResult,
} from '../../stacks/hosts/verify';
import {
  compareWithReview,
  KubeBenchCheck,
  loadKubeBenchReview,
  notPassing,
  reviewedStatuses,
} from '../../stacks/local/kube-bench';
import { FORWARDER_SCRIPT } from '../../stacks/local/node/forwarder';
import { defaultCacheRoot } from '../../stacks/local/node/images';
import { alive, signal, sleep } from '../../stacks/local/node/sandbox';
import { tempDir, toolchainBin } from './support/env';
import { hostProcesses, runKubeBenchOnLabHost } from './support/hosts-kube-bench';
import { HostsLab } from './support/hosts-lab';

jest.setTimeout(2_400_000);

const API_PORT = 47401;
const CP = 'hv1';
const WORKER = 'hw1';
const PORTS = [47400, 47402];
const SUBNET = '198.18.6.0/24';
const POD_SUBNET = '198.18.112.0/20';
const POD_NETS: Record<string, { podCidr: string; podGateway: string }> = {
  [CP]: { podCidr: '198.18.112.0/24', podGateway: '198.18.112.1' },
  [WORKER]: { podCidr: '198.18.113.0/24', podGateway: '198.18.113.1' },
};
/** Each lab host's kubelet gets its own cgroup parent (the hosts share this machine's cgroup tree). */
const cgroupRoot = (name: string) => `/hcb-hosts-${name}-47400`;
const REVIEW_FILE = path.join(__dirname, '..', 'external', 'kube-bench-hosts.reviewed.yaml');

let lab: HostsLab | undefined;
let cp: ControlPlaneHost | undefined;
let admin: ClusterAdmin | undefined;
let work: string;
let forwarderPid: number | undefined;
let apiServer: net.Server | undefined;
const sockets = new Set<net.Socket>();
let adminConf = '';
/** Image archives (keyed by binary hash), kept between runs as hosts-join does. */
const imageCache = path.join(defaultCacheRoot(), 'hosts-images');
const logs: string[] = [];
const timings: string[] = [];
const t0 = Date.now();
const mark = (what: string) => timings.push(`${what} +${Math.round((Date.now() - t0) / 1000)}s`);
const log = (l: string) => logs.push(l);
/** The first verify's result (the cluster as brought up), for the kube-bench comparison. */
let asBroughtUp: VerifyHostsResult | undefined;

/**
 * The lab machine boots with cgroup v1 (stat -f /sys/fs/cgroup: tmpfs), where kubelet 1.35+ does not
 * start unless failCgroupV1 is false; the lab's blueprint sets it, as the local target does
 * (LOCAL_CGROUP_V1_EXCEPTION), and accepts HCB-KUBELET-FAIL-CGROUP-V1 for this lab only.
 */
const LAB_CGROUP_V1_EXCEPTION: ControlException = {
  control: 'HCB-KUBELET-FAIL-CGROUP-V1',
  scope: { kind: 'KubeletConfiguration' },
  justification:
    'The e2e lab hosts are namespaces on this CI machine, which boots with cgroup v1: kubelet 1.36 refuses to start there with the default failCgroupV1: true. Real hosts run cgroup v2 and leave it unset.',
  owner: 'hcb hosts verify e2e',
  expires: '2027-05-31',
};

function blueprint() {
  return synthesizeBlueprint({
    admissionPolicies: false,
    exceptions: [LAB_CGROUP_V1_EXCEPTION],
    controlPlane: {
      nodeName: CP,
      clusterName: 'hcb-hosts-verify-e2e',
      advertiseAddress: lab!.host(CP).address,
      podSubnet: POD_SUBNET,
      serviceSubnet: '198.19.224.0/20',
      kubelet: { cgroupDriver: 'cgroupfs', cgroupRoot: cgroupRoot(CP), failCgroupV1: false },
      // The lab hosts are network namespaces: nf_conntrack_max is the machine's, read-only there.
      kubeProxy: { conntrackMaxPerCore: 0 },
      admission: {
        podSecurity: {
          exemptions: [
            PodSecurityExemption.namespace('kube-system', {
              justification:
                'kubeadm static control-plane pods need the host network and run as root; their mirror pods live in kube-system',
              owner: 'hcb hosts verify e2e',
              expires: '2027-11-29',
            }),
          ],
        },
      },
    },
  });
}

function access(name: string): HostAccess {
  const h = lab!.host(name);
  return {
    host: { name: h.name, address: h.address, port: 22, user: 'root', hostKey: h.hostKey },
    ssh: {
      privateKey: lab!.clientPrivateKey,
      dial: { host: '127.0.0.1', port: h.loopbackPort },
      connectTimeoutMs: 20_000,
    },
  };
}

function cpOptions(): ControlPlaneHostOptions {
  return {
    ...access(CP),
    binDir: toolchainBin(),
    log,
    nodeFiles: blueprint().nodeFiles,
    podNetwork: POD_NETS[CP],
    workDir: imageCache,
  };
}

const withLog = async <T>(p: Promise<T>): Promise<T> => {
  try {
    return await p;
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- log\n${logs.slice(-40).join('\n')}`, { cause: e });
  }
};

async function until<T>(what: string, timeoutMs: number, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(2_000);
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s ${last}`);
}

/** 127.0.0.1:API_PORT → unix socket → a forwarder in the host's network namespace → <address>:6443. */
async function forwardApi(): Promise<void> {
  const h = lab!.host(CP);
  const sock = path.join(work, 'api.sock');
  const child = spawn(
    'nsenter',
    [
      `--target=${h.holderPid}`,
      '--net',
      '--',
      fs.realpathSync(process.execPath),
      '-e',
      FORWARDER_SCRIPT,
      'unix-to-tcp',
      sock,
      `${h.address}:6443`,
    ],
    { detached: true, stdio: 'ignore' },
  );
  child.unref();
  forwarderPid = child.pid;
  for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await sleep(100);
  if (!fs.existsSync(sock)) throw new Error('the API forwarder did not create its socket');
  apiServer = net.createServer((c) => {
    const u = net.connect(sock);
    sockets.add(c).add(u);
    const drop = () => {
      c.destroy();
      u.destroy();
    };
    c.on('error', drop).on('close', drop);
    u.on('error', drop).on('close', drop);
    c.pipe(u);
    u.pipe(c);
  });
  await new Promise<void>((resolve, reject) =>
    apiServer!.once('error', reject).listen(API_PORT, '127.0.0.1', () => resolve()),
  );
}

async function stopForward(): Promise<void> {
  for (const s of sockets) s.destroy();
  if (apiServer) await new Promise<void>((r) => apiServer!.close(() => r()));
  apiServer = undefined;
  if (forwarderPid && alive(forwarderPid)) {
    signal(forwarderPid, 'SIGKILL');
    for (let i = 0; i < 50 && alive(forwarderPid); i++) await sleep(100);
  }
  forwarderPid = undefined;
}

/** hcb verify's library on both hosts, with the node files of each role as the CLI chooses them. */
async function verify(): Promise<VerifyHostsResult> {
  const b = blueprint();
  const hosts = [
    { name: CP, role: 'control-plane' as const },
    { name: WORKER, role: 'worker' as const },
  ].map((x) => {
    const a = access(x.name);
    return sshVerifyHost(
      { ...a.host, role: x.role },
      a.ssh,
      nodeFilesFor(x.role, x.name, b.nodeFiles, (n) => joinNodeFiles(n)),
    );
  });
  return verifyHosts({
    hosts,
    api: async () => apiAccessFromKubeconfig(adminConf, { host: '127.0.0.1', port: API_PORT }),
    namespaces: [],
    exceptions: b.exceptions,
  });
}

const hostOf = (f: Finding) => /^host:([^:]+)/.exec(f.object?.file ?? '')?.[1] ?? '-';
const line = (f: Finding) =>
  `${hostOf(f)} ${f.status} ${f.control} ${f.object?.path ?? f.object?.name ?? ''}: ${f.message}`;

/** Controls whose input is the cluster's objects (read through the API for the blueprint's namespaces; this test verifies none), never a host's files. */
const OBJECT_CONTROLS: Record<string, RegExp> = {
  ...Object.fromEntries(
    [
      'CAPABILITIES',
      'DEDICATED-SERVICE-ACCOUNT',
      'EPHEMERAL-STORAGE',
      'HOST-NAMESPACES',
      'HOST-PATH',
      'HOST-PORTS',
      'IMAGE-DIGEST',
      'PRIVILEGE-ESCALATION',
      'PRIVILEGED',
      'PRIVILEGED-HOST-PORTS',
      'PROBES',
      'READ-ONLY-ROOT-FS',
      'RESOURCE-LIMITS',
      'RUN-AS-NON-ROOT',
      'SA-TOKEN-AUTOMOUNT',
      'SECCOMP',
      'SECRETS-IN-ENV',
      'USER-NAMESPACE',
    ].map((c) => [`HCB-WORKLOAD-${c}`, /no workloads \(Pod, Deployment/]),
  ),
  ...Object.fromEntries(
    ['BROAD-GROUP-BINDINGS', 'CLUSTER-ADMIN-BINDINGS', 'DEFAULT-SA-UNBOUND'].map((c) => [
      `HCB-RBAC-${c}`,
      /no RoleBinding or ClusterRoleBinding in the input/,
    ]),
  ),
  ...Object.fromEntries(
    ['NETWORK-POLICY-WRITE', 'NO-ESCALATION-VERBS', 'NO-WILDCARDS', 'PERSISTENT-VOLUMES', 'SECRETS-READ'].map((c) => [
      `HCB-RBAC-${c}`,
      /no Role or ClusterRole in the input/,
    ]),
  ),
  ...Object.fromEntries(
    [
      'DEFAULT-DENY-EGRESS',
      'DEFAULT-DENY-INGRESS',
      'DEFAULT-SA-LOCKED',
      'LIMIT-RANGE',
      'POD-SECURITY-LABELS',
      'RESOURCE-QUOTA',
    ].map((c) => [`HCB-NAMESPACE-${c}`, /no Namespace objects \(other than default and kube-\*\)/]),
  ),
};

/** On every host: no BackupStatus (backups are where hcb backup --host runs, not on the host), no systemd drop-in (the bring-up starts the kubelet itself). */
const HOST_CONTROLS: Record<string, RegExp> = {
  'HCB-BACKUP-RECENT': /no BackupStatus in the input/,
  'HCB-NODEFILE-KUBEADM-DROPIN': /lists no file of this kind \(kubelet service drop-in/,
};

const CP_CONFIG = /no kube-apiserver configuration/;
/** Only on the worker: what a control plane runs (its components' configuration, files and the cluster's data). */
const WORKER_CONTROLS: Record<string, RegExp> = {
  ...Object.fromEntries(
    [
      'ADMISSION-CONFIG-FILE',
      'ANONYMOUS-AUTH',
      'AUDIT-LOG-DESTINATION',
      'AUDIT-LOG-MAXAGE',
      'AUDIT-LOG-MAXBACKUP',
      'AUDIT-LOG-MAXSIZE',
      'AUDIT-POLICY-FILE',
      'AUTHORIZATION-MODE',
      'BASIC-AUTH-FILE',
      'CLIENT-CA',
      'ENCRYPTION-CONFIG',
      'ETCD-TLS',
      'INSECURE-BIND-ADDRESS',
      'INSECURE-PORT',
      'KUBELET-CA',
      'KUBELET-CLIENT-CERT',
      'NO-ALWAYS-ADMIT',
      'NODE-RESTRICTION',
      'PROFILING',
      'REQUEST-TIMEOUT',
      'SECURE-PORT',
      'SERVING-CERT',
      'STATIC-TOKEN-FILE',
      'TLS-CIPHER-SUITES',
      'TLS-MIN-VERSION',
      'VALIDATING-WEBHOOK',
    ].map((c) => [`HCB-APISERVER-${c}`, CP_CONFIG]),
  ),
  'HCB-FEATURE-DYNAMIC-AUDITING': CP_CONFIG,
  ...Object.fromEntries(
    ['BIND-ADDRESS', 'PROFILING', 'ROOT-CA', 'SA-CREDENTIALS', 'SA-KEY', 'TLS'].map((c) => [
      `HCB-CONTROLLER-MANAGER-${c}`,
      /no kube-controller-manager configuration/,
    ]),
  ),
  'HCB-CLUSTER-CA-SELF-CONTROLLED': /no kube-controller-manager configuration/,
  ...Object.fromEntries(
    ['BIND-ADDRESS', 'PROFILING', 'TLS'].map((c) => [`HCB-SCHEDULER-${c}`, /no kube-scheduler configuration/]),
  ),
  ...Object.fromEntries(
    ['AUTO-TLS', 'CLIENT-CERT-AUTH', 'PEER-AUTO-TLS', 'PEER-CLIENT-CERT-AUTH', 'PEER-TLS', 'SERVER-TLS'].map((c) => [
      `HCB-ETCD-${c}`,
      /no etcd configuration/,
    ]),
  ),
  ...Object.fromEntries(
    ['COVERAGE', 'OMIT-REQUEST-RECEIVED', 'RBAC-CHANGES', 'SENSITIVE-METADATA'].map((c) => [
      `HCB-AUDIT-POLICY-${c}`,
      /no audit policy/,
    ]),
  ),
  'HCB-ADMISSION-POD-SECURITY-DEFAULTS': /no AdmissionConfiguration/,
  'HCB-ADMISSION-POD-SECURITY-RESTRICTED': /no AdmissionConfiguration/,
  'HCB-ENCRYPTION-SECRETS-PROVIDER': /no EncryptionConfiguration/,
  'HCB-BACKUP-CONFIGURED': /no BackupConfiguration and no control-plane configuration/,
  'HCB-BACKUP-ENCRYPTED': /no BackupConfiguration or BackupStatus/,
  ...Object.fromEntries(
    [
      ['CONTROL-PLANE-KUBECONFIGS', 'control-plane kubeconfigs'],
      ['ETCD-DATA', 'etcd data directory'],
      ['STATIC-POD-MANIFESTS', 'static pod manifests'],
    ].map(([c, what]) => [`HCB-NODEFILE-${c}`, new RegExp(`lists no file of this kind \\(${what}`)]),
  ),
  // The worker runs no static pods: no workload at all in its input.
  'HCB-WORKLOAD-NO-DASHBOARD': /no workloads in the input/,
  'HCB-WORKLOAD-SINGLE-IMAGE-VERSION': /no workloads in the input/,
  'HCB-NAMESPACE-NO-DEFAULT-OBJECTS': /no namespaced objects in the input/,
};

/**
 * Reviewed not-evaluated controls per host, each with what its message must say (the reason). The
 * cluster-level evaluation of read-back objects adds nothing here: this test verifies no namespace.
 */
const REVIEWED_NOT_EVALUATED: Record<string, Record<string, RegExp>> = {
  [CP]: { ...OBJECT_CONTROLS, ...HOST_CONTROLS },
  [WORKER]: { ...OBJECT_CONTROLS, ...HOST_CONTROLS, ...WORKER_CONTROLS },
};

async function resetEverything(): Promise<string[]> {
  const problems: string[] = [];
  for (const name of [WORKER, CP]) {
    await resetHostNetworkOver(access(name)).catch((e) =>
      problems.push(`${name} network reset: ${(e as Error).message}`),
    );
  }
  const shell = await HostShell.open(access(WORKER)).catch(() => undefined);
  if (shell) {
    const out = await shell
      .sh(RESET_SCRIPT, [HOST_BIN_DIR, HOST_STATE_DIR, HOST_CNI_BIN_DIR], {
        label: 'reset',
        timeoutMs: 300_000,
        check: false,
      })
      .catch((e: Error) => e.message);
    if (!/^hcb-reset done$/m.test(out)) problems.push(`${WORKER} reset: ${out.slice(-500)}`);
    await shell.close().catch(() => undefined);
  }
  if (cp) {
    await cp.reset().catch((e) => problems.push(`cp reset: ${(e as Error).message}`));
    await cp.close().catch(() => undefined);
    cp = undefined;
  }
  for (const name of [WORKER, CP]) {
    const sh = await HostShell.open(access(name)).catch(() => undefined);
    if (!sh) continue;
    await sweepKubeChains(sh).catch((e) => problems.push(`${name} chains: ${(e as Error).message}`));
    await sh.close().catch(() => undefined);
  }
  return problems;
}

beforeAll(async () => {
  work = tempDir('hosts-verify');
  lab = await HostsLab.start({ hosts: [CP, WORKER], ports: PORTS, subnet: SUBNET, log });
  // containerd's overlayfs snapshots cannot stack on the lab's /var overlay (see hosts-bringup).
  for (const name of [CP, WORKER]) {
    fs.mkdirSync(path.join(lab.dir, 'hosts', name, 'containerd-disk'), { mode: 0o700 });
    lab.exec(name, [
      'sh',
      '-c',
      'mkdir -p /var/lib/containerd && mount --bind /run/hcb-lab/containerd-disk /var/lib/containerd',
    ]);
  }
  mark('lab');
  cp = await ControlPlaneHost.open(cpOptions());
  adminConf = (await withLog(cp.up())).adminKubeconfig;
  mark('control plane up');
  admin = await ClusterAdmin.open(access(CP), toolchainBin(), log);
  await withLog(
    joinWorker({
      controlPlane: admin,
      worker: access(WORKER),
      binDir: toolchainBin(),
      nodeFiles: blueprint().nodeFiles,
      podNetwork: POD_NETS[WORKER],
      kubeletConfigPatch: { cgroupRoot: cgroupRoot(WORKER) },
      workDir: imageCache,
      log,
    }),
  );
  mark('worker joined');
  await withLog(
    ensureClusterNetwork({
      admin,
      hosts: [CP, WORKER].map((n) => ({ ...access(n), podCidr: POD_NETS[n].podCidr })),
      binDir: toolchainBin(),
      nodeFiles: blueprint().nodeFiles,
      log,
    }),
  );
  mark('network');
  await until('hv1 serving certificate and both nodes Ready', 300_000, async () => {
    for (const l of await approveKubeletServingCsrs(admin!, [{ name: CP, address: lab!.host(CP).address }])) log(l);
    for (const n of [CP, WORKER]) if (!(await nodeReady(admin!, n)).ready) return undefined;
    return true;
  });
  mark('nodes Ready');
  await forwardApi();
});

afterAll(async () => {
  await stopForward().catch(() => undefined);
  if (admin) await admin.close().catch(() => undefined);
  if (lab) {
    const problems = await resetEverything();
    if (problems.length) process.stderr.write(`hosts-verify afterAll: ${problems.join('\n')}\n`);
    await lab.destroy();
  }
  if (work) fs.rmSync(work, { recursive: true, force: true });
  process.stderr.write(`hosts-verify timings: ${timings.join(', ')}\n`);
  if (process.env.HCB_E2E_LOG) process.stderr.write(`${logs.join('\n')}\n`);
});

test('hcb verify over SSH on the control plane and the worker: no fail, no error, every not-evaluated control reviewed', async () => {
  const t = Date.now();
  const r = await verify();
  asBroughtUp = r;
  mark(`verify (${Math.round((Date.now() - t) / 1000)} s)`);
  process.stderr.write(
    `hosts-verify non-pass findings:\n${r.findings
      .filter((f) => f.status !== 'pass')
      .map(line)
      .join('\n')}\n`,
  );
  expect(r.unreachable).toEqual([]);
  expect(r.missing).toEqual([]);
  expect(r.findings.filter((f) => f.status === 'fail' || f.status === 'error').map(line)).toEqual([]);
  const statuses = (h: string, control: string) =>
    [...new Set(r.findings.filter((f) => hostOf(f) === h && f.control === control).map((f) => f.status))].sort();
  // Both hosts were observed (not assumed): node files, kubelet, kube-proxy and etcd's data on disk.
  for (const h of [CP, WORKER]) {
    const on = r.findings.filter((f) => hostOf(f) === h);
    expect(`${h} ${statuses(h, 'HCB-KUBELET-READ-ONLY-PORT').join(',')}`).toBe(`${h} pass`);
    expect(`${h} ${statuses(h, 'HCB-KUBE-PROXY-METRICS-LOOPBACK').join(',')}`).toBe(`${h} pass`);
    expect(`${h} ${statuses(h, 'HCB-NODEFILE-KUBELET-CLIENT-CA').join(',')}`).toBe(`${h} pass`);
    // The node probes, asked on each host at its node address.
    expect(
      on
        .filter((f) => f.object?.kind === 'Probe')
        .map((f) => `${f.object?.name} ${f.status}`)
        .sort(),
    ).toEqual(NODE_PROBES.map(([, n]) => `${n} pass`).sort());
  }
  expect(
    r.findings.filter((f) => f.object?.path === '/etc/kubernetes/pki/ca.key').map((f) => `${hostOf(f)} ${f.status}`),
  ).toContain(`${CP} pass`);
  // etcd's data directory and every file in it belong to etcd (the bring-up hands them over).
  expect(statuses(CP, 'HCB-NODEFILE-ETCD-DATA')).toEqual(['pass']);
  // The lab's cgroup v1 setting is accepted (reviewed exception above), on both kubelets.
  expect(
    r.findings
      .filter((f) => f.control === 'HCB-KUBELET-FAIL-CGROUP-V1')
      .map((f) => `${hostOf(f)} ${f.status}`)
      .sort(),
  ).toEqual([`${CP} accepted`, `${WORKER} accepted`]);
  // The API probes through the forwarded endpoint.
  expect(r.findings.filter((f) => f.object?.kind === 'Probe' && hostOf(f) === '-').map((f) => f.status)).toEqual([
    'pass',
    'pass',
    'pass',
    'pass',
  ]);
  // Not evaluated: each control by name and host, with its reason (never a silent pass).
  const notEvaluated = r.findings.filter((f) => f.status === 'not-evaluated');
  expect(notEvaluated.filter((f) => !REVIEWED_NOT_EVALUATED[hostOf(f)]).map(line)).toEqual([]);
  for (const h of [CP, WORKER]) {
    const on = notEvaluated.filter((f) => hostOf(f) === h);
    expect([...new Set(on.map((f) => f.control))].sort()).toEqual(Object.keys(REVIEWED_NOT_EVALUATED[h]).sort());
    for (const f of on) expect(`${h} ${f.control}: ${f.message}`).toMatch(REVIEWED_NOT_EVALUATED[h][f.control]);
  }
  // Not-applicable only where a requirement is for the other role (the control plane runs static pods).
  expect(r.findings.filter((f) => f.status === 'not-applicable').map((f) => `${hostOf(f)} ${f.control}`)).toEqual([
    `${CP} HCB-KUBELET-STATIC-POD-PATH`,
  ]);
});

test('a second up of the control plane changes nothing; etcd data stays the etcd user’s', async () => {
  const again = await withLog(cp!.up());
  expect(again.changed).toEqual([]);
  const owners = lab!
    .exec(CP, ['sh', '-c', 'find /var/lib/etcd -printf "%u:%g\\n" | sort | uniq -c'])
    .trim()
    .split('\n')
    .map((l) => l.trim().replace(/^\d+\s+/, ''));
  expect(owners).toEqual(['etcd:etcd']);
  // etcd itself still runs as root (kubeadm's static pod; see stacks/hosts/bringup.ts). Only this
  // host's processes (its network namespace): the lab shares the machine's PID namespace.
  const etcd = hostProcesses(lab!.host(CP).holderPid).filter((p) => {
    try {
      return path.basename(fs.readlinkSync(`/proc/${p}/exe`)) === 'etcd';
    } catch {
      return false;
    }
  });
  expect(etcd).toHaveLength(1);
  expect(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${etcd[0]}/status`, 'utf8'))?.[1]).toBe('0');
});

test('kube-bench on each host: every automated check PASS or in the reviewed file', async () => {
  const review = loadKubeBenchReview(REVIEW_FILE);
  const checks: Array<KubeBenchCheck & { host: string }> = [];
  for (const [host, targets] of [
    [CP, ['master', 'etcd', 'controlplane', 'node']],
    [WORKER, ['node']],
  ] as const) {
    const res = runKubeBenchOnLabHost({ lab: lab!, host, binDir: toolchainBin(), targets });
    mark(`kube-bench ${host} (${Math.round(res.durationMs / 1000)} s)`);
    process.stderr.write(
      `kube-bench ${res.version} on ${host}: ${res.sections.map((s) => `${s.id} ${s.target} ${s.pass}/${s.fail}/${s.warn}/${s.info}`).join(', ')}\n` +
        notPassing(res)
          .map((c) => `  ${c.id} ${c.status} ${c.text} :: ${c.actual ?? ''} (expected ${c.expected ?? ''})`)
          .join('\n') +
        '\n',
    );
    // kube-bench found this host's components (its ps view is the host's processes only).
    expect(res.sections.length).toBe(targets.length);
    expect(res.checks.filter((c) => c.automated && c.status === 'PASS').length).toBeGreaterThan(0);
    for (const c of res.checks) checks.push({ ...c, host });
  }
  // One reviewed file for both hosts: a check not PASS on either is listed with its status.
  const { unreviewed, wrongStatus, stale } = compareWithReview({ checks }, review);
  expect({ unreviewed, wrongStatus, stale }).toEqual({ unreviewed: [], wrongStatus: [], stale: [] });
  // Where the review names our control, our verify result on the same cluster is what it says.
  for (const [id, e] of Object.entries(review)) {
    if (!e.control) continue;
    const ours = [...new Set(asBroughtUp!.findings.filter((f) => f.control === e.control).map((f) => f.status))].sort();
    expect(`${id} ${e.control}: ${ours.join(',')}`).toBe(`${id} ${e.control}: ${reviewedStatuses(e).join(',')}`);
  }
});

test('a world-writable node file and a kubelet configuration opening the read-only port fail their controls and the probe', async () => {
  lab!.exec(CP, [
    'sh',
    '-c',
    'cp -p /var/lib/kubelet/config.yaml /root/config.yaml.orig && stat -c %a /etc/kubernetes/pki/ca.crt > /root/ca.mode && chmod 0666 /etc/kubernetes/pki/ca.crt && printf "readOnlyPort: 10255\\n" >> /var/lib/kubelet/config.yaml',
  ]);
  try {
    const r = await verify();
    const fails = r.findings.filter((f) => f.status === 'fail');
    expect(fails.some((f) => f.object?.path === '/etc/kubernetes/pki/ca.crt' && hostOf(f) === CP)).toBe(true);
    expect(fails.some((f) => f.control === 'HCB-KUBELET-READ-ONLY-PORT' && hostOf(f) === CP)).toBe(true);
    // The running kubelet has not read the edited file: the probe still finds the port closed. The
    // file says what the next start would do; the probe says what runs now.
    const probe = r.findings.find(
      (f) => f.object?.kind === 'Probe' && f.object?.name === 'kubelet-read-only-port' && hostOf(f) === CP,
    );
    expect(probe?.status).toBe('pass');
    expect(probe?.message).toMatch(/10255 was refused/);
    // The worker is not affected.
    expect(fails.filter((f) => hostOf(f) === WORKER).map(line)).toEqual([]);
  } finally {
    lab!.exec(CP, [
      'sh',
      '-c',
      'cp -p /root/config.yaml.orig /var/lib/kubelet/config.yaml && chmod "$(cat /root/ca.mode)" /etc/kubernetes/pki/ca.crt',
    ]);
  }
});

test('a kubelet serving the read-only port fails the node probe', async () => {
  // A listener on hw1's node address at 10255 (what a kubelet with readOnlyPort: 10255 opens).
  const h = lab!.host(WORKER);
  const listener = `require('net').createServer((c) => c.destroy()).listen(10255, '${h.address}'); setTimeout(() => process.exit(0), 600000);`;
  const pid = lab!
    .exec(WORKER, [
      'sh',
      '-c',
      `setsid "$0" -e "$1" >/dev/null 2>&1 & echo $!`,
      fs.realpathSync(process.execPath),
      listener,
    ])
    .trim();
  try {
    await sleep(1_000);
    const r = await verify();
    const probe = r.findings.find(
      (f) => f.object?.kind === 'Probe' && f.object?.name === 'kubelet-read-only-port' && hostOf(f) === WORKER,
    );
    expect(probe).toMatchObject({ status: 'fail', message: expect.stringMatching(/accepts connections/) });
  } finally {
    lab!.exec(WORKER, ['sh', '-c', `kill ${Number(pid)} 2>/dev/null; true`]);
  }
});

test("hcb verify --host with the host's sshd blocked: an error finding for that host, exit 1, bounded time", async () => {
  const h = lab!.host(CP);
  fs.writeFileSync(path.join(work, 'host-key.pub'), `${h.hostKey}\n`);
  fs.writeFileSync(path.join(work, 'ssh-key'), lab!.clientPrivateKey, { mode: 0o600 });
  lab!.exec(CP, ['iptables', '-I', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'DROP']);
  let out = '';
  let err = '';
  const w1 = process.stdout.write;
  const w2 = process.stderr.write;
  (process.stdout as unknown as { write: (s: string) => boolean }).write = (s: string) => ((out += s), true);
  (process.stderr as unknown as { write: (s: string) => boolean }).write = (s: string) => ((err += s), true);
  const t = Date.now();
  let code: number;
  try {
    code = await verifyCommand.run([
      '--host',
      `root@127.0.0.1:${h.loopbackPort}`,
      '--host-name',
      CP,
      '--host-key',
      path.join(work, 'host-key.pub'),
      '--ssh-key',
      path.join(work, 'ssh-key'),
      '--format',
      'json',
    ]);
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
    lab!.exec(CP, ['iptables', '-D', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'DROP']);
  }
  mark(`verify blocked (${Math.round((Date.now() - t) / 1000)} s)`);
  expect(Date.now() - t).toBeLessThan(300_000);
  expect(code).toBe(1);
  const report = JSON.parse(out) as {
    results: Array<{ control: string; status: string; message: string; object: { file: string | null } }>;
  };
  const forHost = report.results.filter((f) => f.object.file === `host:${CP}`);
  expect(forHost.length).toBeGreaterThan(0);
  expect(forHost.every((f) => f.control === 'HCB-VERIFY-OBSERVED' && f.status === 'error')).toBe(true);
  expect(report.results.some((f) => f.status === 'pass')).toBe(false);
  expect(err).toMatch(new RegExp(`host ${CP} unreachable`));
});

/**
 * `hcb verify` on the hosts target (issue 10; stacks/hosts/verify.ts, cli/commands/verify-hosts.ts):
 * one lab host (test/e2e/support/hosts-lab.ts, subnet 198.18.6.0/24) brought up with the real
 * `kubeadm init` over SSH (stacks/hosts/bringup.ts), then verified over SSH: the running
 * components' command lines, the files they name, owner and mode of the node files, and the API
 * probes through a forwarded API endpoint. Every non-pass is listed and reviewed below (the test
 * asserts exactly that list). Then a node file made world-writable and a kubelet configuration
 * that opens the read-only port make their controls fail; with the host's sshd blocked the CLI
 * reports an error finding for that host within a bounded time.
 *
 * Port range: 47400-47419 (47400 the lab host's sshd, 47401 the forwarded API endpoint).
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { command as verifyCommand } from '../../cli/commands/verify';
import { PodSecurityExemption } from '../../constructs/admission/pod-security-exemption';
import { synthesizeBlueprint } from '../../constructs/blueprint';
import type { Finding } from '../../policies/model';
import { ControlPlaneHost, ControlPlaneHostOptions } from '../../stacks/hosts/bringup';
import { apiAccessFromKubeconfig, sshVerifyHost, verifyHosts, VerifyHostsResult } from '../../stacks/hosts/verify';
import { FORWARDER_SCRIPT } from '../../stacks/local/node/forwarder';
import { alive, signal, sleep } from '../../stacks/local/node/sandbox';
import { tempDir, toolchainBin } from './support/env';
import { HostsLab } from './support/hosts-lab';

jest.setTimeout(1_500_000);

const SSH_PORT = 47400;
const API_PORT = 47401;
const NAME = 'hv1';
const SUBNET = '198.18.6.0/24';
const POD_NETWORK = { podCidr: '198.18.112.0/20', podGateway: '198.18.112.1' };

let lab: HostsLab | undefined;
let host: ControlPlaneHost | undefined;
let work: string;
let forwarderPid: number | undefined;
let apiServer: net.Server | undefined;
const sockets = new Set<net.Socket>();
let admin = '';
const logs: string[] = [];
const timings: string[] = [];

function blueprint() {
  return synthesizeBlueprint({
    admissionPolicies: false,
    controlPlane: {
      nodeName: NAME,
      clusterName: 'hcb-hosts-verify-e2e',
      advertiseAddress: lab!.host(NAME).address,
      podSubnet: POD_NETWORK.podCidr,
      serviceSubnet: '198.19.224.0/20',
      kubelet: { cgroupDriver: 'cgroupfs', cgroupRoot: `/hcb-hosts-${NAME}-${SSH_PORT}`, failCgroupV1: false },
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

function access() {
  const h = lab!.host(NAME);
  return {
    host: { name: h.name, address: h.address, port: 22, user: 'root', hostKey: h.hostKey },
    ssh: {
      privateKey: lab!.clientPrivateKey,
      dial: { host: '127.0.0.1', port: h.loopbackPort },
      connectTimeoutMs: 20_000,
    },
  };
}

function options(): ControlPlaneHostOptions {
  return {
    ...access(),
    binDir: toolchainBin(),
    log: (l: string) => logs.push(l),
    nodeFiles: blueprint().nodeFiles,
    podNetwork: POD_NETWORK,
    workDir: work,
  };
}

/** 127.0.0.1:API_PORT → unix socket → a forwarder in the host's network namespace → <address>:6443. */
async function forwardApi(): Promise<void> {
  const h = lab!.host(NAME);
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

async function verify(): Promise<VerifyHostsResult> {
  const a = access();
  const h = sshVerifyHost({ ...a.host, role: 'control-plane' }, a.ssh, blueprint().nodeFiles);
  return verifyHosts({
    hosts: [h],
    api: async () => apiAccessFromKubeconfig(admin, { host: '127.0.0.1', port: API_PORT }),
    namespaces: [],
    exceptions: blueprint().exceptions,
  });
}

const nonPass = (fs_: Finding[]) =>
  fs_
    .filter((f) => f.status !== 'pass' && f.status !== 'accepted')
    .map((f) => `${f.status} ${f.control} ${f.object?.path ?? f.object?.name ?? ''} ${f.object?.file ?? ''}`);

/**
 * Reviewed non-pass results of a control-plane host brought up by bringup.ts alone (no pod network):
 * kube-proxy runs only once the cluster network is set up (network.ts), so it is not observed here.
 */
const REVIEWED_MISSING = ['kube-proxy is not running'];
/**
 * Reviewed failures (first run, 2026-11-29):
 * - HCB-BACKUP-CONFIGURED: the hosts target has no backup schedule yet (ARCHITECTURE, Backups:
 *   "no hosts schedule yet"); verify on hosts reads no BackupStatus, so the control fails — true.
 * - HCB-KUBELET-FAIL-CGROUP-V1: this test's blueprint sets failCgroupV1 false (the lab, as
 *   hosts-backup and hosts-bringup do) — the finding is right about the configuration.
 * - HCB-NODEFILE-ETCD-DATA: the data directory as kubeadm's etcd on the host leaves it (the
 *   bring-up does not run etcd as the etcd user) — a real gap of the hosts bring-up, reported.
 * Controls with no input in a host's documents (workloads, RBAC, namespaces: namespaces is empty
 * here) are `not-evaluated`, never pass; they are not listed.
 */
const REVIEWED_FAILS = ['fail HCB-BACKUP-CONFIGURED', 'fail HCB-KUBELET-FAIL-CGROUP-V1', 'fail HCB-NODEFILE-ETCD-DATA'];

beforeAll(async () => {
  work = tempDir('hosts-verify');
  const t = Date.now();
  lab = await HostsLab.start({ hosts: [NAME], ports: [SSH_PORT], subnet: SUBNET });
  // containerd's overlayfs snapshots cannot stack on the lab's /var overlay (see hosts-bringup).
  fs.mkdirSync(path.join(lab.dir, 'hosts', NAME, 'containerd-disk'), { mode: 0o700 });
  lab.exec(NAME, [
    'sh',
    '-c',
    'mkdir -p /var/lib/containerd && mount --bind /run/hcb-lab/containerd-disk /var/lib/containerd',
  ]);
  host = await ControlPlaneHost.open(options());
  try {
    admin = (await host.up()).adminKubeconfig;
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- log\n${logs.slice(-40).join('\n')}`, { cause: e });
  }
  timings.push(`bring-up ${Math.round((Date.now() - t) / 1000)} s`);
  await forwardApi();
});

afterAll(async () => {
  await stopForward().catch(() => undefined);
  if (host) {
    await host.reset().catch((e) => logs.push(`reset in afterAll: ${(e as Error).message}`));
    await host.close().catch(() => undefined);
  }
  if (lab) await lab.destroy();
  if (work) fs.rmSync(work, { recursive: true, force: true });
  process.stderr.write(`hosts-verify timings: ${timings.join(', ')}\n`);
  if (process.env.HCB_E2E_LOG) process.stderr.write(`${logs.join('\n')}\n`);
});

test('the host as brought up: no fail; every non-pass is the reviewed list', async () => {
  const t = Date.now();
  const r = await verify();
  timings.push(`verify ${Math.round((Date.now() - t) / 1000)} s`);
  expect(r.unreachable).toEqual([]);
  expect(r.missing.map((m) => m.message)).toEqual(REVIEWED_MISSING);
  const failing = r.findings.filter((f) => f.status === 'fail' || f.status === 'error');
  process.stderr.write(
    `hosts-verify failing findings:\n${failing.map((f) => `${f.control} ${f.object?.path ?? ''}: ${f.message}`).join('\n')}\n`,
  );
  expect([...new Set(failing.map((f) => `${f.status} ${f.control}`))].sort()).toEqual(REVIEWED_FAILS);
  expect(
    nonPass(r.findings).filter(
      (l) =>
        !l.startsWith('not-evaluated ') &&
        !l.startsWith('not-applicable ') &&
        !REVIEWED_FAILS.some((x) => l.startsWith(x)),
    ),
  ).toEqual([]);
  // Observed, not assumed: the node files, the kubelet and the components' flags were checked on the host.
  expect(r.findings.some((f) => f.object?.path === '/etc/kubernetes/pki/ca.key' && f.status === 'pass')).toBe(true);
  expect(
    r.findings.some(
      (f) =>
        f.control === 'HCB-KUBELET-READ-ONLY-PORT' &&
        f.status === 'pass' &&
        f.object?.file?.startsWith(`host:${NAME}:`),
    ),
  ).toBe(true);
  expect(r.findings.filter((f) => f.object?.kind === 'Probe').map((f) => f.status)).toEqual([
    'pass',
    'pass',
    'pass',
    'pass',
  ]);
});

test('a world-writable node file and a kubelet configuration opening the read-only port fail their controls', async () => {
  lab!.exec(NAME, [
    'sh',
    '-c',
    'cp -p /var/lib/kubelet/config.yaml /root/config.yaml.orig && stat -c %a /etc/kubernetes/pki/ca.crt > /root/ca.mode && chmod 0666 /etc/kubernetes/pki/ca.crt && printf "readOnlyPort: 10255\\n" >> /var/lib/kubelet/config.yaml',
  ]);
  try {
    const r = await verify();
    const fails = r.findings.filter((f) => f.status === 'fail');
    expect(fails.some((f) => f.object?.path === '/etc/kubernetes/pki/ca.crt')).toBe(true);
    expect(
      fails.some((f) => f.control === 'HCB-KUBELET-READ-ONLY-PORT' && f.object?.file?.startsWith(`host:${NAME}:`)),
    ).toBe(true);
  } finally {
    lab!.exec(NAME, [
      'sh',
      '-c',
      'cp -p /root/config.yaml.orig /var/lib/kubelet/config.yaml && chmod "$(cat /root/ca.mode)" /etc/kubernetes/pki/ca.crt',
    ]);
  }
});

test("hcb verify --host with the host's sshd blocked: an error finding for that host, exit 1, bounded time", async () => {
  const h = lab!.host(NAME);
  fs.writeFileSync(path.join(work, 'host-key.pub'), `${h.hostKey}\n`);
  fs.writeFileSync(path.join(work, 'ssh-key'), lab!.clientPrivateKey, { mode: 0o600 });
  lab!.exec(NAME, ['iptables', '-I', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'DROP']);
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
      NAME,
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
    lab!.exec(NAME, ['iptables', '-D', 'INPUT', '-p', 'tcp', '--dport', '22', '-j', 'DROP']);
  }
  timings.push(`verify blocked ${Math.round((Date.now() - t) / 1000)} s`);
  expect(Date.now() - t).toBeLessThan(300_000);
  expect(code).toBe(1);
  const report = JSON.parse(out) as {
    results: Array<{ control: string; status: string; message: string; object: { file: string | null } }>;
  };
  const forHost = report.results.filter((f) => f.object.file === `host:${NAME}`);
  expect(forHost.length).toBeGreaterThan(0);
  expect(forHost.every((f) => f.control === 'HCB-VERIFY-OBSERVED' && f.status === 'error')).toBe(true);
  expect(report.results.some((f) => f.status === 'pass')).toBe(false);
  expect(err).toMatch(new RegExp(`host ${NAME} unreachable`));
});

/**
 * The `hosts` target end to end: the real Pulumi CLI runs the project's program (stacks/index.ts)
 * on a stack with `hcb:target hosts`, one control-plane host of the test lab
 * (test/e2e/support/hosts-lab.ts) in `hcb:hosts` with its pinned host key, and the lab's client key
 * as the secret `hcb:sshPrivateKey`.
 *
 *   up        kubeadm init over SSH (hcb:index:Cluster → HostControlPlane), the node Ready, the
 *             cluster baseline (hardened namespace, default deny, admission policies) applied
 *             through the provider on the fetched admin kubeconfig; outputs as documented
 *   state     the private key, admin.conf's key, the host's encryption key and the bootstrap token
 *             are nowhere in plain text in the state file
 *   up again  no changes
 *   worker    a worker added to hcb:hosts joins (kubeadm join, Node Ready, kube-proxy and the
 *             enforcer there); removed again, it is drained, deleted and its host reset
 *   backup    in the same two ups: hcb:backup and the secret hcb:backupKey install the scheduled
 *             backup on the control plane (files, modes, the key's copy; the unit's ExecStart run
 *             once, as the lab has no systemd; `hcb backup list --stack` sees it, `hcb backup
 *             verify --stack` reads it with the stack's key; the key nowhere in the state); unset,
 *             the schedule's files are gone
 *   destroy   the hosts reset: no file, process, mount, interface, user, cgroup, route or KUBE-*
 *             iptables chain left
 *
 * The stack sets its own ranges (hcb:serviceSubnet, hcb:podSubnet; not the defaults), so the
 * test sees them reach kubeadm (the kubernetes Service's ClusterIP), the API server's certificate
 * (curl checks it for that IP), the hosts' pod ranges and routes, and the route from a host to
 * the Service range (a host process reaches a ClusterIP; the lab hosts have no default route).
 *
 * The test process reaches the hosts only through loopback ports (HCB_HOSTS_DIAL): 47690 the control
 * plane's sshd, 47691 its API server (a forwarder in the host's network namespace), 47692 the
 * worker's sshd. Lab subnet
 * 198.18.4.0/24. Pulumi runs as a child process while this process keeps forwarding.
 * Ports 47690-47709.
 */
import { spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { HOST_BIN_DIR, HOST_STATE_DIR } from '../../stacks/hosts/bringup';
import { ApiClient, installProvider, pulumiEnv, tempDir, tempProject, toolchainBin } from './support/env';
import { HostsLab } from './support/hosts-lab';
import {
  bootstrapTokens,
  bringupLogs,
  forwardedApiClient,
  hostLeftovers,
  hostSecretValues,
  LoopbackForward,
  pemBodyLines,
  PulumiCli,
  stackStateText,
  until,
} from './support/pulumi-cli';

// Generous: under a load average of ~40 on 2 cores the first up took 17 min (kubeadm init 14 min).
jest.setTimeout(3_600_000);

const SSH_PORT = 47690;
const API_PORT = 47691;
const SUBNET = '198.18.4.0/24';
const NAME = 'h4cp1';
const WORKER = 'h4w1';
const WORKER_SSH_PORT = 47692;
const STACK = 'hosts-e2e-47690';
/** The worker's kubelet cgroup parent (stacks/index.ts gives each worker its own). */
const WORKER_CGROUP = `hcb-node-${STACK}-${WORKER}`;
const NAMESPACE = 'hcb-e2e-hosts';
/** The stack's ranges (inside 198.18.0.0/15, apart from the lab's 198.18.4.0/24 and the defaults). */
const SERVICE_SUBNET = '198.19.96.0/20';
const SERVICE_IP = '198.19.96.1';
const POD_SUBNET = '198.19.0.0/18';

const bin = toolchainBin();
const home = tempDir('pulumi-hosts');
const project = tempProject();
const stateDir = path.join(home, 'cluster');
let lab: HostsLab | undefined;
let cli: PulumiCli;
let apiForward: LoopbackForward | undefined;
let destroyed = false;
let upOk = false;
const timings: string[] = [];

const cgroupV2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');

const pulumiSync = (args: string[]): string => cli.sync(args);
const mustPulumi = (args: string[]): Promise<string> => cli.must(args, () => bringupLogs(stateDir, [NAME]));

/** The API as the stack's kubeconfig user, through the forwarded port, the certificate checked for the host's address. */
function apiClient(kubeconfig: string): ApiClient {
  return forwardedApiClient(kubeconfig, API_PORT, lab!.host(NAME).address);
}

/** 127.0.0.1:API_PORT → unix socket → a forwarder in the host's network namespace → <address>:6443. */
async function forwardApi(): Promise<void> {
  const h = lab!.host(NAME);
  apiForward = await LoopbackForward.start({
    netnsPid: h.holderPid,
    target: `${h.address}:6443`,
    socket: path.join(home, 'api.sock'),
    port: API_PORT,
  });
}

async function stopForward(): Promise<void> {
  await apiForward?.stop();
  apiForward = undefined;
}

beforeAll(async () => {
  const t = Date.now();
  lab = await HostsLab.start({ hosts: [NAME, WORKER], ports: [SSH_PORT, WORKER_SSH_PORT], subnet: SUBNET });
  // As in hosts-bringup: containerd's overlayfs snapshots cannot stack on the lab's /var overlay,
  // so each host's /var/lib/containerd is a plain directory, as on a real disk.
  for (const n of [NAME, WORKER]) {
    fs.mkdirSync(path.join(lab.dir, 'hosts', n, 'containerd-disk'), { mode: 0o700 });
    lab.exec(n, [
      'sh',
      '-c',
      'mkdir -p /var/lib/containerd && mount --bind /run/hcb-lab/containerd-disk /var/lib/containerd',
    ]);
  }
  await forwardApi();
  timings.push(`lab ${Date.now() - t} ms`);

  const env = {
    ...pulumiEnv(home, bin),
    HCB_HOSTS_DIAL: JSON.stringify({
      [NAME]: { ssh: `127.0.0.1:${SSH_PORT}`, api: `127.0.0.1:${API_PORT}` },
      [WORKER]: { ssh: `127.0.0.1:${WORKER_SSH_PORT}` },
    }),
    // This machine may be cgroup v1 (the lab hosts share its kernel).
    ...(cgroupV2 ? {} : { HCB_HOSTS_CGROUP_V1: 'true' }),
  };
  cli = new PulumiCli(bin, project, env);
  installProvider(bin, project, env);
  pulumiSync(['stack', 'init', STACK]);
  const h = lab.host(NAME);
  pulumiSync(['config', 'set', 'target', 'hosts']);
  pulumiSync(['config', 'set', 'stateDir', stateDir]);
  pulumiSync(['config', 'set', '--path', 'namespaces[0]', NAMESPACE]);
  pulumiSync(['config', 'set', 'serviceSubnet', SERVICE_SUBNET]);
  pulumiSync(['config', 'set', 'podSubnet', POD_SUBNET]);
  pulumiSync(['config', 'set', '--path', 'hosts[0].name', NAME]);
  pulumiSync(['config', 'set', '--path', 'hosts[0].address', h.address]);
  pulumiSync(['config', 'set', '--path', 'hosts[0].user', 'root']);
  pulumiSync(['config', 'set', '--path', 'hosts[0].role', 'control-plane']);
  pulumiSync(['config', 'set', '--path', 'hosts[0].hostKey', '--', h.hostKey]);
  pulumiSync(['config', 'set', '--secret', 'sshPrivateKey', '--', lab.clientPrivateKey]);
});

afterAll(async () => {
  if (!destroyed && lab) {
    const r = await cli.run(['destroy', '--yes', '--skip-preview'], 900_000);
    if (r.status !== 0) process.stderr.write(`pulumi-hosts: destroy in afterAll failed:\n${r.out.slice(-3000)}\n`);
  }
  await stopForward().catch(() => undefined);
  if (lab) await lab.destroy();
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(project, { recursive: true, force: true });
  process.stderr.write(`pulumi-hosts timings: ${[...timings, ...(cli?.timings ?? [])].join(', ')}\n`);
});

test('pulumi up brings the control-plane host up over SSH and applies the baseline; the node is Ready', async () => {
  const out = await mustPulumi(['up', '--yes', '--skip-preview']);
  expect(out).toMatch(/\+ \d+ created/);
  upOk = true;

  const kubeconfig = pulumiSync(['stack', 'output', 'kubeconfig', '--show-secrets']).trim();
  expect(kubeconfig).toMatch(/client-key-data: /);
  // Outputs: the endpoint as the cluster names it, the node list, the catalogue's counts.
  const address = lab!.host(NAME).address;
  expect(pulumiSync(['stack', 'output', 'apiEndpoint']).trim()).toBe(`https://${address}:6443`);
  expect(JSON.parse(pulumiSync(['stack', 'output', 'nodes', '--json']))).toEqual([
    { name: NAME, address, role: 'control-plane' },
  ]);
  const compliance = JSON.parse(pulumiSync(['stack', 'output', 'compliance', '--json'])) as Record<string, number>;
  expect(compliance.total).toBeGreaterThan(100);
  expect(compliance.pass).toBeGreaterThan(0);
  expect(compliance.error).toBe(0);
  expect(pulumiSync(['stack', 'output', 'clusterTarget']).trim()).toBe('hosts');

  const api = apiClient(kubeconfig);
  const node = await until('the node Ready', 600_000, async () => {
    const r = await api.get(`/api/v1/nodes/${NAME}`);
    if (r.status !== 200) return undefined;
    const n = JSON.parse(r.body) as {
      status?: {
        conditions?: Array<{ type: string; status: string; message?: string }>;
        nodeInfo?: { kubeletVersion: string };
      };
    };
    const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status !== 'True') throw new Error(`Ready=${ready?.status ?? 'none'} ${ready?.message ?? ''}`);
    return n;
  });
  expect(node.status?.nodeInfo?.kubeletVersion).toBe('v1.36.3');

  const ns = await api.json<{ metadata: { labels: Record<string, string> } }>(`/api/v1/namespaces/${NAMESPACE}`);
  expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  expect((await api.get(`/apis/networking.k8s.io/v1/namespaces/${NAMESPACE}/networkpolicies`)).body).toContain(
    'hcb-default-deny',
  );
  const vaps = await api.json<{ items: Array<{ metadata: { name: string } }> }>(
    '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies?labelSelector=hcb.dev%2Fcontrol-group',
  );
  expect(vaps.items.map((i) => i.metadata.name)).toContain('hcb-workloads-enforce');

  // hcb:serviceSubnet: the kubernetes Service has its first address; a process on the host reaches
  // it (the Service route, kube-proxy's DNAT) and the API server's certificate names it.
  const svc = await api.json<{ spec: { clusterIP: string } }>('/api/v1/namespaces/default/services/kubernetes');
  expect(svc.spec.clusterIP).toBe(SERVICE_IP);
  expect(reachClusterIp(NAME)).toBe('https 200');
});

/** From a lab host: HTTPS to the kubernetes Service's ClusterIP, the certificate checked against the cluster CA for that IP. */
function reachClusterIp(host: string): string {
  return lab!
    .exec(host, [
      'sh',
      '-c',
      `code=$(curl -sS --max-time 20 --cacert /etc/kubernetes/pki/ca.crt -o /dev/null -w '%{http_code}' https://${SERVICE_IP}/readyz 2>&1) && echo "https $code" || echo "failed: $code"`,
    ])
    .trim();
}

test('the state holds no plaintext private key, admin key, encryption key or bootstrap token', () => {
  expect(upOk).toBe(true);
  const { files: stateFiles, text: state } = stackStateText(cli, home, STACK);
  expect(stateFiles.length).toBeGreaterThan(0);
  // The stack really records the host resource (and so had the chance to leak).
  expect(state).toContain('hcb:HostControlPlane');
  const pemBody = pemBodyLines(lab!.clientPrivateKey);
  expect(pemBody.length).toBeGreaterThan(2);
  expect(state).not.toContain(pemBody.join(''));
  for (const line of pemBody) expect(state).not.toContain(line);
  expect(state).not.toContain('BEGIN OPENSSH PRIVATE KEY');
  const admin = pulumiSync(['stack', 'output', 'kubeconfig', '--show-secrets']);
  expect(state).not.toContain(/client-key-data: (\S+)/.exec(admin)![1]);
  // Keys the bring-up generated on the host ({{hcb-secret:NAME}}) never leave it.
  const hostKeys = hostSecretValues(lab!, NAME);
  expect(hostKeys.length).toBeGreaterThan(0);
  for (const k of hostKeys) expect(state).not.toContain(k);
  // Bootstrap tokens of the cluster (kubeadm init's own), read on the host.
  const tokens = bootstrapTokens(lab!, NAME);
  timings.push(`bootstrap tokens on the host: ${tokens.length}`);
  for (const t of tokens) {
    expect(state).not.toContain(t);
    expect(state).not.toContain(t.split('.')[1]);
  }
});

test('a second pulumi up changes nothing', async () => {
  expect(upOk).toBe(true);
  const out = await mustPulumi(['up', '--yes', '--skip-preview', '--expect-no-changes']);
  expect(out).not.toMatch(/[+~-] \d+ (created|updated|deleted|replaced)/);
  expect(out).toMatch(/\d+ unchanged/);
});

const leftovers = (name: string, cgroup: string): string[] => hostLeftovers(lab!, name, cgroup);

test('a worker added to hcb:hosts joins; removed again, it is drained, deleted and reset', async () => {
  expect(upOk).toBe(true);
  const w = lab!.host(WORKER);
  pulumiSync(['config', 'set', '--path', 'hosts[1].name', WORKER]);
  pulumiSync(['config', 'set', '--path', 'hosts[1].address', w.address]);
  pulumiSync(['config', 'set', '--path', 'hosts[1].user', 'root']);
  pulumiSync(['config', 'set', '--path', 'hosts[1].role', 'worker']);
  pulumiSync(['config', 'set', '--path', 'hosts[1].hostKey', '--', w.hostKey]);
  // The same up installs the scheduled backup (hcb:backup, hcb:backupKey): no bring-up of its own.
  setBackup();
  const out = await mustPulumi(['up', '--yes', '--skip-preview']);
  expect(out).toMatch(/\+ 2 created/); // the worker and the control plane's backup schedule
  await expectScheduledBackup();
  const api = apiClient(pulumiSync(['stack', 'output', 'kubeconfig', '--show-secrets']).trim());
  const node = await api.json<{ status: { conditions: Array<{ type: string; status: string }> } }>(
    `/api/v1/nodes/${WORKER}`,
  );
  // joinWorker returns when the node is Ready.
  expect(node.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
  expect(JSON.parse(pulumiSync(['stack', 'output', 'nodes', '--json']))).toEqual([
    { name: NAME, address: lab!.host(NAME).address, role: 'control-plane' },
    { name: WORKER, address: w.address, role: 'worker' },
  ]);
  // kube-proxy and the enforcer run on the worker; the control plane routes to its pod range.
  expect(
    lab!
      .exec(WORKER, [
        'sh',
        '-c',
        `for n in kube-proxy kube-router kubelet; do p=$(cat ${HOST_STATE_DIR}/run/$n.pid); readlink /proc/$p/exe; done`,
      ])
      .trim()
      .split('\n'),
  ).toEqual(['kube-proxy', 'kube-router', 'kubelet'].map((n) => `${HOST_BIN_DIR}/${n}`));
  // hcb:podSubnet: the worker (hosts[1]) has the second /24 of the range; the control plane routes to it.
  expect(lab!.exec(NAME, ['ip', 'route', 'show', 'proto', '186'])).toContain(`198.19.1.0/24 via ${w.address}`);
  expect(reachClusterIp(WORKER)).toBe('https 200');

  pulumiSync(['config', 'rm', '--path', 'hosts[1]']);
  // hcb:backup unset in the same up: the schedule comes off the control plane.
  pulumiSync(['config', 'rm', 'backup']);
  await mustPulumi(['up', '--yes', '--skip-preview']);
  expectScheduleGone();
  expect((await api.get(`/api/v1/nodes/${WORKER}`)).status).toBe(404);
  expect(leftovers(WORKER, WORKER_CGROUP)).toEqual([]);
  // Only the control plane's own route to the Service range is left.
  expect(lab!.exec(NAME, ['ip', 'route', 'show', 'proto', '186']).trim()).toMatch(
    /^198\.19\.96\.0\/20 dev \S+ scope link src 198\.18\.4\.\d+\s*$/,
  );
});

// ---------------------------------------------------------------------------------------------
// hcb:backup through pulumi up (issue 14): set with the worker's up, unset with its removal

/** hcb:backupKey: 32 random bytes in base64, set as a secret. */
const BACKUP_KEY = crypto.randomBytes(32);
const SCHEDULE_FILES: Record<string, string> = {
  '/etc/systemd/system/hcb-backup.timer': '644 root',
  '/etc/systemd/system/hcb-backup.service': '644 root',
  '/etc/hcb/backup/schedule.json': '600 root',
  '/etc/hcb/backup/backup-key': '600 root',
};

function setBackup(): void {
  pulumiSync(['config', 'set', '--path', 'backup.interval', '1h']);
  pulumiSync(['config', 'set', '--path', 'backup.retain', '2']);
  pulumiSync(['config', 'set', '--secret', 'backupKey', '--', BACKUP_KEY.toString('base64')]);
}

/** `hcb backup ...` as an operator runs it in the project (a child process: this one keeps the lab's forwards). */
function hcb(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', path.join(project, 'cli/main.ts'), 'backup', ...args],
      { cwd: project, env: cli.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
  });
}

async function expectScheduledBackup(): Promise<void> {
  // The files of HostBackupSchedule with their modes, and the stack's key as the host's copy.
  const stat = lab!
    .exec(NAME, [
      'sh',
      '-c',
      'for f; do echo "$(stat -c \'%a %U\' -- "$f") $f"; done',
      'sh',
      ...Object.keys(SCHEDULE_FILES),
    ])
    .trim()
    .split('\n');
  expect(stat).toEqual(Object.entries(SCHEDULE_FILES).map(([f, m]) => `${m} ${f}`));
  expect(lab!.exec(NAME, ['base64', '-w', '0', '/etc/hcb/backup/backup-key']).trim()).toBe(
    BACKUP_KEY.toString('base64'),
  );
  expect(lab!.exec(NAME, ['cat', '/etc/systemd/system/hcb-backup.timer'])).toMatch(/^OnUnitActiveSec=3600s$/m);
  const unit = lab!.exec(NAME, ['cat', '/etc/systemd/system/hcb-backup.service']);
  const execStart = /^ExecStart=(.+)$/m.exec(unit)?.[1];
  expect(execStart).toBeDefined();

  // The lab has no systemd: run the installed unit's command once, as the timer would.
  const h = lab!.host(NAME);
  const t = Date.now();
  const run = spawnSync(
    'nsenter',
    [`--target=${h.holderPid}`, '--net', '--mount', '--uts', '--', 'sh', '-c', `${execStart} 2>&1`],
    { encoding: 'utf8', timeout: 600_000 },
  );
  if (run.status !== 0) throw new Error(`the scheduled run failed (${run.status ?? run.signal}): ${run.stdout}`);
  const cluster = STACK.toLowerCase();
  const file = new RegExp(`^wrote /var/lib/hcb/backups/(${cluster}-\\d{8}T\\d{6}Z-r\\d+\\.hcbbak)`, 'm').exec(
    run.stdout,
  )?.[1];
  expect(file).toBeDefined();
  timings.push(`scheduled backup run ${Math.round((Date.now() - t) / 1000)} s`);

  // hcb backup list --stack sees it on the control plane.
  const list = await hcb(['list', '--stack', STACK]);
  if (list.code !== 0) throw new Error(`hcb backup list --stack failed (${list.code}): ${list.err}`);
  expect(list.out).toContain(`${NAME}:/var/lib/hcb/backups/${file}`);

  // Copied here, it is read with the stack's key (no local key file exists).
  const local = path.join(home, 'from-host', file!);
  fs.mkdirSync(path.dirname(local), { recursive: true, mode: 0o700 });
  const copy = spawnSync(
    'nsenter',
    [`--target=${h.holderPid}`, '--mount', '--', 'cat', `/var/lib/hcb/backups/${file}`],
    {
      timeout: 120_000,
      maxBuffer: 1024 * 1024 * 1024,
    },
  );
  if (copy.status !== 0) throw new Error(`copying ${file} from the host failed: ${String(copy.stderr)}`);
  fs.writeFileSync(local, copy.stdout, { mode: 0o600 });
  const verify = await hcb(['verify', '--stack', STACK, local]);
  if (verify.code !== 0) throw new Error(`hcb backup verify --stack failed (${verify.code}): ${verify.err}`);
  expect(verify.out).toMatch(
    new RegExp(`^ok: ${file!.replace(/\./g, '\\.')} \\(cluster ${cluster}, host ${NAME}, revision \\d+`),
  );
  expect(fs.existsSync(path.join(project, '.hcb', 'hosts', cluster, 'secrets', 'backup-key'))).toBe(false);
  const all = list.out + list.err + verify.out + verify.err + run.stdout;
  for (const form of [BACKUP_KEY.toString('base64'), BACKUP_KEY.toString('hex')]) expect(all).not.toContain(form);

  // The key is a secret input: nowhere in the state in plain text (the resource is recorded).
  const state = stackStateText(cli, home, STACK).text;
  expect(state).toContain('hcb:HostBackupSchedule');
  for (const form of [BACKUP_KEY.toString('base64'), BACKUP_KEY.toString('hex'), BACKUP_KEY.toString('base64url')])
    expect(state).not.toContain(form);
}

function expectScheduleGone(): void {
  const left = lab!
    .exec(NAME, ['sh', '-c', 'for f; do [ -e "$f" ] && echo "$f"; done; true', 'sh', ...Object.keys(SCHEDULE_FILES)])
    .trim();
  expect(left).toBe('');
  // Backups already taken stay on the host (pulumi destroy's reset removes them with /var/lib/hcb).
  expect(lab!.exec(NAME, ['sh', '-c', 'ls /var/lib/hcb/backups | grep -c "\\.hcbbak$" || true']).trim()).toBe('1');
}

test('pulumi destroy resets the host and leaves nothing running', async () => {
  expect(upOk).toBe(true);
  await mustPulumi(['destroy', '--yes', '--skip-preview']);
  destroyed = true;
  await stopForward();
  expect(leftovers(NAME, `hcb-hosts-${STACK}`)).toEqual([]);
  expect(leftovers(WORKER, WORKER_CGROUP)).toEqual([]);
  // The stack is empty.
  const exported = JSON.parse(pulumiSync(['stack', 'export'])) as { deployment: { resources?: unknown[] } };
  expect(exported.deployment.resources ?? []).toEqual([]);
});

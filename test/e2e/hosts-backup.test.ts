/**
 * Backup and restore on the hosts target (issue 14; stacks/hosts/backup.ts): one lab host
 * (test/e2e/support/hosts-lab.ts, subnet 198.18.5.0/24) brought up with the real `kubeadm init`
 * over SSH (stacks/hosts/bringup.ts). A namespace with a Secret is backed up through etcd's API on
 * the host, deleted, and restored with Kubernetes' procedure for kubeadm's static pods; the objects
 * are back, the Secret is still `k8s:enc:` in etcd (read on the host) and readable through the API.
 * A tampered or wrongly keyed backup is refused before anything reaches the host. The CLI runs
 * with an explicit host, host key and SSH key (no Pulumi).
 *
 * Also: a backup taken while a writer creates objects restores a prefix of the writes (in etcd
 * revision order), and `hcb backup schedule` installs the scheduled backup on the host (no systemd
 * in the lab: the installed service's ExecStart is run as the timer would run it): a new encrypted
 * backup appears on the host, retention prunes, the key never appears in any output.
 *
 * Port range: 47710-47739 (47710 the lab host's sshd, 47711 the forwarded API endpoint).
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as tls from 'tls';
import { command as backupCommand } from '../../cli/commands/backup';
import { PodSecurityExemption } from '../../constructs/admission/pod-security-exemption';
import { synthesizeBlueprint } from '../../constructs/blueprint';
import { ControlPlaneHost, ControlPlaneHostOptions } from '../../stacks/hosts/bringup';
import { HOST_BACKUP_BIN_DIR, HOST_BACKUP_WORK_DIR, hostsBackupNow, hostsRestore } from '../../stacks/hosts/backup';
import { BackupManifest, listBackups, verifyBackup } from '../../stacks/local/backup';
import { kubeconfigTls } from '../../stacks/local/control-plane';
import { FORWARDER_SCRIPT } from '../../stacks/local/node/forwarder';
import { alive, signal, sleep } from '../../stacks/local/node/sandbox';
import { ApiClient, tempDir, toolchainBin } from './support/env';
import { HostsLab } from './support/hosts-lab';

jest.setTimeout(1_200_000);

const SSH_PORT = 47710;
const API_PORT = 47711;
const NAME = 'hb1';
const SUBNET = '198.18.5.0/24';
const POD_NETWORK = { podCidr: '198.18.96.0/20', podGateway: '198.18.96.1' };
const NS = 'backed-up';
const SECRET = 'hosts-restore-me-0123456789-abcdef';

let lab: HostsLab | undefined;
let host: ControlPlaneHost | undefined;
let work: string;
let forwarderPid: number | undefined;
let apiServer: net.Server | undefined;
const sockets = new Set<net.Socket>();
let admin = '';
const logs: string[] = [];
const timings: string[] = [];
let backupDir: string;
let keyFile: string;
let first: BackupManifest;

function blueprint() {
  return synthesizeBlueprint({
    admissionPolicies: false,
    controlPlane: {
      nodeName: NAME,
      clusterName: 'hcb-hosts-backup-e2e',
      advertiseAddress: lab!.host(NAME).address,
      podSubnet: POD_NETWORK.podCidr,
      serviceSubnet: '198.19.208.0/20',
      kubelet: { cgroupDriver: 'cgroupfs', cgroupRoot: `/hcb-hosts-${NAME}-${SSH_PORT}`, failCgroupV1: false },
      // What the scheduled backup reads from the host's BackupConfiguration (retain 2: pruning shows after 3 runs).
      backup: { interval: '1h', retain: 2, maxAge: '2h' },
      admission: {
        podSecurity: {
          exemptions: [
            PodSecurityExemption.namespace('kube-system', {
              justification:
                'kubeadm static control-plane pods (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) need the host network and run as root; their mirror pods live in kube-system',
              owner: 'hcb hosts backup e2e',
              expires: '2027-11-29',
            }),
          ],
        },
      },
    },
  });
}

function target() {
  const h = lab!.host(NAME);
  return {
    host: { name: h.name, address: h.address, port: 22, user: 'root', hostKey: h.hostKey },
    ssh: {
      privateKey: lab!.clientPrivateKey,
      dial: { host: '127.0.0.1', port: h.loopbackPort },
      connectTimeoutMs: 20_000,
    },
    binDir: toolchainBin(),
    log: (l: string) => logs.push(l),
  };
}

function options(): ControlPlaneHostOptions {
  return { ...target(), nodeFiles: blueprint().nodeFiles, podNetwork: POD_NETWORK, workDir: work };
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

function api(): ApiClient {
  const address = lab!.host(NAME).address;
  return new ApiClient({
    server: `https://127.0.0.1:${API_PORT}`,
    tls: {
      ...kubeconfigTls(admin),
      servername: undefined,
      checkServerIdentity: (_h: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(address, cert),
    },
  });
}

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

async function status(p: string): Promise<number> {
  return (await api().get(p)).status;
}

/** A Secret's value as etcd stores it, read on the host through etcd's API (the API server's etcd client certificate). */
function rawEtcd(key: string): string | undefined {
  const out = lab!.exec(NAME, [
    'curl',
    '-sS',
    '--max-time',
    '20',
    '--cacert',
    '/etc/kubernetes/pki/etcd/ca.crt',
    '--cert',
    '/etc/kubernetes/pki/apiserver-etcd-client.crt',
    '--key',
    '/etc/kubernetes/pki/apiserver-etcd-client.key',
    '-X',
    'POST',
    'https://127.0.0.1:2379/v3/kv/range',
    '-d',
    JSON.stringify({ key: Buffer.from(key).toString('base64') }),
  ]);
  const kvs = (JSON.parse(out) as { kvs?: Array<{ value: string }> }).kvs;
  return kvs && kvs.length > 0 ? Buffer.from(kvs[0].value, 'base64').toString('latin1') : undefined;
}

/** What a restore would change on the host: data directories, manifests, backup work files, delivered tools, encryption files. */
function hostState(): string {
  return lab!.exec(NAME, [
    'sh',
    '-c',
    // etcd's database changes all the time (leases); its directory's inode changes only when it is swapped.
    `ls -d /var/lib/etcd* ; stat -c '%i %a %U' /var/lib/etcd; ls /etc/kubernetes/manifests; ls -A ${HOST_BACKUP_WORK_DIR} 2>/dev/null; ls ${HOST_BACKUP_BIN_DIR}; sha256sum /etc/kubernetes/encryption/* /etc/kubernetes/pki/ca.key; true`,
  ]);
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const w1 = process.stdout.write;
  const w2 = process.stderr.write;
  (process.stdout as unknown as { write: (s: string) => boolean }).write = (s: string) => ((out += s), true);
  (process.stderr as unknown as { write: (s: string) => boolean }).write = (s: string) => ((err += s), true);
  try {
    return { code: await backupCommand.run(args), out, err };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}

/** The CLI's explicit host options (no Pulumi): host, name, pinned host key, SSH key. */
function cliHost(): string[] {
  const h = lab!.host(NAME);
  fs.writeFileSync(path.join(work, 'host-key.pub'), `${h.hostKey}\n`);
  fs.writeFileSync(path.join(work, 'ssh-key'), lab!.clientPrivateKey, { mode: 0o600 });
  return [
    '--host',
    `root@127.0.0.1:${h.loopbackPort}`,
    '--host-name',
    NAME,
    '--host-key',
    path.join(work, 'host-key.pub'),
    '--ssh-key',
    path.join(work, 'ssh-key'),
    '--dir',
    backupDir,
    '--key',
    keyFile,
  ];
}

beforeAll(async () => {
  work = tempDir('hosts-backup');
  backupDir = path.join(work, 'backups');
  keyFile = path.join(work, 'secrets', 'backup-key');
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
  await until('the default namespace', 180_000, async () =>
    (await status('/api/v1/namespaces/default')) === 200 ? true : undefined,
  );
});

afterAll(async () => {
  await stopForward().catch(() => undefined);
  if (host) {
    await host.reset().catch((e) => logs.push(`reset in afterAll: ${(e as Error).message}`));
    await host.close().catch(() => undefined);
  }
  if (lab) await lab.destroy();
  if (work) fs.rmSync(work, { recursive: true, force: true });
  process.stderr.write(`hosts-backup timings: ${timings.join(', ')}\n`);
  if (process.env.HCB_E2E_LOG) process.stderr.write(`${logs.join('\n')}\n`);
});

test('a backup over SSH: etcd snapshot, PKI, encryption configuration and keys in one encrypted file', async () => {
  const a = api();
  expect(
    (await a.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } })).status,
  ).toBe(201);
  expect(
    (
      await a.post(`/api/v1/namespaces/${NS}/secrets`, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'db' },
        stringData: { password: SECRET },
      })
    ).status,
  ).toBe(201);
  expect(
    (
      await a.post(`/api/v1/namespaces/${NS}/configmaps`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings' },
        data: { a: '1' },
      })
    ).status,
  ).toBe(201);
  expect(rawEtcd(`/registry/secrets/${NS}/db`)?.startsWith('k8s:enc:')).toBe(true);

  const t = Date.now();
  first = await hostsBackupNow({ ...target(), backupDir, keyFile, cluster: 'hosts-e2e', hcbVersion: 'test' });
  timings.push(`backup ${Math.round((Date.now() - t) / 1000)} s`);
  const file = path.join(backupDir, first.file);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
  expect(first.revision).toBeGreaterThan(0);
  expect(first.source).toEqual({ target: 'hosts', host: NAME, address: lab!.host(NAME).address });
  const names = first.files.map((f) => f.name);
  expect(names).toEqual(
    expect.arrayContaining([
      'etcd/snapshot.db',
      'config/etc/kubernetes/pki/ca.key',
      'config/etc/kubernetes/pki/etcd/ca.key',
      'config/etc/kubernetes/encryption/encryption-config.yaml',
    ]),
  );
  expect(names.some((n) => n.startsWith('config/var/lib/hcb/secrets/'))).toBe(true);
  expect(first.files.find((f) => f.name === 'config/etc/kubernetes/pki/ca.key')!.mode & 0o077).toBe(0);
  const bytes = fs.readFileSync(file);
  expect(bytes.includes(Buffer.from(SECRET))).toBe(false);
  expect(bytes.includes(Buffer.from('PRIVATE KEY'))).toBe(false);
  expect(verifyBackup(file, keyFile).revision).toBe(first.revision);
  // Nothing of the snapshot stays on the host.
  expect(lab!.exec(NAME, ['sh', '-c', `ls -A ${HOST_BACKUP_WORK_DIR}`]).trim()).toBe('');

  // The CLI with an explicit host (no Pulumi): a second backup, then list.
  const now = await cli(['now', ...cliHost(), '--cluster', 'hosts-e2e']);
  expect(now).toMatchObject({ code: 0 });
  expect(now.out.trim()).toMatch(/hosts-e2e-.*\.hcbbak$/);
  const list = await cli(['list', '--dir', backupDir]);
  expect(list.code).toBe(0);
  expect(listBackups(backupDir)).toHaveLength(2);
});

test('a tampered or wrongly keyed backup is refused before anything reaches the host', async () => {
  const before = hostState();
  const file = path.join(backupDir, first.file);
  const tampered = path.join(work, 'tampered.hcbbak');
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 100] ^= 0x01;
  fs.writeFileSync(tampered, bytes, { mode: 0o600 });
  await expect(hostsRestore({ ...target(), file: tampered, keyFile })).rejects.toThrow(/failed authentication/);
  const wrongKey = path.join(work, 'wrong-key');
  fs.writeFileSync(wrongKey, Buffer.alloc(32, 7), { mode: 0o600 });
  await expect(hostsRestore({ ...target(), file, keyFile: wrongKey })).rejects.toThrow(/failed authentication/);
  const viaCli = await cli(['restore', tampered, ...cliHost()]);
  expect(viaCli.code).toBe(1);
  expect(viaCli.err).toMatch(/failed authentication/);
  expect(hostState()).toBe(before);
  // etcdutl is delivered only by a restore that passed authentication.
  expect(before).not.toMatch(/etcdutl/);
  expect(await status(`/api/v1/namespaces/${NS}/secrets/db`)).toBe(200);
});

test("a host whose encryption key differs from the backup's is refused before the control plane is stopped", async () => {
  const secrets = lab!.exec(NAME, ['sh', '-c', 'ls /var/lib/hcb/secrets']).trim().split('\n').filter(Boolean);
  expect(secrets.length).toBeGreaterThan(0);
  const f = `/var/lib/hcb/secrets/${secrets[0]}`;
  const original = lab!.exec(NAME, ['cat', f]);
  lab!.exec(NAME, ['sh', '-c', `head -c 32 /dev/urandom | base64 > ${f}`]);
  try {
    const before = hostState();
    const r = await cli(['restore', path.join(backupDir, first.file), ...cliHost()]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /encryption configuration or key differs from the backup's .*\/var\/lib\/hcb\/secrets\/.*nothing was changed/,
    );
    // Refused after comparing files on the host, before anything is sent there (etcdutl included).
    expect(hostState()).toBe(before);
    expect(await status(`/api/v1/namespaces/${NS}/secrets/db`)).toBe(200);
  } finally {
    lab!.exec(NAME, ['sh', '-c', `printf '%s' "$1" > ${f}`, 'sh', original]);
  }
  expect(lab!.exec(NAME, ['cat', f])).toBe(original);
});

test('deleted objects come back from the restore; the Secret is encrypted in etcd and readable', async () => {
  const a = api();
  expect((await a.delete(`/api/v1/namespaces/${NS}`)).status).toBe(200);
  await until('namespace deleted', 240_000, async () =>
    (await status(`/api/v1/namespaces/${NS}`)) === 404 ? true : undefined,
  );
  expect(rawEtcd(`/registry/secrets/${NS}/db`)).toBeUndefined();

  const t = Date.now();
  const r = await cli(['restore', path.join(backupDir, first.file), ...cliHost()]);
  timings.push(`restore ${Math.round((Date.now() - t) / 1000)} s`);
  if (r.code !== 0) throw new Error(`restore failed (${r.code}): ${r.err}\n--- log\n${logs.slice(-30).join('\n')}`);
  expect(r.out).toMatch(new RegExp(`restored revision ${first.revision}`));

  const ns = await until('the namespace back', 240_000, async () =>
    (await status(`/api/v1/namespaces/${NS}`)) === 200 ? true : undefined,
  );
  expect(ns).toBe(true);
  const s = await a.json<{ data: { password: string } }>(`/api/v1/namespaces/${NS}/secrets/db`);
  expect(Buffer.from(s.data.password, 'base64').toString()).toBe(SECRET);
  expect(await status(`/api/v1/namespaces/${NS}/configmaps/settings`)).toBe(200);
  const raw = rawEtcd(`/registry/secrets/${NS}/db`);
  expect(raw?.startsWith('k8s:enc:')).toBe(true);
  expect(raw).not.toContain(SECRET);
  // The replaced data directory is kept; the manifests are back; nothing is left in the work directory.
  const state = hostState();
  expect(state).toMatch(/\/var\/lib\/etcd\.before-restore-\d{8}T\d{6}Z/);
  for (const c of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'])
    expect(state).toContain(`${c}.yaml`);
  expect(lab!.exec(NAME, ['sh', '-c', `ls -A ${HOST_BACKUP_WORK_DIR}`]).trim()).toBe('');
  expect(lab!.exec(NAME, ['stat', '-c', '%a %U', '/var/lib/etcd']).trim()).toBe('700 etcd');
  // The static pods' images were pinned before they stopped (containerd's CRI label, which the
  // kubelet's image GC respects), and stay pinned.
  const images = lab!
    .exec(NAME, ['sh', '-c', "grep -h '^ *image: ' /etc/kubernetes/manifests/*.yaml | awk '{print $2}' | sort -u"])
    .trim()
    .split('\n');
  expect(images.length).toBeGreaterThanOrEqual(2);
  const listed = lab!
    .exec(NAME, [
      '/opt/hcb/bin/ctr',
      '--address',
      '/run/containerd/containerd.sock',
      '--namespace',
      'k8s.io',
      'images',
      'ls',
    ])
    .split('\n');
  for (const img of images)
    expect(listed.find((l) => l.startsWith(`${img} `)) ?? `${img} not listed`).toContain(
      'io.cri-containerd.pinned=pinned',
    );
});

test('a backup taken while objects are written restores a prefix of the writes, and the API serves', async () => {
  const a = api();
  // A bounded writer: one ConfigMap at a time, each after the previous one was acknowledged, so
  // the sequence label follows etcd's revision order.
  let stop = false;
  let attempted = 0;
  let acked = 0;
  const writer = (async () => {
    const deadline = Date.now() + 300_000;
    for (let i = 0; i < 400 && !stop && Date.now() < deadline; i++) {
      attempted = i + 1;
      const r = await a.post(`/api/v1/namespaces/${NS}/configmaps`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `seq-${i}`, labels: { 'hcb.dev/seq': String(i) } },
        data: { i: String(i) },
      });
      if (r.status !== 201) throw new Error(`write ${i}: HTTP ${r.status} ${r.body}`);
      acked = i + 1;
    }
  })();
  await until('the writer under way', 120_000, async () => (acked >= 5 ? true : undefined));
  const ackedBefore = acked;
  const m = await hostsBackupNow({ ...target(), backupDir, keyFile, cluster: 'hosts-e2e', hcbVersion: 'test' });
  const ackedAfter = acked;
  stop = true;
  await writer;
  expect(ackedAfter).toBeGreaterThan(ackedBefore); // the backup really ran during writes

  const r = await cli(['restore', path.join(backupDir, m.file), ...cliHost()]);
  if (r.code !== 0) throw new Error(`restore failed (${r.code}): ${r.err}\n--- log\n${logs.slice(-30).join('\n')}`);
  await until('the API server after the restore', 240_000, async () =>
    (await status('/readyz')) === 200 ? true : undefined,
  );
  const list = await until('the ConfigMaps', 120_000, async () =>
    a.json<{ items: Array<{ metadata: { labels: Record<string, string>; resourceVersion: string } }> }>(
      `/api/v1/namespaces/${NS}/configmaps?labelSelector=hcb.dev%2Fseq`,
    ),
  );
  const restored = list.items
    .map((i) => ({ seq: Number(i.metadata.labels['hcb.dev/seq']), rv: Number(i.metadata.resourceVersion) }))
    .sort((x, y) => x.seq - y.seq);
  // A prefix: no later write without every earlier one.
  expect(restored.map((x) => x.seq)).toEqual(restored.map((_, i) => i));
  // Everything acknowledged before the snapshot started is in it; nothing beyond what was attempted.
  expect(restored.length).toBeGreaterThanOrEqual(ackedBefore);
  expect(restored.length).toBeLessThanOrEqual(attempted);
  // Revision order equals write order, and every object is from at or before the snapshot's revision.
  for (let i = 1; i < restored.length; i++) expect(restored[i].rv).toBeGreaterThan(restored[i - 1].rv);
  expect(restored[restored.length - 1].rv).toBeLessThanOrEqual(m.revision);
  // The API serves writes again (revisions continue past the bump).
  const after = await a.post(`/api/v1/namespaces/${NS}/configmaps`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'after-restore' },
    data: { ok: 'yes' },
  });
  expect(after.status).toBe(201);
  timings.push(`under writes: ${ackedBefore}..${ackedAfter} acked around the backup, ${restored.length} restored`);
});

test('hcb backup schedule: the scheduled run on the host writes an encrypted backup, retention prunes, the key is never shown', async () => {
  const key = fs.readFileSync(keyFile);
  const secretForms = [key.toString('hex'), key.toString('base64'), key.toString('base64url')];
  const r = await cli(['schedule', ...cliHost(), '--cluster', 'hosts-e2e']);
  if (r.code !== 0) throw new Error(`schedule failed (${r.code}): ${r.err}`);
  // The lab host has no systemd: the CLI says what to run instead.
  expect(r.out).toMatch(/every 3600s, the newest 2 kept in \/var\/lib\/hcb\/backups/);
  expect(r.out).toMatch(
    /no systemd: run \/opt\/hcb\/bin\/hcb-host-backup scheduled --config \/etc\/hcb\/backup\/schedule\.json/,
  );
  expect(lab!.exec(NAME, ['stat', '-c', '%a %U', '/etc/hcb/backup/backup-key']).trim()).toBe('600 root');
  expect(lab!.exec(NAME, ['stat', '-c', '%a %U', '/etc/hcb/backup/schedule.json']).trim()).toBe('600 root');
  const unit = lab!.exec(NAME, ['cat', '/etc/systemd/system/hcb-backup.service']);
  expect(lab!.exec(NAME, ['cat', '/etc/systemd/system/hcb-backup.timer'])).toMatch(/^OnUnitActiveSec=3600s$/m);
  const execStart = /^ExecStart=(.+)$/m.exec(unit)?.[1];
  expect(execStart).toBeDefined();

  // Run the installed service's command three times, as the timer would (in the host, as root).
  const h = lab!.host(NAME);
  const outputs: string[] = [r.out, r.err, ...logs];
  for (let i = 0; i < 3; i++) {
    if (i > 0) await sleep(1_100); // backup names carry the second
    const run = spawnSync(
      'nsenter',
      [`--target=${h.holderPid}`, '--net', '--mount', '--uts', '--', 'sh', '-c', `${execStart} 2>&1`],
      {
        encoding: 'utf8',
        timeout: 600_000,
      },
    );
    outputs.push(run.stdout ?? '', run.stderr ?? '');
    if (run.status !== 0)
      throw new Error(`scheduled run ${i + 1} failed (${run.status ?? run.signal}): ${run.stdout}${run.stderr}`);
    expect(run.stdout).toMatch(/^wrote \/var\/lib\/hcb\/backups\/hosts-e2e-\d{8}T\d{6}Z-r\d+\.hcbbak/);
  }
  expect(outputs.join('\n')).toMatch(/removed hosts-e2e-.*retention keeps the newest 2/);
  const onHost = lab!
    .exec(NAME, ['sh', '-c', 'ls /var/lib/hcb/backups'])
    .trim()
    .split('\n')
    .filter((f) => f.endsWith('.hcbbak'));
  expect(onHost).toHaveLength(2);
  expect(lab!.exec(NAME, ['stat', '-c', '%a', '/var/lib/hcb/backups']).trim()).toBe('700');

  // The newest comes back here and is read with the operator's key: same format, same key.
  const newest = onHost.sort().pop()!;
  const local = path.join(work, 'from-host', newest);
  fs.mkdirSync(path.dirname(local), { recursive: true, mode: 0o700 });
  // Read inside the host's mount namespace (lab.exec's output buffer is too small for a snapshot).
  const copy = spawnSync(
    'nsenter',
    [`--target=${h.holderPid}`, '--mount', '--', 'cat', `/var/lib/hcb/backups/${newest}`],
    { timeout: 120_000, maxBuffer: 1024 * 1024 * 1024 },
  );
  if (copy.status !== 0) throw new Error(`copying ${newest} from the host failed: ${String(copy.stderr)}`);
  fs.writeFileSync(local, copy.stdout, { mode: 0o600 });
  const m = verifyBackup(local, keyFile);
  // The schedule was installed with --host root@127.0.0.1:<port> (the lab's loopback forward to the
  // host's sshd): the backups record the address the operator named, as `hcb backup now --host` does.
  expect(m.source).toEqual({ target: 'hosts', host: NAME, address: '127.0.0.1' });
  expect(m.revision).toBeGreaterThan(0);
  expect(m.files.map((f) => f.name)).toEqual(
    expect.arrayContaining([
      'etcd/snapshot.db',
      'config/etc/kubernetes/pki/ca.key',
      'config/etc/kubernetes/encryption/encryption-config.yaml',
    ]),
  );
  const bytes = fs.readFileSync(local);
  expect(bytes.includes(Buffer.from(SECRET))).toBe(false);
  expect(bytes.includes(Buffer.from('PRIVATE KEY'))).toBe(false);
  // The key never appears in the CLI's output, the log, or the scheduled runs' output.
  const all = outputs.join('\n');
  for (const form of secretForms) expect(all.includes(form)).toBe(false);
  // Nothing of the snapshot stays in the work directory.
  expect(
    lab!.exec(NAME, ['sh', '-c', `ls -A ${HOST_BACKUP_WORK_DIR} | grep -v '^scheduled.lock$' || true`]).trim(),
  ).toBe('');
  timings.push(`scheduled backups on the host: ${onHost.join(', ')}`);
});

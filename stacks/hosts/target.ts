/**
 * The `hosts` target's Pulumi resources: one dynamic resource per control-plane host that runs
 * `ControlPlaneHost` (./bringup.ts) over SSH.
 *
 *   create  bring the host up (binaries, node files, images, containerd, `kubeadm init`, kubelet)
 *   diff    inputs changed, or the host is not healthy (no admin.conf, containerd or the kubelet
 *           not running from our binaries): then an update
 *   update  the same bring-up again (idempotent: only what differs is sent or restarted)
 *   delete  `reset()`: kubeadm reset, processes, mounts, interfaces, cgroups, files, binaries
 *
 * The SSH private key is an input and an output of the resource, always a Pulumi secret
 * (encrypted in the state); admin.conf is an output secret. Neither is logged: progress lines go
 * to `<workDir>/logs/<host>.log` and carry no key (ssh.ts redacts every error).
 *
 * Reaching the hosts: the SSH client dials `address:port` from hcb:hosts. Where the machine running
 * Pulumi reaches a host through a forwarder or bastion instead, `HCB_HOSTS_DIAL` (JSON, read at run
 * time) names the endpoint per host: `{"cp1": {"ssh": "127.0.0.1:2201", "api": "127.0.0.1:6443"}}`.
 * The pinned host key is checked either way, and the API server's certificate is still verified
 * for the host admin.conf names (`tls-server-name`). With hcb:controlPlaneEndpoint admin.conf names
 * the endpoint: the first control plane's `api` entry then says where this machine reaches the
 * endpoint (the load balancer), and the certificate is checked for the endpoint's host.
 *
 * The provider runs in Pulumi's dynamic-provider host, a separate Node.js process: it loads the
 * bring-up module by absolute path at run time instead of capturing it in the closure.
 */
import * as pulumi from '@pulumi/pulumi';
import type { NodeFile } from '../../policies/model';

/** A host as the resource needs it (hcb:hosts fields, the pinned key line). */
export interface HostEndpoint {
  name: string;
  address: string;
  port: number;
  user: string;
  hostKey: string;
}

export interface HostControlPlaneArgs {
  host: pulumi.Input<HostEndpoint>;
  /** The private key's text (pass a secret: `config.requireSecret('sshPrivateKey')`). */
  sshPrivateKey: pulumi.Input<string>;
  /** The toolchain's bin directory. */
  binDir: pulumi.Input<string>;
  /** Local working directory (image archives, progress logs). */
  workDir: pulumi.Input<string>;
  /** The blueprint's node files (secrets only as {{hcb-secret:NAME}} tokens). */
  nodeFiles: pulumi.Input<NodeFile[]>;
  /** This host's pod range on its CNI bridge. */
  podNetwork: pulumi.Input<{ podCidr: string; podGateway: string }>;
  /**
   * A further control plane: the first control plane (kubeadm init ran there). The host then joins
   * with `kubeadm join` and the JoinConfiguration's controlPlane section (./control-plane-join.ts);
   * deleting it removes its etcd member and Node before the reset.
   */
  joinTo?: pulumi.Input<HostEndpoint>;
  /** A further control plane's kubelet settings over the cluster's (a kubeadm patch). */
  kubeletConfigPatch?: pulumi.Input<Record<string, unknown>>;
}

interface HostInputs {
  host: HostEndpoint;
  sshPrivateKey: string;
  binDir: string;
  workDir: string;
  nodeFiles: NodeFile[];
  podNetwork: { podCidr: string; podGateway: string };
  bringupModule: string;
  joinTo?: HostEndpoint;
  kubeletConfigPatch?: Record<string, unknown>;
  controlPlaneJoinModule?: string;
}

/** Where to reach a host: `HCB_HOSTS_DIAL` entries, else its address and port. */
export interface HostDial {
  ssh?: { host: string; port: number };
  api?: { host: string; port: number };
}

/** Parses `HCB_HOSTS_DIAL` (undefined or empty: no overrides). Errors name the variable and the host. */
export function parseHostsDial(text: string | undefined): Record<string, HostDial> {
  if (text === undefined || text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text) as unknown;
  } catch {
    throw new Error(
      'hcb: HCB_HOSTS_DIAL is not JSON; it maps host names to endpoints, e.g. {"cp1": {"ssh": "127.0.0.1:2201", "api": "127.0.0.1:6443"}}',
    );
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new Error(
      'hcb: HCB_HOSTS_DIAL must be a JSON object of host name to {"ssh": "host:port", "api": "host:port"}',
    );
  const out: Record<string, HostDial> = {};
  for (const [name, entry] of Object.entries(v as Record<string, unknown>)) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
      throw new Error(`hcb: HCB_HOSTS_DIAL["${name}"] must be an object with "ssh" and/or "api"`);
    const d: HostDial = {};
    for (const [k, ep] of Object.entries(entry as Record<string, unknown>)) {
      if (k !== 'ssh' && k !== 'api')
        throw new Error(`hcb: HCB_HOSTS_DIAL["${name}"] has an unknown field "${k}" (known: ssh, api)`);
      const m = typeof ep === 'string' ? /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(ep) : null;
      const port = m ? Number(m[2]) : NaN;
      if (!m || port < 1 || port > 65535)
        throw new Error(`hcb: HCB_HOSTS_DIAL["${name}"].${k} = ${JSON.stringify(ep)} is not "host:port"`);
      d[k] = { host: m[1].replace(/^\[|\]$/g, ''), port };
    }
    out[name] = d;
  }
  return out;
}

/**
 * admin.conf as the machine running Pulumi uses it: with an `api` dial entry the server becomes
 * that endpoint and `tls-server-name` keeps the certificate check on the host admin.conf names:
 * the control plane's address, or with several control planes the hcb:controlPlaneEndpoint's host
 * (each API server's certificate names the endpoint, none names another control plane's address).
 * `address` (the first control plane's) names the host in errors.
 */
export function kubeconfigForDial(adminConf: string, address: string, dial: HostDial | undefined): string {
  if (!dial?.api) return adminConf;
  const lines = adminConf.split('\n');
  let replaced = 0;
  const out = lines.flatMap((line) => {
    const m = /^(\s*)server:\s*(\S+)\s*$/.exec(line);
    if (!m) return [line];
    replaced++;
    let serverName: string;
    try {
      serverName = new URL(m[2]).hostname.replace(/^\[|\]$/g, '');
    } catch {
      throw new Error(`hcb: admin.conf of ${address} names the server ${JSON.stringify(m[2])}, which is not a URL`);
    }
    const host = dial.api!.host.includes(':') ? `[${dial.api!.host}]` : dial.api!.host;
    return [`${m[1]}server: https://${host}:${dial.api!.port}`, `${m[1]}tls-server-name: ${serverName}`];
  });
  if (replaced !== 1)
    throw new Error(
      `hcb: admin.conf of ${address} has ${replaced} server lines (one expected); cannot point it at HCB_HOSTS_DIAL's api endpoint`,
    );
  return out.join('\n');
}

/** The API server URL in a kubeconfig (its one `server:` line). */
export function kubeconfigServer(kubeconfig: string): string {
  const m = /^\s*server:\s*(\S+)\s*$/m.exec(kubeconfig);
  if (!m) throw new Error('hcb: the kubeconfig names no server');
  return m[1];
}

function sameInputs(a: HostInputs, b: HostInputs): boolean {
  return (
    JSON.stringify(a.host) === JSON.stringify(b.host) &&
    a.binDir === b.binDir &&
    a.workDir === b.workDir &&
    JSON.stringify(a.podNetwork) === JSON.stringify(b.podNetwork) &&
    JSON.stringify(a.nodeFiles) === JSON.stringify(b.nodeFiles) &&
    JSON.stringify(a.joinTo ?? null) === JSON.stringify(b.joinTo ?? null) &&
    JSON.stringify(a.kubeletConfigPatch ?? null) === JSON.stringify(b.kubeletConfigPatch ?? null) &&
    a.sshPrivateKey === b.sshPrivateKey
  );
}

function loadBringup(module: string): typeof import('./bringup') {
  if (module.endsWith('.ts')) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('ts-node').register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(module);
}

function dialOf(name: string): HostDial | undefined {
  return parseHostsDial(process.env.HCB_HOSTS_DIAL)[name];
}

async function openHost(inputs: HostInputs) {
  const { ControlPlaneHost } = loadBringup(inputs.bringupModule);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('fs') as typeof import('fs');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const path = require('path') as typeof import('path');
  const logDir = path.join(inputs.workDir, 'logs');
  fs.mkdirSync(logDir, { recursive: true, mode: 0o700 });
  const logFile = path.join(logDir, `${inputs.host.name}.log`);
  const dial = dialOf(inputs.host.name);
  return ControlPlaneHost.open({
    host: inputs.host,
    ssh: { privateKey: inputs.sshPrivateKey, dial: dial?.ssh, connectTimeoutMs: 30_000 },
    binDir: inputs.binDir,
    nodeFiles: inputs.nodeFiles,
    podNetwork: inputs.podNetwork,
    workDir: inputs.workDir,
    log: (line: string) => fs.appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`, { mode: 0o600 }),
  });
}

async function bringUp(inputs: HostInputs): Promise<Record<string, unknown>> {
  if (inputs.joinTo) {
    const { joinControlPlane } = loadModule<typeof import('./control-plane-join')>(
      inputs.controlPlaneJoinModule ?? inputs.bringupModule.replace(/bringup(\.[jt]s)$/, 'control-plane-join$1'),
    );
    const res = await joinControlPlane({
      first: hostAccess(inputs.joinTo, inputs),
      host: hostAccess(inputs.host, inputs),
      binDir: inputs.binDir,
      nodeFiles: inputs.nodeFiles,
      podNetwork: inputs.podNetwork,
      workDir: inputs.workDir,
      ...(inputs.kubeletConfigPatch ? { kubeletConfigPatch: inputs.kubeletConfigPatch } : {}),
      log: fileLog(inputs.workDir, inputs.host.name),
    });
    return {
      ...inputs,
      adminKubeconfig: res.adminKubeconfig,
      nodeName: res.nodeName,
      apiServerUrl: kubeconfigServer(res.adminKubeconfig),
    };
  }
  const host = await openHost(inputs);
  try {
    const res = await host.up();
    return {
      ...inputs,
      adminKubeconfig: res.adminKubeconfig,
      nodeName: res.nodeName,
      apiServerUrl: kubeconfigServer(res.adminKubeconfig),
    };
  } finally {
    await host.close().catch(() => undefined);
  }
}

/**
 * Run on the host ($1 state dir, $2 bin dir, $3 a file that must exist, then process names): "ok"
 * when the file is there and each process runs from our binaries (pid files of the bring-up,
 * /proc/<pid>/exe checked); otherwise what is missing.
 */
const HEALTH_SCRIPT = `dir=$1 bin=$2 conf=$3; shift 3
bad=
[ -s "$conf" ] || bad="$bad $conf"
for n; do
  p=$(cat "$dir/run/$n.pid" 2>/dev/null || true)
  if [ -z "$p" ] || [ "$(readlink "/proc/$p/exe" 2>/dev/null)" != "$bin/$n" ]; then bad="$bad $n"; fi
done
if [ -z "$bad" ]; then echo ok; else echo "missing:$bad"; fi
`;

async function healthy(inputs: HostInputs): Promise<boolean> {
  const { HOST_STATE_DIR, HOST_BIN_DIR } = loadBringup(inputs.bringupModule);
  const host = await openHost(inputs);
  try {
    const res = await host.conn.run(
      [
        'sh',
        '-c',
        HEALTH_SCRIPT,
        'hcb',
        HOST_STATE_DIR,
        HOST_BIN_DIR,
        '/etc/kubernetes/admin.conf',
        'containerd',
        'kubelet',
      ],
      { label: 'health check', timeoutMs: 60_000 },
    );
    return res.stdout.trim() === 'ok';
  } finally {
    await host.close().catch(() => undefined);
  }
}

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: HostInputs) {
    return { id: `host:${inputs.host.name}`, outs: await bringUp(inputs) };
  },
  async diff(_id: string, olds: HostInputs, news: HostInputs) {
    // The first control plane (kubeadm init ran there; joins are made from it) stays the first: a
    // host turning from first into joined or back, or joining another first, would re-init or orphan
    // the etcd cluster. Refused before anything changes.
    if ((olds.joinTo?.name ?? '') !== (news.joinTo?.name ?? '')) {
      const first = olds.joinTo?.name ?? olds.host.name;
      throw new Error(
        `hcb: control plane ${news.host.name}: hcb:hosts now makes ${news.joinTo?.name ?? news.host.name} the first control plane, but kubeadm init ran on ${first}; the first control plane cannot be removed or moved behind another while further control planes depend on it. ` +
          `Fix: keep ${first} as the first control-plane entry of hcb:hosts (remove the further control planes first, or pulumi destroy and up again)`,
      );
    }
    // Another machine (name or address) is a new host: the old one is reset first.
    if (olds.host.name !== news.host.name || olds.host.address !== news.host.address) {
      return { changes: true, replaces: ['host'], deleteBeforeReplace: true };
    }
    if (!sameInputs(olds, news)) return { changes: true };
    return { changes: !(await healthy(news)) };
  },
  async update(_id: string, _olds: HostInputs, news: HostInputs) {
    return { outs: await bringUp(news) };
  },
  async delete(_id: string, olds: HostInputs) {
    if (olds.joinTo) {
      // A further control plane: quorum checked, Node drained and deleted, etcd member removed, host reset.
      const { removeControlPlane } = loadModule<typeof import('./control-plane-join')>(
        olds.controlPlaneJoinModule ?? olds.bringupModule.replace(/bringup(\.[jt]s)$/, 'control-plane-join$1'),
      );
      await removeControlPlane({
        first: hostAccess(olds.joinTo, olds),
        host: hostAccess(olds.host, olds),
        binDir: olds.binDir,
        log: fileLog(olds.workDir, olds.host.name),
      });
      return;
    }
    const host = await openHost(olds);
    try {
      await host.reset();
    } finally {
      await host.close().catch(() => undefined);
    }
    // kubeadm reset leaves iptables chains: the kubelet's (KUBE-FIREWALL, the canaries) and any of
    // kube-proxy's its --cleanup missed. With the kubelet gone they are removed for good.
    const { sweepKubeChainsOver } = loadModule<typeof import('./network')>(
      olds.bringupModule.replace(/bringup(\.[jt]s)$/, 'network$1'),
    );
    await sweepKubeChainsOver(hostAccess(olds.host, olds), fileLog(olds.workDir, olds.host.name));
  },
};

/** One control-plane host of a hosts cluster (kubeadm init on the first, kubeadm join on further ones). */
export class HostControlPlaneResource extends pulumi.dynamic.Resource {
  /** admin.conf (a secret in the state). */
  declare public readonly adminKubeconfig: pulumi.Output<string>;
  /** The API server URL admin.conf names (https://<address>:6443). */
  declare public readonly apiServerUrl: pulumi.Output<string>;
  declare public readonly nodeName: pulumi.Output<string>;

  constructor(name: string, args: HostControlPlaneArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      provider,
      name,
      {
        ...args,
        sshPrivateKey: pulumi.secret(args.sshPrivateKey),
        bringupModule: require.resolve('./bringup'),
        ...(args.joinTo ? { controlPlaneJoinModule: require.resolve('./control-plane-join') } : {}),
        adminKubeconfig: undefined,
        apiServerUrl: undefined,
        nodeName: undefined,
      },
      { ...opts, additionalSecretOutputs: ['adminKubeconfig', 'sshPrivateKey'] },
      'hcb',
      'HostControlPlane',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// workers (./join.ts) and the cluster network (./network.ts)

interface AccessInputs {
  sshPrivateKey: string;
  workDir: string;
}

function hostAccess(endpoint: HostEndpoint, i: AccessInputs) {
  return {
    host: endpoint,
    ssh: { privateKey: i.sshPrivateKey, dial: dialOf(endpoint.name)?.ssh, connectTimeoutMs: 30_000 },
  };
}

function fileLog(workDir: string, name: string): (line: string) => void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('fs') as typeof import('fs');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const path = require('path') as typeof import('path');
  const dir = path.join(workDir, 'logs');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${name}.log`);
  return (line: string) => fs.appendFileSync(file, `${new Date().toISOString()} ${line}\n`, { mode: 0o600 });
}

function loadModule<T>(module: string): T {
  if (module.endsWith('.ts')) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('ts-node').register({ transpileOnly: true, compilerOptions: { module: 'commonjs' } });
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(module) as T;
}

/** Whether a file exists and the named processes run from our binaries on a host. */
async function hostHealthy(
  i: AccessInputs & { bringupModule: string },
  endpoint: HostEndpoint,
  file: string,
  processes: string[],
): Promise<boolean> {
  const { HOST_STATE_DIR, HOST_BIN_DIR } = loadBringup(i.bringupModule);
  const { SshConnection } = loadModule<typeof import('./ssh')>(i.bringupModule.replace(/bringup(\.[jt]s)$/, 'ssh$1'));
  const a = hostAccess(endpoint, i);
  const conn = await SshConnection.connect(a.host, a.ssh);
  try {
    const res = await conn.run(['sh', '-c', HEALTH_SCRIPT, 'hcb', HOST_STATE_DIR, HOST_BIN_DIR, file, ...processes], {
      label: 'health check',
      timeoutMs: 60_000,
    });
    return res.stdout.trim() === 'ok';
  } finally {
    await conn.close().catch(() => undefined);
  }
}

export interface HostWorkerArgs {
  /** The control-plane host (kubeadm init ran there). */
  controlPlane: pulumi.Input<HostEndpoint>;
  worker: pulumi.Input<HostEndpoint>;
  sshPrivateKey: pulumi.Input<string>;
  binDir: pulumi.Input<string>;
  workDir: pulumi.Input<string>;
  nodeFiles: pulumi.Input<NodeFile[]>;
  podNetwork: pulumi.Input<{ podCidr: string; podGateway: string }>;
  /** This node's kubelet settings over the cluster's (a kubeadm patch). */
  kubeletConfigPatch?: pulumi.Input<Record<string, unknown>>;
}

interface WorkerInputs extends AccessInputs {
  controlPlane: HostEndpoint;
  worker: HostEndpoint;
  binDir: string;
  nodeFiles: NodeFile[];
  podNetwork: { podCidr: string; podGateway: string };
  kubeletConfigPatch?: Record<string, unknown>;
  bringupModule: string;
  joinModule: string;
}

async function joinIt(i: WorkerInputs): Promise<Record<string, unknown>> {
  const { joinWorker } = loadModule<typeof import('./join')>(i.joinModule);
  const res = await joinWorker({
    controlPlane: hostAccess(i.controlPlane, i),
    worker: hostAccess(i.worker, i),
    binDir: i.binDir,
    nodeFiles: i.nodeFiles,
    podNetwork: i.podNetwork,
    ...(i.kubeletConfigPatch ? { kubeletConfigPatch: i.kubeletConfigPatch } : {}),
    workDir: i.workDir,
    log: fileLog(i.workDir, i.worker.name),
  });
  return { ...i, nodeName: res.nodeName };
}

const workerProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: WorkerInputs) {
    return { id: `worker:${inputs.worker.name}`, outs: await joinIt(inputs) };
  },
  async diff(_id: string, olds: WorkerInputs, news: WorkerInputs) {
    if (olds.worker.name !== news.worker.name || olds.worker.address !== news.worker.address) {
      return { changes: true, replaces: ['worker'], deleteBeforeReplace: true };
    }
    const same = (
      [
        'controlPlane',
        'worker',
        'binDir',
        'workDir',
        'nodeFiles',
        'podNetwork',
        'kubeletConfigPatch',
        'sshPrivateKey',
      ] as const
    ).every((k) => JSON.stringify(olds[k]) === JSON.stringify(news[k]));
    if (!same) return { changes: true };
    return {
      changes: !(await hostHealthy(news, news.worker, '/etc/kubernetes/kubelet.conf', ['containerd', 'kubelet'])),
    };
  },
  async update(_id: string, _olds: WorkerInputs, news: WorkerInputs) {
    return { outs: await joinIt(news) };
  },
  async delete(_id: string, olds: WorkerInputs) {
    const { removeWorker } = loadModule<typeof import('./join')>(olds.joinModule);
    await removeWorker({
      controlPlane: hostAccess(olds.controlPlane, olds),
      worker: hostAccess(olds.worker, olds),
      binDir: olds.binDir,
      log: fileLog(olds.workDir, olds.worker.name),
    });
  },
};

/** A worker of a hosts cluster: `kubeadm join` over SSH; deleting it drains, deletes the Node and resets the host. */
export class HostWorkerResource extends pulumi.dynamic.Resource {
  declare public readonly nodeName: pulumi.Output<string>;

  constructor(name: string, args: HostWorkerArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      workerProvider,
      name,
      {
        ...args,
        sshPrivateKey: pulumi.secret(args.sshPrivateKey),
        bringupModule: require.resolve('./bringup'),
        joinModule: require.resolve('./join'),
        nodeName: undefined,
      },
      { ...opts, additionalSecretOutputs: ['sshPrivateKey'] },
      'hcb',
      'HostWorker',
    );
  }
}

export interface HostsNetworkArgs {
  controlPlane: pulumi.Input<HostEndpoint>;
  /** Every host of the cluster with its pod range. */
  hosts: pulumi.Input<Array<{ endpoint: HostEndpoint; podCidr: string }>>;
  sshPrivateKey: pulumi.Input<string>;
  binDir: pulumi.Input<string>;
  workDir: pulumi.Input<string>;
  nodeFiles: pulumi.Input<NodeFile[]>;
}

interface NetworkInputs extends AccessInputs {
  controlPlane: HostEndpoint;
  hosts: Array<{ endpoint: HostEndpoint; podCidr: string }>;
  binDir: string;
  nodeFiles: NodeFile[];
  bringupModule: string;
  joinModule: string;
  networkModule: string;
}

async function networkUp(i: NetworkInputs): Promise<Record<string, unknown>> {
  const { ClusterAdmin, approveKubeletServingCsrs } = loadModule<typeof import('./join')>(i.joinModule);
  const { ensureClusterNetwork } = loadModule<typeof import('./network')>(i.networkModule);
  const log = fileLog(i.workDir, 'network');
  const admin = await ClusterAdmin.open(hostAccess(i.controlPlane, i), i.binDir, log);
  try {
    // The control plane's kubelet serving certificate (workers' are approved by their join):
    // only a CSR of system:node:<name> naming exactly its name and address.
    await approveKubeletServingCsrs(admin, [{ name: i.controlPlane.name, address: i.controlPlane.address }]);
    await ensureClusterNetwork({
      admin,
      hosts: i.hosts.map((h) => ({ ...hostAccess(h.endpoint, i), podCidr: h.podCidr })),
      binDir: i.binDir,
      nodeFiles: i.nodeFiles,
      log,
    });
  } finally {
    await admin.close().catch(() => undefined);
  }
  return { ...i };
}

const networkProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: NetworkInputs) {
    return { id: `network:${inputs.controlPlane.name}`, outs: await networkUp(inputs) };
  },
  async diff(_id: string, olds: NetworkInputs, news: NetworkInputs) {
    const same = (['controlPlane', 'hosts', 'binDir', 'workDir', 'nodeFiles', 'sshPrivateKey'] as const).every(
      (k) => JSON.stringify(olds[k]) === JSON.stringify(news[k]),
    );
    if (!same) return { changes: true };
    for (const h of news.hosts) {
      if (!(await hostHealthy(news, h.endpoint, '/var/lib/kube-proxy/config.conf', ['kube-proxy', 'kube-router'])))
        return { changes: true };
    }
    return { changes: false };
  },
  async update(_id: string, olds: NetworkInputs, news: NetworkInputs) {
    // Hosts that left: their services and routes go (the worker's own removal resets it too).
    const { resetHostNetworkOver } = loadModule<typeof import('./network')>(news.networkModule);
    for (const h of olds.hosts) {
      if (!news.hosts.some((n) => n.endpoint.name === h.endpoint.name))
        await resetHostNetworkOver(hostAccess(h.endpoint, olds), fileLog(olds.workDir, 'network')).catch(
          () => undefined,
        );
    }
    return { outs: await networkUp(news) };
  },
  async delete(_id: string, olds: NetworkInputs) {
    const { resetHostNetworkOver } = loadModule<typeof import('./network')>(olds.networkModule);
    for (const h of olds.hosts)
      await resetHostNetworkOver(hostAccess(h.endpoint, olds), fileLog(olds.workDir, 'network'));
  },
};

/**
 * The pod network of a hosts cluster: routes between the hosts' pod ranges, kube-proxy and the
 * NetworkPolicy enforcer (kube-router, firewall only) on every host (./network.ts). Deleting it
 * stops them and removes their rules and routes on every host.
 */
export class HostsNetworkResource extends pulumi.dynamic.Resource {
  constructor(name: string, args: HostsNetworkArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      networkProvider,
      name,
      {
        ...args,
        sshPrivateKey: pulumi.secret(args.sshPrivateKey),
        bringupModule: require.resolve('./bringup'),
        joinModule: require.resolve('./join'),
        networkModule: require.resolve('./network'),
      },
      { ...opts, additionalSecretOutputs: ['sshPrivateKey'] },
      'hcb',
      'HostsNetwork',
    );
  }
}

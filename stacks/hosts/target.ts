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
 * for the host's address (`tls-server-name`).
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
}

interface HostInputs {
  host: HostEndpoint;
  sshPrivateKey: string;
  binDir: string;
  workDir: string;
  nodeFiles: NodeFile[];
  podNetwork: { podCidr: string; podGateway: string };
  bringupModule: string;
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
    throw new Error('hcb: HCB_HOSTS_DIAL is not JSON; it maps host names to endpoints, e.g. {"cp1": {"ssh": "127.0.0.1:2201", "api": "127.0.0.1:6443"}}');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('hcb: HCB_HOSTS_DIAL must be a JSON object of host name to {"ssh": "host:port", "api": "host:port"}');
  const out: Record<string, HostDial> = {};
  for (const [name, entry] of Object.entries(v as Record<string, unknown>)) {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new Error(`hcb: HCB_HOSTS_DIAL["${name}"] must be an object with "ssh" and/or "api"`);
    const d: HostDial = {};
    for (const [k, ep] of Object.entries(entry as Record<string, unknown>)) {
      if (k !== 'ssh' && k !== 'api') throw new Error(`hcb: HCB_HOSTS_DIAL["${name}"] has an unknown field "${k}" (known: ssh, api)`);
      const m = typeof ep === 'string' ? /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(ep) : null;
      const port = m ? Number(m[2]) : NaN;
      if (!m || port < 1 || port > 65535) throw new Error(`hcb: HCB_HOSTS_DIAL["${name}"].${k} = ${JSON.stringify(ep)} is not "host:port"`);
      d[k] = { host: m[1].replace(/^\[|\]$/g, ''), port };
    }
    out[name] = d;
  }
  return out;
}

/**
 * admin.conf as the machine running Pulumi uses it: with an `api` dial entry the server becomes
 * that endpoint and `tls-server-name` keeps the certificate check on the host's address.
 */
export function kubeconfigForDial(adminConf: string, address: string, dial: HostDial | undefined): string {
  if (!dial?.api) return adminConf;
  const lines = adminConf.split('\n');
  let replaced = 0;
  const out = lines.flatMap((line) => {
    const m = /^(\s*)server:\s*(\S+)\s*$/.exec(line);
    if (!m) return [line];
    replaced++;
    const host = dial.api!.host.includes(':') ? `[${dial.api!.host}]` : dial.api!.host;
    return [`${m[1]}server: https://${host}:${dial.api!.port}`, `${m[1]}tls-server-name: ${address}`];
  });
  if (replaced !== 1) throw new Error(`hcb: admin.conf of ${address} has ${replaced} server lines (one expected); cannot point it at HCB_HOSTS_DIAL's api endpoint`);
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
  const host = await openHost(inputs);
  try {
    const res = await host.up();
    return { ...inputs, adminKubeconfig: res.adminKubeconfig, nodeName: res.nodeName, apiServerUrl: kubeconfigServer(res.adminKubeconfig) };
  } finally {
    await host.close().catch(() => undefined);
  }
}

/**
 * Run on the host: "ok" when admin.conf is there and containerd and the kubelet run from our
 * binaries (pid files of the bring-up, /proc/<pid>/exe checked); otherwise what is missing.
 */
const HEALTH_SCRIPT = `dir=$1 bin=$2
bad=
[ -s /etc/kubernetes/admin.conf ] || bad="$bad admin.conf"
for n in containerd kubelet; do
  p=$(cat "$dir/run/$n.pid" 2>/dev/null || true)
  if [ -z "$p" ] || [ "$(readlink "/proc/$p/exe" 2>/dev/null)" != "$bin/$n" ]; then bad="$bad $n"; fi
done
if [ -z "$bad" ]; then echo ok; else echo "missing:$bad"; fi
`;

async function healthy(inputs: HostInputs): Promise<boolean> {
  const { HOST_STATE_DIR, HOST_BIN_DIR } = loadBringup(inputs.bringupModule);
  const host = await openHost(inputs);
  try {
    const res = await host.conn.run(['sh', '-c', HEALTH_SCRIPT, 'hcb', HOST_STATE_DIR, HOST_BIN_DIR], { label: 'health check', timeoutMs: 60_000 });
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
    const host = await openHost(olds);
    try {
      await host.reset();
    } finally {
      await host.close().catch(() => undefined);
    }
  },
};

/** One control-plane host of a hosts cluster (kubeadm init on it). */
export class HostControlPlaneResource extends pulumi.dynamic.Resource {
  /** admin.conf (a secret in the state). */
  public readonly adminKubeconfig!: pulumi.Output<string>;
  /** The API server URL admin.conf names (https://<address>:6443). */
  public readonly apiServerUrl!: pulumi.Output<string>;
  public readonly nodeName!: pulumi.Output<string>;

  constructor(name: string, args: HostControlPlaneArgs, opts: pulumi.CustomResourceOptions = {}) {
    super(
      provider,
      name,
      {
        ...args,
        sshPrivateKey: pulumi.secret(args.sshPrivateKey),
        bringupModule: require.resolve('./bringup'),
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

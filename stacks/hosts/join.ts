/**
 * Workers of a `hosts` cluster (issue 10): join over SSH with the real `kubeadm join`, and
 * removal (drain, delete, reset).
 *
 * API (stable; hcb:index:Cluster calls it):
 *
 *   joinWorker(o: JoinWorkerOptions): Promise<JoinWorkerResult>
 *   removeWorker(o: RemoveWorkerOptions): Promise<RemoveWorkerResult>
 *   ClusterAdmin.open(controlPlane: HostAccess, binDir: string, log?): Promise<ClusterAdmin>
 *     .kubectl(args, { input?, check?, timeoutMs?, label? }) / .json<T>(args) / .apply(yaml) / .close()
 *   approveKubeletServingCsrs(admin: ClusterAdmin, nodes: Array<{ name; address }>): Promise<string[]>
 *   nodeReady(admin, name): Promise<{ ready: boolean; message: string }>
 *
 * The pod network between hosts and the node services (kube-proxy, kube-router's firewall) are
 * in network.ts (`ensureClusterNetwork`, `resetHostNetwork`); joinWorker does not start them.
 *
 * joinWorker, in order (each step idempotent; a second run with the same input changes nothing):
 *   1. the worker gets the toolchain's kubeadm, kubelet, containerd (+ shim, ctr), runc, the CNI
 *      plugins, kube-proxy and kube-router, each sent only when its sha256 differs;
 *   2. node files with owner and mode: the JoinConfiguration rendered by the blueprint's
 *      renderer (constructs' KubeadmJoinConfiguration, with this node's name) and its worker
 *      patch (no static pods), an optional per-node kubelet patch (kubeadm patches directory),
 *      containerd's configuration (the pause image pinned by digest) and the CNI bridge of the
 *      node's pod range;
 *   3. kernel settings and the kubelet's cgroup parent as on the control plane, containerd
 *      started, the pause image (and any workload images the caller names) imported with ctr;
 *   4. only when the worker has no kubelet.conf yet: a bootstrap token is made on the
 *      control-plane host (`kubeadm token create`, TTL `tokenTtlMinutes`, default 15), written
 *      into the discovery kubeconfig with the cluster's CA and address (file discovery; mode
 *      0600), `kubeadm join` runs, and the kubelet is started with kubeadm's flags as soon as
 *      kubeadm has written them (no init system is assumed). The token is deleted on the
 *      control plane and the discovery file removed afterwards, also on failure. The token
 *      lives only in this process's memory and on the two hosts for those minutes: it is never
 *      returned, logged or put into state (ssh.ts redacts bootstrap tokens from every error);
 *   5. the kubelet's serving CSR is approved when, and only when, it is requested by
 *      system:node:<name> for the signer kubernetes.io/kubelet-serving and names exactly this
 *      node's name and address; then the Node must be Ready with its serving certificate.
 *
 * removeWorker: cordon and drain (bounded), delete the Node, then on the worker the node
 * services' rules and routes (network.ts) and bringup.ts's reset (kubeadm reset, processes,
 * mounts, interfaces, cgroups, files).
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdk8s';
import { parseAllDocuments, stringify } from 'yaml';
import {
  KubeadmJoinConfiguration,
  KubeadmJoinConfigurationProps,
} from '../../constructs/control-plane/join-configuration';
import { DISCOVERY_KUBECONFIG_PATH, KUBEADM_PATCHES_DIR } from '../../constructs/control-plane/paths';
import type { NodeFile } from '../../policies/model';
import { buildImagePrograms, BuiltImage } from '../local/node/images';
import { csrSubjectAltNames, KUBELET_KERNEL_TUNABLES } from '../local/node/node';
import {
  CNI_PLUGINS,
  CONTAINERD_SOCKET,
  lacksSysResource,
  renderCniConfig,
  renderContainerdConfig,
} from '../local/node/runtime-config';
import {
  cachedImage,
  CGROUP_SCRIPT,
  HOST_BIN_DIR,
  HOST_BINARIES,
  HOST_CNI_BIN_DIR,
  HOST_IMAGE_REPOSITORY,
  HOST_STATE_DIR,
  KUBELET_ARGS_PREFIX,
  KUBELET_FINGERPRINT,
  MODES_SCRIPT,
  modeString,
  PREPARE_SCRIPT,
  RESET_SCRIPT,
  sha256,
  sha256File,
  TUNABLES_SCRIPT,
} from './bringup';
import { DeliverItem, HostAccess, HostShell } from './host-shell';
import { resetHostNetwork, sweepKubeChains } from './network';
import type { RunResult } from './ssh';

export type { HostAccess } from './host-shell';

/** Binaries a worker gets besides bringup.ts's HOST_BINARIES (the node services of network.ts). */
export const WORKER_EXTRA_BINARIES = ['kube-proxy', 'kube-router'] as const;
const ADMIN_CONF = '/etc/kubernetes/admin.conf';

// ---------------------------------------------------------------------------------------------
// the cluster admin: kubectl on the control-plane host with admin.conf (nothing leaves the host)

export class ClusterAdmin {
  private constructor(readonly shell: HostShell) {}

  /** Opens SSH to the control-plane host and makes sure the toolchain's kubectl is there. */
  static async open(controlPlane: HostAccess, binDir: string, log?: (l: string) => void): Promise<ClusterAdmin> {
    const shell = await HostShell.open(controlPlane, log);
    try {
      return await ClusterAdmin.on(shell, binDir);
    } catch (e) {
      await shell.close().catch(() => undefined);
      throw e;
    }
  }

  /** Uses an open connection to the control-plane host (not closed by close()). */
  static async on(shell: HostShell, binDir: string): Promise<ClusterAdmin> {
    const local = path.join(binDir, 'kubectl');
    if (!fs.existsSync(local)) throw new Error(`${local} is missing; run npm run toolchain`);
    await shell.deliver([
      {
        remote: `${HOST_BIN_DIR}/kubectl`,
        data: () => fs.readFileSync(local),
        sha256: sha256File(local),
        mode: '0755',
        owner: 'root:root',
        what: 'binary',
      },
    ]);
    return new ClusterAdmin(shell);
  }

  get hostName(): string {
    return this.shell.name;
  }

  close(): Promise<void> {
    return this.shell.close();
  }

  kubectl(
    args: string[],
    o: { input?: string; check?: boolean; timeoutMs?: number; label?: string } = {},
  ): Promise<RunResult> {
    return this.shell.conn.run([`${HOST_BIN_DIR}/kubectl`, `--kubeconfig=${ADMIN_CONF}`, ...args], {
      input: o.input,
      check: o.check ?? true,
      timeoutMs: o.timeoutMs ?? 120_000,
      label: o.label ?? `kubectl ${args.slice(0, 3).join(' ')}`,
    });
  }

  async json<T>(args: string[]): Promise<T> {
    return JSON.parse((await this.kubectl([...args, '-o', 'json'])).stdout) as T;
  }

  /** Server-side apply of YAML documents (field manager hcb). */
  async apply(yaml: string, timeoutMs = 120_000): Promise<string> {
    return (
      await this.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=hcb', '-f', '-'], {
        input: yaml,
        timeoutMs,
        label: 'kubectl apply',
      })
    ).stdout;
  }

  /** kubeadm on the control-plane host (token create/delete, kubeconfig user). */
  kubeadm(args: string[], o: { timeoutMs?: number; label: string }): Promise<RunResult> {
    return this.shell.conn.run([`${HOST_BIN_DIR}/kubeadm`, ...args], {
      timeoutMs: o.timeoutMs ?? 60_000,
      label: o.label,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// node state

interface NodeObject {
  metadata: { name: string };
  spec?: { unschedulable?: boolean };
  status?: {
    conditions?: Array<{ type: string; status: string; message?: string }>;
    addresses?: Array<{ type: string; address: string }>;
  };
}

/** The Node's Ready condition (`ready: false` with the reason when it is missing or not True). */
export async function nodeReady(admin: ClusterAdmin, name: string): Promise<{ ready: boolean; message: string }> {
  const res = await admin.kubectl(['get', 'node', name, '-o', 'json', '--ignore-not-found'], {
    label: `get node ${name}`,
  });
  if (!res.stdout.trim()) return { ready: false, message: 'not registered' };
  const node = JSON.parse(res.stdout) as NodeObject;
  const c = node.status?.conditions?.find((x) => x.type === 'Ready');
  return {
    ready: c?.status === 'True',
    message: c ? `Ready=${c.status}: ${c.message ?? ''}` : 'no Ready condition yet',
  };
}

/**
 * Approves pending kubelet serving CSRs that are exactly what a listed node should get: signer
 * kubernetes.io/kubelet-serving, requested by system:node:<name>, and subject alternative names
 * that are the node's name and its address (nothing else). Anything else stays pending (and is
 * reported). Returns what was approved or refused.
 */
export async function approveKubeletServingCsrs(
  admin: ClusterAdmin,
  nodes: Array<{ name: string; address: string }>,
): Promise<string[]> {
  const list = await admin.json<{
    items: Array<{
      metadata: { name: string };
      spec: { signerName?: string; username?: string; request: string };
      status?: { conditions?: unknown[] };
    }>;
  }>(['get', 'csr']);
  const done: string[] = [];
  for (const csr of list.items) {
    if ((csr.status?.conditions ?? []).length) continue;
    if (csr.spec.signerName !== 'kubernetes.io/kubelet-serving') continue;
    const node = nodes.find((n) => csr.spec.username === `system:node:${n.name}`);
    if (!node) continue;
    const sans = csrSubjectAltNames(Buffer.from(csr.spec.request, 'base64').toString('utf8')).sort();
    const expected = [`DNS:${node.name}`, `IP Address:${node.address}`].sort();
    if (JSON.stringify(sans) !== JSON.stringify(expected)) {
      done.push(
        `CSR ${csr.metadata.name} of ${node.name}: not approved, it asks for ${sans.join(', ')} (expected ${expected.join(', ')})`,
      );
      continue;
    }
    await admin.kubectl(['certificate', 'approve', csr.metadata.name], { label: `approve CSR ${csr.metadata.name}` });
    done.push(
      `CSR ${csr.metadata.name}: approved (kubelet serving certificate of ${node.name}: ${expected.join(', ')})`,
    );
  }
  return done;
}

// ---------------------------------------------------------------------------------------------
// join

export interface JoinWorkerOptions {
  /** The first control-plane host (brought up by ControlPlaneHost), or an open ClusterAdmin on it. */
  controlPlane: HostAccess | ClusterAdmin;
  /** The worker; its `host.name` is the node name. */
  worker: HostAccess;
  /** The toolchain's bin directory. */
  binDir: string;
  /** The blueprint's node files (the kubeadm configuration: Kubernetes version, kubelet and kube-proxy settings; owner/mode of kubeadm's files). */
  nodeFiles: NodeFile[];
  /** The blueprint's join props (HardenedControlPlaneProps.join); nodeName is the worker's name. */
  join?: Omit<KubeadmJoinConfigurationProps, 'nodeName' | 'controlPlane' | 'advertiseAddress' | 'apiServerPort'>;
  /** This node's pod range on the CNI bridge (inside the cluster's podSubnet) and its gateway. */
  podNetwork: { podCidr: string; podGateway: string };
  /**
   * Settings of this node's kubelet on top of the cluster's KubeletConfiguration, as a kubeadm
   * patch (e.g. its own cgroupRoot where several hosts share one kernel, as in the test lab).
   */
  kubeletConfigPatch?: Record<string, unknown>;
  /** Images the workloads on this node use, imported with ctr (nothing is pulled). */
  images?: BuiltImage[];
  /** Local directory for image archives. */
  workDir: string;
  /** TTL of the bootstrap token in minutes (1-60, default 15). */
  tokenTtlMinutes?: number;
  /** Bound of `kubeadm join` (default 8 min) and of Node Ready afterwards (default 5 min). */
  joinTimeoutMs?: number;
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface JoinWorkerResult {
  nodeName: string;
  /** What this run changed (empty on a second run with the same input). */
  changed: string[];
}

export async function joinWorker(o: JoinWorkerOptions): Promise<JoinWorkerResult> {
  const log = o.log ?? (() => undefined);
  const ttl = o.tokenTtlMinutes ?? 15;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 60)
    throw new Error(`joinWorker: tokenTtlMinutes must be 1-60 (is ${ttl})`);
  const ownAdmin = !(o.controlPlane instanceof ClusterAdmin);
  const admin =
    o.controlPlane instanceof ClusterAdmin ? o.controlPlane : await ClusterAdmin.open(o.controlPlane, o.binDir, log);
  let worker: HostShell | undefined;
  try {
    worker = await HostShell.open(o.worker, log);
    return await new WorkerJoin(o, admin, worker, log, ttl).run();
  } finally {
    await worker?.close().catch(() => undefined);
    if (ownAdmin) await admin.close().catch(() => undefined);
  }
}

class WorkerJoin {
  private readonly name: string;
  private readonly address: string;
  constructor(
    private readonly o: JoinWorkerOptions,
    private readonly admin: ClusterAdmin,
    private readonly w: HostShell,
    private readonly log: (l: string) => void,
    private readonly ttl: number,
  ) {
    this.name = o.worker.host.name;
    this.address = o.worker.host.address;
  }

  private where(): string {
    return `worker ${this.name}`;
  }

  async run(): Promise<JoinWorkerResult> {
    const changed: string[] = [];
    const { kubernetesVersion, kubeletConfig } = readClusterConfig(this.o.nodeFiles);
    await this.w.sh(PREPARE_SCRIPT, [HOST_BIN_DIR, HOST_CNI_BIN_DIR, HOST_STATE_DIR], { label: 'prepare directories' });

    // 1. binaries
    const bins = [
      ...[...HOST_BINARIES, ...WORKER_EXTRA_BINARIES].map((b) => ({
        local: path.join(this.o.binDir, b),
        remote: `${HOST_BIN_DIR}/${b}`,
      })),
      ...CNI_PLUGINS.map((b) => ({ local: path.join(this.o.binDir, b), remote: `${HOST_CNI_BIN_DIR}/${b}` })),
    ];
    for (const b of bins)
      if (!fs.existsSync(b.local)) throw new Error(`${this.where()}: ${b.local} is missing; run npm run toolchain`);
    changed.push(
      ...(await this.w.deliver(
        bins.map((b) => ({
          remote: b.remote,
          data: () => fs.readFileSync(b.local),
          sha256: sha256File(b.local),
          mode: '0755',
          owner: 'root:root',
          what: 'binary',
        })),
      )),
    );

    // 2. node files
    const files: DeliverItem[] = joinNodeFiles(this.name, this.o.join).map((f) =>
      fileItem(f.path, f.content!, modeString(f.mode), `${f.owner}:${f.group}`, 'node file'),
    );
    if (this.o.kubeletConfigPatch && Object.keys(this.o.kubeletConfigPatch).length) {
      files.push(
        fileItem(
          `${KUBEADM_PATCHES_DIR}/kubeletconfiguration-hcb-node+merge.yaml`,
          `# Settings of this node's kubelet (hardened-cluster-blueprint hosts target).\n${stringify(this.o.kubeletConfigPatch)}`,
          '0600',
          'root:root',
          'kubelet patch',
        ),
      );
    }
    const pause = await this.pauseImage(kubernetesVersion);
    const capBnd =
      (await this.w.sh('sed -n "s/^CapBnd:[[:space:]]*//p" /proc/self/status', [], { label: 'read CapBnd' })).trim() ||
      'ffffffffff';
    const containerdConfig = renderContainerdConfig({
      runcPath: `${HOST_BIN_DIR}/runc`,
      sandboxImage: pause.ref,
      restrictOomScoreAdj: lacksSysResource(capBnd),
    });
    files.push(
      fileItem('/etc/containerd/config.toml', containerdConfig, '0600', 'root:root', 'containerd configuration'),
    );
    files.push(
      fileItem(
        '/etc/cni/net.d/10-hcb-pods.conflist',
        renderCniConfig({
          nodeAddress: this.address,
          nodePrefix: 32,
          podCidr: this.o.podNetwork.podCidr,
          podGateway: this.o.podNetwork.podGateway,
          serviceCidr: '',
        }),
        '0644',
        'root:root',
        'CNI configuration',
      ),
    );
    changed.push(...(await this.w.deliver(files)));

    // 3. host settings, containerd, images
    if (kubeletConfig.protectKernelDefaults) {
      const pairs = Object.entries(KUBELET_KERNEL_TUNABLES).flatMap(([k, v]) => [k, v]);
      const out = await this.w.sh(TUNABLES_SCRIPT, [HOST_STATE_DIR, ...pairs], { label: 'kernel settings' });
      if (out.trim()) changed.push(...out.trim().split('\n'));
    }
    const cgroupRoot = String(this.o.kubeletConfigPatch?.cgroupRoot ?? kubeletConfig.cgroupRoot ?? '');
    if (cgroupRoot) {
      if (!/^\/[A-Za-z0-9._-]+$/.test(cgroupRoot))
        throw new Error(
          `${this.where()}: the kubelet's cgroupRoot must be one level below the root (is ${cgroupRoot})`,
        );
      await this.w.sh(CGROUP_SCRIPT, [cgroupRoot, HOST_STATE_DIR], { label: 'kubelet cgroup parent' });
    }
    const containerdFp = sha256(
      Buffer.concat([Buffer.from(containerdConfig), Buffer.from(await this.w.remoteSha(`${HOST_BIN_DIR}/containerd`))]),
    );
    if (
      await this.w.ensureProcess(
        'containerd',
        [`${HOST_BIN_DIR}/containerd`, '--config', '/etc/containerd/config.toml'],
        containerdFp,
      )
    )
      changed.push('containerd started');
    await this.w.until(
      'containerd',
      60_000,
      async () =>
        (
          await this.w.sh(
            `"$1/ctr" --address ${CONTAINERD_SOCKET} version >/dev/null 2>&1 && echo ok || true`,
            [HOST_BIN_DIR],
            { label: 'ctr version' },
          )
        ).includes('ok')
          ? true
          : undefined,
      500,
    );
    changed.push(...(await this.importImages([pause, ...(this.o.images ?? [])])));

    // 4. kubeadm join (once)
    const joined = (
      await this.w.sh('[ -s /etc/kubernetes/kubelet.conf ] && echo yes || true', [], { label: 'kubelet.conf present' })
    ).includes('yes');
    if (!joined) {
      await this.kubeadmJoin();
      changed.push('kubeadm join');
    }
    const kubeletFp = (
      await this.w.sh(`bin=$1; ${KUBELET_FINGERPRINT}`, [HOST_BIN_DIR], { label: 'kubelet fingerprint' })
    ).trim();
    if (!/^[0-9a-f]{64}$/.test(kubeletFp))
      throw new Error(`${this.where()}: cannot fingerprint the kubelet's configuration`);
    const env = await this.w.sh('cat /var/lib/kubelet/kubeadm-flags.env', [], { label: 'read kubeadm-flags.env' });
    const flags = /^KUBELET_KUBEADM_ARGS="(.*)"$/m.exec(env)?.[1].trim();
    if (
      await this.w.ensureProcess(
        'kubelet',
        [`${HOST_BIN_DIR}/kubelet`, ...KUBELET_ARGS_PREFIX, ...(flags ? flags.split(/\s+/) : [])],
        kubeletFp,
      )
    )
      changed.push('kubelet started');

    // 5. serving certificate, Ready, modes of kubeadm's files
    await this.waitReady();
    changed.push(...(await this.applyModes()));
    return { nodeName: this.name, changed };
  }

  /** The pause image kubeadm names for this version (same tag and digest as on the control plane). */
  private async pauseImage(kubernetesVersion: string): Promise<BuiltImage> {
    const out = await this.w.sh(
      '"$1/kubeadm" config images list --kubernetes-version "$2" --image-repository "$3" 2>/dev/null',
      [HOST_BIN_DIR, kubernetesVersion, HOST_IMAGE_REPOSITORY],
      { label: 'kubeadm config images list' },
    );
    const tag = new RegExp(`^${HOST_IMAGE_REPOSITORY.replace(/\./g, '\\.')}/pause:(\\S+)$`, 'm').exec(out)?.[1];
    if (!tag) throw new Error(`${this.where()}: kubeadm config images list names no pause image:\n${out}`);
    const programs = buildImagePrograms(undefined, this.log);
    return cachedImage(
      {
        repository: `${HOST_IMAGE_REPOSITORY.replace(/^hcb\.local\//, '')}/pause`,
        tag,
        binary: programs.pause,
        entrypoint: ['/pause'],
        user: '65535:65535',
      },
      path.join(this.o.workDir, 'images'),
    );
  }

  private async importImages(images: BuiltImage[]): Promise<string[]> {
    const ctr = `"${HOST_BIN_DIR}/ctr" --address ${CONTAINERD_SOCKET} --namespace k8s.io`;
    const list = async () =>
      (await this.w.sh(`${ctr} images list --quiet`, [], { label: 'ctr images list' })).split('\n');
    const have = await list();
    const done: string[] = [];
    for (const img of images) {
      if (have.includes(img.ref) && have.includes(img.name)) continue;
      const remote = `${HOST_STATE_DIR}/images/${path.basename(img.archive)}`;
      await this.w.conn.upload(fs.readFileSync(img.archive), remote, {
        mode: '0600',
        owner: 'root:root',
        timeoutMs: 300_000,
      });
      await this.w.sh(`${ctr} images import --digests --local "$1" >/dev/null && rm -f -- "$1"`, [remote], {
        label: `ctr import ${img.name}`,
        timeoutMs: 300_000,
      });
      if (!(await list()).includes(img.ref))
        await this.w.sh(`${ctr} images tag --force "$1" "$2" >/dev/null`, [img.name, img.ref], {
          label: `ctr tag ${img.ref}`,
        });
      done.push(`image ${img.name}`);
      this.log(`${this.where()}: image ${img.ref} imported`);
    }
    return done;
  }

  /** Token on the control plane, discovery file on the worker, kubeadm join, kubelet; token and file removed afterwards. */
  private async kubeadmJoin(): Promise<void> {
    await kubeadmJoinWithToken({
      admin: this.admin,
      node: this.w,
      nodeName: this.name,
      configPath: JOIN_CONFIG_PATH(),
      discoveryPath: this.o.join?.discoveryKubeconfigPath ?? DISCOVERY_KUBECONFIG_PATH,
      ttlMinutes: this.ttl,
      timeoutMs: this.o.joinTimeoutMs ?? 480_000,
      what: this.where(),
      log: this.log,
    });
  }

  private async waitReady(): Promise<void> {
    const timeout = this.o.readyTimeoutMs ?? 300_000;
    let last = '';
    try {
      await this.w.until(
        'Node Ready with its serving certificate',
        timeout,
        async () => {
          for (const line of await approveKubeletServingCsrs(this.admin, [{ name: this.name, address: this.address }]))
            this.log(line);
          const r = await nodeReady(this.admin, this.name);
          last = r.message;
          const cert = (
            await this.w.sh('[ -e /var/lib/kubelet/pki/kubelet-server-current.pem ] && echo yes || true', [], {
              label: 'serving certificate',
            })
          ).includes('yes');
          if (!cert) last += '; no serving certificate yet';
          return r.ready && cert ? true : undefined;
        },
        2_000,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}; last: ${last}; kubelet log:\n${await this.w.logTail('kubelet', 25)}`, {
        cause: e,
      });
    }
    this.log(`${this.where()}: Node Ready`);
  }

  /** Owner and mode of the manifest on what kubeadm and the kubelet wrote on the worker. */
  private async applyModes(): Promise<string[]> {
    const workerPaths = /^(\/etc\/kubernetes\/(kubelet\.conf|pki\/ca\.crt)|\/var\/lib\/kubelet\/)/;
    const args = this.o.nodeFiles
      .filter((f) => f.createdBy !== 'blueprint' && workerPaths.test(f.path))
      .flatMap((f) => [f.path, modeString(f.mode), `${f.owner}:${f.group}`]);
    const out = await this.w.sh(MODES_SCRIPT, args, { label: 'apply node file modes' });
    return out.split('\n').filter((l) => l.startsWith('mode '));
  }
}

/**
 * `kubeadm join` of a worker or a further control plane (the configuration at `configPath` on the
 * node says which): a bootstrap token made on the first control plane (TTL `ttlMinutes`), written
 * into the discovery kubeconfig (0600) with the cluster's CA and the API address admin.conf names
 * (the controlPlaneEndpoint when there is one), `kubeadm join`, and the kubelet started once kubeadm
 * has written its flags. The token is deleted and the discovery file removed afterwards, also on
 * failure; it is never returned or logged.
 */
export async function kubeadmJoinWithToken(o: {
  admin: ClusterAdmin;
  node: HostShell;
  nodeName: string;
  configPath: string;
  discoveryPath: string;
  ttlMinutes: number;
  timeoutMs: number;
  what: string;
  log: (line: string) => void;
}): Promise<void> {
  const ca = (await o.admin.shell.sh('cat /etc/kubernetes/pki/ca.crt', [], { label: 'read the cluster CA' })).trim();
  const adminConf = (await o.admin.shell.conn.run(['cat', ADMIN_CONF], { label: 'read admin.conf', timeoutMs: 30_000 }))
    .stdout;
  const server = /^\s*server:\s*(https:\/\/\S+)\s*$/m.exec(adminConf)?.[1];
  if (!server || !ca.startsWith('-----BEGIN CERTIFICATE-----'))
    throw new Error(`${o.what}: cannot read the cluster's CA and API address on ${o.admin.hostName}`);
  const created = await o.admin.kubeadm(
    [
      'token',
      'create',
      `--kubeconfig=${ADMIN_CONF}`,
      `--ttl=${o.ttlMinutes}m`,
      `--description=hcb join of ${o.nodeName}`,
      '--usages=signing,authentication',
    ],
    { label: 'kubeadm token create' },
  );
  const token = created.stdout.trim();
  if (!/^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(token)) throw new Error(`${o.what}: kubeadm token create gave no token`);
  const tokenId = token.split('.')[0];
  o.log(`${o.what}: bootstrap token ${tokenId} created (TTL ${o.ttlMinutes} min)`);
  try {
    const discovery = stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'kubernetes',
          cluster: { server, 'certificate-authority-data': Buffer.from(`${ca}\n`).toString('base64') },
        },
      ],
      users: [{ name: 'tls-bootstrap-token-user', user: { token } }],
      contexts: [{ name: 'join', context: { cluster: 'kubernetes', user: 'tls-bootstrap-token-user' } }],
      'current-context': 'join',
    });
    const discoveryPath = o.discoveryPath;
    await o.node.sh('mkdir -p -m 0700 -- "$(dirname -- "$1")"', [discoveryPath], { label: 'discovery directory' });
    await o.node.conn.upload(Buffer.from(discovery), discoveryPath, {
      mode: '0600',
      owner: 'root:root',
      secret: true,
    });
    // Leftovers of an interrupted join would stop kubeadm's preflight (FileAvailable) or start a stale kubelet.
    await o.node.stopProcess('kubelet');
    await o.node.sh(
      'rm -f /etc/kubernetes/bootstrap-kubelet.conf /var/lib/kubelet/config.yaml /var/lib/kubelet/kubeadm-flags.env',
      [],
      { label: 'remove leftovers of a join' },
    );
    o.log(`${o.what}: kubeadm join`);
    const started = Date.now();
    const out = await o.node.sh(
      JOIN_SCRIPT,
      [HOST_BIN_DIR, HOST_STATE_DIR, o.configPath, KUBELET_ARGS_PREFIX.join(' ')],
      { label: 'kubeadm join', timeoutMs: o.timeoutMs, check: false, secrets: [token] },
    );
    const status = /^hcb-join-status (\d+)$/m.exec(out)?.[1];
    if (status !== '0') {
      const logs = await o.node.sh(
        'tail -n 40 "$1/log/kubeadm-join.log"; echo ---; tail -n 30 "$1/log/kubelet.log" 2>/dev/null',
        [HOST_STATE_DIR],
        { label: 'kubeadm logs', check: false, secrets: [token] },
      );
      throw new Error(
        `${o.what}: kubeadm join failed (status ${status ?? 'unknown'}):\n${logs.split(token).join('[redacted]')}`,
      );
    }
    o.log(`${o.what}: kubeadm join done in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    await o.admin
      .kubeadm(['token', 'delete', `--kubeconfig=${ADMIN_CONF}`, tokenId], { label: 'kubeadm token delete' })
      .catch((e: Error) =>
        o.log(
          `${o.what}: deleting bootstrap token ${tokenId} failed (it expires after ${o.ttlMinutes} min): ${e.message}`,
        ),
      );
    await o.node
      .sh('rm -f -- "$1"', [o.discoveryPath], {
        label: 'remove the discovery file',
      })
      .catch(() => undefined);
  }
}

function fileItem(remote: string, content: string, mode: string, owner: string, what: string): DeliverItem {
  const b = Buffer.from(content, 'utf8');
  return { remote, data: () => b, sha256: sha256(b), mode, owner, what };
}

let joinConfigPath: string | undefined;
function JOIN_CONFIG_PATH(): string {
  return (joinConfigPath ??= joinNodeFiles('x').find((f) => f.role === 'kubeadm-join-config')!.path);
}

/** The JoinConfiguration of one worker and its kubeadm patches, from the blueprint's renderer. */
export function joinNodeFiles(nodeName: string, props: JoinWorkerOptions['join'] = {}): NodeFile[] {
  const join = new KubeadmJoinConfiguration(new App({ outdir: '/nonexistent-hcb-synth' }), 'join', {
    ...props,
    nodeName,
  });
  return join.nodeFiles;
}

/** The parts of the blueprint's kubeadm configuration a worker needs. */
export function readClusterConfig(nodeFiles: NodeFile[]): {
  kubernetesVersion: string;
  serviceSubnet: string;
  podSubnet: string;
  kubeletConfig: Record<string, unknown>;
  kubeProxyConfig: Record<string, unknown>;
} {
  const file = nodeFiles.filter((f) => f.role === 'kubeadm-config');
  if (file.length !== 1 || file[0].content === undefined)
    throw new Error(
      'the node files must hold exactly one kubeadm configuration with content (HardenedControlPlane.nodeFiles)',
    );
  const docs = parseAllDocuments(file[0].content).map((d) => d.toJS() as Record<string, unknown>);
  const cluster = docs.find((d) => d?.kind === 'ClusterConfiguration') as
    | { kubernetesVersion?: string; networking?: { serviceSubnet?: string; podSubnet?: string } }
    | undefined;
  const kubeletConfig = docs.find((d) => d?.kind === 'KubeletConfiguration') ?? {};
  const kubeProxyConfig = docs.find((d) => d?.kind === 'KubeProxyConfiguration');
  if (typeof cluster?.kubernetesVersion !== 'string')
    throw new Error('the ClusterConfiguration has no kubernetesVersion');
  if (!cluster.networking?.serviceSubnet || !cluster.networking.podSubnet)
    throw new Error('the ClusterConfiguration names no serviceSubnet or podSubnet');
  if (!kubeProxyConfig)
    throw new Error('the kubeadm configuration has no KubeProxyConfiguration (the blueprint renders one)');
  if (kubeletConfig.cgroupDriver !== 'cgroupfs')
    throw new Error(
      `no systemd is assumed on the hosts: the kubelet's cgroupDriver must be cgroupfs (is ${String(kubeletConfig.cgroupDriver)})`,
    );
  return {
    kubernetesVersion: cluster.kubernetesVersion,
    serviceSubnet: cluster.networking.serviceSubnet,
    podSubnet: cluster.networking.podSubnet,
    kubeletConfig,
    kubeProxyConfig,
  };
}

// ---------------------------------------------------------------------------------------------
// removal

export interface RemoveWorkerOptions {
  controlPlane: HostAccess | ClusterAdmin;
  /** The worker to remove (its `host.name` is the node name). */
  worker: HostAccess;
  binDir: string;
  /** Bound of the drain (default 5 min). */
  drainTimeoutMs?: number;
  /** Also evict pods no controller manages (kubectl drain --force). Default false: such pods stop the removal. */
  force?: boolean;
  log?: (line: string) => void;
}

export interface RemoveWorkerResult {
  /** What was done, in order. */
  steps: string[];
}

/**
 * Drains the worker's Node (cordon, evictions honour PodDisruptionBudgets), deletes it, then
 * resets the worker: node services' rules and routes, `kubeadm reset`, processes, mounts,
 * interfaces, cgroups, files. A Node that is already gone is not an error; the reset runs anyway.
 */
export async function removeWorker(o: RemoveWorkerOptions): Promise<RemoveWorkerResult> {
  const log = o.log ?? (() => undefined);
  const name = o.worker.host.name;
  const steps: string[] = [];
  const ownAdmin = !(o.controlPlane instanceof ClusterAdmin);
  const admin =
    o.controlPlane instanceof ClusterAdmin ? o.controlPlane : await ClusterAdmin.open(o.controlPlane, o.binDir, log);
  try {
    const exists =
      (
        await admin.kubectl(['get', 'node', name, '--ignore-not-found', '-o', 'name'], { label: `get node ${name}` })
      ).stdout.trim() !== '';
    if (exists) {
      const timeout = Math.round((o.drainTimeoutMs ?? 300_000) / 1000);
      const args = [
        'drain',
        name,
        '--ignore-daemonsets',
        '--delete-emptydir-data',
        `--timeout=${timeout}s`,
        ...(o.force ? ['--force'] : []),
      ];
      const drained = await admin.kubectl(args, {
        timeoutMs: (timeout + 60) * 1000,
        check: false,
        label: `drain ${name}`,
      });
      if (drained.code !== 0)
        throw new Error(
          `worker ${name}: drain failed (the node stays cordoned, nothing was reset):\n${drained.stderr.slice(-2000)}`,
        );
      steps.push(`drained ${name}`);
      await admin.kubectl(['delete', 'node', name, '--wait=true', '--timeout=120s'], {
        timeoutMs: 180_000,
        label: `delete node ${name}`,
      });
      steps.push(`deleted node ${name}`);
      log(`worker ${name}: drained and deleted`);
    } else {
      steps.push(`node ${name} not in the cluster`);
    }
  } finally {
    if (ownAdmin) await admin.close().catch(() => undefined);
  }
  const worker = await HostShell.open(o.worker, log);
  try {
    steps.push(...(await resetHostNetwork(worker)));
    const out = await worker.sh(RESET_SCRIPT, [HOST_BIN_DIR, HOST_STATE_DIR, HOST_CNI_BIN_DIR], {
      label: 'reset',
      timeoutMs: 300_000,
      check: false,
    });
    if (!/^hcb-reset done$/m.test(out)) throw new Error(`worker ${name}: reset did not finish:\n${out.slice(-3000)}`);
    steps.push(...(await sweepKubeChains(worker)));
    steps.push(`reset ${name}`);
    log(`worker ${name}: reset done`);
  } finally {
    await worker.close().catch(() => undefined);
  }
  return { steps };
}

// ---------------------------------------------------------------------------------------------
// host scripts

/**
 * $1 bin dir, $2 state dir, $3 join configuration, $4 the kubelet's leading flags. Runs kubeadm
 * join in the background; once its kubelet-start phase has written the bootstrap kubeconfig, the
 * kubelet's configuration and flags (no init system to start it), starts the kubelet with
 * kubeadm's flags; waits for kubeadm (it waits for the TLS bootstrap). Prints "hcb-join-status <code>".
 */
const JOIN_SCRIPT = `set -u
bin=$1 dir=$2 cfg=$3 pre=$4
export PATH="$bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
cd /
"$bin/kubeadm" join --config "$cfg" \\
  --ignore-preflight-errors=SystemVerification,FileExisting-crictl,FileExisting-conntrack,FileExisting-socat,FileExisting-ethtool,FileExisting-tc,Swap,KubeletVersion \\
  >"$dir/log/kubeadm-join.log" 2>&1 &
kpid=$!
started=
while [ -d "/proc/$kpid" ]; do
  if [ -z "$started" ] && [ -s /var/lib/kubelet/kubeadm-flags.env ] && [ -s /var/lib/kubelet/config.yaml ] && [ -s /etc/kubernetes/bootstrap-kubelet.conf ]; then
    args=$(sed -n 's/^KUBELET_KUBEADM_ARGS="\\(.*\\)"$/\\1/p' /var/lib/kubelet/kubeadm-flags.env)
    env -u HCB_RUN_ID setsid "$bin/kubelet" $pre $args </dev/null >>"$dir/log/kubelet.log" 2>&1 &
    echo $! > "$dir/run/kubelet.pid"
    ${KUBELET_FINGERPRINT} > "$dir/run/kubelet.fingerprint"
    echo "kubelet started: $!"
    started=1
  fi
  sleep 0.5
done
wait "$kpid"; rc=$?
echo "hcb-join-status $rc"
`;

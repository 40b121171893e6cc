/**
 * Bring-up of one control-plane host over SSH (issue 10, step 2): the first control plane of a
 * `hosts` cluster, made with the real `kubeadm init` on the host.
 *
 *   1. binaries: the toolchain's kubeadm, kubelet, containerd (+ shim, ctr), runc and the CNI
 *      plugins go to /opt/hcb/bin and /opt/cni/bin; each is compared by sha256 on the host and
 *      sent only when missing or different (`SshConnection.upload` checks the hash on the host
 *      before the rename).
 *   2. node files: every blueprint-owned file of the node-file manifest with its owner and mode
 *      ({{hcb-secret:NAME}} tokens become keys generated on the host, kept in /var/lib/hcb/secrets).
 *   3. images: the control plane runs as kubeadm's static pods, so the kubelet needs images for
 *      etcd, kube-apiserver, kube-controller-manager and kube-scheduler. They are made from the
 *      toolchain's binaries like the local node's images (stacks/local/node/images.ts: one layer,
 *      the static binary at /usr/local/bin/<name>), imported with ctr and named
 *      `hcb.local/hcb/<name>:<tag>`; nothing is pulled. kubeadm names images repository/name:tag
 *      (no digests), so the configuration kubeadm runs with is the rendered one plus
 *      `imageRepository: hcb.local/hcb` (/var/lib/hcb/kubeadm-init.yaml); the pause image is
 *      pinned by digest in containerd's configuration.
 *   4. containerd (cgroupfs, runc with seccomp; stacks/local/node/runtime-config.ts) is started
 *      as a detached process (no systemd is assumed), then `kubeadm init`. kubeadm's kubelet-start
 *      phase starts the kubelet through the init system when there is one and otherwise only
 *      writes its files ("No supported init system detected"); while kubeadm waits for the
 *      kubelet's health, this code starts the kubelet with the command line kubeadm's systemd
 *      drop-in gives it (as the local node does). Afterwards the modes of the node-file manifest
 *      are applied to the files kubeadm created.
 *   5. admin.conf is read back as a secret (returned, never logged).
 *
 * Idempotent: files and binaries with the same hash are not sent again, a running containerd or
 * kubelet with the same configuration is kept, and `kubeadm init` runs only when the host has no
 * admin.conf. `reset()` undoes everything (kubeadm reset, processes, mounts, interfaces, cgroups,
 * files, kernel settings).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments, stringify } from 'yaml';
import type { NodeFile } from '../../policies/model';
import { buildImage, buildImagePrograms, BuiltImage, ImageSpec } from '../local/node/images';
import { CNI_PLUGINS, renderCniConfig, renderContainerdConfig, lacksSysResource } from '../local/node/runtime-config';
import { KUBELET_KERNEL_TUNABLES } from '../local/node/node';
import { SshConnection, SshHost, SshOptions } from './ssh';

export const HOST_BIN_DIR = '/opt/hcb/bin';
export const HOST_CNI_BIN_DIR = '/opt/cni/bin';
export const HOST_STATE_DIR = '/var/lib/hcb';
export const HOST_IMAGE_REPOSITORY = 'hcb.local/hcb';
export const HOST_KUBEADM_INIT_CONFIG = `${HOST_STATE_DIR}/kubeadm-init.yaml`;
const CONTAINERD_SOCKET = '/run/containerd/containerd.sock';
const CONTROL_PLANE_IMAGES = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'] as const;
export const HOST_BINARIES = ['kubeadm', 'kubelet', 'containerd', 'containerd-shim-runc-v2', 'ctr', 'runc'] as const;
const T0 = Date.now();
const SECRET_TOKEN = /\{\{hcb-secret:([a-z0-9-]+)\}\}/g;

export interface ControlPlaneHostOptions {
  host: SshHost;
  ssh: SshOptions;
  /** The toolchain's bin directory (kubeadm, kubelet, containerd, runc, CNI plugins, etcd, ...). */
  binDir: string;
  /** The blueprint's node files (exactly one with role 'kubeadm-config'). */
  nodeFiles: NodeFile[];
  /** The pods' CNI bridge network on this host (inside 198.18.0.0/15 in tests). */
  podNetwork: { podCidr: string; podGateway: string };
  /** Local directory for the image archives. */
  workDir: string;
  log?: (line: string) => void;
  /** Bound of `kubeadm init` (default 8 min). */
  initTimeoutMs?: number;
  /**
   * A further control plane (control-plane-join.ts): `run` replaces `kubeadm init` (it runs
   * `kubeadm join` with the control-plane section) when the host has no admin.conf yet; the
   * InitConfiguration then names the first control plane, not this host. `kubeletCgroupRoot`
   * overrides the cluster's cgroupRoot for this host's kubelet (its join patch sets the same).
   */
  bootstrap?: { run: (host: ControlPlaneHost) => Promise<void>; kubeletCgroupRoot?: string };
}

export interface ControlPlaneHostResult {
  /** admin.conf of the cluster (a secret: never log it). */
  adminKubeconfig: string;
  /** What this run changed on the host (empty on a second run with the same input). */
  changed: string[];
  nodeName: string;
}

export class ControlPlaneHost {
  private readonly log: (line: string) => void;
  private constructor(
    private readonly opts: ControlPlaneHostOptions,
    readonly conn: SshConnection,
  ) {
    this.log = opts.log ?? (() => undefined);
  }

  static async open(opts: ControlPlaneHostOptions): Promise<ControlPlaneHost> {
    return new ControlPlaneHost(opts, await SshConnection.connect(opts.host, opts.ssh));
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  private where(): string {
    return `host ${this.opts.host.name}`;
  }

  private async sh(
    script: string,
    args: string[] = [],
    o: { timeoutMs?: number; label: string; secrets?: string[]; check?: boolean; input?: string | Buffer },
  ): Promise<string> {
    const res = await this.conn.run(['sh', '-c', script, 'hcb', ...args], {
      timeoutMs: o.timeoutMs ?? 120_000,
      label: o.label,
      secrets: o.secrets,
      check: o.check ?? true,
      input: o.input,
    });
    return res.stdout;
  }

  // -------------------------------------------------------------------------------------------
  // up

  async up(): Promise<ControlPlaneHostResult> {
    const changed: string[] = [];
    const kubeadmFile = this.kubeadmConfigFile();
    const { nodeName, kubernetesVersion, kubeletConfig } = this.readKubeadmConfig(kubeadmFile.content!);
    await this.sh(PREPARE_SCRIPT, [HOST_BIN_DIR, HOST_CNI_BIN_DIR, HOST_STATE_DIR], { label: 'prepare directories' });

    // 1. binaries
    const wanted: Array<{ local: string; remote: string }> = [
      ...HOST_BINARIES.map((b) => ({ local: path.join(this.opts.binDir, b), remote: `${HOST_BIN_DIR}/${b}` })),
      ...CNI_PLUGINS.map((b) => ({ local: path.join(this.opts.binDir, b), remote: `${HOST_CNI_BIN_DIR}/${b}` })),
    ];
    for (const w of wanted)
      if (!fs.existsSync(w.local)) throw new Error(`${this.where()}: ${w.local} is missing; run npm run toolchain`);
    changed.push(
      ...(await this.deliver(
        wanted.map((w) => ({
          remote: w.remote,
          data: () => fs.readFileSync(w.local),
          sha256: sha256File(w.local),
          mode: '0755',
          owner: 'root:root',
          what: 'binary',
        })),
      )),
    );

    // 2. node files (blueprint-owned, with content)
    const owned = this.opts.nodeFiles.filter((f) => f.createdBy === 'blueprint' && f.content !== undefined);
    const secrets = await this.hostSecrets(owned);
    const materialize = (c: string) => c.replace(SECRET_TOKEN, (_m, name: string) => secrets[name]);
    const files = owned.map((f) => {
      const content = Buffer.from(materialize(f.content!), 'utf8');
      return {
        remote: f.path,
        data: () => content,
        sha256: sha256(content),
        mode: modeString(f.mode),
        owner: `${f.owner}:${f.group}`,
        what: 'node file',
        secret: f.sensitive || /\{\{hcb-secret:/.test(f.content!),
      };
    });
    const initConfig = Buffer.from(this.initConfig(kubeadmFile.content!), 'utf8');
    files.push({
      remote: HOST_KUBEADM_INIT_CONFIG,
      data: () => initConfig,
      sha256: sha256(initConfig),
      mode: '0600',
      owner: 'root:root',
      what: 'kubeadm init configuration',
      secret: false,
    });

    // 3. images, containerd and CNI configuration
    const images = this.buildImages(kubernetesVersion, await this.imageTags(initConfig));
    const capBnd =
      (await this.sh('sed -n "s/^CapBnd:[[:space:]]*//p" /proc/self/status', [], { label: 'read CapBnd' })).trim() ||
      'ffffffffff';
    const containerdConfig = Buffer.from(
      renderContainerdConfig({
        runcPath: `${HOST_BIN_DIR}/runc`,
        sandboxImage: images.pause.ref,
        restrictOomScoreAdj: lacksSysResource(capBnd),
      }),
      'utf8',
    );
    const cniConfig = Buffer.from(
      renderCniConfig({
        nodeAddress: this.opts.host.address,
        nodePrefix: 32,
        podCidr: this.opts.podNetwork.podCidr,
        podGateway: this.opts.podNetwork.podGateway,
        serviceCidr: '',
      }),
      'utf8',
    );
    files.push({
      remote: '/etc/containerd/config.toml',
      data: () => containerdConfig,
      sha256: sha256(containerdConfig),
      mode: '0600',
      owner: 'root:root',
      what: 'containerd configuration',
      secret: false,
    });
    files.push({
      remote: '/etc/cni/net.d/10-hcb-pods.conflist',
      data: () => cniConfig,
      sha256: sha256(cniConfig),
      mode: '0644',
      owner: 'root:root',
      what: 'CNI configuration',
      secret: false,
    });
    changed.push(...(await this.deliver(files)));

    // host settings: the etcd user (owner of the etcd data directory), kubelet kernel settings, cgroup parent
    const etcdData = this.opts.nodeFiles.find((f) => f.role === 'etcd-data');
    if (etcdData && etcdData.owner !== 'root') {
      const out = await this.sh(ENSURE_USER_SCRIPT, [etcdData.owner, HOST_STATE_DIR], {
        label: `ensure user ${etcdData.owner}`,
      });
      if (out.includes('created')) changed.push(`user ${etcdData.owner}`);
    }
    if (kubeletConfig.protectKernelDefaults) {
      const pairs = Object.entries(KUBELET_KERNEL_TUNABLES).flatMap(([k, v]) => [k, v]);
      const out = await this.sh(TUNABLES_SCRIPT, [HOST_STATE_DIR, ...pairs], { label: 'kernel settings' });
      if (out.trim()) changed.push(...out.trim().split('\n'));
    }
    const cgroupRoot =
      this.opts.bootstrap?.kubeletCgroupRoot ??
      (typeof kubeletConfig.cgroupRoot === 'string' ? kubeletConfig.cgroupRoot : '');
    if (cgroupRoot) {
      if (!/^\/[A-Za-z0-9._-]+$/.test(cgroupRoot))
        throw new Error(
          `${this.where()}: the kubelet's cgroupRoot must be one level below the root (is ${cgroupRoot})`,
        );
      await this.sh(CGROUP_SCRIPT, [cgroupRoot, HOST_STATE_DIR], { label: 'kubelet cgroup parent' });
    }

    // 4. containerd, images
    const containerdFp = sha256(
      Buffer.concat([containerdConfig, Buffer.from(await this.remoteSha(`${HOST_BIN_DIR}/containerd`))]),
    );
    if (
      await this.ensureProcess(
        'containerd',
        [`${HOST_BIN_DIR}/containerd`, '--config', '/etc/containerd/config.toml'],
        containerdFp,
      )
    )
      changed.push('containerd started');
    await this.waitFor(
      'containerd',
      'ctr version',
      () =>
        this.sh(`"$1/ctr" --address ${CONTAINERD_SOCKET} version >/dev/null 2>&1 && echo ok || true`, [HOST_BIN_DIR], {
          label: 'ctr version',
        }).then((o) => o.includes('ok')),
      60_000,
    );
    changed.push(...(await this.importImages(Object.values(images))));

    // 5. kubeadm init (once), the kubelet
    const initialised = (
      await this.sh('[ -s /etc/kubernetes/admin.conf ] && echo yes || true', [], { label: 'admin.conf present' })
    ).includes('yes');
    if (!initialised && this.opts.bootstrap) {
      await this.opts.bootstrap.run(this);
      changed.push('kubeadm join (control plane)');
    } else if (!initialised) {
      this.log(`${this.where()}: kubeadm init`);
      const started = Date.now();
      const out = await this.sh(
        INIT_SCRIPT,
        [HOST_BIN_DIR, HOST_STATE_DIR, HOST_KUBEADM_INIT_CONFIG, KUBELET_ARGS_PREFIX.join(' ')],
        { label: 'kubeadm init', timeoutMs: this.opts.initTimeoutMs ?? 480_000, check: false },
      ).catch((e: Error) => {
        throw new Error(`${this.where()}: kubeadm init: ${e.message}`);
      });
      const status = /^hcb-init-status (\d+)$/m.exec(out)?.[1];
      if (status !== '0') {
        const logs = await this.sh(
          'tail -n 40 "$1/log/kubeadm-init.log"; echo ---; tail -n 30 "$1/log/kubelet.log" 2>/dev/null',
          [HOST_STATE_DIR],
          { label: 'kubeadm logs', check: false },
        );
        throw new Error(`${this.where()}: kubeadm init failed (status ${status ?? 'unknown'}):\n${logs}`);
      }
      this.log(`${this.where()}: kubeadm init done in ${Math.round((Date.now() - started) / 1000)} s`);
      changed.push('kubeadm init');
    }
    const kubeletFp = await this.kubeletFingerprint();
    if (await this.ensureProcess('kubelet', [`${HOST_BIN_DIR}/kubelet`, ...(await this.kubeletArgs())], kubeletFp))
      changed.push('kubelet started');
    changed.push(...(await this.applyKubeadmFileModes()));
    // etcd runs as root (kubeadm's static pod): what it writes under its data directory is root's
    // until handed to the data directory's owner here, on every up (CIS 1.1.12's remediation).
    if (etcdData && etcdData.owner !== 'root') {
      const out = await this.sh(ETCD_DATA_OWNER_SCRIPT, [etcdData.path, `${etcdData.owner}:${etcdData.group}`], {
        label: 'etcd data owner',
      });
      if (out.trim()) changed.push(out.trim());
    }

    const admin = await this.conn.run(['cat', '/etc/kubernetes/admin.conf'], {
      label: 'read admin.conf',
      timeoutMs: 30_000,
    });
    return { adminKubeconfig: admin.stdout, changed, nodeName };
  }

  /** Sends the files whose sha256 on the host differs; returns what was sent. */
  private async deliver(
    items: Array<{
      remote: string;
      data: () => Buffer;
      sha256: string;
      mode: string;
      owner: string;
      what: string;
      secret?: boolean;
    }>,
  ): Promise<string[]> {
    const out = await this.sh(
      SHA_SCRIPT,
      items.map((i) => i.remote),
      { label: 'sha256 of existing files', timeoutMs: 300_000 },
    );
    const have = new Map<string, string>();
    const meta = new Map<string, string>();
    for (const line of out.split('\n')) {
      const m = /^([0-9a-f]{64}|-) ([0-7]+) (\S+) (.+)$/.exec(line);
      if (m) {
        have.set(m[4], m[1]);
        meta.set(m[4], `${m[2]} ${m[3]}`);
      }
    }
    const sent: string[] = [];
    for (const i of items) {
      const wantMeta = `${i.mode.replace(/^0/, '')} ${i.owner}`;
      if (have.get(i.remote) === i.sha256 && meta.get(i.remote) === wantMeta) continue;
      await this.sh('mkdir -p -- "$(dirname -- "$1")"', [i.remote], { label: `mkdir for ${i.remote}` });
      await this.conn.upload(i.data(), i.remote, {
        mode: i.mode,
        owner: i.owner,
        timeoutMs: 300_000,
        secret: i.secret,
      });
      sent.push(`${i.what} ${i.remote}`);
      this.log(
        `${this.where()}: +${Math.round((Date.now() - T0) / 1000)}s wrote ${i.what} ${i.remote} (${i.mode} ${i.owner})`,
      );
    }
    return sent;
  }

  private async remoteSha(file: string): Promise<string> {
    return (await this.sh('sha256sum -- "$1" | cut -d" " -f1', [file], { label: `sha256 ${file}` })).trim();
  }

  /** Secret keys named by {{hcb-secret:NAME}} tokens: generated on the host once, read back. */
  private async hostSecrets(files: NodeFile[]): Promise<Record<string, string>> {
    const names = [...new Set(files.flatMap((f) => [...(f.content ?? '').matchAll(SECRET_TOKEN)].map((m) => m[1])))];
    const out: Record<string, string> = {};
    for (const n of names) {
      const res = await this.conn.run(['sh', '-c', SECRET_SCRIPT, 'hcb', `${HOST_STATE_DIR}/secrets`, n], {
        label: `host secret ${n}`,
        timeoutMs: 30_000,
      });
      const v = res.stdout.trim();
      if (!/^[A-Za-z0-9+/=]{40,}$/.test(v)) throw new Error(`${this.where()}: host secret ${n} is not a base64 key`);
      out[n] = v;
    }
    return out;
  }

  private kubeadmConfigFile(): NodeFile {
    const c = this.opts.nodeFiles.filter((f) => f.role === 'kubeadm-config');
    if (c.length !== 1 || c[0].content === undefined)
      throw new Error(
        `${this.where()}: the node files must hold exactly one kubeadm configuration with content (HardenedControlPlane.nodeFiles)`,
      );
    return c[0];
  }

  private readKubeadmConfig(text: string): {
    nodeName: string;
    kubernetesVersion: string;
    kubeletConfig: Record<string, unknown>;
  } {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- kubeadm documents the blueprint rendered, read field by field below
    const docs = parseAllDocuments(text).map((d) => d.toJS() as Record<string, any>);
    const init = docs.find((d) => d?.kind === 'InitConfiguration');
    const cluster = docs.find((d) => d?.kind === 'ClusterConfiguration');
    const kubelet = docs.find((d) => d?.kind === 'KubeletConfiguration') ?? {};
    const nodeName = this.opts.bootstrap ? this.opts.host.name : init?.nodeRegistration?.name;
    if (typeof nodeName !== 'string' || nodeName !== this.opts.host.name) {
      throw new Error(
        `${this.where()}: the InitConfiguration's nodeRegistration.name (${String(nodeName)}) must be the host's name; set controlPlane.nodeName`,
      );
    }
    if (typeof cluster?.kubernetesVersion !== 'string')
      throw new Error(`${this.where()}: the ClusterConfiguration has no kubernetesVersion`);
    if (kubelet.cgroupDriver !== 'cgroupfs')
      throw new Error(
        `${this.where()}: no systemd is assumed on the host: the kubelet's cgroupDriver must be cgroupfs (is ${String(kubelet.cgroupDriver)})`,
      );
    return { nodeName, kubernetesVersion: cluster.kubernetesVersion, kubeletConfig: kubelet };
  }

  /** The rendered configuration with the image repository of the images this code delivers. */
  private initConfig(text: string): string {
    const docs = parseAllDocuments(text);
    const out: string[] = [];
    for (const d of docs) {
      const js = d.toJS() as Record<string, unknown>;
      if (js?.kind === 'ClusterConfiguration') js.imageRepository = HOST_IMAGE_REPOSITORY;
      out.push(stringify(js));
    }
    return `# kubeadm init configuration of hardened-cluster-blueprint: ${'/etc/kubernetes/kubeadm/kubeadm-config.yaml'} plus imageRepository\n${out.join('---\n')}`;
  }

  /** kubeadm's etcd and pause image tags for this version (what `kubeadm config images list` names). */
  private async imageTags(initConfig: Buffer): Promise<{ etcd: string; pause: string }> {
    const tmp = `${HOST_STATE_DIR}/images-list.yaml`;
    await this.conn.upload(initConfig, tmp, { mode: '0600', owner: 'root:root' });
    const out = await this.sh(
      '"$1/kubeadm" config images list --config "$2"; rc=$?; rm -f -- "$2"; exit $rc',
      [HOST_BIN_DIR, tmp],
      { label: 'kubeadm config images list' },
    );
    const tag = (name: string) => {
      const m = new RegExp(`^${HOST_IMAGE_REPOSITORY.replace(/\./g, '\\.')}/${name}:(\\S+)$`, 'm').exec(out);
      if (!m)
        throw new Error(
          `${this.where()}: kubeadm config images list names no ${name} image of ${HOST_IMAGE_REPOSITORY}:\n${out}`,
        );
      return m[1];
    };
    return { etcd: tag('etcd'), pause: tag('pause') };
  }

  private buildImages(kubernetesVersion: string, tags: { etcd: string; pause: string }): Record<string, BuiltImage> {
    const dir = path.join(this.opts.workDir, 'images');
    const repo = HOST_IMAGE_REPOSITORY.replace(/^hcb\.local\//, '');
    const out: Record<string, BuiltImage> = {};
    for (const name of CONTROL_PLANE_IMAGES) {
      out[name] = cachedImage(
        {
          repository: `${repo}/${name}`,
          tag: name === 'etcd' ? tags.etcd : kubernetesVersion,
          binary: path.join(this.opts.binDir, name),
          entrypoint: [`/usr/local/bin/${name}`],
          user: '0:0',
        },
        dir,
      );
    }
    const programs = buildImagePrograms(undefined, this.log);
    out.pause = cachedImage(
      {
        repository: `${repo}/pause`,
        tag: tags.pause,
        binary: programs.pause,
        entrypoint: ['/pause'],
        user: '65535:65535',
      },
      dir,
    );
    return out;
  }

  private async importImages(images: BuiltImage[]): Promise<string[]> {
    const ctr = `"${HOST_BIN_DIR}/ctr" --address ${CONTAINERD_SOCKET} --namespace k8s.io`;
    const list = async () =>
      (await this.sh(`${ctr} images list --quiet`, [], { label: 'ctr images list' })).split('\n');
    const have = await list();
    const done: string[] = [];
    for (const img of images) {
      if (have.includes(img.ref) && have.includes(img.name)) continue;
      const remote = `${HOST_STATE_DIR}/images/${path.basename(img.archive)}`;
      await this.conn.upload(fs.readFileSync(img.archive), remote, {
        mode: '0600',
        owner: 'root:root',
        timeoutMs: 300_000,
      });
      await this.sh(`${ctr} images import --digests --local "$1" >/dev/null && rm -f -- "$1"`, [remote], {
        label: `ctr import ${img.name}`,
        timeoutMs: 300_000,
      });
      if (!(await list()).includes(img.ref))
        await this.sh(`${ctr} images tag --force "$1" "$2" >/dev/null`, [img.name, img.ref], {
          label: `ctr tag ${img.ref}`,
        });
      done.push(`image ${img.name}`);
      this.log(`${this.where()}: image ${img.name} (${img.ref}) imported`);
    }
    return done;
  }

  /** The kubelet's command line as kubeadm's systemd drop-in gives it (nothing added). */
  private async kubeletArgs(): Promise<string[]> {
    const env = await this.sh('cat /var/lib/kubelet/kubeadm-flags.env', [], { label: 'read kubeadm-flags.env' });
    const m = /^KUBELET_KUBEADM_ARGS="(.*)"$/m.exec(env);
    return [...KUBELET_ARGS_PREFIX, ...(m && m[1].trim() ? m[1].trim().split(/\s+/) : [])];
  }

  private async kubeletFingerprint(): Promise<string> {
    const out = await this.sh(`bin=$1; ${KUBELET_FINGERPRINT}`, [HOST_BIN_DIR], { label: 'kubelet fingerprint' });
    if (!/^[0-9a-f]{64}$/.test(out.trim()))
      throw new Error(`${this.where()}: cannot fingerprint the kubelet's configuration`);
    return out.trim();
  }

  /**
   * Starts `argv` detached (setsid, log under /var/lib/hcb/log, pid and fingerprint under
   * /var/lib/hcb/run) unless it runs with the same fingerprint; restarts it when the fingerprint
   * changed. Returns whether it was (re)started.
   */
  private async ensureProcess(name: string, argv: string[], fingerprint: string): Promise<boolean> {
    const out = await this.sh(ENSURE_PROCESS_SCRIPT, [HOST_STATE_DIR, name, fingerprint, HOST_BIN_DIR, ...argv], {
      label: `ensure ${name}`,
      timeoutMs: 60_000,
    });
    const state = /^hcb-process (kept|started|restarted) (\d+)$/m.exec(out);
    if (!state) throw new Error(`${this.where()}: ${name} did not start:\n${out}`);
    if (state[1] !== 'kept') this.log(`${this.where()}: ${name} ${state[1]} (pid ${state[2]})`);
    return state[1] !== 'kept';
  }

  private async waitFor(what: string, _label: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`${this.where()}: ${what} not ready within ${timeoutMs / 1000} s`);
  }

  /** The node-file manifest's owner and mode on the files kubeadm and the kubelet created. */
  private async applyKubeadmFileModes(): Promise<string[]> {
    const args = this.opts.nodeFiles
      .filter((f) => f.createdBy !== 'blueprint')
      .flatMap((f) => [f.path, modeString(f.mode), `${f.owner}:${f.group}`]);
    const out = await this.sh(MODES_SCRIPT, args, { label: 'apply node file modes' });
    return out
      .split('\n')
      .filter((l) => l.startsWith('mode '))
      .map((l) => l);
  }

  // -------------------------------------------------------------------------------------------
  // stat of the node files (for the checks hcb verify will run over SSH)

  /** `path -> "mode owner:group"` of every manifest file present on the host (symlinks resolved). */
  async statNodeFiles(): Promise<Map<string, string>> {
    const out = await this.sh(
      STAT_SCRIPT,
      this.opts.nodeFiles.map((f) => f.path),
      { label: 'stat node files' },
    );
    const m = new Map<string, string>();
    for (const line of out.split('\n')) {
      const x = /^([0-7]+) (\S+) (.+)$/.exec(line);
      if (x) m.set(x[3], `${x[1]} ${x[2]}`);
    }
    return m;
  }

  // -------------------------------------------------------------------------------------------
  // reset

  /**
   * `kubeadm reset -f`, then everything this code made: processes (kubelet, containers,
   * containerd and its shims), mounts under the kubelet's and containerd's directories,
   * the CNI bridge and its veths, the kubelet's cgroup parent, files and binaries, the etcd user
   * when this code created it, kernel settings put back. Safe on a partial or clean host.
   */
  async reset(): Promise<string> {
    const out = await this.sh(RESET_SCRIPT, [HOST_BIN_DIR, HOST_STATE_DIR, HOST_CNI_BIN_DIR], {
      label: 'reset',
      timeoutMs: 300_000,
      check: false,
    });
    if (!/^hcb-reset done$/m.test(out)) throw new Error(`${this.where()}: reset did not finish:\n${out.slice(-3000)}`);
    this.log(`${this.where()}: reset done`);
    return out;
  }
}

/** Run on the host with $bin set: the kubelet's configuration, containerd's and the binary, hashed. */
export const KUBELET_FINGERPRINT =
  '{ cat /var/lib/kubelet/config.yaml /var/lib/kubelet/kubeadm-flags.env /etc/containerd/config.toml; sha256sum "$bin/kubelet"; } | sha256sum | cut -d" " -f1';

/** What kubeadm's systemd drop-in (10-kubeadm.conf) puts before KUBELET_KUBEADM_ARGS. */
export const KUBELET_ARGS_PREFIX = [
  '--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf',
  '--kubeconfig=/etc/kubernetes/kubelet.conf',
  '--config=/var/lib/kubelet/config.yaml',
];

export function sha256(b: Buffer): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

const fileHashes = new Map<string, { mtimeMs: number; size: number; sum: string }>();
export function sha256File(file: string): string {
  const st = fs.statSync(file);
  const c = fileHashes.get(file);
  if (c && c.mtimeMs === st.mtimeMs && c.size === st.size) return c.sum;
  const sum = sha256(fs.readFileSync(file));
  fileHashes.set(file, { mtimeMs: st.mtimeMs, size: st.size, sum });
  return sum;
}

/** buildImage, remembered by the binary's hash and the spec (packing a 100 MB binary takes seconds). */
export function cachedImage(spec: ImageSpec, dir: string): BuiltImage {
  const key = sha256(Buffer.from(JSON.stringify({ ...spec, binary: sha256File(spec.binary) }))).slice(0, 32);
  const index = path.join(dir, `image-${key}.json`);
  if (fs.existsSync(index)) {
    const b = JSON.parse(fs.readFileSync(index, 'utf8')) as BuiltImage;
    if (fs.existsSync(b.archive)) return b;
  }
  const b = buildImage(spec, dir);
  fs.writeFileSync(index, JSON.stringify(b), { mode: 0o600 });
  return b;
}

export function modeString(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// host scripts (POSIX sh; arguments as $1...; nothing secret in them)

/** $1 bin dir, $2 CNI bin dir, $3 state dir. */
export const PREPARE_SCRIPT = `set -eu
umask 022
mkdir -p "$1" "$2" /etc/containerd /etc/cni/net.d /etc/kubernetes
mkdir -p -m 0700 "$3" "$3/run" "$3/log" "$3/images" "$3/secrets"
chmod 0700 "$3"
# kubeadm's preflight requires forwarding (a per-network-namespace setting); record the old value once
cur=$(cat /proc/sys/net/ipv4/ip_forward)
if [ "$cur" != 1 ]; then [ -f "$3/ip_forward" ] || echo "$cur" > "$3/ip_forward"; echo 1 > /proc/sys/net/ipv4/ip_forward; fi
`;

/** Prints "<sha256|-> <mode> <user>:<group> <path>" per argument. */
export const SHA_SCRIPT = `for f; do
  if [ -f "$f" ]; then printf '%s %s %s\\n' "$(sha256sum -- "$f" | cut -d' ' -f1)" "$(stat -c '%a %U:%G' -- "$f")" "$f"
  else printf '%s %s %s %s\\n' - 0 none:none "$f"; fi
done
`;

/** Prints "<mode> <user>:<group> <path>" for each existing argument (symlinks followed). */
export const STAT_SCRIPT = `for f; do [ -e "$f" ] && stat -L -c '%a %U:%G %n' -- "$f"; done; true
`;

/** $1 secrets dir, $2 name: prints the key, creating it (32 random bytes, base64) once. */
const SECRET_SCRIPT = `set -eu
umask 077
f="$1/$2"
[ -s "$f" ] || { head -c 32 /dev/urandom | base64 > "$f.tmp" && mv "$f.tmp" "$f"; }
cat "$f"
`;

/**
 * $1 etcd data directory, $2 owner:group: hands every entry under it that is not theirs to them
 * (links themselves, never their targets); prints how many it changed, nothing when none.
 */
const ETCD_DATA_OWNER_SCRIPT = `set -eu
[ -d "$1" ] || exit 0
u=\${2%%:*} g=\${2#*:}
n=$(find "$1" -mindepth 1 \\( ! -user "$u" -o ! -group "$g" \\) -print | wc -l)
if [ "$n" -gt 0 ]; then
  find "$1" -mindepth 1 \\( ! -user "$u" -o ! -group "$g" \\) -exec chown -h -- "$2" {} +
  echo "etcd data: $n entries given to $2"
fi
`;

/** $1 user name, $2 state dir: creates the system user once and records that we did. */
const ENSURE_USER_SCRIPT = `set -eu
if ! id "$1" >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$1"
  echo "$1" >> "$2/created-users"
  echo created
fi
`;

/** $1 state dir, then key value pairs (keys as /proc/sys paths): records old values once. */
export const TUNABLES_SCRIPT = `set -eu
dir=$1; shift
while [ $# -ge 2 ]; do
  k=$1 v=$2; shift 2
  cur=$(cat "/proc/sys/$k")
  if [ "$cur" != "$v" ]; then
    grep -q "^$k " "$dir/kernel-tunables" 2>/dev/null || echo "$k $cur" >> "$dir/kernel-tunables"
    echo "$v" > "/proc/sys/$k"
    echo "kernel $k $cur -> $v"
  fi
done
`;

/** $1 cgroup root (/name), $2 state dir: the kubelet's cgroup parent in every v1 hierarchy (or v2). */
export const CGROUP_SCRIPT = `set -eu
echo "$1" > "$2/cgroup-root"
for h in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
  [ -f "$h/cgroup.procs" ] || continue
  d="\${h%/}$1"
  [ -d "$d" ] || mkdir "$d"
  for f in cpuset.cpus cpuset.mems; do
    if [ -f "$d/$f" ] && [ -z "$(cat "$d/$f")" ]; then cat "\${h%/}/$f" > "$d/$f"; fi
  done
done
`;

/**
 * $1 state dir, $2 name, $3 fingerprint, $4 bin dir, then argv. Keeps a live process with the
 * same fingerprint; otherwise stops the recorded one (TERM, then KILL) and starts argv detached.
 * A pid counts only when /proc/<pid>/exe is argv[0] (a reused pid is never signalled).
 */
export const ENSURE_PROCESS_SCRIPT = `set -eu
dir=$1 name=$2 fp=$3 bin=$4; shift 4
pidf="$dir/run/$name.pid" fpf="$dir/run/$name.fingerprint"
pid=$(cat "$pidf" 2>/dev/null || true)
live=
if [ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$1" ]; then live=$pid; fi
if [ -n "$live" ] && [ "$(cat "$fpf" 2>/dev/null)" = "$fp" ]; then echo "hcb-process kept $live"; exit 0; fi
verb=started
if [ -n "$live" ]; then
  verb=restarted
  kill -TERM "$live" 2>/dev/null || true
  i=0; while [ -d "/proc/$live" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  kill -KILL "$live" 2>/dev/null || true
fi
cd /
env -u HCB_RUN_ID PATH="$bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" setsid "$@" </dev/null >>"$dir/log/$name.log" 2>&1 &
pid=$!
echo "$pid" > "$pidf"
echo "$fp" > "$fpf"
sleep 1
if [ ! -d "/proc/$pid" ]; then echo "exited at once; log:"; tail -n 30 "$dir/log/$name.log"; exit 1; fi
echo "hcb-process $verb $pid"
`;

/**
 * $1 bin dir, $2 state dir, $3 kubeadm configuration, $4 the kubelet's leading flags.
 * Runs kubeadm init in the background; when its kubelet-start phase has written the kubelet's
 * files (no init system here to start it), starts the kubelet with kubeadm's flags; then waits
 * for kubeadm. Prints "hcb-init-status <code>".
 */
const INIT_SCRIPT = `set -u
bin=$1 dir=$2 cfg=$3 pre=$4
export PATH="$bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
cd /
"$bin/kubeadm" init --config "$cfg" --skip-phases=addon/kube-proxy,addon/coredns \\
  --ignore-preflight-errors=SystemVerification,FileExisting-crictl,FileExisting-conntrack,FileExisting-socat,FileExisting-ethtool,FileExisting-tc,Swap,KubeletVersion \\
  >"$dir/log/kubeadm-init.log" 2>&1 &
kpid=$!
started=
while [ -d "/proc/$kpid" ]; do
  if [ -z "$started" ] && [ -s /var/lib/kubelet/kubeadm-flags.env ] && [ -s /var/lib/kubelet/config.yaml ] && [ -s /etc/kubernetes/kubelet.conf ]; then
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
echo "hcb-init-status $rc"
`;

/** path mode owner:group triples: chown/chmod existing files; prints "mode <path> <old> -> <new>". */
export const MODES_SCRIPT = `set -eu
while [ $# -ge 3 ]; do
  f=$1 m=$2 o=$3; shift 3
  [ -e "$f" ] || continue
  id -u "\${o%%:*}" >/dev/null 2>&1 || continue
  cur=$(stat -L -c '%a %U:%G' -- "$f")
  want="$(printf '%o' "0$m") $o"
  if [ "$cur" != "$want" ]; then chown -- "$o" "$f"; chmod -- "$m" "$f"; echo "mode $f $cur -> $want"; fi
done
`;

/** $1 bin dir, $2 state dir, $3 CNI bin dir. */
export const RESET_SCRIPT = `set -u
bin=$1 dir=$2 cni=$3
export PATH="$bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
stop() { # pid file
  p=$(cat "$1" 2>/dev/null || true)
  [ -n "$p" ] && [ -d "/proc/$p" ] || return 0
  case "$(readlink "/proc/$p/exe" 2>/dev/null)" in "$bin"/*) ;; *) return 0 ;; esac
  kill -TERM "$p" 2>/dev/null; i=0
  while [ -d "/proc/$p" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  kill -KILL "$p" 2>/dev/null || true
}
stop "$dir/run/kubelet.pid"
if [ -x "$bin/kubeadm" ]; then
  "$bin/kubeadm" reset -f --cri-socket unix:///run/containerd/containerd.sock 2>&1 | tail -n 5
fi
# containers: every process in the kubelet's cgroup parent
root=$(cat "$dir/cgroup-root" 2>/dev/null || true)
if [ -n "$root" ]; then
  for round in 1 2 3 4 5; do
    pids=$(find /sys/fs/cgroup/ -path "*$root*" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
    [ -z "$pids" ] && break
    kill -KILL $pids 2>/dev/null; sleep 0.3
  done
fi
stop "$dir/run/containerd.pid"
# shims and anything else still running from our binaries in this network namespace
me=$(readlink /proc/self/ns/net)
for p in /proc/[0-9]*; do
  [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$me" ] || continue
  case "$(readlink "$p/exe" 2>/dev/null)" in "$bin"/*|"$cni"/*) kill -KILL "\${p#/proc/}" 2>/dev/null ;; esac
done
sleep 0.5
# mounts under the runtime's and the kubelet's directories (deepest first)
for i in 1 2 3; do
  awk '{print $5}' /proc/self/mountinfo | grep -E '^(/var/lib/kubelet|/var/lib/containerd|/run/containerd|/run/netns|/var/run/netns)(/|$)' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
done
# interfaces the CNI bridge made
for l in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
  case "$l" in cni0|veth*) ip link del "$l" 2>/dev/null ;; esac
done
# cgroup parent
if [ -n "$root" ]; then
  find /sys/fs/cgroup/ -depth -type d -path "*$root*" -exec rmdir {} \\; 2>/dev/null
fi
# kernel settings back
if [ -f "$dir/ip_forward" ]; then cat "$dir/ip_forward" > /proc/sys/net/ipv4/ip_forward; fi
if [ -f "$dir/kernel-tunables" ]; then
  other=
  for p in /proc/[0-9]*; do case "$(readlink "$p/exe" 2>/dev/null)" in */kubelet) other=1 ;; esac; done
  if [ -z "$other" ]; then
    while read -r k v; do echo "$v" > "/proc/sys/$k" 2>/dev/null || echo "could not restore $k"; done < "$dir/kernel-tunables"
  else echo "another kubelet runs on this machine: kernel settings left"; fi
fi
if [ -f "$dir/created-users" ]; then
  while read -r u; do userdel "$u" 2>/dev/null || echo "could not remove user $u"; done < "$dir/created-users"
fi
rm -rf /etc/kubernetes /var/lib/kubelet /var/lib/etcd /var/lib/containerd /run/containerd /etc/containerd \\
  /etc/cni/net.d /var/lib/cni /var/log/pods /var/log/containers /var/log/kubernetes "$cni" "$bin" "$dir"
rmdir /opt/hcb /opt/cni /etc/cni 2>/dev/null
echo "hcb-reset done"
`;

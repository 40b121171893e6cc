/**
 * Further control planes of a `hosts` cluster (issue 10, HA): stacked etcd, so three control
 * planes keep the API and etcd's quorum when one is down.
 *
 *   joinControlPlane(o): Promise<{ nodeName; changed }>
 *   removeControlPlane(o): Promise<{ steps }>
 *   etcdMembers(admin): Promise<EtcdMember[]>
 *
 * joinControlPlane runs bringup.ts's ControlPlaneHost on the new host (same binaries, every node
 * file of the blueprint with its owner and mode, images, containerd, kernel settings, the kubelet),
 * with `kubeadm join` (the JoinConfiguration rendered by the blueprint with `controlPlane`: this
 * host's advertise address, bindPort 6443) in place of `kubeadm init`. Before the join:
 *
 * - Shared keys are copied over SSH from the first control plane: the cluster CA, the service
 *   account key pair, the front-proxy CA and the etcd CA (kubeadm's list of certificates to
 *   transfer, phases/copycerts) into /etc/kubernetes/pki, keys 0600. kubeadm's alternative,
 *   `uploadCerts` with a certificate key, puts every CA key into a kube-system Secret for two
 *   hours (encrypted with that key); copying over the SSH connection the bring-up already trusts
 *   (pinned host keys) keeps the keys off the cluster and off the API and needs no third secret.
 * - The blueprint's host secrets (`/var/lib/hcb/secrets`, e.g. the encryption configuration's key)
 *   are copied from the first control plane before the node files are written, so every API
 *   server encrypts and decrypts with the same key.
 *
 * Key material is read with `cat` over SSH into this process's memory, written with
 * `SshConnection.upload(..., { secret: true })` and never returned, logged or put into state.
 *
 * The bootstrap token and discovery file are join.ts's (`kubeadmJoinWithToken`); the discovery
 * kubeconfig names the controlPlaneEndpoint (what admin.conf names), so the joining host reaches
 * the API through the load balancer. kubeadm's control-plane-join phase adds this host's etcd
 * member (stacked etcd) and marks the node as a control plane.
 *
 * removeControlPlane: refuses when etcd would lose quorum (fewer than 2 other started members or
 * an unhealthy cluster), then drains and deletes the Node, removes the host's etcd member through
 * etcd's API on the first control plane (etcd v3 JSON gateway, the API server's etcd client
 * certificate) and resets the host (bringup.ts's reset script: kubeadm reset, processes, mounts,
 * interfaces, cgroups, files).
 */
import { App } from 'cdk8s';
import { stringify } from 'yaml';
import { KubeadmJoinConfiguration } from '../../constructs/control-plane/join-configuration';
import { DISCOVERY_KUBECONFIG_PATH, KUBEADM_PATCHES_DIR, PKI_DIR } from '../../constructs/control-plane/paths';
import type { NodeFile } from '../../policies/model';
import { ControlPlaneHost, HOST_BIN_DIR, HOST_CNI_BIN_DIR, HOST_STATE_DIR, RESET_SCRIPT } from './bringup';
import { HostAccess, HostShell } from './host-shell';
import { approveKubeletServingCsrs, ClusterAdmin, kubeadmJoinWithToken, nodeReady } from './join';
import { resetHostNetwork, sweepKubeChains } from './network';

/** kubeadm's certificates to transfer to a further control plane (stacked etcd), relative to the PKI dir. */
export const SHARED_PKI_FILES = [
  'ca.crt',
  'ca.key',
  'sa.key',
  'sa.pub',
  'front-proxy-ca.crt',
  'front-proxy-ca.key',
  'etcd/ca.crt',
  'etcd/ca.key',
] as const;

/** Where the control-plane JoinConfiguration goes on the joining host. */
export const CONTROL_PLANE_JOIN_CONFIG = `${HOST_STATE_DIR}/kubeadm-join-control-plane.yaml`;

export interface JoinControlPlaneOptions {
  /** The first control plane (kubeadm init ran there). */
  first: HostAccess;
  /** The joining host; its `host.name` is the node name, `host.address` its advertise address. */
  host: HostAccess;
  binDir: string;
  /** The blueprint's node files (the same as the first control plane's). */
  nodeFiles: NodeFile[];
  podNetwork: { podCidr: string; podGateway: string };
  workDir: string;
  /**
   * This kubelet's settings over the cluster's (a kubeadm patch), e.g. its own cgroupRoot where
   * hosts share one kernel (the test lab).
   */
  kubeletConfigPatch?: Record<string, unknown>;
  tokenTtlMinutes?: number;
  joinTimeoutMs?: number;
  readyTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface JoinControlPlaneResult {
  nodeName: string;
  changed: string[];
  /** admin.conf as written on this host (a secret; names the controlPlaneEndpoint). */
  adminKubeconfig: string;
}

/** The JoinConfiguration of a further control plane: the blueprint's renderer, plus the patches directory when a kubelet patch is given. */
export function controlPlaneJoinConfig(nodeName: string, address: string, withPatches: boolean): string {
  const join = new KubeadmJoinConfiguration(new App({ outdir: '/nonexistent-hcb-synth' }), 'join', {
    controlPlane: true,
    nodeName,
    advertiseAddress: address,
    discoveryKubeconfigPath: DISCOVERY_KUBECONFIG_PATH,
  });
  const obj = join.toObject() as Record<string, unknown>;
  if (withPatches) obj.patches = { directory: KUBEADM_PATCHES_DIR };
  // kubeadm's defaults (API calls 1 min, etcd calls 2 min) are short for a host whose new API
  // server and etcd member start while the others serve: in the e2e on a loaded machine the third
  // control plane's Node was not registered within the minute mark-control-plane waits for it.
  obj.timeouts = { kubernetesAPICall: '5m0s', etcdAPICall: '5m0s', tlsBootstrap: '10m0s' };
  return `# kubeadm join of a further control plane (hardened-cluster-blueprint hosts target)\n${stringify(obj)}`;
}

/** Reads files on a host as base64 (path → content); a missing file is an error naming it. */
async function readFiles(shell: HostShell, files: string[], what: string): Promise<Map<string, Buffer>> {
  const out = await shell.conn.run(
    [
      'sh',
      '-c',
      'for f; do if [ -f "$f" ]; then printf "%s " "$f"; base64 -w0 < "$f"; echo; else echo "missing $f"; fi; done',
      'hcb',
      ...files,
    ],
    { label: `read ${what}`, timeoutMs: 60_000 },
  );
  const m = new Map<string, Buffer>();
  for (const line of out.stdout.split('\n')) {
    if (!line) continue;
    if (line.startsWith('missing '))
      throw new Error(`host ${shell.name}: ${line.slice(8)} is missing (needed for ${what})`);
    const i = line.indexOf(' ');
    m.set(line.slice(0, i), Buffer.from(line.slice(i + 1), 'base64'));
  }
  return m;
}

/** The names of the blueprint's host secrets on the first control plane. */
async function hostSecretNames(shell: HostShell): Promise<string[]> {
  const out = await shell.sh('ls -1 -- "$1" 2>/dev/null; true', [`${HOST_STATE_DIR}/secrets`], {
    label: 'list host secrets',
  });
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[a-z0-9-]+$/.test(l));
}

export async function joinControlPlane(o: JoinControlPlaneOptions): Promise<JoinControlPlaneResult> {
  const log = o.log ?? (() => undefined);
  const name = o.host.host.name;
  const where = `control plane ${name}`;
  const ttl = o.tokenTtlMinutes ?? 15;
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 60)
    throw new Error(`joinControlPlane: tokenTtlMinutes must be 1-60 (is ${ttl})`);
  const cgroupRoot = o.kubeletConfigPatch?.cgroupRoot;
  if (cgroupRoot !== undefined && (typeof cgroupRoot !== 'string' || !/^\/[A-Za-z0-9._-]+$/.test(cgroupRoot)))
    throw new Error(
      `${where}: the kubelet patch's cgroupRoot must be one level below the root (is ${String(cgroupRoot)})`,
    );
  // A join that stopped half-way (kubeadm writes admin.conf before the etcd member and the Node
  // exist) would look done to the bring-up: such a host is removed cleanly and joined again.
  if (await halfJoined(o, name, log)) {
    log(`${where}: an earlier join did not finish; removing it (etcd member, Node, host reset) before joining again`);
    await removeControlPlane({ first: o.first, host: o.host, binDir: o.binDir, log });
  }
  const admin = await ClusterAdmin.open(o.first, o.binDir, log);
  let host: ControlPlaneHost | undefined;
  try {
    const first = admin.shell;
    // Host secrets first: the node files' {{hcb-secret:NAME}} keys must be the first control plane's.
    const secretNames = await hostSecretNames(first);
    const secrets = await readFiles(
      first,
      secretNames.map((n) => `${HOST_STATE_DIR}/secrets/${n}`),
      'the host secrets',
    );
    const pki = await readFiles(
      first,
      SHARED_PKI_FILES.map((f) => `${PKI_DIR}/${f}`),
      'the shared certificates',
    );
    host = await ControlPlaneHost.open({
      host: o.host.host,
      ssh: o.host.ssh,
      binDir: o.binDir,
      nodeFiles: o.nodeFiles,
      podNetwork: o.podNetwork,
      workDir: o.workDir,
      log,
      bootstrap: {
        kubeletCgroupRoot: typeof cgroupRoot === 'string' ? cgroupRoot : undefined,
        run: async (cp) => {
          const shell = new HostShell(cp.conn, log);
          await shell.sh(
            'mkdir -p -m 0700 -- "$1" && mkdir -p -m 0755 -- "$2/etcd"',
            [`${HOST_STATE_DIR}/secrets`, PKI_DIR],
            {
              label: 'PKI and secrets directories',
            },
          );
          for (const [file, data] of pki) {
            await cp.conn.upload(data, file, {
              mode: file.endsWith('.key') ? '0600' : '0644',
              owner: 'root:root',
              secret: file.endsWith('.key'),
            });
          }
          log(`${where}: shared certificates copied from ${first.name} (${SHARED_PKI_FILES.join(', ')})`);
          const files: Array<{ path: string; content: string; mode: string }> = [
            {
              path: CONTROL_PLANE_JOIN_CONFIG,
              content: controlPlaneJoinConfig(name, o.host.host.address, !!o.kubeletConfigPatch),
              mode: '0600',
            },
          ];
          if (o.kubeletConfigPatch && Object.keys(o.kubeletConfigPatch).length)
            files.push({
              path: `${KUBEADM_PATCHES_DIR}/kubeletconfiguration-hcb-node+merge.yaml`,
              content: `# Settings of this node's kubelet (hardened-cluster-blueprint hosts target).\n${stringify(o.kubeletConfigPatch)}`,
              mode: '0600',
            });
          for (const f of files) {
            await shell.sh('mkdir -p -- "$(dirname -- "$1")"', [f.path], { label: `mkdir for ${f.path}` });
            await cp.conn.upload(Buffer.from(f.content, 'utf8'), f.path, { mode: f.mode, owner: 'root:root' });
          }
          await kubeadmJoinWithToken({
            admin,
            node: shell,
            nodeName: name,
            configPath: CONTROL_PLANE_JOIN_CONFIG,
            discoveryPath: DISCOVERY_KUBECONFIG_PATH,
            ttlMinutes: ttl,
            timeoutMs: o.joinTimeoutMs ?? 600_000,
            what: where,
            log,
          });
        },
      },
    });
    // The secrets go in before up() writes the node files (its secret script keeps an existing key).
    await host.conn.run(
      ['sh', '-c', 'mkdir -p -m 0700 -- "$1" && chmod 0700 -- "$1"', 'hcb', `${HOST_STATE_DIR}/secrets`],
      {
        label: 'secrets directory',
        timeoutMs: 30_000,
      },
    );
    await host.conn.run(['sh', '-c', 'mkdir -p -m 0700 -- "$1"', 'hcb', HOST_STATE_DIR], {
      label: 'state dir',
      timeoutMs: 30_000,
    });
    for (const [file, data] of secrets)
      await host.conn.upload(data, file, { mode: '0600', owner: 'root:root', secret: true });
    const res = await host.up();
    // Serving certificate and Ready, as for every node.
    const shell = new HostShell(host.conn, log);
    await shell.until(
      'Node Ready',
      o.readyTimeoutMs ?? 300_000,
      async () => {
        await approveKubeletServingCsrs(admin, [{ name, address: o.host.host.address }]);
        return (await nodeReady(admin, name)).ready ? true : undefined;
      },
      2_000,
    );
    const members = await etcdMembers(admin);
    if (!members.some((m) => m.name === name))
      throw new Error(
        `${where}: joined, but etcd lists no member named ${name} (members: ${members.map((m) => m.name).join(', ')})`,
      );
    log(`${where}: Node Ready, etcd member present (${members.length} members)`);
    return { nodeName: name, changed: res.changed, adminKubeconfig: res.adminKubeconfig };
  } finally {
    await host?.close().catch(() => undefined);
    await admin.close().catch(() => undefined);
  }
}

/** admin.conf on the host, but no etcd member or no control-plane Node of that name. */
async function halfJoined(o: JoinControlPlaneOptions, name: string, log: (l: string) => void): Promise<boolean> {
  const shell = await HostShell.open(o.host, log);
  let hasAdmin: boolean;
  try {
    hasAdmin = (
      await shell.sh('[ -s /etc/kubernetes/admin.conf ] && echo yes || true', [], { label: 'admin.conf present' })
    ).includes('yes');
  } finally {
    await shell.close().catch(() => undefined);
  }
  if (!hasAdmin) return false;
  const admin = await ClusterAdmin.open(o.first, o.binDir, log);
  try {
    const address = o.host.host.address;
    const peer = `//${address.includes(':') ? `[${address}]` : address}:`;
    const member = (await etcdMembers(admin)).some(
      (m) => m.name === name && m.clientURLs.length > 0 && m.peerURLs.some((u) => u.includes(peer)),
    );
    const controlPlanes = (
      await admin.kubectl(['get', 'nodes', '-l', 'node-role.kubernetes.io/control-plane', '-o', 'name'], {
        label: 'control-plane nodes',
      })
    ).stdout
      .split('\n')
      .map((l) => l.trim());
    return !member || !controlPlanes.includes(`node/${name}`);
  } finally {
    await admin.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// etcd members (through etcd's own API on the first control plane)

export interface EtcdMember {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/**
 * etcd's v3 JSON gateway on the first control plane's local client port with the API server's
 * etcd client certificate ($1 path like /v3/cluster/member/list, $2 JSON body, $3 PKI dir).
 */
const ETCD_API_SCRIPT = `set -eu
pki=$3
exec curl -sS --fail --max-time 20 --cacert "$pki/etcd/ca.crt" --cert "$pki/apiserver-etcd-client.crt" \\
  --key "$pki/apiserver-etcd-client.key" -X POST -H 'Content-Type: application/json' \\
  --data "$2" "https://127.0.0.1:2379$1"
`;

async function etcdApi(admin: ClusterAdmin, apiPath: string, body: unknown): Promise<unknown> {
  const out = await admin.shell.sh(ETCD_API_SCRIPT, [apiPath, JSON.stringify(body), PKI_DIR], {
    label: `etcd ${apiPath}`,
    timeoutMs: 60_000,
  });
  return JSON.parse(out) as unknown;
}

/** The etcd cluster's members as the first control plane's etcd reports them. */
export async function etcdMembers(admin: ClusterAdmin): Promise<EtcdMember[]> {
  const r = (await etcdApi(admin, '/v3/cluster/member/list', {})) as {
    members?: Array<{ ID?: string; name?: string; peerURLs?: string[]; clientURLs?: string[]; isLearner?: boolean }>;
  };
  return (r.members ?? []).map((m) => ({
    id: String(m.ID ?? ''),
    name: m.name ?? '',
    peerURLs: m.peerURLs ?? [],
    clientURLs: m.clientURLs ?? [],
    isLearner: m.isLearner === true,
  }));
}

// ---------------------------------------------------------------------------------------------
// removal

export interface RemoveControlPlaneOptions {
  first: HostAccess;
  host: HostAccess;
  binDir: string;
  drainTimeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * Whether removing the member `name` keeps etcd's quorum: more than half of the members left must
 * be healthy (`healthy`: names whose /health answered; a member that never started has no client
 * URL and is not healthy). Learners do not vote and are not counted as healthy.
 */
export function removalKeepsQuorum(
  members: EtcdMember[],
  name: string,
  healthy: ReadonlySet<string>,
): { ok: boolean; reason: string } {
  const left = members.filter((m) => m.name !== name);
  if (left.length === members.length) return { ok: true, reason: `${name} is not an etcd member` };
  const good = left.filter((m) => healthy.has(m.name) && m.clientURLs.length > 0 && !m.isLearner);
  if (good.length === 0) return { ok: false, reason: `no healthy etcd member would be left` };
  if (good.length * 2 <= left.length)
    return {
      ok: false,
      reason: `only ${good.length} of the ${left.length} members left are healthy; removing ${name} would leave etcd without quorum`,
    };
  return { ok: true, reason: `${left.length} members left, ${good.length} healthy` };
}

/** $1 client URL, $2 PKI dir: etcd's /health of one member with the API server's etcd client certificate. */
const ETCD_HEALTH_SCRIPT = `pki=$2
curl -sS --max-time 10 --cacert "$pki/etcd/ca.crt" --cert "$pki/apiserver-etcd-client.crt" \\
  --key "$pki/apiserver-etcd-client.key" "$1/health" 2>/dev/null || true
`;

/** Names of the members whose /health reports healthy (asked from the first control plane). */
export async function healthyEtcdMembers(admin: ClusterAdmin, members: EtcdMember[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const m of members) {
    const url = m.clientURLs.find((u) => /^https:\/\/[0-9A-Za-z.:[\]-]+$/.test(u));
    if (!url) continue;
    const r = await admin.shell.sh(ETCD_HEALTH_SCRIPT, [url, PKI_DIR], {
      label: `etcd health ${m.name}`,
      check: false,
    });
    try {
      if ((JSON.parse(r) as { health?: string }).health === 'true') out.add(m.name);
    } catch {
      /* not healthy */
    }
  }
  return out;
}

export async function removeControlPlane(o: RemoveControlPlaneOptions): Promise<{ steps: string[] }> {
  const log = o.log ?? (() => undefined);
  const name = o.host.host.name;
  const where = `control plane ${name}`;
  const steps: string[] = [];
  const admin = await ClusterAdmin.open(o.first, o.binDir, log);
  try {
    // A member added by a join that never started has no name yet: it is found by its peer URL.
    const address = o.host.host.address;
    const peer = `//${address.includes(':') ? `[${address}]` : address}:`;
    const raw = await etcdMembers(admin);
    const target = raw.find((m) => m.name === name || m.peerURLs.some((u) => u.includes(peer)));
    const members = raw.map((m) => (m === target ? { ...m, name } : m));
    const q = removalKeepsQuorum(members, name, await healthyEtcdMembers(admin, members));
    log(`${where}: etcd quorum check before the removal: ${q.ok ? 'ok' : 'refused'} (${q.reason})`);
    if (!q.ok)
      throw new Error(
        `${where}: not removed (${q.reason}); nothing was changed. Bring the other control planes back first.`,
      );
    const exists =
      (
        await admin.kubectl(['get', 'node', name, '--ignore-not-found', '-o', 'name'], { label: `get node ${name}` })
      ).stdout.trim() !== '';
    if (exists) {
      const timeout = Math.round((o.drainTimeoutMs ?? 300_000) / 1000);
      const drained = await admin.kubectl(
        ['drain', name, '--ignore-daemonsets', '--delete-emptydir-data', `--timeout=${timeout}s`],
        { timeoutMs: (timeout + 60) * 1000, check: false, label: `drain ${name}` },
      );
      if (drained.code !== 0)
        throw new Error(
          `${where}: drain failed (the node stays cordoned, nothing was reset):\n${drained.stderr.slice(-2000)}`,
        );
      steps.push(`drained ${name}`);
      await admin.kubectl(['delete', 'node', name, '--wait=true', '--timeout=120s'], {
        timeoutMs: 180_000,
        label: `delete node ${name}`,
      });
      steps.push(`deleted node ${name}`);
    } else steps.push(`node ${name} not in the cluster`);
    const member = target;
    if (member) {
      await etcdApi(admin, '/v3/cluster/member/remove', { ID: member.id });
      const after = await etcdMembers(admin);
      if (after.some((m) => m.id === member.id))
        throw new Error(`${where}: etcd still lists member ${name} after its removal`);
      steps.push(`removed etcd member ${name} (${after.length} left)`);
      log(`${where}: etcd member removed; ${after.length} members left`);
    } else steps.push(`no etcd member ${name}`);
  } finally {
    await admin.close().catch(() => undefined);
  }
  const shell = await HostShell.open(o.host, log);
  try {
    steps.push(...(await resetHostNetwork(shell)));
    const out = await shell.sh(RESET_SCRIPT, [HOST_BIN_DIR, HOST_STATE_DIR, HOST_CNI_BIN_DIR], {
      label: 'reset',
      timeoutMs: 300_000,
      check: false,
    });
    if (!/^hcb-reset done$/m.test(out)) throw new Error(`${where}: reset did not finish:\n${out.slice(-3000)}`);
    steps.push(...(await sweepKubeChains(shell)));
    steps.push(`reset ${name}`);
  } finally {
    await shell.close().catch(() => undefined);
  }
  return { steps };
}

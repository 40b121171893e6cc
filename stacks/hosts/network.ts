/**
 * The pod network of a `hosts` cluster across hosts, and the node services on every host
 * (issue 10):
 *
 * - Pods: each host has the CNI bridge `cni0` with host-local addresses from its own pod range
 *   (rendered by stacks/local/node/runtime-config.ts; bringup.ts and join.ts write it). Between
 *   hosts the pod ranges are plain routes over the hosts' own network: on every host, one route
 *   per other host, `<its pod range> via <its address>`, tagged with routing protocol 186 so
 *   that routes of hosts that left the cluster are found and removed. No overlay, no
 *   masquerading: pods keep their addresses end to end, so NetworkPolicy sees the real peers.
 * - kube-proxy (iptables mode) on every host with the blueprint's KubeProxyConfiguration and its
 *   own client certificate for `system:kube-proxy` (bound to system:node-proxier by Kubernetes'
 *   bootstrap policy; never admin.conf).
 * - kube-router with only its firewall controller on every host: the flags, the read-only
 *   ClusterRole and the readiness chain are stacks/local/node/netpol.ts's (imported, not
 *   copied); its identity is a client certificate for `hcb:netpol-enforcer`.
 *   bridge-nf-call-iptables is set so bridged pod-to-pod traffic on one host passes its rules;
 *   traffic from a pod on another host is routed and passes FORWARD.
 *
 * Client certificates are made on the first control-plane host with `kubeadm kubeconfig user`
 * (signed by the cluster CA there, 1 year) and sent to each host as 0600 files; a host keeps its
 * kubeconfig while the certificate is signed by the current CA and valid for more than 30 days.
 * The key material is never logged or returned.
 *
 * - The Service range: a route on every host to the interface holding its address (ROUTES_SCRIPT
 *   says why), so host processes (the API server's webhooks and aggregated APIs, a kubelet's
 *   probes, an operator's curl) reach ClusterIPs as on a kubeadm node with a default route.
 *
 * API (stable):
 *   ensureClusterNetwork(o: ClusterNetworkOptions): Promise<{ changed: string[] }>
 *   resetHostNetwork(shell: HostShell): Promise<string[]>      (join.ts's removeWorker calls it)
 *   resetHostNetworkOver(access: HostAccess): Promise<string[]> (before ControlPlaneHost.reset())
 *   sweepKubeChains(shell: HostShell): Promise<string[]>        (after the kubelet is gone)
 *   sweepKubeChainsOver(access: HostAccess): Promise<string[]>  (target.ts, after ControlPlaneHost.reset())
 *   podRoutes(hosts): Map<hostName, Array<{ dst; via }>>
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parse, stringify } from 'yaml';
import type { NodeFile } from '../../policies/model';
import {
  kubeRouterArgs,
  NETPOL_ENFORCER_ROLE,
  NETPOL_ENFORCER_RULES,
  NETPOL_ENFORCER_USER,
  NETPOL_READY_CHAIN,
} from '../local/node/netpol';
import { HOST_BIN_DIR, HOST_KUBEADM_INIT_CONFIG, HOST_STATE_DIR, sha256, sha256File } from './bringup';
import { HostAccess, HostShell } from './host-shell';
import type { ClusterAdmin } from './join';
import { readClusterConfig } from './join';

/** Routing protocol number of the pod routes this module sets (found again by it). */
export const POD_ROUTE_PROTO = 186;
export const KUBE_PROXY_HOST_DIR = '/var/lib/kube-proxy';
const KUBE_PROXY_USER = 'system:kube-proxy';
const NETPOL_DIR = `${HOST_STATE_DIR}/netpol`;

export interface ClusterNetworkHost extends HostAccess {
  /** This host's pod range (its CNI bridge's subnet). */
  podCidr: string;
}

export interface ClusterNetworkOptions {
  /** kubectl and kubeadm on the first control-plane host. */
  admin: ClusterAdmin;
  /** Every host of the cluster (control planes and workers), each already a Node. */
  hosts: ClusterNetworkHost[];
  binDir: string;
  /** The blueprint's node files (its KubeProxyConfiguration and service range). */
  nodeFiles: NodeFile[];
  log?: (line: string) => void;
  /** Bound of each service's readiness (default 90 s). */
  readyTimeoutMs?: number;
}

/** For each host, the routes to the other hosts' pod ranges. */
export function podRoutes(
  hosts: Array<{ host: { name: string; address: string }; podCidr: string }>,
): Map<string, Array<{ dst: string; via: string }>> {
  const out = new Map<string, Array<{ dst: string; via: string }>>();
  for (const h of hosts)
    out.set(
      h.host.name,
      hosts.filter((o) => o !== h).map((o) => ({ dst: o.podCidr, via: o.host.address })),
    );
  return out;
}

/**
 * Routes between all hosts' pod ranges, the enforcer's RBAC, and kube-proxy plus kube-router on
 * every host (started or kept). Idempotent; routes to hosts no longer listed are removed.
 */
export async function ensureClusterNetwork(o: ClusterNetworkOptions): Promise<{ changed: string[] }> {
  const log = o.log ?? (() => undefined);
  const { serviceSubnet, kubeProxyConfig } = readClusterConfig(o.nodeFiles);
  const kubeconfigPath = (kubeProxyConfig.clientConnection as { kubeconfig?: string } | undefined)?.kubeconfig;
  if (kubeconfigPath !== `${KUBE_PROXY_HOST_DIR}/kubeconfig.conf`) {
    throw new Error(
      `hosts: KubeProxyConfiguration clientConnection.kubeconfig must be ${KUBE_PROXY_HOST_DIR}/kubeconfig.conf (kubeadm's path), is ${String(kubeconfigPath)}`,
    );
  }
  const changed: string[] = [];
  await ensureEnforcerRbac(o.admin);
  const ca = await o.admin.shell.sh('cat /etc/kubernetes/pki/ca.crt', [], { label: 'read the cluster CA' });
  const routes = podRoutes(o.hosts);
  const proxyConfig = `# kube-proxy configuration from the blueprint's kubeadm configuration. Generated by hardened-cluster-blueprint.\n${stringify(kubeProxyConfig)}`;
  for (const h of o.hosts) {
    const shell = await HostShell.open(h, log);
    try {
      const c = await ensureHostServices(
        shell,
        {
          admin: o.admin,
          address: h.host.address,
          ca,
          binDir: o.binDir,
          routes: routes.get(h.host.name)!,
          serviceSubnet,
          proxyConfig,
          readyTimeoutMs: o.readyTimeoutMs ?? 90_000,
        },
        log,
      );
      changed.push(...c.map((x) => `${h.host.name}: ${x}`));
    } finally {
      await shell.close().catch(() => undefined);
    }
  }
  return { changed };
}

async function ensureEnforcerRbac(admin: ClusterAdmin): Promise<void> {
  const labels = { 'app.kubernetes.io/managed-by': 'hcb' };
  const docs = [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: NETPOL_ENFORCER_ROLE, labels },
      rules: NETPOL_ENFORCER_RULES,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: NETPOL_ENFORCER_ROLE, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NETPOL_ENFORCER_ROLE },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: NETPOL_ENFORCER_USER }],
    },
  ];
  await admin.apply(docs.map((d) => stringify(d)).join('---\n'));
}

interface HostServicesInput {
  admin: ClusterAdmin;
  /** This host's address (hcb:hosts): the source of its traffic to ClusterIPs. */
  address: string;
  ca: string;
  binDir: string;
  routes: Array<{ dst: string; via: string }>;
  serviceSubnet: string;
  proxyConfig: string;
  readyTimeoutMs: number;
}

async function ensureHostServices(
  shell: HostShell,
  i: HostServicesInput,
  log: (line: string) => void,
): Promise<string[]> {
  const changed: string[] = [];
  const name = shell.name;
  // binaries (a control-plane host has none of these from its bring-up)
  const bins = ['kube-proxy', 'kube-router'].map((b) => ({
    local: path.join(i.binDir, b),
    remote: `${HOST_BIN_DIR}/${b}`,
  }));
  for (const b of bins) if (!fs.existsSync(b.local)) throw new Error(`${b.local} is missing; run npm run toolchain`);
  changed.push(
    ...(await shell.deliver(
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

  // routes and bridged traffic through iptables
  const out = await shell.sh(
    ROUTES_SCRIPT,
    [String(POD_ROUTE_PROTO), i.serviceSubnet, i.address, ...i.routes.flatMap((r) => [r.dst, r.via])],
    { label: 'pod and Service routes' },
  );
  changed.push(...out.split('\n').filter((l) => l.startsWith('route ')));
  for (const l of out.split('\n')) if (l.startsWith('left ')) log(`${name}: ${l}`);
  changed.push(
    ...(await shell.sh(BRIDGE_NF_SCRIPT, [HOST_STATE_DIR], { label: 'bridge-nf-call-iptables' }))
      .split('\n')
      .filter(Boolean),
  );

  // kube-proxy
  const proxyKubeconfig = await ensureKubeconfig(
    shell,
    i.admin,
    i.ca,
    KUBE_PROXY_USER,
    `${KUBE_PROXY_HOST_DIR}/kubeconfig.conf`,
  );
  if (proxyKubeconfig.written) changed.push(`kubeconfig of ${KUBE_PROXY_USER}`);
  const cfg = Buffer.from(i.proxyConfig);
  changed.push(
    ...(await shell.deliver([
      {
        remote: `${KUBE_PROXY_HOST_DIR}/config.conf`,
        data: () => cfg,
        sha256: sha256(cfg),
        mode: '0600',
        owner: 'root:root',
        what: 'kube-proxy configuration',
      },
    ])),
  );
  await shell.sh('chmod 0700 "$1"', [KUBE_PROXY_HOST_DIR], { label: 'kube-proxy directory mode' });
  const proxyArgs = [
    `${HOST_BIN_DIR}/kube-proxy`,
    `--config=${KUBE_PROXY_HOST_DIR}/config.conf`,
    `--hostname-override=${name}`,
  ];
  const proxyFp = sha256(
    Buffer.from(
      JSON.stringify([proxyArgs, sha256(cfg), proxyKubeconfig.sha256, sha256File(path.join(i.binDir, 'kube-proxy'))]),
    ),
  );
  if (await shell.ensureProcess('kube-proxy', proxyArgs, proxyFp)) changed.push('kube-proxy started');

  // kube-router, firewall only
  const enforcerKubeconfig = await ensureKubeconfig(
    shell,
    i.admin,
    i.ca,
    NETPOL_ENFORCER_USER,
    `${NETPOL_DIR}/kubeconfig`,
  );
  if (enforcerKubeconfig.written) changed.push(`kubeconfig of ${NETPOL_ENFORCER_USER}`);
  const routerArgs = [
    `${HOST_BIN_DIR}/kube-router`,
    ...kubeRouterArgs({ kubeconfig: `${NETPOL_DIR}/kubeconfig`, nodeName: name, serviceCidr: i.serviceSubnet }),
  ];
  const routerFp = sha256(
    Buffer.from(
      JSON.stringify([routerArgs, enforcerKubeconfig.sha256, sha256File(path.join(i.binDir, 'kube-router'))]),
    ),
  );
  if (await shell.ensureProcess('kube-router', routerArgs, routerFp)) changed.push('kube-router started');

  // readiness: kube-proxy's and kube-router's chains in place
  for (const [proc, check] of [
    ['kube-proxy', 'iptables -w 5 -t nat -S KUBE-SERVICES >/dev/null 2>&1 && echo ok || true'],
    ['kube-router', `iptables -w 5 -S FORWARD 2>/dev/null | grep -q -- '-j ${NETPOL_READY_CHAIN}' && echo ok || true`],
  ] as const) {
    await shell
      .until(
        `${proc} rules`,
        i.readyTimeoutMs,
        async () => {
          const alive = await shell.sh(
            'p=$(cat "$1/run/$2.pid" 2>/dev/null) && [ -d "/proc/$p" ] && echo alive || true',
            [HOST_STATE_DIR, proc],
            { label: `${proc} alive` },
          );
          if (!alive.includes('alive')) throw new Error(`${proc} exited:\n${await shell.logTail(proc, 25)}`);
          return (await shell.sh(check, [], { label: `${proc} rules` })).includes('ok') ? true : undefined;
        },
        1_000,
      )
      .catch(async (e: Error) => {
        throw new Error(`${e.message}\n${proc} log:\n${await shell.logTail(proc, 25)}`, { cause: e });
      });
  }
  return changed;
}

/**
 * Makes sure `remote` on the host is a kubeconfig for `user` signed by the current cluster CA
 * and valid for more than 30 days; otherwise has the control-plane host make one and sends it
 * (0600, directory 0700). Returns the sha256 of the file's content (for the process fingerprint).
 */
async function ensureKubeconfig(
  shell: HostShell,
  admin: ClusterAdmin,
  ca: string,
  user: string,
  remote: string,
): Promise<{ sha256: string; written: boolean }> {
  const existing = await shell.conn.run(['sh', '-c', '[ -f "$1" ] && cat -- "$1" || true', 'hcb', remote], {
    label: `read kubeconfig of ${user}`,
    timeoutMs: 30_000,
  });
  if (existing.stdout && kubeconfigCurrent(existing.stdout, ca, user))
    return { sha256: sha256(Buffer.from(existing.stdout)), written: false };
  const made = await admin.kubeadm(
    ['kubeconfig', 'user', `--config=${HOST_KUBEADM_INIT_CONFIG}`, `--client-name=${user}`, '--validity-period=8760h'],
    { label: `kubeadm kubeconfig user ${user}` },
  );
  const text = made.stdout;
  if (!kubeconfigCurrent(text, ca, user))
    throw new Error(`kubeadm kubeconfig user ${user} on ${admin.hostName} gave no usable kubeconfig`);
  await shell.sh('mkdir -p -- "$(dirname -- "$1")" && chmod 0700 "$(dirname -- "$1")"', [remote], {
    label: `directory of ${remote}`,
  });
  await shell.conn.upload(Buffer.from(text), remote, { mode: '0600', owner: 'root:root', secret: true });
  return { sha256: sha256(Buffer.from(text)), written: true };
}

/** The kubeconfig's client certificate names `user`, is signed by `caPem` and valid for 30 more days. */
function kubeconfigCurrent(text: string, caPem: string, user: string): boolean {
  try {
    const k = parse(text) as {
      users?: Array<{ user?: { 'client-certificate-data'?: string } }>;
      clusters?: Array<{ cluster?: { 'certificate-authority-data'?: string } }>;
    };
    const certB64 = k.users?.[0]?.user?.['client-certificate-data'];
    const caB64 = k.clusters?.[0]?.cluster?.['certificate-authority-data'];
    if (!certB64 || !caB64) return false;
    const ca = new crypto.X509Certificate(caPem);
    if (!new crypto.X509Certificate(Buffer.from(caB64, 'base64')).raw.equals(ca.raw)) return false;
    const cert = new crypto.X509Certificate(Buffer.from(certB64, 'base64'));
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    if (!/(^|\n)CN=([^\n]*)/.exec(cert.subject) || /(^|\n)CN=([^\n]*)/.exec(cert.subject)![2] !== user) return false;
    return new Date(cert.validTo).getTime() - Date.now() > 30 * 86400_000;
  } catch {
    return false;
  }
}

/**
 * Undoes this module on one host: stops kube-router and kube-proxy, removes their rules
 * (`--cleanup-config`, `--cleanup`), the pod routes, kube-proxy's files, and puts
 * bridge-nf-call-iptables back. Safe on a clean host. Returns what it did.
 */
export async function resetHostNetwork(shell: HostShell): Promise<string[]> {
  const done: string[] = [];
  for (const p of ['kube-router', 'kube-proxy']) if (await shell.stopProcess(p)) done.push(`${p} stopped`);
  const out = await shell.sh(
    NETWORK_RESET_SCRIPT,
    [HOST_BIN_DIR, HOST_STATE_DIR, String(POD_ROUTE_PROTO), KUBE_PROXY_HOST_DIR],
    { label: 'network reset', timeoutMs: 180_000, check: false },
  );
  if (!/^hcb-network-reset done$/m.test(out))
    throw new Error(`host ${shell.name}: network reset did not finish:\n${out.slice(-2000)}`);
  done.push(...out.split('\n').filter((l) => l.startsWith('left ') || l.startsWith('removed ')));
  return done;
}

/**
 * Removes every KUBE-* chain (and the jumps to them) from the iptables and ip6tables tables,
 * and kube-proxy's nftables tables: what kube-router, kube-proxy and the kubelet (its
 * KUBE-FIREWALL and canary chains) leave. Run it once the kubelet is stopped (after
 * `kubeadm reset`, e.g. bringup.ts's reset), or the kubelet makes its chains again.
 */
export async function sweepKubeChains(shell: HostShell): Promise<string[]> {
  const out = await shell.sh(CHAIN_SWEEP_SCRIPT, [], {
    label: 'remove KUBE- chains',
    timeoutMs: 120_000,
    check: false,
  });
  if (!/^hcb-sweep done$/m.test(out))
    throw new Error(`host ${shell.name}: removing KUBE- chains did not finish:\n${out.slice(-2000)}`);
  return out.split('\n').filter((l) => l.startsWith('removed ') || l.startsWith('left '));
}

/** sweepKubeChains over its own SSH connection (the hosts target's destroy, after bringup's reset). */
export async function sweepKubeChainsOver(access: HostAccess, log?: (l: string) => void): Promise<string[]> {
  const shell = await HostShell.open(access, log);
  try {
    return await sweepKubeChains(shell);
  } finally {
    await shell.close().catch(() => undefined);
  }
}

export async function resetHostNetworkOver(access: HostAccess, log?: (l: string) => void): Promise<string[]> {
  const shell = await HostShell.open(access, log);
  try {
    return await resetHostNetwork(shell);
  } finally {
    await shell.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// host scripts

/**
 * $1 protocol, $2 the Service range, $3 this host's address, then dst via pairs: sets those
 * routes and the Service route, removes other routes of the protocol.
 *
 * The Service route: kube-proxy (iptables mode) rewrites a ClusterIP to a pod in the nat OUTPUT
 * chain, but a host process's packet needs a route before it gets there (connect() fails with
 * "network unreachable" first). A host with a default route has one; one without (an isolated
 * network, the test lab) does not, so the Service range goes to the interface holding the host's
 * address, with that address as source. Packets to a ClusterIP kube-proxy does not serve go
 * nowhere either way.
 */
export const ROUTES_SCRIPT = `set -eu
proto=$1 svc=$2 addr=$3; shift 3
have=$(ip -o route show proto "$proto" | awk '{print $1" "$3}')
want=
while [ $# -ge 2 ]; do
  if ! printf '%s\\n' "$have" | grep -qx "$1 $2"; then ip route replace "$1" via "$2" proto "$proto"; echo "route $1 via $2"; fi
  want="$want $1"; shift 2
done
dev=$(ip -o addr show | awk -v a="$addr" '{ split($4, p, "/"); if (p[1] == a) { print $2; exit } }')
if [ -n "$dev" ]; then
  cur=$(ip -o route show proto "$proto" exact "$svc")
  case "$cur" in
    *" dev $dev "*" src $addr"*) ;;
    *) ip route replace "$svc" dev "$dev" src "$addr" proto "$proto"; echo "route $svc dev $dev src $addr (Services)" ;;
  esac
  want="$want $svc"
else
  echo "left: no interface holds $addr; no route to the Service range $svc"
fi
for d in $(ip -o route show proto "$proto" | awk '{print $1}'); do
  case " $want " in *" $d "*) ;; *) ip route del "$d" proto "$proto"; echo "route $d removed" ;; esac
done
`;

/** $1 state dir: bridged traffic passes iptables (old value recorded once). */
const BRIDGE_NF_SCRIPT = `set -eu
f=/proc/sys/net/bridge/bridge-nf-call-iptables
[ -e "$f" ] || modprobe br_netfilter 2>/dev/null || true
[ -e "$f" ] || { echo "br_netfilter is not loaded (modprobe br_netfilter)" >&2; exit 1; }
cur=$(cat "$f")
if [ "$cur" != 1 ]; then [ -f "$1/bridge-nf-call-iptables" ] || echo "$cur" > "$1/bridge-nf-call-iptables"; echo 1 > "$f"; echo "bridge-nf-call-iptables $cur -> 1"; fi
`;

/** $1 bin dir, $2 state dir, $3 route protocol, $4 kube-proxy dir. */
const NETWORK_RESET_SCRIPT = `set -u
bin=$1 dir=$2 proto=$3 kp=$4
export PATH="$bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
if [ -x "$bin/kube-router" ]; then timeout 60 "$bin/kube-router" --cleanup-config >/dev/null 2>&1 || echo "left: kube-router --cleanup-config failed"; fi
if [ -x "$bin/kube-proxy" ]; then timeout 60 "$bin/kube-proxy" --cleanup >/dev/null 2>&1 || echo "left: kube-proxy --cleanup failed"; fi
n=$(ip -o route show proto "$proto" | wc -l)
ip route flush proto "$proto" 2>/dev/null || true
[ "$n" -gt 0 ] && echo "removed $n pod routes"
if [ -f "$dir/bridge-nf-call-iptables" ]; then cat "$dir/bridge-nf-call-iptables" > /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null; rm -f "$dir/bridge-nf-call-iptables"; fi
rm -rf -- "$kp" "$dir/netpol"
left=$(iptables-save 2>/dev/null | grep -c -E '^:KUBE-' || true)
[ "$left" != 0 ] && echo "left $left KUBE- chains"
echo "hcb-network-reset done"
`;

/** Jumps to KUBE-* chains deleted, then those chains flushed and deleted; kube-proxy's nftables tables deleted. */
const CHAIN_SWEEP_SCRIPT = `set -u
n=0
for cmd in iptables ip6tables; do
  command -v "$cmd-save" >/dev/null 2>&1 || continue
  for t in filter nat mangle raw; do
    "$cmd-save" -t "$t" 2>/dev/null | grep -E '^-A [^ ]+ .*-j KUBE-' | grep -vE '^-A KUBE-' | sed 's/^-A /-D /' | while read -r rule; do
      eval "$cmd -w 5 -t $t $rule" 2>/dev/null
    done
    chains=$("$cmd-save" -t "$t" 2>/dev/null | sed -n 's/^:\\(KUBE-[^ ]*\\) .*/\\1/p')
    for c in $chains; do "$cmd" -w 5 -t "$t" -F "$c" 2>/dev/null; done
    for c in $chains; do "$cmd" -w 5 -t "$t" -X "$c" 2>/dev/null && n=$((n+1)); done
  done
done
[ "$n" -gt 0 ] && echo "removed $n KUBE- chains"
if command -v nft >/dev/null 2>&1; then
  for fam in ip ip6; do nft delete table "$fam" kube-proxy 2>/dev/null && echo "removed nftables table $fam kube-proxy"; done
fi
left=$({ iptables-save; ip6tables-save; } 2>/dev/null | grep -c -E '^:KUBE-' || true)
[ "$left" != 0 ] && echo "left $left KUBE- chains"
echo "hcb-sweep done"
`;

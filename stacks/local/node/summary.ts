/**
 * `npm run up`'s node line: the nodes the running local cluster reports through its API (name,
 * Ready condition, kubelet and runtime version, address), read with the admin kubeconfig of
 * the state directory, whether the node's NetworkPolicy enforcer runs with its rules hooked, and
 * whether kube-proxy runs and CoreDNS is ready. Exit 1 when no node is Ready, NetworkPolicies are
 * not enforced or kube-proxy does not run.
 *
 *   node -r ts-node/register/transpile-only stacks/local/node/summary.ts <stateDir>
 */
import * as fs from 'fs';
import * as path from 'path';
import { kubeconfigTls, request } from '../control-plane';
import { enforcerState } from './netpol';
import { kubeProxyState } from './services';

interface NodeObject {
  metadata: { name: string };
  status?: {
    conditions?: Array<{ type: string; status: string; message?: string }>;
    addresses?: Array<{ type: string; address: string }>;
    nodeInfo?: { kubeletVersion?: string; containerRuntimeVersion?: string };
  };
}

/** One line per node; `ready` is true when at least one node is Ready and none is not. */
export async function nodeSummary(stateDir: string): Promise<{ lines: string[]; ready: boolean }> {
  const kubeconfig = path.join(path.resolve(stateDir), 'rootfs/etc/kubernetes/admin.conf');
  if (!fs.existsSync(kubeconfig)) return { lines: [`no cluster in ${stateDir}`], ready: false };
  const text = fs.readFileSync(kubeconfig, 'utf8');
  const server = /^\s*server:\s*(\S+)\s*$/m.exec(text)?.[1];
  if (!server) return { lines: [`${kubeconfig} names no server`], ready: false };
  const res = await request(`${server}/api/v1/nodes`, kubeconfigTls(text));
  if (res.status !== 200) return { lines: [`GET /api/v1/nodes: HTTP ${res.status}`], ready: false };
  const nodes = (JSON.parse(res.body) as { items: NodeObject[] }).items;
  if (!nodes.length) return { lines: ['no node is registered'], ready: false };
  const lines = nodes.map((n) => {
    const c = n.status?.conditions?.find((x) => x.type === 'Ready');
    const ip = n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '?';
    const info = n.status?.nodeInfo ?? {};
    return `${n.metadata.name}: ${c?.status === 'True' ? 'Ready' : `NotReady (${c?.message ?? 'no Ready condition'})`}, ${ip}, kubelet ${info.kubeletVersion ?? '?'}, ${info.containerRuntimeVersion ?? '?'}`;
  });
  const ready = nodes.every((n) => n.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
  // The local node's NetworkPolicy enforcer (netpol.ts): a node that does not enforce is not ready.
  const netpol = enforcerState(stateDir);
  lines.push(`NetworkPolicy: ${netpol.message}`);
  // Services (kube-proxy, services.ts) and the cluster DNS add-on when the stack deployed it.
  const proxy = kubeProxyState(stateDir);
  const dnsRes = await request(
    `${server}/apis/apps/v1/namespaces/kube-system/deployments/coredns`,
    kubeconfigTls(text),
  );
  const dns =
    dnsRes.status === 200
      ? (JSON.parse(dnsRes.body) as { spec?: { replicas?: number }; status?: { readyReplicas?: number } })
      : undefined;
  lines.push(
    `Services: ${proxy.message}; DNS: ${dns ? `CoreDNS ${dns.status?.readyReplicas ?? 0}/${dns.spec?.replicas ?? '?'} ready` : dnsRes.status === 404 ? 'no CoreDNS deployed' : `GET coredns: HTTP ${dnsRes.status}`}`,
  );
  return { lines, ready: ready && netpol.enforcing && proxy.running };
}

if (require.main === module) {
  const stateDir = process.argv[2];
  if (!stateDir) {
    process.stderr.write('usage: summary.ts <stateDir>\n');
    process.exit(2);
  }
  nodeSummary(stateDir).then(
    ({ lines, ready }) => {
      for (const l of lines) process.stdout.write(`${l}\n`);
      process.exit(ready ? 0 : 1);
    },
    (e: Error) => {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    },
  );
}

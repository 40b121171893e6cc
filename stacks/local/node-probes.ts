/**
 * The verdicts of the node probes, one definition for the local node (stacks/local/verify-node.ts,
 * asked from the node's network namespace) and for hosts (stacks/hosts/verify.ts, asked on the host
 * over SSH): the kubelet asked anonymously (401 expected) and with the cluster CA (its serving
 * certificate must verify for the node address), its read-only ports and kube-proxy's metrics port
 * (both must refuse connections on the node address).
 *
 * Each target only gathers the raw answer ({@link NodeProbeResult}); what it means is decided here.
 */
import type { Finding, Status } from '../../policies/model';
import { probeFinding } from './probe-finding';

/** The node probes: control and probe name. */
export const NODE_PROBES: ReadonlyArray<readonly [string, string]> = [
  ['HCB-KUBELET-ANONYMOUS-AUTH', 'kubelet-anonymous-request'],
  ['HCB-KUBELET-SERVING-CERT', 'kubelet-serving-certificate'],
  ['HCB-KUBELET-READ-ONLY-PORT', 'kubelet-read-only-port'],
  ['HCB-KUBE-PROXY-METRICS-LOOPBACK', 'kube-proxy-metrics-port'],
];

/** A connection's outcome: open, refused, or what else happened. */
export type ConnectOutcome = 'open' | 'refused' | { other: string };

/** What the probes saw on one node. */
export interface NodeProbeResult {
  /** The anonymous GET /pods with the CA verified: HTTP status, or the error. */
  verified: { status?: number; error?: string };
  /** The same without verification, only when the verified request failed. */
  unverified?: { status?: number; error?: string };
  readOnly: Record<string, ConnectOutcome>;
  proxyMetrics?: ConnectOutcome;
}

/** The kubelet's ports to probe, from its effective configuration: its port, and 10255 plus any read-only port it sets. */
export function kubeletProbePorts(config: Record<string, unknown>): { port: number; readOnlyPorts: number[] } {
  const port = typeof config.port === 'number' && config.port > 0 ? config.port : 10250;
  const readOnly = typeof config.readOnlyPort === 'number' && config.readOnlyPort > 0 ? [config.readOnlyPort] : [];
  return { port, readOnlyPorts: [...new Set([10255, ...readOnly])] };
}

/** One finding per node probe with the same status and message (not evaluated, or an error of the probe itself). */
export function nodeProbesAll(
  status: Extract<Status, 'not-evaluated' | 'error'>,
  message: string,
  only?: string,
): Finding[] {
  return NODE_PROBES.filter(([c]) => !only || only === c).map(([c, n]) => probeFinding(c, n, status, message));
}

const outcomeText = (o: ConnectOutcome | undefined) =>
  o === undefined ? 'no answer' : typeof o === 'string' ? o : o.other;

/** The four node probes' findings from what was seen. */
export function nodeProbeFindings(
  r: NodeProbeResult,
  o: {
    /** The node address as probed (IPv6 in brackets). */
    host: string;
    port: number;
    /** kube-proxy's metrics port as it runs; undefined when it cannot be read. */
    proxyMetricsPort?: number;
    /** Why the metrics port is unknown (for the not-evaluated finding). */
    proxyMetricsUnknown: string;
    /** Who reaches the node address, for the messages (e.g. "pods", "pods and other hosts"). */
    reachedBy: string;
  },
): Finding[] {
  const out: Finding[] = [];
  const add = (control: string, name: string, status: Status, message: string) =>
    out.push(probeFinding(control, name, status, message));
  const { host, port } = o;
  const url = `https://${host}:${port}/pods`;
  const anon = r.verified.status !== undefined ? r.verified : r.unverified;
  if (anon?.status !== undefined)
    add(
      'HCB-KUBELET-ANONYMOUS-AUTH',
      'kubelet-anonymous-request',
      anon.status === 401 ? 'pass' : 'fail',
      `An anonymous GET ${url} got HTTP ${anon.status} (401 expected).`,
    );
  else
    add(
      'HCB-KUBELET-ANONYMOUS-AUTH',
      'kubelet-anonymous-request',
      'error',
      `An anonymous GET ${url} failed: ${anon?.error ?? r.verified.error}.`,
    );

  if (r.verified.status !== undefined)
    add(
      'HCB-KUBELET-SERVING-CERT',
      'kubelet-serving-certificate',
      'pass',
      `The kubelet at ${host}:${port} serves a certificate that verifies against the cluster CA for its address.`,
    );
  else if (r.unverified?.status !== undefined)
    add(
      'HCB-KUBELET-SERVING-CERT',
      'kubelet-serving-certificate',
      'fail',
      `The kubelet at ${host}:${port} serves a certificate that does not verify against the cluster CA for its address (${r.verified.error}).`,
    );
  else
    add(
      'HCB-KUBELET-SERVING-CERT',
      'kubelet-serving-certificate',
      'error',
      `No TLS connection to ${host}:${port}: ${r.verified.error}.`,
    );

  const ro = Object.entries(r.readOnly);
  const open = ro.filter(([, v]) => v === 'open');
  const unclear = ro.filter(([, v]) => v !== 'open' && v !== 'refused');
  if (!ro.length) add('HCB-KUBELET-READ-ONLY-PORT', 'kubelet-read-only-port', 'error', 'No read-only port was probed.');
  else if (open.length)
    add(
      'HCB-KUBELET-READ-ONLY-PORT',
      'kubelet-read-only-port',
      'fail',
      `The read-only port accepts connections: ${open.map(([p]) => `${host}:${p}`).join(', ')}.`,
    );
  else if (unclear.length)
    add(
      'HCB-KUBELET-READ-ONLY-PORT',
      'kubelet-read-only-port',
      'error',
      `Connecting to ${unclear.map(([p, v]) => `${host}:${p} gave ${outcomeText(v)}`).join(', ')} (a refused connection expected).`,
    );
  else
    add(
      'HCB-KUBELET-READ-ONLY-PORT',
      'kubelet-read-only-port',
      'pass',
      `A connection to ${ro.map(([p]) => `${host}:${p}`).join(', ')} was refused: the read-only port is closed.`,
    );

  const metricsAt = `${host}:${o.proxyMetricsPort}`;
  if (o.proxyMetricsPort === undefined || Number.isNaN(o.proxyMetricsPort))
    add(
      'HCB-KUBE-PROXY-METRICS-LOOPBACK',
      'kube-proxy-metrics-port',
      'not-evaluated',
      `Not evaluated: ${o.proxyMetricsUnknown}.`,
    );
  else if (r.proxyMetrics === 'open')
    add(
      'HCB-KUBE-PROXY-METRICS-LOOPBACK',
      'kube-proxy-metrics-port',
      'fail',
      `kube-proxy's metrics port accepts connections on the node address ${metricsAt}, where ${o.reachedBy} reach the node.`,
    );
  else if (r.proxyMetrics === 'refused')
    add(
      'HCB-KUBE-PROXY-METRICS-LOOPBACK',
      'kube-proxy-metrics-port',
      'pass',
      `A connection to kube-proxy's metrics port on the node address ${metricsAt} was refused: it is not served there.`,
    );
  else
    add(
      'HCB-KUBE-PROXY-METRICS-LOOPBACK',
      'kube-proxy-metrics-port',
      'error',
      `Connecting to ${metricsAt} gave ${outcomeText(r.proxyMetrics)} (a refused connection expected).`,
    );
  return out;
}

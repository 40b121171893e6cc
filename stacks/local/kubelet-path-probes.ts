/**
 * `hcb verify` probes of the API server -> kubelet path on the local target (the node's egress
 * proxy carries it, stacks/local/node/forwarder.ts connect-proxy):
 *
 * - kubelet-through-apiserver (HCB-APISERVER-KUBELET-CLIENT-CERT): GET
 *   /api/v1/nodes/<node>/proxy/healthz as the admin. The API server opens its own TLS connection to
 *   the kubelet with --kubelet-client-certificate; the kubelet authenticates that certificate and
 *   authorises its user through the API server (webhook). 200 = accepted, 401/403 = refused.
 * - kubelet-impostor (HCB-APISERVER-KUBELET-CA): a throwaway TLS server in the node's network
 *   namespace, on the node's address, with a self-signed certificate for that address, announced
 *   by a temporary Node object (unschedulable, tainted NoSchedule and NoExecute, deleted afterwards)
 *   as its kubelet endpoint. The API server must refuse the certificate (not signed by
 *   --kubelet-certificate-authority) before any request reaches the impostor.
 */
import { spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import type { Finding, Status } from '../../policies/model';
import { request } from './control-plane';
import { probeFinding } from './probe-finding';

/** Control id and probe name, as the control's record names it. */
export const KUBELET_PATH_PROBES: ReadonlyArray<readonly [string, string]> = [
  ['HCB-APISERVER-KUBELET-CLIENT-CERT', 'kubelet-through-apiserver'],
  ['HCB-APISERVER-KUBELET-CA', 'kubelet-impostor'],
];

export interface KubeletPathProbeOptions {
  stateDir: string;
  /** API server URL and the admin's TLS options. */
  server: string;
  adminTls: https.RequestOptions;
  /** The node's name (the kubeadm configuration's nodeRegistration.name). */
  nodeName?: string;
  /** Whether the cluster should have its node (otherwise both probes are not evaluated). */
  node: boolean;
}

const PROBE_LABEL = 'hcb.dev/verify-probe';

/** The throwaway kubelet: reports listening (with its port), completed handshakes and requests as JSON lines. */
const IMPOSTOR_SCRIPT = String.raw`
const tls = require('tls'); const fs = require('fs');
const [cert, key, host] = process.argv.slice(1);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const srv = tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (s) => {
  say({ event: 'secure' });
  s.once('data', (d) => { say({ event: 'request', line: d.toString().split('\r\n')[0] }); s.end('HTTP/1.1 200 OK\r\ncontent-length: 9\r\nconnection: close\r\n\r\nimpostor\n'); });
  s.on('error', () => {});
});
srv.on('tlsClientError', (e) => say({ event: 'tlsClientError', message: e.message }));
srv.listen(0, host, () => say({ event: 'listening', port: srv.address().port }));
setTimeout(() => process.exit(0), 120000);
`;

export async function probeKubeletPath(opts: KubeletPathProbeOptions): Promise<Finding[]> {
  const out: Finding[] = [];
  const add = (control: string, name: string, status: Status, message: string) =>
    out.push(probeFinding(control, name, status, message));
  const netns = readNetns(opts.stateDir);
  if (!opts.node || !opts.nodeName || !netns || !fs.existsSync(`/run/netns/${netns}`)) {
    const why = !opts.node
      ? 'the cluster has no node (hcb:node false)'
      : 'the local node (its network namespace) is not running';
    for (const [control, name] of KUBELET_PATH_PROBES)
      add(control, name, 'not-evaluated', `Not evaluated: ${why}, so there is no kubelet for the API server to reach.`);
    return out;
  }
  const api = (p: string, method = 'GET', body?: string) =>
    request(`${opts.server}${p}`, opts.adminTls, method, body).catch((e: Error) => ({ status: -1, body: e.message }));

  // 1. The real kubelet, through the API server.
  const real = await api(`/api/v1/nodes/${opts.nodeName}/proxy/healthz`);
  const via = `GET /api/v1/nodes/${opts.nodeName}/proxy/healthz (the API server's own connection to the kubelet)`;
  if (real.status === 200) {
    add(
      'HCB-APISERVER-KUBELET-CLIENT-CERT',
      'kubelet-through-apiserver',
      'pass',
      `${via} got HTTP 200: the kubelet authenticated the API server's client certificate and authorised its user.`,
    );
  } else if (real.status === 401 || real.status === 403) {
    add(
      'HCB-APISERVER-KUBELET-CLIENT-CERT',
      'kubelet-through-apiserver',
      'fail',
      `${via} got HTTP ${real.status} from the kubelet: it ${real.status === 401 ? 'did not authenticate' : 'refused to authorise'} the API server's client certificate (${excerpt(real.body)}).`,
    );
  } else {
    add(
      'HCB-APISERVER-KUBELET-CLIENT-CERT',
      'kubelet-through-apiserver',
      'error',
      `${via} did not reach the kubelet: ${real.status === -1 ? real.body : `HTTP ${real.status} ${excerpt(real.body)}`}.`,
    );
  }

  // 2. An impostor on a kubelet endpoint.
  const [status, message] = await impostor(opts, netns, api);
  add('HCB-APISERVER-KUBELET-CA', 'kubelet-impostor', status, message);
  return out;
}

async function impostor(
  opts: KubeletPathProbeOptions,
  netns: string,
  api: (p: string, method?: string, body?: string) => Promise<{ status: number; body: string }>,
): Promise<[Status, string]> {
  const nodeRes = await api(`/api/v1/nodes/${opts.nodeName}`);
  if (nodeRes.status !== 200) return ['error', `Could not read Node ${opts.nodeName}: HTTP ${nodeRes.status}.`];
  const address = (
    JSON.parse(nodeRes.body) as { status?: { addresses?: Array<{ type: string; address: string }> } }
  ).status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  if (!address || !/^[0-9.]+$/.test(address)) return ['error', `Node ${opts.nodeName} reports no IPv4 InternalIP.`];
  // A temporary Node a killed run left behind (older than 5 minutes, so a parallel run's is kept) goes first.
  const leftovers = await api(`/api/v1/nodes?labelSelector=${encodeURIComponent(`${PROBE_LABEL}=kubelet-impostor`)}`);
  if (leftovers.status === 200) {
    for (const n of (
      JSON.parse(leftovers.body) as { items: Array<{ metadata: { name: string; creationTimestamp?: string } }> }
    ).items) {
      if (Date.now() - Date.parse(n.metadata.creationTimestamp ?? '') > 300_000)
        await api(`/api/v1/nodes/${n.metadata.name}`, 'DELETE');
    }
  }
  const name = `hcb-verify-impostor-${crypto.randomBytes(4).toString('hex')}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-impostor-'));
  let child: ReturnType<typeof spawn> | undefined;
  let created = false;
  try {
    const cert = path.join(dir, 'tls.crt');
    const key = path.join(dir, 'tls.key');
    const gen = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        `/CN=system:node:${name}`,
        '-addext',
        `subjectAltName=IP:${address},DNS:${name}`,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (gen.status !== 0)
      return ['error', `openssl could not make the impostor's certificate: ${excerpt(gen.stderr ?? '')}`];

    const events: Array<{ event: string; port?: number; line?: string; message?: string }> = [];
    child = spawn(
      'nsenter',
      [`--net=/run/netns/${netns}`, '--', process.execPath, '-e', IMPOSTOR_SCRIPT, cert, key, address],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) {
        try {
          events.push(JSON.parse(l) as (typeof events)[number]);
        } catch {
          /* not ours */
        }
      }
    });
    const port = await waitFor(() => events.find((e) => e.event === 'listening')?.port, 15_000);
    if (!port) return ['error', 'The impostor kubelet did not start in the node network namespace.'];

    const nodeObj = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { [PROBE_LABEL]: 'kubelet-impostor' } },
      spec: {
        unschedulable: true,
        taints: [
          { key: PROBE_LABEL, effect: 'NoSchedule' },
          { key: PROBE_LABEL, effect: 'NoExecute' },
        ],
      },
    };
    const made = await api('/api/v1/nodes', 'POST', JSON.stringify(nodeObj));
    if (made.status !== 201)
      return ['error', `Could not create the temporary Node ${name}: HTTP ${made.status} ${excerpt(made.body)}.`];
    created = true;
    const patch = {
      status: {
        addresses: [
          { type: 'InternalIP', address },
          { type: 'Hostname', address: name },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: port } },
      },
    };
    const patched = await requestMergePatch(opts, `/api/v1/nodes/${name}/status`, JSON.stringify(patch));
    if (patched.status !== 200)
      return [
        'error',
        `Could not set the temporary Node's kubelet endpoint: HTTP ${patched.status} ${excerpt(patched.body)}.`,
      ];

    const res = await api(`/api/v1/nodes/${name}/proxy/healthz`);
    await new Promise((r) => setTimeout(r, 200));
    const requests = events.filter((e) => e.event === 'request');
    const what = `A kubelet impostor at ${address}:${port} (in the node's network namespace, self-signed certificate for that address)`;
    if (requests.length || res.status === 200) {
      return [
        'fail',
        `${what} got the API server's request (${requests[0]?.line ?? `HTTP ${res.status}`}): the API server does not verify kubelet serving certificates.`,
      ];
    }
    if (res.status >= 500 && /x509|certificate/i.test(res.body)) {
      return [
        'pass',
        `${what} was refused by the API server before any request: ${excerpt(res.body.match(/[^"]*(x509|certificate)[^"]*/i)?.[0] ?? res.body)}.`,
      ];
    }
    return [
      'error',
      `${what}: the API server answered HTTP ${res.status} ${excerpt(res.body)} without naming the certificate; the probe cannot tell.`,
    ];
  } finally {
    if (created) await api(`/api/v1/nodes/${name}`, 'DELETE');
    if (child && child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function requestMergePatch(
  opts: KubeletPathProbeOptions,
  p: string,
  body: string,
): Promise<{ status: number; body: string }> {
  // control-plane's request() sends bodies as application/json; a status patch needs a patch content type.
  return new Promise((resolve) => {
    const req = https.request(
      new URL(`${opts.server}${p}`),
      {
        agent: false,
        ...opts.adminTls,
        method: 'PATCH',
        timeout: 10_000,
        headers: { 'content-type': 'application/merge-patch+json' },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (data += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: -1, body: e.message }));
    req.end(body);
  });
}

async function waitFor<T>(fn: () => T | undefined, ms: number): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

function readNetns(stateDir: string): string | undefined {
  try {
    return (
      JSON.parse(fs.readFileSync(path.join(stateDir, 'node', 'run', 'holder.json'), 'utf8')) as { netns?: string }
    ).netns;
  } catch {
    return undefined;
  }
}

function excerpt(s: string): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > 240 ? `${t.slice(0, 240)}...` : t;
}

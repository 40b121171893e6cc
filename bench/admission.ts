/**
 * Admission latency (issue 13): the blueprint's generated ValidatingAdmissionPolicies on the local
 * control plane (the real API server, etcd, controller manager and scheduler from the toolchain,
 * stacks/local/control-plane.ts, on loopback ports 47600-47605), 1,000 objects created per run with
 * bounded concurrency, with and without the policies installed.
 *
 * Per repetition one run without the policies, one with them as the blueprint renders them (the
 * grouped layout: one policy per target and mode) and one with one policy per control
 * (admissionLayout 'per-control', the layout before grouping), in an order reversed every other
 * repetition so that a drift of the machine's load or of etcd's size hits all alike. Then, per
 * repetition, a sequential pair (one request in flight; without and with the grouped policies) that
 * measures the latency a request gains without queueing behind others. Each run creates its objects in
 * a namespace of its own: half Deployments with 0 replicas, half suspended CronJobs, all compliant
 * with every policy (so each request passes through every matching policy's CEL and is admitted).
 * Latency is the client's view of one POST (request written to response read) over a keep-alive
 * connection; errors are every answer other than 201 and every failed request. Installing means
 * applying the blueprint's policies and bindings as the stack does (server-side apply), then
 * waiting until a dry-run violating Deployment is refused; removing deletes them and waits until
 * that dry-run is admitted again.
 *
 * Where the time goes: before and after each run the API server's own /metrics are read (as the
 * admin), and the run records the differences: the API server's CPU seconds
 * (process_cpu_seconds_total), the time of each admission plugin (apiserver_admission_controller_
 * admission_duration_seconds, by plugin and type) and, per ValidatingAdmissionPolicy, the time of its
 * validation expressions (apiserver_validating_admission_policy_check_duration_seconds). The
 * controller manager's own writes (ReplicaSets of the Deployments, Deployment updates) fall into
 * the same window and pass through the same policies.
 *
 *   npx ts-node --transpile-only bench/admission.ts   (prints JSON; bench/run.ts writes the section)
 */
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { synthesizeBlueprint } from '../constructs/blueprint';
import type { KubeObject } from '../policies/model';
import { kubeconfigTls, LocalControlPlane, localEndpointsFrom } from '../stacks/local/control-plane';

const REPO = path.resolve(__dirname, '..');
export const ADMISSION_BASE_PORT = 47600;

export interface AdmissionOptions {
  objects?: number;
  concurrency?: number;
  repetitions?: number;
  /** Also measure one policy per control (admissionLayout 'per-control'). @default true */
  perControl?: boolean;
  /** Objects per sequential run (one request in flight), 0 for none. @default 500 */
  sequentialObjects?: number;
  log?: (line: string) => void;
}

/** 'with': the blueprint's policies (grouped layout); 'per-control': one policy per control. */
export type AdmissionMode = 'without' | 'with' | 'per-control';

export interface AdmissionRun {
  mode: AdmissionMode;
  /** Requests in flight (absent in older results: the result's concurrency). */
  concurrency?: number;
  repetition: number;
  objects: number;
  errors: number;
  errorSamples: string[];
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  wallMs: number;
  /** What the API server's /metrics say happened during the run (differences); absent when unreadable. */
  profile?: AdmissionProfile;
}

export interface AdmissionProfile {
  /** CPU seconds the API server process used. */
  apiserverCpuS: number;
  /** Admission plugin time by `plugin/type` (e.g. ValidatingAdmissionPolicy/validate): calls and total ms. */
  plugins: Record<string, { count: number; sumMs: number }>;
  /** Per ValidatingAdmissionPolicy: evaluations and total ms of its validation expressions. */
  policies: Record<string, { count: number; sumMs: number }>;
}

/** Prometheus text: `name{labels} value` lines into a map from the whole series to its value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    const v = Number(line.slice(i + 1));
    if (Number.isFinite(v)) out.set(line.slice(0, i), v);
  }
  return out;
}

function label(series: string, name: string): string {
  return new RegExp(`[{,]${name}="([^"]*)"`).exec(series)?.[1] ?? '';
}

/** The differences between two /metrics readings that make up an AdmissionProfile. */
export function profileOf(before: Map<string, number>, after: Map<string, number>): AdmissionProfile {
  const d = (k: string): number => (after.get(k) ?? 0) - (before.get(k) ?? 0);
  const profile: AdmissionProfile = { apiserverCpuS: d('process_cpu_seconds_total'), plugins: {}, policies: {} };
  const add = (
    into: Record<string, { count: number; sumMs: number }>,
    key: string,
    field: 'count' | 'sumMs',
    v: number,
  ) => {
    into[key] ??= { count: 0, sumMs: 0 };
    into[key][field] += v;
  };
  for (const k of after.keys()) {
    const base = k.split('{')[0];
    if (base === 'apiserver_admission_controller_admission_duration_seconds_sum')
      add(profile.plugins, `${label(k, 'name')}/${label(k, 'type')}`, 'sumMs', d(k) * 1000);
    else if (base === 'apiserver_admission_controller_admission_duration_seconds_count')
      add(profile.plugins, `${label(k, 'name')}/${label(k, 'type')}`, 'count', d(k));
    else if (base === 'apiserver_validating_admission_policy_check_duration_seconds_sum')
      add(profile.policies, label(k, 'policy'), 'sumMs', d(k) * 1000);
    else if (base === 'apiserver_validating_admission_policy_check_duration_seconds_count')
      add(profile.policies, label(k, 'policy'), 'count', d(k));
  }
  for (const m of [profile.plugins, profile.policies])
    for (const [k, v] of Object.entries(m)) if (v.count === 0) delete m[k];
  return profile;
}

export interface AdmissionResult {
  serverVersion: string;
  policies: number;
  bindings: number;
  /** Policies in the per-control layout (absent when that mode was not measured). */
  perControlPolicies?: number;
  objects: number;
  /** Objects per sequential run (one request in flight); absent when none ran. */
  sequentialObjects?: number;
  concurrency: number;
  repetitions: number;
  runs: AdmissionRun[];
  loadAtStart: number[];
  loadAtEnd: number[];
}

function toolchainBin(): string {
  const fromEnv = process.env.HCB_TOOLCHAIN_BIN;
  if (fromEnv && fs.existsSync(path.join(fromEnv, 'kube-apiserver'))) return fromEnv;
  const r = spawnSync('bash', [path.join(REPO, 'tools/build-toolchain.sh'), '--bin-dir'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('the toolchain is not built (npm run toolchain), or set HCB_TOOLCHAIN_BIN');
  return r.stdout.trim();
}

class Client {
  private readonly agent: https.Agent;
  private readonly server: URL;
  private readonly tls: https.RequestOptions;

  constructor(kubeconfig: string, sockets: number) {
    const m = /server:\s*(\S+)/.exec(kubeconfig);
    if (!m) throw new Error('kubeconfig has no server');
    this.server = new URL(m[1]);
    this.tls = kubeconfigTls(kubeconfig);
    this.agent = new https.Agent({ keepAlive: true, maxSockets: sockets, ...(this.tls as https.AgentOptions) });
  }

  request(
    method: string,
    p: string,
    body?: unknown,
    contentType = 'application/json',
    timeoutMs = 60_000,
  ): Promise<{ status: number; body: string }> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        new URL(p, this.server),
        {
          agent: this.agent,
          ...this.tls,
          method,
          timeout: timeoutMs,
          headers: payload ? { 'content-type': contentType } : {},
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (data += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${p}`)));
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

const DIGEST = 'sha256:' + 'a'.repeat(64);

/** A workload every generated policy admits (the shape HardenedWorkload renders). */
function podSpec(): Record<string, unknown> {
  return {
    serviceAccountName: 'app',
    automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'app',
        image: `registry.example/app@${DIGEST}`,
        securityContext: {
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          readOnlyRootFilesystem: true,
        },
        resources: {
          requests: { 'ephemeral-storage': '16Mi' },
          limits: { cpu: '100m', memory: '64Mi', 'ephemeral-storage': '64Mi' },
        },
        livenessProbe: { tcpSocket: { port: 8080 } },
        readinessProbe: { tcpSocket: { port: 8080 } },
      },
    ],
  };
}

function object(i: number, ns: string): { path: string; body: Record<string, unknown> } {
  const name = `w-${i}`;
  if (i % 2 === 0) {
    return {
      path: `/apis/apps/v1/namespaces/${ns}/deployments`,
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace: ns },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: name } },
          template: { metadata: { labels: { app: name } }, spec: podSpec() },
        },
      },
    };
  }
  return {
    path: `/apis/batch/v1/namespaces/${ns}/cronjobs`,
    body: {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name, namespace: ns },
      spec: {
        schedule: '0 3 * * *',
        suspend: true,
        jobTemplate: { spec: { template: { spec: { ...podSpec(), restartPolicy: 'Never' } } } },
      },
    },
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

async function createAll(
  client: Client,
  ns: string,
  n: number,
  concurrency: number,
): Promise<Omit<AdmissionRun, 'mode' | 'repetition'>> {
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let next = 0;
  const t0 = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const o = object(i, ns);
      const t = process.hrtime.bigint();
      try {
        const r = await client.request('POST', o.path, o.body);
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (r.status !== 201) {
          errors++;
          if (errorSamples.length < 3) errorSamples.push(`HTTP ${r.status}: ${r.body.slice(0, 200)}`);
        }
      } catch (e) {
        errors++;
        if (errorSamples.length < 3) errorSamples.push((e as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    objects: n,
    errors,
    errorSamples,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? NaN,
    wallMs,
  };
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      if (await fn()) return;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`);
}

const ADMISSION_PATH: Record<string, string> = {
  ValidatingAdmissionPolicy: '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies',
  ValidatingAdmissionPolicyBinding: '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings',
};

export async function runAdmissionBench(opts: AdmissionOptions = {}): Promise<AdmissionResult> {
  const n = opts.objects ?? 1000;
  const concurrency = opts.concurrency ?? 8;
  const reps = opts.repetitions ?? 5;
  const log = opts.log ?? ((l: string) => process.stderr.write(`admission: ${l}\n`));
  const loadAtStart = os.loadavg();
  const p = ADMISSION_BASE_PORT;
  const local = localEndpointsFrom(p);
  const blueprint = synthesizeBlueprint({ local });
  const admissionOf = (objects: KubeObject[]) => {
    const a = objects.filter((o: KubeObject) => ADMISSION_PATH[o.kind ?? '']);
    return {
      policies: a.filter((o) => o.kind === 'ValidatingAdmissionPolicy'),
      bindings: a.filter((o) => o.kind === 'ValidatingAdmissionPolicyBinding'),
    };
  };
  const sets: Record<'with' | 'per-control', { policies: KubeObject[]; bindings: KubeObject[] }> = {
    with: admissionOf(blueprint.clusterObjects),
    'per-control': admissionOf(synthesizeBlueprint({ local, admissionLayout: 'per-control' }).clusterObjects),
  };
  const { policies, bindings } = sets.with;
  if (policies.length === 0) throw new Error('the blueprint renders no ValidatingAdmissionPolicy');
  const modes: AdmissionMode[] = opts.perControl === false ? ['without', 'with'] : ['without', 'with', 'per-control'];
  const sequential = opts.sequentialObjects ?? 500;
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-bench-admission-'));
  const cpLog: string[] = [];
  const cp = new LocalControlPlane({
    stateDir,
    binDir: toolchainBin(),
    nodeFiles: blueprint.nodeFiles,
    log: (l) => cpLog.push(l),
    healthTimeoutMs: 300_000,
  });
  let client: Client | undefined;
  const stop = async (): Promise<void> => {
    client?.close();
    await cp.down({ purge: true }).catch((e: unknown) => log(`stopping the control plane: ${(e as Error).message}`));
    fs.rmSync(stateDir, { recursive: true, force: true });
  };
  const onSignal = (): void => {
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    log(`starting the local control plane (ports ${p}-${p + 5})`);
    let info;
    try {
      info = await cp.up();
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${cpLog.slice(-20).join('\n')}`, { cause: e });
    }
    client = new Client(info.kubeconfig, concurrency);
    const c = client;
    const probeNs = 'bench-probe';
    const ns = async (name: string): Promise<void> => {
      const r = await c.request('POST', '/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name },
      });
      if (r.status !== 201 && r.status !== 409)
        throw new Error(`namespace ${name}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
    };
    await ns(probeNs);
    const violating = object(0, probeNs).body as {
      spec: { template: { spec: { containers: Array<Record<string, unknown>> } } };
    };
    violating.spec.template.spec.containers[0].securityContext = { privileged: true };
    const probe = async (): Promise<number> =>
      (await c.request('POST', `/apis/apps/v1/namespaces/${probeNs}/deployments?dryRun=All`, violating)).status;
    const install = async (set: 'with' | 'per-control'): Promise<void> => {
      for (const o of [...sets[set].policies, ...sets[set].bindings]) {
        const r = await c.request(
          'PATCH',
          `${ADMISSION_PATH[o.kind!]}/${o.metadata!.name}?fieldManager=hcb-bench&force=true`,
          o,
          'application/apply-patch+yaml',
        );
        if (r.status !== 200 && r.status !== 201)
          throw new Error(`apply ${o.kind} ${o.metadata!.name}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
      }
      await until('the policies to refuse a privileged Deployment', async () => (await probe()) === 403, 120_000);
    };
    const remove = async (set: 'with' | 'per-control'): Promise<void> => {
      for (const o of [...sets[set].bindings, ...sets[set].policies]) {
        const r = await c.request('DELETE', `${ADMISSION_PATH[o.kind!]}/${o.metadata!.name}`);
        if (r.status !== 200 && r.status !== 202 && r.status !== 404)
          throw new Error(`delete ${o.kind} ${o.metadata!.name}: HTTP ${r.status}`);
      }
      await until('the privileged Deployment to be admitted again', async () => (await probe()) === 201, 120_000);
    };
    const metrics = async (): Promise<Map<string, number> | undefined> => {
      try {
        const r = await c.request('GET', '/metrics');
        if (r.status === 200) return parseMetrics(r.body);
        log(`/metrics: HTTP ${r.status}`);
      } catch (e) {
        log(`/metrics: ${(e as Error).message}`);
      }
      return undefined;
    };
    // Warm-up (not measured): the API server's caches, etcd, this process's JIT and connections.
    await ns('bench-warmup');
    log('warm-up: 200 objects');
    await createAll(c, 'bench-warmup', 200, concurrency);
    const runs: AdmissionRun[] = [];
    let installed: 'without' | 'with' | 'per-control' = 'without';
    const switchTo = async (mode: AdmissionMode): Promise<void> => {
      if (installed === mode) return;
      if (installed !== 'without') await remove(installed);
      if (mode !== 'without') await install(mode);
      installed = mode;
    };
    const measure = async (mode: AdmissionMode, rep: number, objects: number, inFlight: number): Promise<void> => {
      await switchTo(mode);
      const name = `bench-${mode}-${inFlight}-${rep}`;
      await ns(name);
      const before = await metrics();
      const r = await createAll(c, name, objects, inFlight);
      const after = await metrics();
      const profile = before && after ? profileOf(before, after) : undefined;
      log(
        `rep ${rep + 1} ${mode} policies, ${inFlight} in flight: p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, ${r.errors} errors, ${(r.wallMs / 1000).toFixed(1)} s`,
      );
      if (profile)
        log(
          `  API server CPU ${profile.apiserverCpuS.toFixed(1)} s; ValidatingAdmissionPolicy plugin ${(profile.plugins['ValidatingAdmissionPolicy/validate']?.sumMs ?? 0).toFixed(0)} ms over ${profile.plugins['ValidatingAdmissionPolicy/validate']?.count ?? 0} calls; policy expressions ${Object.values(
            profile.policies,
          )
            .reduce((t, x) => t + x.sumMs, 0)
            .toFixed(0)} ms`,
        );
      runs.push({ mode, concurrency: inFlight, repetition: rep, ...r, ...(profile ? { profile } : {}) });
    };
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? modes : [...modes].reverse();
      for (const mode of order) await measure(mode, rep, n, concurrency);
      if (sequential > 0)
        for (const mode of rep % 2 === 0 ? (['with', 'without'] as const) : (['without', 'with'] as const))
          await measure(mode, rep, sequential, 1);
    }
    return {
      serverVersion: info.serverVersion,
      policies: policies.length,
      bindings: bindings.length,
      ...(modes.includes('per-control') ? { perControlPolicies: sets['per-control'].policies.length } : {}),
      objects: n,
      ...(sequential > 0 ? { sequentialObjects: sequential } : {}),
      concurrency,
      repetitions: reps,
      runs,
      loadAtStart,
      loadAtEnd: os.loadavg(),
    };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await stop();
  }
}

if (require.main === module) {
  runAdmissionBench({
    repetitions: Number(process.env.HCB_BENCH_ADMISSION_REPS ?? 5),
    objects: Number(process.env.HCB_BENCH_ADMISSION_OBJECTS ?? 1000),
    perControl: process.env.HCB_BENCH_ADMISSION_PER_CONTROL !== '0',
    sequentialObjects: Number(process.env.HCB_BENCH_ADMISSION_SEQUENTIAL ?? 500),
  })
    .then((r) => process.stdout.write(`${JSON.stringify(r)}\n`))
    .catch((e: unknown) => {
      process.stderr.write(`admission: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = 1;
    });
}

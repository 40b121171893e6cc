/**
 * Shared set-up for end-to-end tests: the built toolchain, temporary Pulumi projects, a client
 * for the API server. Nothing here skips: a missing toolchain is an error that says what to run.
 */
import { spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { kubeconfigTls, request, HttpResult } from '../../../stacks/local/control-plane';

export const REPO = path.resolve(__dirname, '../../..');

/** The pins in tools/versions.env (KEY=value lines). */
export function pins(): Record<string, string> {
  return Object.fromEntries(
    fs
      .readFileSync(path.join(REPO, 'tools/versions.env'), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z0-9_]+=/.test(l))
      .map((l) => l.split('=') as [string, string]),
  );
}

/** Installs the built Kubernetes provider into a Pulumi home's plugin cache, under its exact version. */
export function installProvider(bin: string, cwd: string, env: NodeJS.ProcessEnv): void {
  mustRun(
    path.join(bin, 'pulumi'),
    [
      'plugin',
      'install',
      'resource',
      'kubernetes',
      pins().K8S_PROVIDER_VERSION,
      '--file',
      path.join(bin, 'pulumi-resource-kubernetes'),
    ],
    { cwd, env },
  );
}

/** The toolchain's bin directory (HCB_TOOLCHAIN_BIN, or asked of the build script). */
export function toolchainBin(): string {
  const fromEnv = process.env.HCB_TOOLCHAIN_BIN;
  if (fromEnv && fs.existsSync(path.join(fromEnv, 'kubeadm'))) return fromEnv;
  const res = spawnSync('bash', [path.join(REPO, 'tools/build-toolchain.sh'), '--bin-dir'], { encoding: 'utf8' });
  if (res.status !== 0) {
    throw new Error('The toolchain is not built. Run `npm run toolchain` (or `npm test`, which builds it).');
  }
  return res.stdout.trim();
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `hcb-${prefix}-`));
}

/** A client that talks to the API server as the kubeconfig's user. */
export class ApiClient {
  private readonly server: string;
  private readonly tls: ReturnType<typeof kubeconfigTls>;

  /** From a kubeconfig, or from a server URL and TLS options (e.g. a minted user certificate). */
  constructor(kubeconfig: string | { server: string; tls: https.RequestOptions }) {
    if (typeof kubeconfig !== 'string') {
      this.server = kubeconfig.server;
      this.tls = kubeconfig.tls;
      return;
    }
    const m = /server:\s*(\S+)/.exec(kubeconfig);
    if (!m) throw new Error('kubeconfig has no server');
    this.server = m[1];
    this.tls = kubeconfigTls(kubeconfig);
  }

  /** The API server URL. */
  get serverUrl(): string {
    return this.server;
  }

  get(p: string): Promise<HttpResult> {
    return request(`${this.server}${p}`, this.tls);
  }

  post(p: string, body: unknown): Promise<HttpResult> {
    return request(`${this.server}${p}`, this.tls, 'POST', JSON.stringify(body));
  }

  delete(p: string): Promise<HttpResult> {
    return request(`${this.server}${p}`, this.tls, 'DELETE');
  }

  /**
   * Any method with any content type, e.g. server-side apply:
   * `request('PATCH', path + '?fieldManager=hcb', obj, 'application/apply-patch+yaml')`.
   * A body that is not a string is sent as JSON; `headers` are added (e.g. Impersonate-User).
   */
  request(
    method: string,
    p: string,
    body?: unknown,
    contentType = 'application/json',
    headers: Record<string, string> = {},
  ): Promise<HttpResult> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        new URL(`${this.server}${p}`),
        {
          ...this.tls,
          method,
          timeout: 10_000,
          headers: {
            accept: 'application/json',
            ...headers,
            ...(payload !== undefined
              ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (data += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${p}`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  async json<T = Record<string, unknown>>(p: string): Promise<T> {
    const res = await this.get(p);
    if (res.status !== 200) throw new Error(`GET ${p}: HTTP ${res.status} ${res.body}`);
    return JSON.parse(res.body) as T;
  }
}

/** True when a process with this pid exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** Environment for running the real Pulumi CLI offline against a private backend. */
export function pulumiEnv(home: string, bin: string): NodeJS.ProcessEnv {
  const backend = path.join(home, 'backend');
  fs.mkdirSync(backend, { recursive: true });
  return {
    ...process.env,
    PATH: [
      bin,
      path.join(REPO, 'node_modules/@pulumi/pulumi'),
      path.join(REPO, 'node_modules/.bin'),
      process.env.PATH,
    ].join(':'),
    HCB_TOOLCHAIN_BIN: bin,
    PULUMI_HOME: path.join(home, 'pulumi-home'),
    PULUMI_BACKEND_URL: `file://${backend}`,
    PULUMI_CONFIG_PASSPHRASE: 'e2e-test-passphrase',
    PULUMI_CONFIG_PASSPHRASE_FILE: '',
    PULUMI_SKIP_UPDATE_CHECK: 'true',
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
    PULUMI_DISABLE_REGISTRY_RESOLVE: 'true',
    PULUMI_NODEJS_TRANSPILE_ONLY: 'true',
    PULUMI_SKIP_CONFIRMATIONS: 'true',
  };
}

/** The program's source folders, copied into each temporary project. */
export const PROJECT_SOURCE_DIRS: readonly string[] = ['constructs', 'stacks', 'policies', 'cli'];
/** Folders a temporary project links to: dependencies and build inputs the program finds above itself (tools/hosts, tools/images). */
export const PROJECT_LINKED_DIRS: readonly string[] = ['node_modules', 'tools'];

/**
 * A temporary project (Pulumi.yaml, tsconfig, package.json) with its own stacks, so a test stack
 * named `local` never touches the developer's own stack files. The program's sources are a
 * snapshot taken here, not links into the repository: every `pulumi up` of one test runs the same
 * program even when the working tree is edited meanwhile (an edit of a remediation text between a
 * test's first and second `up` changed 11 admission policy messages and failed its "second up
 * changes nothing"). node_modules and tools/ stay links.
 */
export function tempProject(repo: string = REPO): string {
  const dir = tempDir('project');
  for (const f of ['Pulumi.yaml', 'tsconfig.json', 'package.json'])
    fs.copyFileSync(path.join(repo, f), path.join(dir, f));
  for (const d of PROJECT_SOURCE_DIRS)
    fs.cpSync(path.join(repo, d), path.join(dir, d), { recursive: true, dereference: true });
  for (const d of PROJECT_LINKED_DIRS) fs.symlinkSync(path.join(repo, d), path.join(dir, d));
  return dir;
}

export function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): SpawnSyncReturns<string> {
  const res = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return res;
}

export function mustRun(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): string {
  const res = run(cmd, args, opts);
  if (res.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} failed (exit ${res.status ?? res.signal}):\n${res.stdout}\n${res.stderr}`,
    );
  }
  return res.stdout;
}

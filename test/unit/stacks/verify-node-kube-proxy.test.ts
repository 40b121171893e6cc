/**
 * `hcb verify` reads a running kube-proxy (stacks/local/verify-node.ts observeKubeProxy): its
 * command line from /proc, the file its --config names and the kubeconfig it really uses, through
 * its own root; the catalogue then judges them as kube-proxy reads them (with --config the file
 * replaces every configuration flag). The "kube-proxy" here is a real process of this test: a
 * shell started with argv[0] "kube-proxy" and kube-proxy's flags after its script, recorded the
 * way the node records its processes (<state>/node/run/kube-proxy.json: pid and exe).
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CATALOGUE } from '../../../policies/catalogue';
import { evaluate } from '../../../policies/engine';
import { Document, Finding, NODE_FILE_MANIFEST_API_VERSION, NODE_FILE_MANIFEST_KIND } from '../../../policies/model';
import { observeKubeProxy, observeNode } from '../../../stacks/local/verify-node';

const METRICS = 'HCB-KUBE-PROXY-METRICS-LOOPBACK';
const FILES = 'HCB-NODEFILE-KUBE-PROXY-KUBECONFIG';
const controls = CATALOGUE.filter((c) => c.id === METRICS || c.id === FILES);

let dir: string;
let stateDir: string;
const procs: ChildProcess[] = [];

/** A process whose /proc cmdline is `kube-proxy -c <script> <flags...>`, recorded as the node's kube-proxy. */
async function startFakeKubeProxy(flags: string[]): Promise<number> {
  const p = spawn('/bin/sh', ['-c', 'read line', ...flags], {
    argv0: 'kube-proxy',
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  procs.push(p);
  const pid = p.pid!;
  // Wait until the shell runs (exe is the shell, the cmdline carries the flags).
  for (let i = 0; i < 100 && !fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('read line'); i++)
    await new Promise((r) => setTimeout(r, 20));
  fs.mkdirSync(path.join(stateDir, 'node', 'run'), { recursive: true });
  fs.writeFileSync(
    path.join(stateDir, 'node', 'run', 'kube-proxy.json'),
    JSON.stringify({ pid, exe: fs.readlinkSync(`/proc/${pid}/exe`) }),
  );
  return pid;
}

function write(name: string, text: string, mode: number): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  fs.chmodSync(f, mode);
  return f;
}

const proxyConfig = (metrics: string, kubeconfig: string) =>
  `apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nmode: iptables\nclientConnection:\n  kubeconfig: ${kubeconfig}\nmetricsBindAddress: ${metrics}\n`;

/** What hcb verify evaluates: the observed documents plus the observed node files as a manifest. */
function judge(obs: ReturnType<typeof observeKubeProxy>): Finding[] {
  const docs: Document[] = [
    ...obs.documents,
    {
      object: {
        apiVersion: NODE_FILE_MANIFEST_API_VERSION,
        kind: NODE_FILE_MANIFEST_KIND,
        metadata: { name: 'observed' },
        files: obs.files,
      },
      source: { file: 'live:stat' },
    },
  ];
  return evaluate(docs, { controls });
}

const of = (findings: Finding[], control: string) => findings.filter((f) => f.control === control);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hcb-kube-proxy-'));
  stateDir = path.join(dir, 'state');
});

afterEach(() => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('observeKubeProxy', () => {
  it('an insecure running kube-proxy: metrics on 0.0.0.0 in its --config file (the loopback flag beside it is ignored), a world-writable kubeconfig', async () => {
    const kubeconfig = write('kubeconfig.conf', 'apiVersion: v1\nkind: Config\n', 0o666);
    const decoy = write('decoy.conf', 'apiVersion: v1\nkind: Config\n', 0o600);
    const config = write('config.conf', proxyConfig('0.0.0.0:10249', kubeconfig), 0o644);
    const pid = await startFakeKubeProxy([
      `--config=${config}`,
      '--metrics-bind-address=127.0.0.1:10249',
      '--kubeconfig',
      decoy,
    ]);
    const obs = observeKubeProxy(stateDir, true);
    expect(obs.missing).toEqual([]);
    const proc = obs.documents.find((d) => d.object.kind === 'KubeProxyProcess')!;
    expect(proc.object).toMatchObject({
      apiVersion: 'hcb.dev/v1alpha1',
      metadata: { annotations: { 'hcb.dev/observed-pid': String(pid) } },
    });
    expect((proc.object as { command: string[] }).command).toEqual([
      'kube-proxy',
      '-c',
      'read line',
      `--config=${config}`,
      '--metrics-bind-address=127.0.0.1:10249',
      '--kubeconfig',
      decoy,
    ]);
    expect(obs.documents.find((d) => d.object.kind === 'KubeProxyConfiguration')?.source?.file).toBe(`live:${config}`);
    // The kubeconfig it uses is the file's (--kubeconfig beside --config is ignored, as in kube-proxy).
    expect(obs.files.map((f) => [f.path, f.role, f.mode])).toEqual([
      [config, 'kube-proxy-config', '0644'],
      [kubeconfig, 'kube-proxy-kubeconfig', '0666'],
    ]);

    const findings = judge(obs);
    expect(of(findings, METRICS).map((f) => [f.status, f.object?.kind])).toEqual([['fail', 'KubeProxyProcess']]);
    expect(of(findings, METRICS)[0].message).toMatch(
      /serves metrics on 0\.0\.0\.0:10249, reachable beyond the node's loopback/,
    );
    expect(of(findings, METRICS)[0].message).toMatch(
      /--metrics-bind-address=127\.0\.0\.1:10249, --kubeconfig=.* are ignored/,
    );
    const files = of(findings, FILES);
    expect(files.map((f) => f.status).sort()).toEqual(['fail', 'pass']);
    expect(files.find((f) => f.status === 'fail')!.message).toMatch(
      /kubeconfig\.conf: mode 0666 allows more than 0644/,
    );
  });

  it('without --config the flags decide: repeated --metrics-bind-address (the last wins, 0.0.0.0) and --kubeconfig', async () => {
    const kubeconfig = write('kubeconfig.conf', 'apiVersion: v1\nkind: Config\n', 0o600);
    await startFakeKubeProxy([
      '--kubeconfig',
      kubeconfig,
      '--metrics-bind-address=127.0.0.1',
      '--metrics-bind-address',
      '0.0.0.0:10249',
    ]);
    const obs = observeKubeProxy(stateDir, true);
    expect(obs.files.map((f) => [f.path, f.role])).toEqual([[kubeconfig, 'kube-proxy-kubeconfig']]);
    const findings = judge(obs);
    expect(of(findings, METRICS).map((f) => f.status)).toEqual(['fail']);
    expect(of(findings, METRICS)[0].message).toMatch(/0\.0\.0\.0:10249/);
    expect(of(findings, FILES).map((f) => f.status)).toEqual(['pass']);
  });

  it('a flag cannot open what the --config file keeps on loopback; hardened files pass', async () => {
    const kubeconfig = write('kubeconfig.conf', 'apiVersion: v1\nkind: Config\n', 0o600);
    const config = write('config.conf', proxyConfig('127.0.0.1:10249', kubeconfig), 0o600);
    await startFakeKubeProxy(['--metrics-bind-address=0.0.0.0:10249', '--metrics-port=9999', '--config', config]);
    const findings = judge(observeKubeProxy(stateDir, true));
    expect(of(findings, METRICS).map((f) => f.status)).toEqual(['pass']);
    expect(of(findings, METRICS)[0].message).toMatch(
      /127\.0\.0\.1:10249, loopback only.*--metrics-bind-address=0\.0\.0\.0:10249, --metrics-port=9999 are ignored/,
    );
    expect(of(findings, FILES).map((f) => f.status)).toEqual(['pass', 'pass']);
  });

  it('a --config file that cannot be read, a missing kubeconfig, no kube-proxy at all, a stale record', async () => {
    await startFakeKubeProxy([`--config=${path.join(dir, 'absent.conf')}`]);
    let obs = observeKubeProxy(stateDir, true);
    expect(obs.missing).toEqual([`${path.join(dir, 'absent.conf')} (kube-proxy's --config) cannot be read`]);
    // The process alone: its --config is not in the input, so the metrics control says so.
    expect(of(judge(obs), METRICS).map((f) => [f.status, f.message])).toEqual([
      ['not-evaluated', expect.stringMatching(/reads --config=.*absent\.conf, which is not in the input/)],
    ]);

    await startFakeKubeProxy([`--kubeconfig=${path.join(dir, 'absent-kubeconfig')}`]);
    obs = observeKubeProxy(stateDir, true);
    expect(obs.missing).toEqual([
      `${path.join(dir, 'absent-kubeconfig')} (kube-proxy's kubeconfig) does not exist in the node`,
    ]);

    // A record whose pid runs another program (pid reuse) is not kube-proxy.
    const rec = JSON.parse(fs.readFileSync(path.join(stateDir, 'node/run/kube-proxy.json'), 'utf8'));
    fs.writeFileSync(
      path.join(stateDir, 'node/run/kube-proxy.json'),
      JSON.stringify({ ...rec, exe: '/usr/local/bin/kube-proxy' }),
    );
    obs = observeKubeProxy(stateDir, true);
    expect(obs).toEqual({ documents: [], files: [], missing: ['kube-proxy of the local node is not running'] });
    expect(of(judge(obs), METRICS).map((f) => f.status)).toEqual(['not-evaluated']);
    // No node expected (hcb:node false): nothing is missing.
    fs.rmSync(path.join(stateDir, 'node/run/kube-proxy.json'));
    expect(observeKubeProxy(stateDir, false)).toEqual({ documents: [], files: [], missing: [] });
  });

  it('observeNode includes kube-proxy beside the kubelet', async () => {
    const kubeconfig = write('kubeconfig.conf', 'apiVersion: v1\nkind: Config\n', 0o600);
    await startFakeKubeProxy(['--kubeconfig', kubeconfig]);
    const obs = observeNode({ stateDir, rootfs: path.join(stateDir, 'rootfs'), nodeFiles: [], expectNode: true });
    expect(obs.missing).toEqual(['the kubelet of the local node is not running']);
    expect(obs.documents.map((d) => d.object.kind)).toEqual(['KubeProxyProcess']);
    expect(obs.files.map((f) => f.role)).toEqual(['kube-proxy-kubeconfig']);
  });
});
